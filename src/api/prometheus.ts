// Prometheus text exposition (format 0.0.4), the pieces both /metrics endpoints write with:
// the Worker's (src/admin/metrics.ts) and the node agent's (src/agent/metrics.ts).

export type Labels = Record<string, string>;

/** A label value as the format wants it: backslash, newline and double quote escaped. */
export const escapeLabelValue = (v: string): string => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');

/** `{a="1",b="2"}` with the names sorted, or "" for no labels. */
export function labelText(labels: Labels): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${escapeLabelValue(labels[k]!)}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

export const formatSampleValue = (n: number): string => (n === Infinity ? "+Inf" : n === -Infinity ? "-Inf" : String(n));

/** A metric family's HELP and TYPE lines. */
export const familyHeader = (name: string, type: "counter" | "gauge" | "histogram", help: string): string[] => [
  `# HELP ${name} ${help}`,
  `# TYPE ${name} ${type}`,
];
