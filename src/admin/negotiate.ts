// Content negotiation on the Accept header, as the apiserver does it: the first
// media range svcedge can produce wins. kubectl get asks for
// `application/json;as=Table;v=v1;g=meta.k8s.io, ..., application/json`.

export type Rendering = "table" | "json" | "yaml";

export function negotiate(accept: string | null): Rendering {
  for (const range of (accept ?? "").split(",")) {
    const [type, ...rest] = range.split(";").map((p) => p.trim().toLowerCase());
    const params = Object.fromEntries(rest.map((p) => p.split("=").map((s) => s.trim()) as [string, string]));
    if (type === "application/json" && params.as === "table") {
      if (params.g === "meta.k8s.io" && params.v === "v1") return "table";
      continue;
    }
    if (params.as) continue;
    if (type === "application/yaml") return "yaml";
    if (type === "application/json" || type === "*/*" || type === "application/*") return "json";
  }
  return "json";
}
