// /healthz, /livez and /readyz in kube-apiserver's format (k8s.io/apiserver/pkg/server/healthz),
// readable without credentials (system:public-info-viewer), and on admin hosts only.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call } from "./client";

describe("health endpoints", () => {
  for (const endpoint of ["healthz", "livez", "readyz"]) {
    it(`/${endpoint} answers "ok", and lists its checks with ?verbose, without a token`, async () => {
      const plain = await call("GET", `/${endpoint}`, undefined, { token: null });
      expect(plain.status).toBe(200);
      expect(plain.headers.get("content-type")).toBe("text/plain; charset=utf-8");
      expect(plain.headers.get("x-content-type-options")).toBe("nosniff");
      expect(await plain.text()).toBe("ok");
      const verbose = await (await call("GET", `/${endpoint}?verbose`, undefined, { token: null })).text();
      expect(verbose.startsWith("[+]ping ok\n")).toBe(true);
      expect(verbose.endsWith(`${endpoint} check passed\n`)).toBe(true);
      expect(await (await call("GET", `/${endpoint}/ping`, undefined, { token: null })).text()).toBe("ok");
      expect((await call("GET", `/${endpoint}/nothing`, undefined, { token: null })).status).toBe(404);
    });
  }

  it("/readyz checks the configuration; exclude= reports what it skipped and what matched nothing", async () => {
    const text = await (await call("GET", "/readyz?verbose&exclude=admin-token&exclude=etcd", undefined, { token: null })).text();
    expect(text).toBe(
      '[+]ping ok\n[+]admin-token excluded: ok\n[+]registry-binding ok\nwarn: some health checks cannot be excluded: no matches for "etcd"\nreadyz check passed\n',
    );
  });

  it("is not served on a gateway host", async () => {
    const res = await exports.default.fetch(new Request("http://web.example.test/healthz"));
    expect(await res.text()).not.toBe("ok");
  });
});
