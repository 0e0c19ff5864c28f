import { beforeEach, describe, expect, it } from "vitest";
import { resetGatewayState } from "./reset-state";
import { configureGateway } from "../../src/gateway/config";
import { VIA_ENTRY } from "../../src/gateway/forward-headers";
import { gateway, httpPort, podOf, seedRoute, type Echo } from "./fixtures";

const HOST = "fwd-default.lb.svcedge.local";
const MIB = 1024 * 1024;

beforeEach(async () => {
  resetGatewayState();
  await seedRoute(HOST, { ports: [httpPort(["a"])] });
});

describe("request headers", () => {
  it("drops hop-by-hop headers (and those Connection names) and adds the forwarding headers", async () => {
    const res = await gateway(`http://${HOST}/h`, {
      headers: {
        connection: "keep-alive, X-Hop-Only",
        "x-hop-only": "1",
        "keep-alive": "timeout=5",
        "proxy-authorization": "Basic Zm9vOmJhcg==",
        "proxy-foo": "1",
        te: "trailers",
        trailer: "x-checksum",
        upgrade: "h2c",
        "cf-connecting-ip": "203.0.113.7",
        "x-forwarded-for": "198.51.100.1",
        forwarded: "for=198.51.100.1",
        via: "1.0 corp-proxy",
        "x-end-to-end": "kept",
      },
    });
    expect(res.status).toBe(200);
    const { headers } = await res.json<Echo>();
    for (const name of ["x-hop-only", "keep-alive", "proxy-authorization", "proxy-foo", "te", "trailer", "upgrade", "cf-connecting-ip"]) {
      expect(headers[name], name).toBeUndefined();
    }
    expect(headers["x-end-to-end"]).toBe("kept");
    expect(headers["x-forwarded-for"]).toBe("198.51.100.1, 203.0.113.7");
    expect(headers["x-forwarded-proto"]).toBe("http");
    expect(headers["x-forwarded-host"]).toBe(HOST);
    expect(headers.forwarded).toBe(`for=198.51.100.1, for=203.0.113.7;host=${HOST};proto=http`);
    expect(headers.via).toBe(`1.0 corp-proxy, ${VIA_ENTRY}`);
  });

  it("does not list the client twice when the edge already appended it, and quotes IPv6 and host:port in Forwarded", async () => {
    const res = await gateway(`https://${HOST}:443/`, {
      headers: { host: `${HOST}:443`, "cf-connecting-ip": "2001:DB8::1", "x-forwarded-for": "2001:db8::1" },
    });
    const { headers } = await res.json<Echo>();
    expect(headers["x-forwarded-for"]).toBe("2001:db8::1");
    expect(headers["x-forwarded-proto"]).toBe("https");
    expect(headers["x-forwarded-host"]).toBe(`${HOST}:443`);
    expect(headers.forwarded).toBe(`for="[2001:db8::1]";host="${HOST}:443";proto=https`);
  });

  it("overwrites the forwarding headers a client wrote, leaving one value each", async () => {
    const res = await gateway(`http://${HOST}/`, {
      headers: { "cf-connecting-ip": "203.0.113.7", "x-forwarded-proto": "https", "x-forwarded-host": "bank.example", host: HOST },
    });
    const { headers, rawHeaders } = await res.json<Echo>();
    expect(headers["x-forwarded-proto"]).toBe("http");
    expect(headers["x-forwarded-host"]).toBe(HOST);
    const names = rawHeaders.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase());
    for (const name of ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "forwarded", "via"]) {
      expect(
        names.filter((n) => n === name),
        name,
      ).toHaveLength(1);
    }
  });

  it("passes method, path, query and Host of the pod", async () => {
    const res = await gateway(`http://${HOST}/a/b%20c?q=1&r=%2F`, { method: "DELETE" });
    const echo = await res.json<Echo>();
    expect(echo.method).toBe("DELETE");
    expect(echo.url).toBe("/a/b%20c?q=1&r=%2F");
  });
});

it("answers 508 to a request that already went through us", async () => {
  for (const via of [VIA_ENTRY, `1.0 corp, ${VIA_ENTRY} (edge)`, "1.1 SVCEDGE"]) {
    const res = await gateway(`http://${HOST}/`, { headers: { via } });
    expect(res.status, via).toBe(508);
  }
  expect((await gateway(`http://${HOST}/`, { headers: { via: "1.1 svcedge-other, 2 svcedgeish" } })).status).toBe(200);
});

it("passes redirects through unchanged", async () => {
  // The test's own fetch must not follow it either, or it would see the pod's 200 for /elsewhere.
  const res = await gateway(`http://${HOST}/redirect`, { redirect: "manual" });
  expect(res.status).toBe(302);
  expect(res.headers.get("location")).toBe("/elsewhere");
});

describe("bodies are streamed", () => {
  it("echoes a 1 MiB upload chunk by chunk: the first bytes come back before the upload ends", async () => {
    const chunk = new Uint8Array(64 * 1024).map((_, i) => i % 251);
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    void writer.write(chunk);
    const res = await gateway(`http://${HOST}/echo-body`, { method: "POST", body: readable });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    // A proxy that buffered the upload could not answer before the writer closes.
    let received = 0;
    let checksum = 0;
    const consume = (bytes: Uint8Array) => {
      for (const b of bytes) checksum = (checksum + b * ((received++ % 7) + 1)) % 1_000_000_007;
    };
    const first = await reader.read();
    expect(first.done).toBe(false);
    consume(first.value!);
    for (let sent = chunk.length; sent < MIB; sent += chunk.length) await writer.write(chunk);
    await writer.close();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      consume(value);
    }
    expect(received).toBe(MIB);
    let expected = 0;
    for (let i = 0; i < MIB; i++) expected = (expected + ((i % (64 * 1024)) % 251) * ((i % 7) + 1)) % 1_000_000_007;
    expect(checksum).toBe(expected);
  });

  it("keeps the Content-Length of a fixed-length upload", async () => {
    const body = new Uint8Array(MIB).fill(0x62);
    const res = await gateway(`http://${HOST}/echo-body`, { method: "PUT", body });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-content-length")).toBe(String(MIB));
    const echoed = new Uint8Array(await res.arrayBuffer());
    expect(echoed.byteLength).toBe(MIB);
    expect(echoed.every((b) => b === 0x62)).toBe(true);
  });

  it("streams a 1 MiB download", async () => {
    const res = await gateway(`http://${HOST}/download?bytes=${MIB}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe(String(MIB));
    let received = 0;
    for await (const part of res.body!) received += (part as Uint8Array).byteLength;
    expect(received).toBe(MIB);
  });
});

describe("WebSocket", () => {
  it("upgrades end to end and returns the pod's 101 with its socket", async () => {
    const res = await gateway(`http://${HOST}/ws`, { headers: { upgrade: "websocket", connection: "Upgrade" } });
    expect(res.status).toBe(101);
    expect(res.headers.get("x-pod")).toBe("a");
    const ws = res.webSocket!;
    expect(ws).toBeTruthy();
    ws.accept();
    const messages: string[] = [];
    const got = new Promise<void>((resolve) => {
      ws.addEventListener("message", (event) => {
        messages.push(String(event.data));
        if (messages.length === 2) resolve();
      });
    });
    ws.send("hello");
    ws.send("again");
    await got;
    expect(messages).toEqual(["a:hello", "a:again"]);
    ws.close(1000, "done");
  });

  it("a plain request carrying a non-WebSocket Upgrade is forwarded without it", async () => {
    const res = await gateway(`http://${HOST}/`, { headers: { upgrade: "h2c", connection: "Upgrade" } });
    expect(res.status).toBe(200);
    expect((await res.json<Echo>()).headers.upgrade).toBeUndefined();
  });
});

describe("timeout", () => {
  it("answers 504 when the pod does not answer within the Service's timeout", async () => {
    await seedRoute(HOST, { timeoutMs: 200, ports: [httpPort(["b"])] });
    const res = await gateway(`http://${HOST}/slow?ms=5000`);
    expect(res.status).toBe(504);
    expect(await res.text()).toBe("upstream request timeout\n");
  });

  it("uses the default timeout when the Service has none, and lets a quicker answer through", async () => {
    configureGateway({ defaultTimeoutMs: 200 });
    await seedRoute(HOST, { ports: [httpPort(["c"])] });
    expect((await gateway(`http://${HOST}/slow?ms=5000`)).status).toBe(504);
    const ok = await gateway(`http://${HOST}/slow?ms=10`);
    expect(ok.status).toBe(200);
    expect(await podOf(ok)).toBe("c");
  });
});
