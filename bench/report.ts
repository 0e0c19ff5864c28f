// The run's report: the table printed at the end, the JSON kept under bench/results/, and
// an SVG chart of the ratios against their targets.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { join } from "node:path";
import type { PartResult, Ratio } from "./types";

export interface Report {
  started: string;
  quick: boolean;
  machine: Record<string, string>;
  parts: PartResult[];
}

/** The first line a version command prints, on stdout or stderr (`nginx -v` uses stderr). */
function firstLine(argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8" });
  if (r.error) return "not installed";
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.split("\n")[0]!.trim();
}

export function machineFacts(): Record<string, string> {
  const cpu = cpus();
  return {
    cpu: `${cpu.length} × ${cpu[0]?.model ?? "unknown"}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
    kernel: release(),
    node: process.version,
    nft: firstLine(["nft", "--version"]),
    iptables: firstLine(["iptables", "--version"]),
    wrk: firstLine(["wrk", "--version"]),
    nginx: firstLine(["nginx", "-v"]),
  };
}

const fmt = (v: number): string => (Math.abs(v) >= 100 ? Math.round(v).toLocaleString("en-US") : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function printReport(report: Report): void {
  const out: string[] = [
    `svcedge benchmarks ${report.quick ? "(quick: sizes too small for claims) " : ""}${report.started}`,
    `machine: ${report.machine.cpu}, ${report.machine.memory}, kernel ${report.machine.kernel}, node ${report.machine.node}`,
  ];
  for (const p of report.parts) {
    out.push("", `== ${p.part}${p.skipped ? `: ${p.skipped}` : ""}`);
    if (p.lines.length) {
      const keys = [...new Set(p.lines.flatMap((l) => Object.keys(l.metrics)))];
      out.push(table([["line", ...keys], ...p.lines.map((l) => [l.name, ...keys.map((k) => (k in l.metrics ? fmt(l.metrics[k]!) : ""))])]));
    }
    if (p.ratios.length)
      out.push("", table([["ratio", "value", "target"], ...p.ratios.map((r) => [r.name, fmt(r.value), r.goal ? `${r.goal.op} ${r.goal.value}` : ""])]));
    if (p.targets.length)
      out.push(
        "",
        table([
          ["target", "measured", "goal", ""],
          ...p.targets.map((t) => [t.name, t.measured, t.goal, t.met ? "met" : `MISSED${t.note ? `: ${t.note}` : ""}`]),
        ]),
      );
    for (const n of p.notes) out.push(`- ${n}`);
  }
  process.stdout.write(`${out.join("\n")}\n`);
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Horizontal bars, one per ratio, with the target marked; green when met, red when missed. */
export function ratioChart(ratios: (Ratio & { part: string })[], title: string): string {
  const rowH = 26;
  // About 6.5 px per character of 12 px sans-serif, so no label runs off the left edge.
  const labelW = Math.max(200, Math.ceil(Math.max(...ratios.map((r) => `${r.part}: ${r.name}`.length)) * 6.5) + 16);
  const barW = 360;
  const top = 40;
  const max = Math.max(1.5, ...ratios.map((r) => Math.max(r.value, r.goal?.value ?? 0))) * 1.05;
  const x = (v: number) => labelW + (Math.min(v, max) / max) * barW;
  const rows = ratios.map((r, i) => {
    const y = top + i * rowH;
    const met = !r.goal || (r.goal.op === ">=" ? r.value >= r.goal.value : r.value <= r.goal.value);
    const color = r.goal ? (met ? "#2e7d32" : "#c62828") : "#607d8b";
    const goal = r.goal
      ? `<line x1="${x(r.goal.value)}" x2="${x(r.goal.value)}" y1="${y - 2}" y2="${y + rowH - 6}" stroke="#000" stroke-width="2"/><text x="${x(r.goal.value) + 3}" y="${y + 8}" font-size="9">${r.goal.op} ${r.goal.value}</text>`
      : "";
    return `<text x="${labelW - 8}" y="${y + 14}" text-anchor="end" font-size="12">${esc(`${r.part}: ${r.name}`)}</text><rect x="${labelW}" y="${y + 2}" width="${Math.max(1, x(r.value) - labelW)}" height="${rowH - 10}" fill="${color}"/><text x="${Math.min(x(r.value), labelW + barW) + 4}" y="${y + 14}" font-size="11">${fmt(r.value)}</text>${goal}`;
  });
  const h = top + ratios.length * rowH + 20;
  const w = labelW + barW + 80;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif"><rect width="100%" height="100%" fill="#fff"/><text x="10" y="22" font-size="14" font-weight="bold">${esc(title)}</text><line x1="${x(1)}" x2="${x(1)}" y1="${top - 4}" y2="${h - 16}" stroke="#bbb" stroke-dasharray="3,3"/>${rows.join("")}</svg>\n`;
}

export function writeReport(report: Report, dir: string): string[] {
  const stamp = report.started.replace(/[:.]/g, "-");
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const named = join(dir, `${stamp}${report.quick ? "-quick" : ""}.json`);
  const latest = join(dir, "latest.json");
  writeFileSync(named, json);
  writeFileSync(latest, json);
  // The chart holds the claims: ratios that have a target (the others differ in scale by 10×).
  const ratios = report.parts.flatMap((p) => p.ratios.filter((r) => r.goal).map((r) => ({ ...r, part: p.part })));
  const chart = join(dir, "latest.svg");
  writeFileSync(
    chart,
    ratioChart(ratios, `svcedge ratios, ${report.started.slice(0, 10)}${report.quick ? " (quick)" : ""}: bar = measured, black line = target`),
  );
  return [named, latest, chart];
}
