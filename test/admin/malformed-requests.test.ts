// Requests the admin API cannot make sense of get a 4xx Kubernetes Status, never a 500:
// malformed escapes in the path, DELETE bodies that are not DeleteOptions, and bad
// options on the events watch.
import { describe, expect, it } from "vitest";
import { call, freshNamespace, json, readEvents, service } from "./client";

async function expectStatus(res: Response, code: number, message?: RegExp): Promise<void> {
  const body = await json(res);
  expect(res.status, JSON.stringify(body)).toBe(code);
  expect(body).toMatchObject({ kind: "Status", status: "Failure", code });
  if (message) expect(body.message).toMatch(message);
}

describe("percent escapes in the path", () => {
  it("answers 400 to an escape that is not % and two hex digits, as Go's HTTP server does", async () => {
    for (const path of [
      "/api/v1/namespaces/default/services/%zz",
      "/api/v1/namespaces/default/services/a%",
      "/api/v1/namespaces/default/services/a%2",
      "/api/v1/namespaces/%E0%A4%A/services",
      "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/%g1",
    ]) {
      await expectStatus(await call("GET", path), 400, /^invalid URL escape "%/);
    }
    await expectStatus(await call("DELETE", "/api/v1/namespaces/default/services/%zz"), 400, /invalid URL escape "%zz"/);
    await expectStatus(await call("PUT", "/api/v1/namespaces/default/services/x%", service("x")), 400, /invalid URL escape "%"/);
  });

  it("answers 404 to well-formed escapes that are not UTF-8, which name nothing", async () => {
    await expectStatus(await call("GET", "/api/v1/namespaces/default/services/%ff"), 404);
    await expectStatus(await call("GET", "/api/v1/namespaces/%C3%28/services"), 404);
  });

  it("still decodes valid escapes", async () => {
    const ns = await freshNamespace();
    expect((await call("POST", `/api/v1/namespaces/${ns}/services`, service("esc"))).status).toBe(201);
    expect((await call("GET", `/api/v1/namespaces/${ns}/services/%65sc`)).status).toBe(200);
  });
});

describe("DELETE bodies", () => {
  it("treats a JSON null body as no options, as kube-apiserver's decoder does", async () => {
    const ns = await freshNamespace();
    expect((await call("POST", `/api/v1/namespaces/${ns}/services`, service("gone"))).status).toBe(201);
    expect((await call("DELETE", `/api/v1/namespaces/${ns}/services/gone`, undefined, { raw: "null" })).status).toBe(200);
    expect((await call("GET", `/api/v1/namespaces/${ns}/services/gone`)).status).toBe(404);
  });

  it("answers 400 to a body that is not an object, and deletes nothing", async () => {
    const ns = await freshNamespace();
    expect((await call("POST", `/api/v1/namespaces/${ns}/services`, service("kept"))).status).toBe(201);
    for (const [raw, what] of [
      ["[]", "an array"],
      ["[{}]", "an array"],
      ["5", "a number"],
      ['"x"', "a string"],
      ["true", "a boolean"],
    ]) {
      await expectStatus(
        await call("DELETE", `/api/v1/namespaces/${ns}/services/kept`, undefined, { raw }),
        400,
        new RegExp(`must be a DeleteOptions object, not ${what}$`),
      );
    }
    expect((await call("GET", `/api/v1/namespaces/${ns}/services/kept`)).status).toBe(200);
  });
});

describe("the events watch", () => {
  it("answers 400 to a malformed resourceVersion or labelSelector, as the other watches do", async () => {
    for (const q of ["resourceVersion=abc", "resourceVersion=-1", "resourceVersion=1.5", "labelSelector=a%20in%20(b", "labelSelector=!!"]) {
      // A short timeout, so that a watch wrongly opened ends at once.
      await expectStatus(await call("GET", `/api/v1/namespaces/default/events?watch=1&timeoutSeconds=1&${q}`), 400);
      await expectStatus(await call("GET", `/api/v1/services?watch=1&timeoutSeconds=1&${q}`), 400);
    }
    await expectStatus(await call("GET", "/api/v1/events?labelSelector=a%20in%20(b"), 400);
  });

  it("still opens with valid options", async () => {
    const res = await call("GET", "/api/v1/namespaces/default/events?watch=1&resourceVersion=0&labelSelector=app%3Dx&timeoutSeconds=1");
    expect(res.status).toBe(200);
    expect(await readEvents(res, 1, 100)).toEqual([]);
  });
});
