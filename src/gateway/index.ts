import type { Env } from "../env";

/** The data plane: every request whose Host is not an admin host lands here. */
export async function handleGateway(_request: Request, _env: Env, _ctx: ExecutionContext): Promise<Response> {
  return new Response("404 page not found\n", { status: 404 });
}
