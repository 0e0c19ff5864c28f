// The shared conformance table against the userspace proxier, with real connections to
// real HTTP servers on loopback addresses (all of 127/8 is local on Linux).
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProxyState } from "../../../src/agent/proxy/state";
import { UserspaceProxier } from "../../../src/agent/proxy/userspace";
import { conformanceFixture, type AddressPlan } from "./conformance.case";
import { endpoint, service, slice } from "./fixtures";

const LOOPBACK_PLAN: AddressPlan = {
  nodeIP: "127.77.0.1",
  clusterIP: (n) => `127.77.10.${n}`,
  podIP: (n) => `127.77.1.${n}`,
  podCIDR: "127.77.1.0/24",
  serviceCIDR: "127.77.10.0/24",
  secondPodCIDR: "127.77.3.0/24",
  secondPodIP: "127.77.3.2",
  otherNodeIP: "127.77.0.2",
  lbIP: "127.77.20.10",
  externalIP: "127.77.20.20",
  outsideIP: "127.77.30.1",
  targetPort: 18080,
  servicePort: 18000,
};
/** Connections per case: with two endpoints, missing one has probability 2^-19. */
const ATTEMPTS = 20;
const REQUEST_TIMEOUT_MS = 3000;

interface Answer {
  server?: string;
  error?: string;
}

/** One GET on a fresh connection from `localAddress`. */
function get(host: string, port: number, localAddress: string): Promise<Answer> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, localAddress, agent: false, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve(JSON.parse(body) as Answer));
      res.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    });
    req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" })));
    req.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
  });
}

function startServer(host: string, port: number): Promise<http.Server> {
  const server = http.createServer((_req, res) => res.end(JSON.stringify({ server: `${host}:${port}` })));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}

const fixture = conformanceFixture(LOOPBACK_PLAN);

describe("conformance: userspace", () => {
  const servers: http.Server[] = [];
  const proxier = new UserspaceProxier({ nodePortIPs: fixture.nodePortIPs });
  beforeAll(async () => {
    for (const addr of fixture.endpoints) {
      const [host, port] = addr.split(":");
      servers.push(await startServer(host!, Number(port)));
    }
    expect(await proxier.sync(buildProxyState(fixture.input))).toMatchObject({ ok: true });
  });
  afterAll(async () => {
    await proxier.close();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });

  it.each(fixture.cases.filter((c) => c.userspace !== false))("$name", async ({ packet, expect: expected }) => {
    const answers: Answer[] = [];
    for (let i = 0; i < ATTEMPTS; i++) answers.push(await get(packet.dst, packet.dport, packet.src));
    // Nothing listens where the kernel backends would drop, reject or leave a packet alone.
    if (expected.output === "REJECT" || expected.output === "DROP" || expected.output === "ACCEPT") {
      expect(new Set(answers.map((a) => a.error ?? a.server))).toEqual(new Set(["ECONNREFUSED"]));
    } else {
      expect([...new Set(answers.map((a) => a.server ?? a.error))].sort().join(", ")).toBe(expected.output);
    }
  });
});

describe("userspace proxier", () => {
  const EP = "127.77.2.1";
  const state = (eps: string[], port = 18100) =>
    buildProxyState({
      services: [service("default", "web", { clusterIP: "127.77.12.1", ports: [{ name: "http", port, targetPort: 18081 }] })],
      slices: [
        slice(
          "default",
          "web",
          [{ name: "http", port: 18081 }],
          eps.map((ip) => endpoint(ip)),
        ),
      ],
      nodeName: "node-a",
      nodeIPs: [],
    });

  it("reconciles listeners with the state", async () => {
    const server = await startServer(EP, 18081);
    const proxier = new UserspaceProxier();
    try {
      await proxier.sync(state([EP]));
      expect(proxier.listening()).toEqual(["127.77.12.1:18100"]);
      expect(await get("127.77.12.1", 18100, "127.0.0.1")).toEqual({ server: `${EP}:18081` });
      await proxier.sync(state([EP], 18101));
      expect(proxier.listening()).toEqual(["127.77.12.1:18101"]);
      expect((await get("127.77.12.1", 18100, "127.0.0.1")).error).toBe("ECONNREFUSED");
      await proxier.sync(state([]));
      expect(proxier.listening()).toEqual([]);
    } finally {
      await proxier.close();
      await new Promise((r) => server.close(r));
    }
  });

  it("refuses SCTP (as upstream's userspace proxy did) and UDP with one logged reason per service port, and serves TCP beside them", async () => {
    const logs: string[] = [];
    const server = await startServer(EP, 18083);
    const proxier = new UserspaceProxier({ log: (m) => logs.push(m) });
    const mixed = buildProxyState({
      services: [
        service("default", "mixed", {
          clusterIP: "127.77.12.3",
          ports: [
            { name: "http", port: 18103, targetPort: 18083 },
            { name: "signal", port: 18103, protocol: "SCTP" },
            { name: "dns", port: 18104, protocol: "UDP" },
          ],
        }),
      ],
      slices: [
        slice(
          "default",
          "mixed",
          [
            { name: "http", port: 18083 },
            { name: "signal", port: 18103, protocol: "SCTP" },
            { name: "dns", port: 18104, protocol: "UDP" },
          ],
          [endpoint(EP)],
        ),
      ],
      nodeName: "node-a",
      nodeIPs: [],
    });
    try {
      expect(await proxier.sync(mixed)).toMatchObject({ ok: true });
      expect(await proxier.sync(mixed)).toMatchObject({ ok: true });
      expect(logs).toEqual([
        "userspace: default/mixed:dns: not served: UDP is not supported by this user space proxy (TCP only; use the nftables or iptables backend)",
        "userspace: default/mixed:signal: not served: SCTP is not supported for user space proxy",
      ]);
      expect(proxier.listening()).toEqual(["127.77.12.3:18103"]);
      expect(await get("127.77.12.3", 18103, "127.0.0.1")).toEqual({ server: `${EP}:18083` });
    } finally {
      await proxier.close();
      await new Promise((r) => server.close(r));
    }
  });

  it("listens for NodePorts on every local address when --nodeport-addresses chose them all", async () => {
    const server = await startServer(EP, 18083);
    const proxier = new UserspaceProxier();
    try {
      await proxier.sync(
        buildProxyState({
          services: [
            service("default", "np", {
              type: "NodePort",
              clusterIP: "127.77.12.3",
              ports: [{ name: "http", port: 18103, targetPort: 18083, nodePort: 18113 }],
            }),
          ],
          slices: [slice("default", "np", [{ name: "http", port: 18083 }], [endpoint(EP)])],
          nodeName: "node-a",
          nodeIPs: ["127.77.0.9"],
        }),
      );
      expect(proxier.listening()).toEqual(["0.0.0.0:18113", "127.77.12.3:18103"]);
      expect(await get("127.0.0.1", 18113, "127.0.0.1")).toEqual({ server: `${EP}:18083` });
    } finally {
      await proxier.close();
      await new Promise((r) => server.close(r));
    }
  });

  it("closes the client's connection when its endpoint dies", async () => {
    const net = await import("node:net");
    const upstreams = new Set<import("node:net").Socket>();
    const endpointServer = net.createServer((s) => {
      upstreams.add(s);
      s.write("hello\n");
    });
    await new Promise<void>((r) => endpointServer.listen(18082, EP, r));
    const proxier = new UserspaceProxier();
    try {
      await proxier.sync(
        buildProxyState({
          services: [service("default", "raw", { clusterIP: "127.77.12.2", ports: [{ name: "tcp", port: 18102 }] })],
          slices: [slice("default", "raw", [{ name: "tcp", port: 18082 }], [endpoint(EP)])],
          nodeName: "node-a",
          nodeIPs: [],
        }),
      );
      const client = net.connect(18102, "127.77.12.2");
      const closed = new Promise<string>((resolve) => {
        let data = "";
        client.on("data", (b) => (data += b.toString()));
        client.on("close", () => resolve(data));
      });
      await new Promise<void>((resolve) => client.once("data", () => resolve()));
      for (const s of upstreams) s.destroy();
      expect(await closed).toBe("hello\n");
    } finally {
      await proxier.close();
      await new Promise((r) => endpointServer.close(r));
    }
  });
});

describe("userspace: one proxier per IP family", () => {
  // ::1 is this host's only IPv6 address every test machine has: the IPv6 "ClusterIP" and pod.
  const NODE_PORT = 38481;
  const dual = service("default", "dual", {
    type: "NodePort",
    clusterIP: "127.77.40.1",
    clusterIPs: ["127.77.40.1", "::1"],
    ports: [{ name: "http", port: 18401, targetPort: 18402, nodePort: NODE_PORT }],
  });
  const slices = [
    slice("default", "dual", [{ name: "http", port: 18402 }], [endpoint("127.77.41.1")]),
    { ...slice("default", "dual", [{ name: "http", port: 18402 }], [endpoint("::1")]), addressType: "IPv6" as const },
  ];
  const input = { services: [dual], slices, nodeName: "node-a", nodeIPs: ["127.77.0.1", "::1"] };
  const v4 = new UserspaceProxier({});
  const v6 = new UserspaceProxier({ family: "IPv6" });
  const servers: http.Server[] = [];
  beforeAll(async () => {
    servers.push(await startServer("127.77.41.1", 18402), await startServer("::1", 18402));
    expect(await v4.sync(buildProxyState(input))).toMatchObject({ ok: true });
    expect(await v6.sync(buildProxyState({ ...input, family: "IPv6" }))).toMatchObject({ ok: true });
  });
  afterAll(async () => {
    await v4.close();
    await v6.close();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });

  it("listens on the family's ClusterIP, and on :: (IPv6 only) next to 0.0.0.0 for the NodePort", () => {
    expect(v4.listening()).toEqual([`0.0.0.0:${NODE_PORT}`, "127.77.40.1:18401"]);
    expect(v6.listening()).toEqual(["::1:18401", `:::${NODE_PORT}`]);
  });

  it("takes IPv6 clients to the IPv6 endpoint and IPv4 clients to the IPv4 one", async () => {
    expect(await get("::1", 18401, "::1")).toEqual({ server: "::1:18402" });
    expect(await get("::1", NODE_PORT, "::1")).toEqual({ server: "::1:18402" });
    expect(await get("127.0.0.1", NODE_PORT, "127.0.0.1")).toEqual({ server: "127.77.41.1:18402" });
  });
});
