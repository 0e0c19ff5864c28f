// nginx (from apt) as a reverse proxy to the same pods: what a user would pick instead of
// the gateway. Run from a generated config in a temporary prefix, in the foreground, one
// worker process (the gateway's isolate is one thread too), keep-alive to the pods, no
// access log; stopped and removed after its line.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../test/e2e/local-worker";
import { hasBinary } from "../processes";
import { startProxyProcess } from "./proxy-process";

const READY_TIMEOUT_MS = 10_000;
/** Idle keep-alive connections nginx keeps per worker to the upstream group. */
const UPSTREAM_KEEPALIVE = 64;

export interface NginxProxy {
  url: string;
  /** nginx's master and worker share this process group (for CPU readings). */
  pgrp: number;
  stop(): Promise<void>;
}

export const nginxInstalled = (): boolean => hasBinary("nginx");

/** The config: one upstream group of the pods, proxied with the headers a user would set. */
export function nginxConfig(prefix: string, port: number, podAddresses: string[]): string {
  return `worker_processes 1;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  upstream pods {
${podAddresses.map((a) => `    server ${a};`).join("\n")}
    keepalive ${UPSTREAM_KEEPALIVE};
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://pods;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
}
`;
}

/** `podAddresses` as "ip:port". */
export async function startNginx(podAddresses: string[]): Promise<NginxProxy> {
  const prefix = mkdtempSync(join(tmpdir(), "svcedge-nginx-"));
  const port = await freePort();
  const conf = join(prefix, "nginx.conf");
  writeFileSync(conf, nginxConfig(prefix, port, podAddresses));
  const url = `http://127.0.0.1:${port}`;
  const { proc, stop } = await startProxyProcess({
    what: "nginx",
    argv: ["nginx", "-p", prefix, "-c", conf],
    url,
    tempDir: prefix,
    readyTimeoutMs: READY_TIMEOUT_MS,
  });
  // startProcess makes the child the leader of its own process group; nginx's workers stay in it.
  return { url, pgrp: proc.child.pid!, stop };
}
