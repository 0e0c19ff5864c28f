import { afterAll, beforeAll, expect, it } from "vitest";
import { startLocalWorker, type LocalWorker } from "./local-worker";

let worker: LocalWorker;
beforeAll(async () => {
  worker = await startLocalWorker();
});
afterAll(async () => {
  await worker?.stop();
});

it("serves the admin API under wrangler dev and refuses requests without the token", async () => {
  const ok = await fetch(`${worker.url}/api/v1/namespaces`, { headers: { authorization: `Bearer ${worker.adminToken}` } });
  expect(ok.status).toBe(200);
  const body = (await ok.json()) as { items: { metadata: { name: string } }[] };
  expect(body.items.map((n) => n.metadata.name)).toEqual(expect.arrayContaining(["default", "kube-system"]));
  expect((await fetch(`${worker.url}/api/v1/namespaces`)).status).toBe(401);
});

it("releases the watches of clients that went away, idle ones too, in seconds", async () => {
  const auth = { authorization: `Bearer ${worker.adminToken}` };
  const watchers = async () =>
    Number((await (await fetch(`${worker.url}/metrics`, { headers: auth })).text()).match(/^svcedge_registry_watchers (\d+)$/m)?.[1]);
  const before = await watchers();
  const clients: AbortController[] = [];
  for (const path of ["/api/v1/namespaces?watch=1", "/api/v1/namespaces/default/services?watch=1&resourceVersion=1", "/api/v1/pods?watch=1"]) {
    const client = new AbortController();
    clients.push(client);
    const res = await fetch(`${worker.url}${path}`, { headers: auth, signal: client.signal });
    expect(res.status).toBe(200);
  }
  expect(await watchers()).toBe(before + 3);
  for (const client of clients) client.abort();
  // The registry learns of a gone client only when it writes to it: an idle watch probes every 2 s.
  const deadline = Date.now() + 30_000;
  while ((await watchers()) > before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  expect(await watchers()).toBe(before);
});
