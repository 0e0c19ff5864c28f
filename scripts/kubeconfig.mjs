#!/usr/bin/env node
// `npm run kubeconfig -- --out FILE [--server URL] [--token T] [--namespace NS] [--insecure]`:
// writes a kubeconfig for the svcedge admin API to FILE (mode 0600: it holds the admin
// token), or prints it without --out. Defaults: the https URL of the server `npm start`
// runs (.wrangler/svcedge-dev.json, else https://127.0.0.1:8788), the ADMIN_TOKEN from
// .dev.vars, namespace default.
//
// Not `npm run kubeconfig > FILE`: npm prints its "> svcedge@… kubeconfig" banner to
// stdout first, which would corrupt the file; that case is detected and refused.
//
// Why https: client-go attaches a kubeconfig's bearer token only when the
// transport is TLS (clientcmd applies user credentials only if
// IsConfigTransportTLS), so kubectl against http:// never authenticates. Run the
// local server's TLS port (`npm start` serves one). Its certificate is self-signed; this
// script fetches it and pins it as the cluster's CA (trust on first use, loopback
// only), or with --insecure skips verification.
import { chmodSync, existsSync, fstatSync, readFileSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { connect } from "node:tls";

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};

function devVar(name) {
  if (!existsSync(".dev.vars")) return undefined;
  const m = readFileSync(".dev.vars", "utf8").match(new RegExp(`^\\s*${name}\\s*=\\s*"?([^"\\n]*)"?\\s*$`, "m"));
  return m?.[1];
}

/** The PEM of the certificate the server presents (verification happens later, in kubectl, against this pin). */
function serverCertificate(url) {
  return new Promise((resolve, reject) => {
    const host = url.hostname.replace(/^\[|\]$/g, "");
    // SNI carries names only (RFC 6066).
    const sni = isIP(host) ? {} : { servername: host };
    const socket = connect({ host, port: Number(url.port || 443), ...sni, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      if (!cert?.raw) return reject(new Error("the server presented no certificate"));
      const b64 = cert.raw
        .toString("base64")
        .match(/.{1,64}/g)
        .join("\n");
      resolve(`-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`);
    });
    socket.setTimeout(5000, () => socket.destroy(new Error("timed out")));
    socket.once("error", reject);
  });
}

/** Written by `npm start` (scripts/dev.mjs) while it runs. */
const DEV_SERVER_FILE = ".wrangler/svcedge-dev.json";

function runningServer() {
  try {
    return JSON.parse(readFileSync(DEV_SERVER_FILE, "utf8")).https;
  } catch {
    return undefined;
  }
}

function fail(message) {
  console.error(`kubeconfig: ${message}`);
  process.exit(1);
}

const out = flag("out");
// `npm run kubeconfig > file`: npm has already written its banner into the file, and kubectl
// would fail on it with "yaml: line 2: did not find expected comment or line break".
const npmBanner = process.env.npm_lifecycle_event === "kubeconfig" && process.env.npm_config_loglevel !== "silent";
if (out === undefined && npmBanner && fstatSync(1).isFile()) {
  fail(
    "npm printed its banner into that file; write it with `npm run kubeconfig -- --out svcedge.kubeconfig` (or `npm run -s kubeconfig > svcedge.kubeconfig`)",
  );
}

const server = flag("server") ?? process.env.SVCEDGE_URL ?? runningServer() ?? `https://127.0.0.1:${process.env.HTTPS_PORT ?? "8788"}`;
const token = flag("token") ?? process.env.ADMIN_TOKEN ?? devVar("ADMIN_TOKEN");
const namespace = flag("namespace") ?? "default";
if (!token) fail("no admin token: run `npm start` once (it writes .dev.vars) or pass --token");
const url = new URL(server);
let tls = "";
if (url.protocol === "https:") {
  if (args.includes("--insecure")) tls = "    insecure-skip-tls-verify: true\n";
  else {
    try {
      tls = `    certificate-authority-data: ${Buffer.from(await serverCertificate(url)).toString("base64")}\n`;
    } catch (e) {
      fail(`cannot read the certificate of ${server} (${e.message}); is \`npm start\` running? Or pass --insecure.`);
    }
  }
} else {
  console.error(`warning: ${server} is not https; kubectl sends bearer tokens only over TLS, so every request will be Unauthorized`);
}

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: svcedge
  cluster:
    server: ${server}
${tls}users:
- name: svcedge-admin
  user:
    token: ${token}
contexts:
- name: svcedge
  context:
    cluster: svcedge
    user: svcedge-admin
    namespace: ${namespace}
current-context: svcedge
`;
if (out === undefined || out === "-") process.stdout.write(kubeconfig);
else {
  writeFileSync(out, kubeconfig, { mode: 0o600 });
  chmodSync(out, 0o600); // an existing file keeps its mode otherwise
  console.error(`wrote ${out} (server ${server}); use it with: export KUBECONFIG=$PWD/${out}`);
}
