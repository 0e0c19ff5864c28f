// Content negotiation on the Accept header, as the apiserver does it: the first
// media range svcedge can produce wins. kubectl get asks for
// `application/json;as=Table;v=v1;g=meta.k8s.io, ..., application/json`.

import { acceptRanges } from "./media-type";

export type Rendering = "table" | "json" | "yaml";

export function negotiate(accept: string | null): Rendering {
  for (const { type, params } of acceptRanges(accept)) {
    const as = params.as?.toLowerCase();
    if (type === "application/json" && as === "table") {
      if (params.g?.toLowerCase() === "meta.k8s.io" && params.v?.toLowerCase() === "v1") return "table";
      continue;
    }
    if (as) continue;
    if (type === "application/yaml") return "yaml";
    if (type === "application/json" || type === "*/*" || type === "application/*") return "json";
  }
  return "json";
}
