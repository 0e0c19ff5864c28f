import type { Env } from "./env";
export { Registry } from "./registry/registry";

export default {
  async fetch(_request: Request, _env: Env): Promise<Response> {
    return new Response("svcedge");
  },
} satisfies ExportedHandler<Env>;
