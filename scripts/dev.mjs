#!/usr/bin/env node
// `npm start [-- --port N] [--ip ADDR] [--https-port N] [wrangler dev flags]`: run the Worker
// locally with wrangler dev (workerd, local KV and Durable Object state under
// .wrangler/state), plain HTTP for curl, the agent and the gateway, and the same server
// over TLS on a second port for kubectl (client-go sends bearer tokens only over TLS).
// Creates .dev.vars with a random ADMIN_TOKEN on first run, and once the server answers
// prints the URLs and commands that work against it. Local settings (docs/gateway.md,
// "Local runs"): pods on 127.0.0.1 are allowed, the gateway keeps no route cache (a change
// is routable as soon as the registry's flush lands), and X-Forwarded-For names the client.
import { spawn } from "node:child_process";
import { randomBytes, X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import { selfSignedCertificate, tlsFront } from "./tls-front.mjs";

const VARS_FILE = ".dev.vars";
const STATE_DIR = ".wrangler/state";
const TLS_DIR = ".wrangler/svcedge-tls";
/** Where the running server's URLs are written for `npm run kubeconfig` (scripts/kubeconfig.mjs reads it). */
const DEV_SERVER_FILE = ".wrangler/svcedge-dev.json";
/** Days the local certificate lives; it is renewed at the first start after that. */
const CERT_DAYS = 365;
/** Worker variables for local runs (docs/gateway.md, "Local runs"). */
const LOCAL_VARS = { GATEWAY_ALLOW_LOCAL_ORIGINS: "true", GATEWAY_ROUTE_CACHE_TTL_SECONDS: "0", GATEWAY_TRUST_X_FORWARDED_FOR: "true" };
const READY_TIMEOUT_MS = 120_000;
/** How often we check that whoever started us is still there. */
const ORPHAN_CHECK_MS = 500;

function fail(message) {
  console.error(`npm start: ${message}`);
  process.exit(2);
}

/** Our flags out of argv (`--port 9000` or `--port=9000`); everything else goes to wrangler dev. */
function parseArgs(argv) {
  const ours = { port: process.env.PORT, ip: process.env.HOST, "https-port": process.env.HTTPS_PORT };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i].startsWith("--") ? argv[i].slice(2).split(/=(.*)/s) : [undefined];
    if (name === "local-protocol") fail("--local-protocol is not needed: http and https are both served (see the lines printed at start)");
    if (name !== undefined && name in ours) {
      const value = inline ?? argv[++i];
      if (value === undefined || value.startsWith("--")) fail(`--${name} needs a value`);
      ours[name] = value;
    } else rest.push(argv[i]);
  }
  const port = Number(ours.port ?? 8787);
  const httpsPort = ours["https-port"] === undefined ? port + 1 : Number(ours["https-port"]);
  for (const [flag, value] of [
    ["port", port],
    ["https-port", httpsPort],
  ]) {
    if (!Number.isInteger(value) || value < 0 || value > 65535) fail(`--${flag} must be a port number, not ${JSON.stringify(String(value))}`);
  }
  return { port, httpsPort, ip: ours.ip ?? "127.0.0.1", wranglerArgs: rest };
}

function readVars() {
  if (!existsSync(VARS_FILE)) return {};
  return Object.fromEntries(
    readFileSync(VARS_FILE, "utf8")
      .split("\n")
      .map((l) => l.match(/^\s*([A-Z_][A-Z0-9_]*)\s*=\s*"?([^"]*)"?\s*$/))
      .filter(Boolean)
      .map((m) => [m[1], m[2]]),
  );
}

function adminToken() {
  const token = readVars().ADMIN_TOKEN;
  if (token) return token;
  const fresh = randomBytes(32).toString("base64url");
  const existing = existsSync(VARS_FILE) ? readFileSync(VARS_FILE, "utf8") : "";
  writeFileSync(VARS_FILE, `${existing}${existing && !existing.endsWith("\n") ? "\n" : ""}ADMIN_TOKEN="${fresh}"\n`, { mode: 0o600 });
  console.log(`created ${VARS_FILE} with a new ADMIN_TOKEN`);
  return fresh;
}

/**
 * A self-signed certificate for the TLS port, made once per checkout with the real openssl
 * and kept (so a kubeconfig that pins it stays valid across restarts). Undefined when
 * openssl is missing: then only http is served.
 */
function localCertificate(ip) {
  const key = join(TLS_DIR, "key.pem");
  const cert = join(TLS_DIR, "cert.pem");
  const names = [...new Set(["127.0.0.1", "localhost", ip])];
  if (existsSync(cert) && existsSync(key)) {
    const x509 = new X509Certificate(readFileSync(cert));
    const covers = names.every((n) => (isIP(n) ? x509.checkIP(n) : x509.checkHost(n)));
    if (covers && Date.parse(x509.validTo) > Date.now() + 86_400_000) return { key, cert };
  }
  mkdirSync(TLS_DIR, { recursive: true });
  try {
    selfSignedCertificate({ keyPath: key, certPath: cert, names, days: CERT_DAYS, subject: "/CN=svcedge local" });
  } catch {
    console.warn("npm start: openssl is not installed, so only http is served (kubectl needs https: apt-get install openssl)");
    return undefined;
  }
  return { key, cert };
}

/** The TLS port: forwards every request unchanged to the http port and streams the answer back (watches). */
function startTlsFront({ key, cert }, ip, httpsPort, upstreamPort) {
  const server = tlsFront({ key: readFileSync(key), cert: readFileSync(cert) }, { host: ip, port: upstreamPort });
  server.on("error", (e) => {
    console.error(`npm start: cannot serve https on ${ip}:${httpsPort}: ${e.message} (choose another port with --https-port)`);
    stop("SIGTERM");
  });
  server.listen(httpsPort, ip);
  return server;
}

const { port, httpsPort, ip, wranglerArgs } = parseArgs(process.argv.slice(2));
const token = adminToken();
const authority = (p) => `${ip.includes(":") ? `[${ip}]` : ip}:${p}`;
const httpUrl = `http://${authority(port)}`;
const tls = localCertificate(ip);
const httpsUrl = tls ? `https://${authority(httpsPort)}` : undefined;

const vars = { ...LOCAL_VARS, ADMIN_HOSTS: [...new Set(["localhost", "127.0.0.1", "[::1]", ip.includes(":") ? `[${ip}]` : ip])].join(",") };
const varArgs = Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
// Its own process group, so that a signal to us (Ctrl-C, or `timeout`, which signals only npm)
// reaches workerd too, wrangler's child. A background group must not read the terminal, so
// wrangler's hotkeys are off; Ctrl-C stops it.
// svcedge reads no `Request.cf`: skip wrangler's fetch of a sample from workers.cloudflare.com (offline, it prints a stack).
const env = { CLOUDFLARE_CF_FETCH_ENABLED: "false", ...process.env };
const child = spawn(
  "wrangler",
  ["dev", "--ip", ip, "--port", String(port), "--persist-to", STATE_DIR, "--show-interactive-dev-session=false", ...varArgs, ...wranglerArgs],
  { stdio: ["ignore", "inherit", "inherit"], detached: true, env },
);
const front = tls ? startTlsFront(tls, ip, httpsPort, port) : undefined;

function stop(signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone already.
  }
}
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => stop(sig));
// npm runs us through `sh -c`, and a SIGTERM to npm alone (`kill`, a process manager) ends that
// shell without passing it on: when our parent is gone, stop as if signalled.
const parent = process.ppid;
setInterval(() => process.ppid !== parent && stop("SIGTERM"), ORPHAN_CHECK_MS).unref();
child.on("exit", (code, signal) => {
  front?.close();
  rmSync(DEV_SERVER_FILE, { force: true });
  // workerd can outlive wrangler: nothing of the group may keep the port.
  stop("SIGKILL");
  process.exit(code ?? (signal ? 0 : 1));
});

async function waitUntilReady() {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const res = await fetch(`${httpUrl}/version`, { headers: { authorization: `Bearer ${token}` } });
      await res.body?.cancel();
      if (res.ok) return true;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

if (await waitUntilReady()) {
  writeFileSync(DEV_SERVER_FILE, `${JSON.stringify({ http: httpUrl, https: httpsUrl, ca: tls?.cert }, null, 2)}\n`);
  const lines = [
    "",
    `svcedge is running; state in ${STATE_DIR}, admin token in ${VARS_FILE}`,
    `  admin API and gateway: ${httpUrl}`,
    httpsUrl && `  admin API over TLS:    ${httpsUrl}   (self-signed: ${tls.cert})`,
    `  admin token:           ${token}`,
    `  dashboard:             ${httpUrl}/dashboard/   (sign in with the admin token; docs/dashboard.md)`,
    `  try:      curl -H "Authorization: Bearer ${token}" ${httpUrl}/api/v1/namespaces/default/services`,
    httpsUrl && `            curl --cacert ${tls.cert} -H "Authorization: Bearer ${token}" ${httpsUrl}/version`,
    httpsUrl && `  kubectl:  npm run kubeconfig -- --out svcedge.kubeconfig && export KUBECONFIG=$PWD/svcedge.kubeconfig`,
    `  agent:    SVCEDGE_TOKEN=<node token> npm run agent -- --api ${httpUrl} --node <name> --node-ip <address>`,
    "",
  ];
  console.log(lines.filter((l) => l !== undefined).join("\n"));
}
