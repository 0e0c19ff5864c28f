// The floor of the edge benchmark: the least a Worker can do to proxy a request. Its
// fetch handler only forwards the request (method, path, query, headers, body) to one pod
// URL given as the POD_URL var: no routing, no KV, no header rewriting, no retries, no
// timeout. It passes the parts in a plain init rather than the incoming Request itself
// (`new Request(url, request)`), which costs workerd measurably more CPU per request: a
// floor must be the cheapest faithful forward, or the gateway looks better than it is.
interface FloorEnv {
  /** Origin of the pod, e.g. "http://127.0.0.1:40123". */
  POD_URL: string;
}

export default {
  fetch(request: Request, env: FloorEnv): Promise<Response> {
    const url = new URL(request.url);
    return fetch(env.POD_URL + url.pathname + url.search, { method: request.method, headers: request.headers, body: request.body });
  },
} satisfies ExportedHandler<FloorEnv>;
