// The Worker's entry: admin hosts get the Kubernetes API, every other host is the gateway's.
import { createAdminApp } from "./admin/app";
import { configOf, ConfigError } from "./config";
import type { Env } from "./env";
import { handleGateway } from "./gateway/index";
export { Registry } from "./registry/registry";

const admin = createAdminApp();

function isAdminHost(request: Request, adminHosts: readonly string[]): boolean {
  const host = (request.headers.get("host") ?? new URL(request.url).host).toLowerCase();
  const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0]!;
  return adminHosts.includes(name);
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    let adminHosts: readonly string[];
    try {
      adminHosts = configOf(env).adminHosts;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      // A deploy with a malformed variable serves nothing until it is fixed; the message names the variable.
      console.error(e.message);
      return new Response(`${e.message}\n`, { status: 500, headers: { "content-type": "text/plain; charset=utf-8" } });
    }
    if (isAdminHost(request, adminHosts)) return admin.fetch(request, env, ctx);
    return handleGateway(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
