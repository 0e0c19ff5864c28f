// The admin API's GET /metrics is Prometheus text; the benches read a few unlabelled samples
// of it (the registry's figures, the gateway's counters).

/** The value of each named unlabelled sample; a missing one is an error (the metric was renamed). */
export function readSamples<K extends string>(text: string, names: Readonly<Record<K, string>>): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const field of Object.keys(names) as K[]) {
    const name = names[field];
    const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
    if (!m) throw new Error(`GET /metrics has no ${name}`);
    out[field] = Number(m[1]);
  }
  return out;
}
