// The node's resolver configuration, both ways: the upstream servers read from
// /etc/resolv.conf (or given as --dns-upstream), and the resolv.conf a pod or node uses to
// reach cluster DNS, as kubelet writes it for a ClusterFirst pod (`--print-resolv-conf <ns>`).
import { isIP } from "node:net";

/** The DNS port (RFC 1035). */
export const DNS_PORT = 53;
/** kubelet's ndots for ClusterFirst pods: names with fewer dots try the search list first. */
export const POD_NDOTS = 5;

export interface HostPort {
  host: string;
  port: number;
}

/** "198.18.0.53", "198.18.0.53:5353", "2001:db8::53" or "[2001:db8::53]:5353"; undefined when malformed. */
export function parseHostPort(text: string, defaultPort = DNS_PORT): HostPort | undefined {
  const t = text.trim();
  let host = t;
  let portText: string | undefined;
  if (t.startsWith("[")) {
    const end = t.indexOf("]");
    if (end < 0) return undefined;
    host = t.slice(1, end);
    const after = t.slice(end + 1);
    if (after !== "" && !after.startsWith(":")) return undefined;
    portText = after === "" ? undefined : after.slice(1);
  } else if (isIP(t) !== 6 && t.includes(":")) {
    host = t.slice(0, t.lastIndexOf(":"));
    portText = t.slice(t.lastIndexOf(":") + 1);
  }
  if (isIP(host) === 0) return undefined;
  if (portText === undefined) return { host, port: defaultPort };
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) return undefined;
  return { host, port: Number(portText) };
}

export const formatHostPort = (hp: HostPort): string => (hp.host.includes(":") ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`);

/** The `nameserver` lines of a resolv.conf (resolv.conf(5)); other lines are not the agent's business. */
export function nameserversOf(text: string): HostPort[] {
  const out: HostPort[] = [];
  for (const line of text.split("\n")) {
    const [keyword, value] = line.trim().split(/\s+/);
    if (keyword !== "nameserver" || value === undefined) continue;
    // A scoped link-local address (fe80::1%eth0) cannot be dialled by address alone.
    const hp = parseHostPort(value.split("%")[0]!);
    if (hp) out.push(hp);
  }
  return out;
}

/**
 * The resolv.conf of a pod in `namespace` (kubelet's ClusterFirst): cluster DNS first, the
 * search list `<ns>.svc.<zone> svc.<zone> <zone>`, ndots:5. resolv.conf has no port
 * syntax, so the server must listen on port 53 for libc resolvers to use it.
 */
export function podResolvConf(namespace: string, zone: string, server: HostPort): string {
  const lines = [
    `# cluster DNS of the svcedge agent, for a pod in the namespace ${namespace} (written by --print-resolv-conf)`,
    `nameserver ${server.host}`,
    `search ${namespace}.svc.${zone} svc.${zone} ${zone}`,
    `options ndots:${POD_NDOTS}`,
  ];
  if (server.port !== DNS_PORT) lines.splice(1, 0, `# resolv.conf cannot name a port: libc resolvers will ask ${server.host}:53, not port ${server.port}`);
  return `${lines.join("\n")}\n`;
}

/** The node's own resolvers (the nameservers of /etc/resolv.conf); none when it cannot be read. */
export function systemNameservers(read: (path: string) => string, path = "/etc/resolv.conf"): HostPort[] {
  try {
    return nameserversOf(read(path));
  } catch {
    return [];
  }
}
