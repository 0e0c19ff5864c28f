// The shapes every benchmark part reports in. A part measures lines (one configuration
// each), derives ratios between lines of the same run, and checks the targets
// against those ratios. Absolute figures drift on shared machines; ratios are the claims.

export type PartName = "edge" | "registry" | "agent" | "dns";

export interface BenchOptions {
  /** Small sizes and short loads, for CI: proves the harness runs, claims nothing. */
  quick: boolean;
  /** Where this run writes its JSON and charts. */
  resultsDir: string;
  /** One-line progress messages (stderr). */
  log(msg: string): void;
  /** A checkout of another revision, with its own node_modules, that the registry part measures beside this one (`--baseline`). */
  baseline?: string;
}

/** One measured configuration: a row of the part's table. Units are in the metric names. */
export interface Line {
  name: string;
  /** e.g. { rps: 5210, p50_ms: 1.2, p99_ms: 4.8 } or { full_sync_ms: 820 }. */
  metrics: Record<string, number>;
  /** Anything a reader needs to trust the line (tool, concurrency, errors seen, sizes). */
  detail?: string;
}

/** A claim: `value` is `numerator / denominator` of two measured figures. */
export interface Ratio {
  name: string;
  value: number;
  /** The target for this ratio, when it has one (drawn on the chart). */
  goal?: { op: ">=" | "<="; value: number };
}

/** A target from the issue, checked against this run's figures. */
export interface Target {
  name: string;
  /** The figure as measured, with its unit, e.g. "0.93 × floor" or "1,840 ms". */
  measured: string;
  /** The target as written, e.g. "≥ 0.9 × floor". */
  goal: string;
  met: boolean;
  /** Why it was missed and whose limit it is, when it was. */
  note?: string;
}

export interface PartResult {
  part: PartName;
  lines: Line[];
  ratios: Ratio[];
  targets: Target[];
  /** Facts about the run worth keeping: sizes, tools, checks (e.g. "pods were not the bottleneck: ..."). */
  notes: string[];
  /** Set when the part could not run here (not root, tool missing): the reason. */
  skipped?: string;
}

export interface BenchPart {
  name: PartName;
  run(opts: BenchOptions): Promise<PartResult>;
}
