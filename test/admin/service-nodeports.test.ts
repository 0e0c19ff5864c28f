// NodePorts as kube-apiserver allocates and clears them: pkg/registry/core/service/storage/alloc.go
// (initNodePorts, updateNodePorts: "Don't allocate new ports, but do respect specific requests")
// and pkg/registry/core/service/strategy.go (dropTypeDependentFields, sameNodePorts).
import { describe, expect, it } from "vitest";
import { call, freshNamespace, json, service } from "./client";

const MERGE = "application/merge-patch+json";
const create = (ns: string, body: unknown) => call("POST", `/api/v1/namespaces/${ns}/services`, body);
const nodePorts = (svc: any) => svc.spec.ports.map((p: { nodePort?: number }) => p.nodePort);
/** A nodePort nobody holds: allocate one, then free it. */
async function freeNodePort(ns: string, name: string): Promise<number> {
  const probe = await json(await create(ns, service(name, { type: "NodePort" })));
  await call("DELETE", `/api/v1/namespaces/${ns}/services/${name}`);
  return probe.spec.ports[0].nodePort;
}

describe("NodePort allocation (alloc.go initNodePorts / updateNodePorts)", () => {
  it("refuses one nodePort for two different port numbers of a new Service (validation already refuses it for one protocol)", async () => {
    const ns = await freshNamespace();
    const np = await freeNodePort(ns, "probe");
    const res = await create(
      ns,
      service("two", {
        type: "NodePort",
        ports: [
          { name: "a", port: 80, nodePort: np },
          { name: "b", port: 81, protocol: "UDP", nodePort: np },
        ],
      }),
    );
    expect(res.status).toBe(422);
    expect((await json(res)).message).toBe(`Service "two" is invalid: spec.ports[1].nodePort: Invalid value: ${np}: provided port is already allocated`);
    // Nothing stays allocated: the port is free for the next Service.
    expect((await create(ns, service("after", { type: "NodePort", ports: [{ port: 80, nodePort: np }] }))).status).toBe(201);
  });

  it("shares one nodePort between the protocols of one port number, requested on either", async () => {
    const ns = await freshNamespace();
    const np = await freeNodePort(ns, "probe");
    const dns = await json(
      await create(
        ns,
        service("dns", {
          type: "NodePort",
          ports: [
            { name: "tcp", port: 53 },
            { name: "udp", port: 53, protocol: "UDP", nodePort: np },
          ],
        }),
      ),
    );
    expect(nodePorts(dns)).toEqual([np, np]);
    const auto = await json(
      await create(
        ns,
        service("auto", {
          type: "NodePort",
          ports: [
            { name: "tcp", port: 53 },
            { name: "udp", port: 53, protocol: "UDP" },
          ],
        }),
      ),
    );
    expect(nodePorts(auto)[0]).toBe(nodePorts(auto)[1]);
  });

  it("allocateLoadBalancerNodePorts: false allocates none, but keeps the nodePorts the user set", async () => {
    const ns = await freshNamespace();
    const np = await freeNodePort(ns, "probe");
    const spec = {
      type: "LoadBalancer",
      allocateLoadBalancerNodePorts: false,
      ports: [
        { name: "a", port: 80, nodePort: np },
        { name: "b", port: 81 },
      ],
    };
    const lb = await json(await create(ns, service("lb", spec)));
    expect(nodePorts(lb)).toEqual([np, undefined]);
    const other = await create(ns, service("other", { type: "NodePort", ports: [{ port: 80, nodePort: np }] }));
    expect(other.status).toBe(422);
  });
});

describe("type transitions (strategy.go dropTypeDependentFields)", () => {
  it("LoadBalancer → ClusterIP clears the old nodePorts while ports are removed or added, and releases them", async () => {
    const ns = await freshNamespace();
    const ports = [
      { name: "a", port: 80 },
      { name: "b", port: 81 },
    ];
    const removed = await json(await create(ns, service("removed", { type: "LoadBalancer", ports })));
    const [keep] = removed.spec.ports;
    const res = await call("PUT", `/api/v1/namespaces/${ns}/services/removed`, {
      ...removed,
      spec: { ...removed.spec, type: "ClusterIP", allocateLoadBalancerNodePorts: undefined, externalTrafficPolicy: undefined, ports: [keep] },
    });
    expect(res.status).toBe(200);
    expect((await json(res)).spec.ports).toEqual([{ name: "a", port: 80, protocol: "TCP", targetPort: 80 }]);

    const added = await json(await create(ns, service("added", { type: "LoadBalancer", ports })));
    const patched = await call(
      "PATCH",
      `/api/v1/namespaces/${ns}/services/added`,
      { spec: { type: "ClusterIP", allocateLoadBalancerNodePorts: null, externalTrafficPolicy: null, ports: [...added.spec.ports, { name: "c", port: 82 }] } },
      { contentType: MERGE },
    );
    expect(patched.status).toBe(200);
    expect(nodePorts(await json(patched))).toEqual([undefined, undefined, undefined]);
    // Their nodePorts are free again.
    for (const n of [...nodePorts(removed), ...nodePorts(added)])
      expect((await create(ns, service(`reuse-${n}`, { type: "NodePort", ports: [{ port: 80, nodePort: n }] }))).status).toBe(201);
  });

  it("a nodePort that is new on a ClusterIP Service is still refused", async () => {
    const ns = await freshNamespace();
    const lb = await json(await create(ns, service("lb", { type: "LoadBalancer" })));
    const res = await call(
      "PATCH",
      `/api/v1/namespaces/${ns}/services/lb`,
      {
        spec: {
          type: "ClusterIP",
          allocateLoadBalancerNodePorts: null,
          externalTrafficPolicy: null,
          ports: [{ port: 80, nodePort: lb.spec.ports[0].nodePort + 1 }],
        },
      },
      { contentType: MERGE },
    );
    expect(res.status).toBe(422);
    expect((await json(res)).details.causes).toContainEqual(expect.objectContaining({ field: "spec.ports[0].nodePort", reason: "FieldValueForbidden" }));
  });
});
