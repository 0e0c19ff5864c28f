// A TLS front for the local Worker, standing in for Cloudflare's edge: kubectl
// (client-go) sends a kubeconfig's bearer token only over TLS, and `wrangler dev`
// serves plain HTTP here. A real Node https server on loopback, with a
// throwaway self-signed certificate from the real openssl, forwards every request
// unchanged and streams responses (watches) back: the same front `npm start` runs
// (scripts/tls-front.mjs).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { selfSignedCertificate, tlsFront } from "../../../scripts/tls-front.mjs";

export interface TlsFront {
  url: string;
  certificatePem: string;
  close(): Promise<void>;
}

export async function startTlsFront(upstream: string): Promise<TlsFront> {
  const dir = mkdtempSync(join(tmpdir(), "svcedge-tls-"));
  const keyPath = join(dir, "key.pem");
  const certPath = join(dir, "cert.pem");
  let key: Buffer;
  let certificatePem: string;
  try {
    selfSignedCertificate({ keyPath, certPath, names: ["127.0.0.1"], days: 1, subject: "/CN=127.0.0.1" });
    key = readFileSync(keyPath);
    certificatePem = readFileSync(certPath, "utf8");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const target = new URL(upstream);
  const server: Server = tlsFront({ key, cert: certificatePem }, { host: target.hostname, port: target.port, hostHeader: target.host });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `https://127.0.0.1:${port}`,
    certificatePem,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
