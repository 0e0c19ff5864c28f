import type { Env } from "./env";
import { handleGateway } from "./gateway/index";
export { Registry } from "./registry/registry";

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    return handleGateway(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
