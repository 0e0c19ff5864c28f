import { env, exports } from "cloudflare:workers";
import { expect, it } from "vitest";

it("reaches the worker and the registry", async () => {
  const res = await exports.default.fetch("http://localhost/");
  expect(await res.text()).toBe("svcedge");
  const stub = env.REGISTRY.get(env.REGISTRY.idFromName("cluster"));
  expect(await stub.ping()).toBe("pong");
});
