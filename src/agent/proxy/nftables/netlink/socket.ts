// Sends a netfilter netlink batch and reports the kernel's verdict. Node has no AF_NETLINK
// sockets, so this goes through libc with koffi (an FFI with prebuilt binaries); without
// koffi, or off Linux, the fast path is unavailable and the proxier uses nft.
//
// The kernel runs a batch inside the sendmsg that carries it (nfnetlink_rcv_batch), so
// when send returns the transaction is committed or aborted and any errors wait on the
// socket. The batch must travel as one message: the send buffer is raised to fit it.
import { closeSync, openSync } from "node:fs";
import { createRequire } from "node:module";
import type { Outcome } from "../../command";

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_NETFILTER = 12;
const SOL_SOCKET = 1;
/** SO_SNDBUFFORCE / SO_RCVBUFFORCE: above net.core.*mem_max, as root (nft does the same). */
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;
const MSG_DONTWAIT = 0x40;
const CLONE_NEWNET = 0x40000000;
const NLMSG_ERROR = 2;
const EAGAIN = 11;
/** Room for the kernel's error replies (each echoes its message's header). */
const RECEIVE_BUFFER_BYTES = 1 << 20;
/** The kernel keeps 32 bytes of the send buffer for itself (netlink_sendmsg). */
const SEND_BUFFER_SLACK = 64;

/** ip netns keeps named namespaces here. */
const NETNS_DIR = "/var/run/netns";

interface Libc {
  socket: (domain: number, type: number, protocol: number) => number;
  setsockopt: (fd: number, level: number, name: number, value: Int32Array, len: number) => number;
  send: (fd: number, buf: Buffer, len: number, flags: number) => number;
  sendmsg: (fd: number, msg: MsgHdr, flags: number) => number;
  recv: (fd: number, buf: Buffer, len: number, flags: number) => number;
  close: (fd: number) => number;
  /** close(2) on a thread of libuv's pool: the caller does not wait for it. */
  closeInBackground: (fd: number) => void;
  setns: (fd: number, nstype: number) => number;
  errno: () => number;
}

interface MsgHdr {
  msg_name: null;
  msg_namelen: number;
  msg_iov: { iov_base: Buffer; iov_len: number }[];
  msg_iovlen: number;
  msg_control: null;
  msg_controllen: number;
  msg_flags: number;
}

let libc: Libc | string | undefined;

/** libc through koffi, or why it is not available. */
function loadLibc(): Libc | string {
  if (libc !== undefined) return libc;
  if (process.platform !== "linux") return (libc = "netlink needs Linux");
  try {
    const koffi = createRequire(import.meta.url)("koffi") as {
      load(path: string): { func(signature: string): ((...args: unknown[]) => unknown) & { async: (...args: unknown[]) => void } };
      struct(name: string, fields: Record<string, string>): unknown;
      errno(): number;
    };
    const lib = koffi.load("libc.so.6");
    const close = lib.func("int close(int)") as ((fd: number) => number) & { async: (fd: number, done: (err: unknown, result: number) => void) => void };
    koffi.struct("svcedge_iovec", { iov_base: "void *", iov_len: "size_t" });
    koffi.struct("svcedge_msghdr", {
      msg_name: "void *",
      msg_namelen: "uint32_t",
      msg_iov: "svcedge_iovec *",
      msg_iovlen: "size_t",
      msg_control: "void *",
      msg_controllen: "size_t",
      msg_flags: "int",
    });
    libc = {
      socket: lib.func("int socket(int, int, int)") as Libc["socket"],
      setsockopt: lib.func("int setsockopt(int, int, int, _In_ int32_t *, uint32_t)") as Libc["setsockopt"],
      send: lib.func("intptr_t send(int, _In_ uint8_t *, size_t, int)") as Libc["send"],
      sendmsg: lib.func("intptr_t sendmsg(int, const svcedge_msghdr *, int)") as Libc["sendmsg"],
      recv: lib.func("intptr_t recv(int, _Out_ uint8_t *, size_t, int)") as Libc["recv"],
      close: close as Libc["close"],
      closeInBackground: (fd) => close.async(fd, () => {}),
      setns: lib.func("int setns(int, int)") as Libc["setns"],
      errno: () => koffi.errno(),
    };
  } catch (e) {
    libc = `koffi is not available (${(e instanceof Error ? e.message : String(e)).split("\n")[0]})`;
  }
  return libc;
}

/** Why the netlink path cannot be used here, or undefined when it can. */
export function netlinkUnavailable(): string | undefined {
  const c = loadLibc();
  return typeof c === "string" ? c : undefined;
}

/**
 * A netfilter netlink socket in `netns` (a name under /var/run/netns), or this process's
 * namespace. setns moves only the calling thread, and only for the socket() call: a socket
 * keeps the namespace it was made in, and no other JavaScript runs in between.
 */
function openSocket(c: Libc, netns: string | undefined): number {
  if (netns === undefined) return c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (netns.includes("/")) throw new Error(`bad namespace name: ${netns}`);
  const own = openSync("/proc/thread-self/ns/net", "r");
  const target = openSync(`${NETNS_DIR}/${netns}`, "r");
  try {
    if (c.setns(target, CLONE_NEWNET) !== 0) throw new Error(`setns ${netns}: errno ${c.errno()}`);
    const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
    if (c.setns(own, CLONE_NEWNET) !== 0) {
      if (fd >= 0) c.close(fd);
      throw new Error(`setns back from ${netns}: errno ${c.errno()}`);
    }
    return fd;
  } finally {
    closeSync(target);
    closeSync(own);
  }
}

/**
 * Sends `chunks` as one message (one sendmsg gathers them) and reads the kernel's answer.
 * `describe` names the message with a sequence number, for the error text.
 */
export function sendBatch(chunks: Buffer[], opts: { netns?: string; describe?: (seq: number) => string } = {}): Outcome {
  const c = loadLibc();
  if (typeof c === "string") return { ok: false, error: c };
  let fd = -1;
  try {
    fd = openSocket(c, opts.netns);
    if (fd < 0) return { ok: false, error: `netlink socket: errno ${c.errno()}` };
    const length = chunks.reduce((n, chunk) => n + chunk.length, 0);
    if (c.setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, Int32Array.of(length + SEND_BUFFER_SLACK), 4) !== 0)
      return { ok: false, error: `netlink send buffer of ${length} bytes: errno ${c.errno()}` };
    c.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, Int32Array.of(RECEIVE_BUFFER_BYTES), 4);
    const iov = chunks.map((chunk) => ({ iov_base: chunk, iov_len: chunk.length }));
    const msg: MsgHdr = { msg_name: null, msg_namelen: 0, msg_iov: iov, msg_iovlen: iov.length, msg_control: null, msg_controllen: 0, msg_flags: 0 };
    const sent = c.sendmsg(fd, msg, 0);
    if (sent !== length) return { ok: false, error: `netlink send: ${sent < 0 ? `errno ${c.errno()}` : `${sent} of ${length} bytes`}` };
    const verdict = readErrors(c, fd, opts.describe);
    // Closing a socket that sent a full sync waits for the kernel to free the maps the batch
    // replaced (about 50 ms at 10,000 Services): that happens off this thread, after the answer.
    c.closeInBackground(fd);
    fd = -1;
    return verdict;
  } catch (e) {
    return { ok: false, error: `netlink: ${e instanceof Error ? e.message : String(e)}` };
  } finally {
    if (fd >= 0) c.close(fd);
  }
}

const NLMSG_DONE = 3;
const NLM_F_REQUEST = 0x1;
const NLM_F_DUMP = 0x300;
const NFNL_SUBSYS_NFTABLES = 10;
const NFPROTO_IPV4 = 2;
/** A dump's replies are read until NLMSG_DONE, or this many bytes (a bound, far above 10,000 Services' chains and sets). */
const MAX_DUMP_BYTES = 256 << 20;

/**
 * Dumps one kind of nf_tables object of the ip family (NFT_MSG_GETCHAIN, GETSET, …):
 * the attribute bytes of each object, or why the dump failed.
 */
export function dumpObjects(msg: number, opts: { netns?: string } = {}): Buffer[] | string {
  const c = loadLibc();
  if (typeof c === "string") return c;
  let fd = -1;
  try {
    fd = openSocket(c, opts.netns);
    if (fd < 0) return `netlink socket: errno ${c.errno()}`;
    c.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, Int32Array.of(RECEIVE_BUFFER_BYTES), 4);
    const req = Buffer.alloc(20);
    req.writeUInt32LE(20, 0);
    req.writeUInt16LE((NFNL_SUBSYS_NFTABLES << 8) | msg, 4);
    req.writeUInt16LE(NLM_F_REQUEST | NLM_F_DUMP, 6);
    req.writeUInt32LE(1, 8);
    req.writeUInt8(NFPROTO_IPV4, 16);
    if (c.send(fd, req, req.length, 0) !== req.length) return `netlink dump request: errno ${c.errno()}`;
    const buf = Buffer.alloc(RECEIVE_BUFFER_BYTES);
    const objects: Buffer[] = [];
    // The kernel fills the next part of a dump inside each receive, so every read finds data until NLMSG_DONE.
    for (let total = 0; total < MAX_DUMP_BYTES; ) {
      const n = c.recv(fd, buf, buf.length, MSG_DONTWAIT);
      if (n <= 0) return `netlink dump: ${n < 0 ? `errno ${c.errno()}` : "closed"}`;
      total += n;
      for (let off = 0; off + 16 <= n; ) {
        const len = buf.readUInt32LE(off);
        const type = buf.readUInt16LE(off + 4);
        if (len < 16 || off + len > n) return "netlink dump: truncated message";
        if (type === NLMSG_DONE) return objects;
        if (type === NLMSG_ERROR) return `netlink dump: errno ${-buf.readInt32LE(off + 16)}`;
        objects.push(Buffer.from(buf.subarray(off + 20, off + len)));
        off += (len + 3) & ~3;
      }
    }
    return "netlink dump: too large";
  } catch (e) {
    return `netlink: ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    if (fd >= 0) c.close(fd);
  }
}

/** Every NLMSG_ERROR with a non-zero error the kernel queued for the batch. */
function readErrors(c: Libc, fd: number, describe?: (seq: number) => string): Outcome {
  const buf = Buffer.alloc(RECEIVE_BUFFER_BYTES);
  const errors: string[] = [];
  for (;;) {
    const n = c.recv(fd, buf, buf.length, MSG_DONTWAIT);
    if (n < 0) {
      if (c.errno() === EAGAIN) break;
      errors.push(`netlink receive: errno ${c.errno()}`);
      break;
    }
    for (let off = 0; off + 16 <= n; ) {
      const len = buf.readUInt32LE(off);
      if (len < 16) break;
      if (buf.readUInt16LE(off + 4) === NLMSG_ERROR && off + 20 <= n) {
        const errno = -buf.readInt32LE(off + 16);
        const seq = off + 36 <= n ? buf.readUInt32LE(off + 28) : 0;
        if (errno !== 0) errors.push(`errno ${errno} (${ERRNO_NAMES[errno] ?? "?"}) on ${describe?.(seq) ?? `message ${seq}`}`);
      }
      off += (len + 3) & ~3;
    }
  }
  return errors.length ? { ok: false, error: `netlink batch rejected: ${errors.slice(0, 3).join("; ")}` } : { ok: true };
}

const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  12: "ENOMEM",
  16: "EBUSY",
  17: "EEXIST",
  22: "EINVAL",
  34: "ERANGE",
  40: "ELOOP",
  90: "EMSGSIZE",
  95: "EOPNOTSUPP",
  105: "ENOBUFS",
};
