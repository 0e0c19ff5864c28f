// Boolean query parameters (watch, allowWatchBookmarks, force, …) as apimachinery converts
// them (runtime.Convert_Slice_string_To_bool): absent is false; "0" and "false" in any case
// are false; every other value, the empty string of a bare `?watch` included, is true.
// Python's client sends `watch=True`, Go's `watch=true`, curl users `watch=1` or `?watch`.

/** undefined when the parameter is absent (a *bool left nil, as PatchOptions.force). */
export function queryBool(q: URLSearchParams, name: string): boolean | undefined {
  const raw = q.get(name);
  if (raw === null) return undefined;
  return !(raw === "0" || raw.toLowerCase() === "false");
}
