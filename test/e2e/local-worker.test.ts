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
