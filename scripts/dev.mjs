#!/usr/bin/env node
// `npm start`: run the Worker locally with wrangler dev (workerd, local KV and
// Durable Object state persisted under .wrangler/). Creates .dev.vars with a random
// ADMIN_TOKEN on first run, and prints the URL and the token to use. Local pods are
// usually on 127.0.0.1, so the gateway's origin guard is lifted (docs/gateway.md).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

const port = process.env.PORT ?? "8787";
const host = process.env.HOST ?? "127.0.0.1";
const varsFile = ".dev.vars";
const extra = process.argv.slice(2);
const protoArg = extra.indexOf("--local-protocol");
const scheme = protoArg >= 0 && extra[protoArg + 1] === "https" ? "https" : "http";

function readVars() {
  if (!existsSync(varsFile)) return {};
  return Object.fromEntries(
    readFileSync(varsFile, "utf8")
      .split("\n")
      .map((l) => l.match(/^\s*([A-Z_][A-Z0-9_]*)\s*=\s*"?([^"]*)"?\s*$/))
      .filter(Boolean)
      .map((m) => [m[1], m[2]]),
  );
}

let vars = readVars();
if (!vars.ADMIN_TOKEN) {
  const token = randomBytes(32).toString("base64url");
  const existing = existsSync(varsFile) ? readFileSync(varsFile, "utf8") : "";
  writeFileSync(varsFile, `${existing}${existing && !existing.endsWith("\n") ? "\n" : ""}ADMIN_TOKEN="${token}"\n`, { mode: 0o600 });
  vars = readVars();
  console.log(`created ${varsFile} with a new ADMIN_TOKEN`);
}

console.log(`svcedge admin API: ${scheme}://${host}:${port}${scheme === "http" ? "   (kubectl needs TLS: npm start -- --local-protocol https)" : ""}`);
console.log(`admin token:       ${vars.ADMIN_TOKEN}`);
console.log(`try:               curl -H "Authorization: Bearer ${vars.ADMIN_TOKEN}" ${scheme}://${host}:${port}/api/v1/namespaces/default/services`);
console.log(`kubeconfig:        npm run kubeconfig > svcedge.kubeconfig`);

const localOrigins = ["--var", "GATEWAY_ALLOW_LOCAL_ORIGINS:true"];
const child = spawn("wrangler", ["dev", "--ip", host, "--port", port, "--persist-to", ".wrangler/state", ...localOrigins, ...extra], { stdio: "inherit" });
child.on("exit", (code) => process.exit(code ?? 0));
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
