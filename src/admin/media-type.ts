// Media types as HTTP writes them: "type/subtype; name=value; ...". One parser for the
// Accept header's ranges (content negotiation, discovery) and for Content-Type (bodies).

export interface MediaRange {
  /** Lower-case "type/subtype" (or a range such as "*\/*"). */
  type: string;
  /** Parameters by lower-case name, values as written. */
  params: Record<string, string>;
}

export function parseMediaType(text: string): MediaRange {
  const [type, ...rest] = text.split(";");
  const params: Record<string, string> = Object.create(null);
  for (const p of rest) {
    const i = p.indexOf("=");
    if (i > 0) params[p.slice(0, i).trim().toLowerCase()] = p.slice(i + 1).trim();
  }
  return { type: (type ?? "").trim().toLowerCase(), params };
}

/** The ranges of an Accept header, in the order written (the apiserver takes the first it can serve). */
export const acceptRanges = (accept: string | null): MediaRange[] => (accept ?? "").split(",").map(parseMediaType);
