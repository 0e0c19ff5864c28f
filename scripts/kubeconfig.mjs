#!/usr/bin/env node
// `npm run kubeconfig [-- --server URL] [--token T] [--namespace NS] [--insecure]`:
// prints a kubeconfig for the svcedge admin API (default https://127.0.0.1:8787,
// the ADMIN_TOKEN from .dev.vars).
//
// Why https: client-go attaches a kubeconfig's bearer token only when the
// transport is TLS (clientcmd applies user credentials only if
// IsConfigTransportTLS), so kubectl against http:// never authenticates. Run the
// local server with TLS: `npm start -- --local-protocol https`. Its certificate is
// self-signed; this script fetches it and pins it as the cluster's CA
// (trust on first use, loopback only), or with --insecure skips verification.
import { existsSync, readFileSync } from "node:fs";
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
      const b64 = cert.raw.toString("base64").match(/.{1,64}/g).join("\n");
      resolve(`-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`);
    });
    socket.setTimeout(5000, () => socket.destroy(new Error("timed out")));
    socket.once("error", reject);
  });
}

const server = flag("server") ?? process.env.SVCEDGE_URL ?? `https://127.0.0.1:${process.env.PORT ?? "8787"}`;
const token = flag("token") ?? process.env.ADMIN_TOKEN ?? devVar("ADMIN_TOKEN");
const namespace = flag("namespace") ?? "default";
if (!token) {
  console.error("no admin token: run `npm start` once (it writes .dev.vars) or pass --token");
  process.exit(1);
}
const url = new URL(server);
let tls = "";
if (url.protocol === "https:") {
  if (args.includes("--insecure")) tls = "    insecure-skip-tls-verify: true\n";
  else {
    try {
      tls = `    certificate-authority-data: ${Buffer.from(await serverCertificate(url)).toString("base64")}\n`;
    } catch (e) {
      console.error(`cannot read the certificate of ${server} (${e.message}); is the server running (npm start -- --local-protocol https)? Or pass --insecure.`);
      process.exit(1);
    }
  }
} else {
  console.error(`warning: ${server} is not https; kubectl sends bearer tokens only over TLS, so every request will be Unauthorized`);
}

process.stdout.write(`apiVersion: v1
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
`);
