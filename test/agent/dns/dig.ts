// Runs the real `dig` (bind9-dnsutils) inside a lab namespace and reads its output: the
// status, the header flags, and each section's records as "name ttl type data" lines.
import type { NetnsLab } from "../netns";

export interface DigResult {
  status: string;
  flags: string[];
  answer: string[];
  authority: string[];
  additional: string[];
  raw: string;
}

export function parseDig(out: string): DigResult {
  const r: DigResult = { status: "", flags: [], answer: [], authority: [], additional: [], raw: out };
  let section: "answer" | "authority" | "additional" | undefined;
  for (const line of out.split("\n")) {
    const status = /status: ([A-Z]+)/.exec(line);
    if (status) r.status = status[1]!;
    const flags = /^;; flags: ([a-z ]+);/.exec(line);
    if (flags) r.flags = flags[1]!.trim().split(" ");
    const header = /^;; (ANSWER|AUTHORITY|ADDITIONAL) SECTION:/.exec(line);
    if (header) section = header[1]!.toLowerCase() as typeof section;
    else if (line.trim() === "") section = undefined;
    else if (!line.startsWith(";") && section) {
      const [name, ttl, , type, ...data] = line.trim().split(/\s+/);
      r[section].push(`${name} ${ttl} ${type} ${data.join(" ")}`);
    }
  }
  return r;
}

/** `dig @server <args>` from `role`, one try, with every section printed. */
export async function digIn(lab: NetnsLab, role: string, server: string, args: string[]): Promise<DigResult> {
  const out = await lab.must(role, ["dig", `@${server}`, "+time=2", "+tries=1", "+noall", "+comments", "+answer", "+authority", "+additional", ...args]);
  return parseDig(out);
}

/** Just the data of the answer records of one type, sorted. */
export const dataOf = (r: DigResult, type: string): string[] =>
  r.answer
    .map((l) => l.split(" "))
    .filter((f) => f[2] === type)
    .map((f) => f.slice(3).join(" "))
    .sort();
