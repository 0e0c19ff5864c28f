// The Worker's entry: admin hosts get the Kubernetes API, every other host is the gateway's.
import { createAdminApp } from "./admin/app";
import type { Env } from "./env";
import { handleGateway } from "./gateway/index";
export { Registry } from "./registry/registry";

const admin = createAdminApp();

let adminHosts: { raw: string; set: Set<string> } | undefined;

function isAdminHost(request: Request, env: Env): boolean {
  const raw = env.ADMIN_HOSTS || "localhost,127.0.0.1,[::1]";
  if (adminHosts?.raw !== raw) adminHosts = { raw, set: new Set(raw.split(",").map((h) => h.trim().toLowerCase())) };
  const host = (request.headers.get("host") ?? new URL(request.url).host).toLowerCase();
  const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0]!;
  return adminHosts.set.has(name);
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    if (isAdminHost(request, env)) return admin.fetch(request, env, ctx);
    return handleGateway(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
