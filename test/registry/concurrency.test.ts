// Issue 16: the registry under concurrent writes, through the Worker's fetch handler.
// The Durable Object serializes them: of racing writes that cannot all win, exactly
// one does and the rest get the apiserver's error; allocations never collide; and
// every watcher sees every change, in the same order.
// `npm test`: N=50, W=10, E=30; SVCEDGE_SOAK=1: N=500, W=200, E=136.
import { describe, expect, it } from "vitest";
import { call, freshNamespace, json, readEvents, service } from "../admin/client";
import { bySize } from "../soak-size";

/** Racing requests per scenario. */
const N = bySize(50, 500);
/** Watchers, and the events each must see. */
const WATCHERS = bySize(10, 200);
const EVENTS = bySize(30, 136);
/** A test's own time limit, and how long a watcher may take to see every event. */
const TEST_TIMEOUT_MS = bySize(30_000, 300_000);
const WATCH_TIMEOUT_MS = bySize(10_000, 120_000);

const servicesOf = (ns: string) => `/api/v1/namespaces/${ns}/services`;

/** Sends every request at once; answers with each status and body, in request order. */
async function race(requests: (() => Promise<Response>)[]): Promise<{ status: number; body: any }[]> {
  return Promise.all(
    requests.map(async (send) => {
      const res = await send();
      return { status: res.status, body: await json(res) };
    }),
  );
}

const countOf = (answers: { status: number }[], status: number): number => answers.filter((a) => a.status === status).length;

describe(`concurrent writes (N=${N})`, () => {
  it(
    "of N creates of one name, exactly one is 201 and the rest are 409 AlreadyExists",
    async () => {
      const ns = await freshNamespace("race");
      const answers = await race(
        Array.from({ length: N }, (_, i) => () => call("POST", servicesOf(ns), service("same", {}, { labels: { attempt: String(i) } }))),
      );
      expect(countOf(answers, 201)).toBe(1);
      expect(countOf(answers, 409)).toBe(N - 1);
      for (const a of answers.filter((x) => x.status === 409))
        expect(a.body).toMatchObject({ kind: "Status", reason: "AlreadyExists", code: 409, message: `services "same" already exists` });
      const winner = answers.find((a) => a.status === 201)!.body;
      const stored = await json(await call("GET", `${servicesOf(ns)}/same`));
      expect(stored.metadata.uid).toBe(winner.metadata.uid);
      expect(stored.metadata.labels.attempt).toBe(winner.metadata.labels.attempt);
      expect((await json(await call("GET", servicesOf(ns)))).items).toHaveLength(1);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "of N creates asking for one nodePort, exactly one wins and the rest are 422 with nothing left behind",
    async () => {
      const ns = await freshNamespace("race");
      const nodePort = 31555;
      const answers = await race(
        Array.from({ length: N }, (_, i) => () => call("POST", servicesOf(ns), service(`np${i}`, { type: "NodePort", ports: [{ port: 80, nodePort }] }))),
      );
      expect(countOf(answers, 201)).toBe(1);
      expect(countOf(answers, 422)).toBe(N - 1);
      answers.forEach((a, i) => {
        if (a.status === 422)
          expect(a.body.message).toBe(`Service "np${i}" is invalid: spec.ports[0].nodePort: Invalid value: ${nodePort}: provided port is already allocated`);
      });
      const winner = answers.find((a) => a.status === 201)!.body;
      expect(winner.spec.ports[0].nodePort).toBe(nodePort);
      const list = await json(await call("GET", servicesOf(ns)));
      expect(list.items.map((s: any) => s.metadata.name)).toEqual([winner.metadata.name]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "of N updates from one resourceVersion, exactly one is 200 and the rest are 409 Conflict",
    async () => {
      const ns = await freshNamespace("race");
      const base = await json(await call("POST", servicesOf(ns), service("contested")));
      const answers = await race(
        Array.from({ length: N }, (_, i) => () => {
          const next = structuredClone(base);
          next.metadata.labels = { attempt: String(i) };
          return call("PUT", `${servicesOf(ns)}/contested`, next);
        }),
      );
      expect(countOf(answers, 200)).toBe(1);
      expect(countOf(answers, 409)).toBe(N - 1);
      for (const a of answers.filter((x) => x.status === 409)) {
        expect(a.body).toMatchObject({ kind: "Status", reason: "Conflict", code: 409 });
        expect(a.body.message).toContain("the object has been modified; please apply your changes to the latest version and try again");
      }
      const winner = answers.find((a) => a.status === 200)!.body;
      const stored = await json(await call("GET", `${servicesOf(ns)}/contested`));
      expect(stored.metadata.resourceVersion).toBe(winner.metadata.resourceVersion);
      expect(stored.metadata.labels).toEqual(winner.metadata.labels);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "of N Services created at once, no two share a ClusterIP or a nodePort",
    async () => {
      const ns = await freshNamespace("race");
      const types = ["NodePort", "LoadBalancer"];
      const answers = await race(
        Array.from(
          { length: N },
          (_, i) => () =>
            call(
              "POST",
              servicesOf(ns),
              service(`s${i}`, {
                type: types[i % 2],
                ports: [
                  { name: "http", port: 80 },
                  { name: "https", port: 443 },
                ],
              }),
            ),
        ),
      );
      expect(answers.filter((a) => a.status !== 201).map((a) => `${a.status} ${a.body.message}`)).toEqual([]);
      const clusterIPs = answers.map((a) => a.body.spec.clusterIP as string);
      const nodePorts = answers.flatMap((a) => a.body.spec.ports.map((p: { nodePort: number }) => p.nodePort));
      expect(clusterIPs.every((ip) => /^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$/.test(ip))).toBe(true);
      expect(new Set(clusterIPs).size).toBe(N);
      expect(nodePorts.every((p) => Number.isInteger(p) && p >= 30000 && p <= 32767)).toBe(true);
      expect(new Set(nodePorts).size).toBe(2 * N);
      // What was answered is what was stored.
      const stored = new Map<string, any>((await json(await call("GET", servicesOf(ns)))).items.map((s: any) => [s.metadata.name, s]));
      for (const a of answers) expect(stored.get(a.body.metadata.name)?.spec).toEqual(a.body.spec);
    },
    TEST_TIMEOUT_MS,
  );
});

describe(`watchers (W=${WATCHERS}, E=${EVENTS})`, () => {
  it(
    "each see every event of concurrent writes, in one identical order",
    async () => {
      const ns = await freshNamespace("watch");
      const from = (await json(await call("GET", servicesOf(ns)))).metadata.resourceVersion;
      const watches = await Promise.all(Array.from({ length: WATCHERS }, () => call("GET", `${servicesOf(ns)}?watch=1&resourceVersion=${from}`)));
      expect(watches.map((w) => w.status)).toEqual(watches.map(() => 200));
      const seen = watches.map((w) => readEvents(w, EVENTS, WATCH_TIMEOUT_MS));
      // Half the events are creates at once, the rest are concurrent patches of what was created.
      const creates = Math.ceil(EVENTS / 2);
      const created = await race(Array.from({ length: creates }, (_, i) => () => call("POST", servicesOf(ns), service(`w${i}`))));
      const patched = await race(
        Array.from(
          { length: EVENTS - creates },
          (_, i) => () =>
            call(
              "PATCH",
              `${servicesOf(ns)}/w${i % creates}`,
              { metadata: { labels: { [`patch-${i}`]: "yes" } } },
              { contentType: "application/merge-patch+json" },
            ),
        ),
      );
      const acknowledged = [...created, ...patched];
      expect(acknowledged.filter((a) => a.status >= 300).map((a) => `${a.status} ${a.body.message}`)).toEqual([]);
      // The order the registry committed them in: ascending resourceVersions, each with its object.
      const expected = acknowledged
        .map((a) => ({ rv: Number(a.body.metadata.resourceVersion), name: a.body.metadata.name as string, type: a.status === 201 ? "ADDED" : "MODIFIED" }))
        .sort((x, y) => x.rv - y.rv);
      expect(new Set(expected.map((e) => e.rv)).size).toBe(EVENTS);
      const lists = await Promise.all(seen);
      lists.forEach((events, w) => {
        const got = events.map((e) => ({ rv: Number(e.object.metadata.resourceVersion), name: e.object.metadata.name, type: e.type }));
        expect(got, `watcher ${w} of ${WATCHERS}`).toEqual(expected);
      });
    },
    TEST_TIMEOUT_MS,
  );
});
