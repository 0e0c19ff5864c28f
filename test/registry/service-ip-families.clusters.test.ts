// Upstream's TestCreateInitIPFields (kubernetes/kubernetes pkg/registry/core/service/storage/storage_test.go),
// replayed over REST: every combination of clusterIPs (unset, v4, v6, v4v6, v6v4, headless, headless
// selectorless) × ipFamilyPolicy (unset, SingleStack, PreferDualStack, RequireDualStack) × ipFamilies
// (unset, v4, v6, v4v6, v6v4), on the cluster this project runs (vitest.config.ts: the plain worker project is
// single-stack IPv4; worker-ipv6, worker-dual-stack and worker-dual-stack-ipv6-primary the others). Each case
// expects what kube-apiserver answers: 201 with the policy and families (and one ClusterIP per family, of
// that family), or 422 Invalid.
//
// Transcribed: upstream's "singlestack:v4" and "dualstack:v4v6" tables (the dual-stack table's primary-family
// rows "ClusterIPs:unset" and "ClusterIPs:v4" unset/SingleStack are taken from its mirror, "dualstack:v6v4",
// which was read). Upstream writes "singlestack:v6" and "dualstack:v6v4" as the exact mirror images (IPv4 and
// IPv6 swapped), and they are generated here by that swap; the rows of them that were read agree.
// Agreement on every cluster: all cases (see docs/kubectl.md, "Dual-stack Services").
import { beforeAll, describe, expect, it } from "vitest";
import { call, freshNamespace, json } from "../admin/client";
import { CIDRS, CLUSTER } from "./conformance";

type Fam = "4" | "6";
/** "E" = 422; otherwise policy initial and families, e.g. "P46" = PreferDualStack, [IPv4, IPv6]. */
type Cell = string;
const FAMILY_COLUMNS = ["unset", "v4", "v6", "v4v6", "v6v4"] as const;
const POLICIES = ["unset", "SingleStack", "PreferDualStack", "RequireDualStack"] as const;
type Row = [Cell, Cell, Cell, Cell, Cell];
/** Section (the clusterIPs given) → policy → one cell per families column. */
type Table = Record<string, Record<(typeof POLICIES)[number], Row>>;

const E5: Row = ["E", "E", "E", "E", "E"];
const SINGLE_V4: Table = {
  "ClusterIPs:unset": {
    unset: ["S4", "S4", "E", "E", "E"],
    SingleStack: ["S4", "S4", "E", "E", "E"],
    PreferDualStack: ["P4", "P4", "E", "E", "E"],
    RequireDualStack: E5,
  },
  "ClusterIPs:v4": {
    unset: ["S4", "S4", "E", "E", "E"],
    SingleStack: ["S4", "S4", "E", "E", "E"],
    PreferDualStack: ["P4", "P4", "E", "E", "E"],
    RequireDualStack: E5,
  },
  "ClusterIPs:v4v6": { unset: E5, SingleStack: E5, PreferDualStack: E5, RequireDualStack: E5 },
  "ClusterIPs:v6v4": { unset: E5, SingleStack: E5, PreferDualStack: E5, RequireDualStack: E5 },
  Headless: {
    unset: ["S4", "S4", "E", "E", "E"],
    SingleStack: ["S4", "S4", "E", "E", "E"],
    PreferDualStack: ["P4", "P4", "E", "E", "E"],
    RequireDualStack: E5,
  },
  HeadlessSelectorless: {
    unset: ["R46", "R46", "R64", "R46", "R64"],
    SingleStack: ["S4", "S4", "S6", "E", "E"],
    PreferDualStack: ["P46", "P46", "P64", "P46", "P64"],
    RequireDualStack: ["R46", "R46", "R64", "R46", "R64"],
  },
};
const DUAL_V4V6: Table = {
  "ClusterIPs:unset": {
    unset: ["S4", "S4", "S6", "E", "E"],
    SingleStack: ["S4", "S4", "S6", "E", "E"],
    PreferDualStack: ["P46", "P46", "P64", "P46", "P64"],
    RequireDualStack: ["R46", "R46", "R64", "R46", "R64"],
  },
  "ClusterIPs:v4": {
    unset: ["S4", "S4", "E", "E", "E"],
    SingleStack: ["S4", "S4", "E", "E", "E"],
    PreferDualStack: ["P46", "P46", "E", "P46", "E"],
    RequireDualStack: ["R46", "R46", "E", "R46", "E"],
  },
  "ClusterIPs:v6": {
    unset: ["S6", "E", "S6", "E", "E"],
    SingleStack: ["S6", "E", "S6", "E", "E"],
    PreferDualStack: ["P64", "E", "P64", "E", "P64"],
    RequireDualStack: ["R64", "E", "R64", "E", "R64"],
  },
  "ClusterIPs:v4v6": {
    unset: E5,
    SingleStack: E5,
    PreferDualStack: ["P46", "P46", "E", "P46", "E"],
    RequireDualStack: ["R46", "R46", "E", "R46", "E"],
  },
  "ClusterIPs:v6v4": {
    unset: E5,
    SingleStack: E5,
    PreferDualStack: ["P64", "E", "P64", "E", "P64"],
    RequireDualStack: ["R64", "E", "R64", "E", "R64"],
  },
  Headless: {
    unset: ["S4", "S4", "S6", "E", "E"],
    SingleStack: ["S4", "S4", "S6", "E", "E"],
    PreferDualStack: ["P46", "P46", "P64", "P46", "P64"],
    RequireDualStack: ["R46", "R46", "R64", "R46", "R64"],
  },
  HeadlessSelectorless: {
    unset: ["R46", "R46", "R64", "R46", "R64"],
    SingleStack: ["S4", "S4", "S6", "E", "E"],
    PreferDualStack: ["P46", "P46", "P64", "P46", "P64"],
    RequireDualStack: ["R46", "R46", "R64", "R46", "R64"],
  },
};

/** Upstream's IPv6-first tables: the IPv4-first ones with the families swapped (names, cells and columns). */
function mirror(t: Table): Table {
  const swap = (s: string) => s.replace(/[46]/g, (d) => (d === "4" ? "6" : "4"));
  const out: Table = {};
  for (const [section, rows] of Object.entries(t)) {
    const m = {} as Table[string];
    for (const p of POLICIES) {
      const r = rows[p];
      m[p] = [swap(r[0]), swap(r[2]), swap(r[1]), swap(r[4]), swap(r[3])];
    }
    out[section.startsWith("ClusterIPs:") ? `ClusterIPs:${swap(section.slice(11))}` : section] = m;
  }
  return out;
}

const TABLES: Record<string, [string, Table]> = {
  "4": ["singlestack:v4", SINGLE_V4],
  "6": ["singlestack:v6", mirror(SINGLE_V4)],
  "46": ["dualstack:v4v6", DUAL_V4V6],
  "64": ["dualstack:v6v4", mirror(DUAL_V4V6)],
};
const [clusterName, table] = TABLES[CLUSTER]!;

/** In-range addresses of each family, one per case, so that no two cases ask for the same IP. */
let next = 1;
const ipOf = (fam: Fam): string => {
  const n = next++;
  const cidr = CIDRS.find((c) => c.includes(":") === (fam === "6"));
  // Out of range on purpose when the cluster lacks the family: upstream's cases name such IPs too.
  if (fam === "4") return cidr ? `${cidr.split(".").slice(0, 2).join(".")}.${n >> 8}.${n & 255 || 1}` : `10.0.${n >> 8}.${n & 255 || 1}`;
  return cidr ? `${cidr.split("::")[0]}::${n.toString(16)}` : `2000::${n.toString(16)}`;
};

const FAMILY = { "4": "IPv4", "6": "IPv6" } as const;
const POLICY_OF: Record<string, string> = { S: "SingleStack", P: "PreferDualStack", R: "RequireDualStack" };

interface Case {
  name: string;
  spec: Record<string, unknown>;
  expect: Cell;
  headless: boolean;
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const [section, rows] of Object.entries(table)) {
    for (const policy of POLICIES) {
      FAMILY_COLUMNS.forEach((col, i) => {
        const spec: Record<string, unknown> = { selector: { app: "foo" }, ports: [{ port: 80 }] };
        if (section === "Headless" || section === "HeadlessSelectorless") spec.clusterIP = "None";
        if (section === "HeadlessSelectorless") delete spec.selector;
        if (section.startsWith("ClusterIPs:") && section !== "ClusterIPs:unset") {
          const ips = [...section.slice(11).replace(/v/g, "")].map((f) => ipOf(f as Fam));
          spec.clusterIP = ips[0];
          spec.clusterIPs = ips;
        }
        if (policy !== "unset") spec.ipFamilyPolicy = policy;
        if (col !== "unset") spec.ipFamilies = [...col.replace(/v/g, "")].map((f) => FAMILY[f as Fam]);
        out.push({ name: `${section}_Policy:${policy}_Families:${col}`, spec, expect: rows[policy][i]!, headless: section.startsWith("Headless") });
      });
    }
  }
  return out;
}

describe(`TestCreateInitIPFields/${clusterName}, over REST (SERVICE_CIDR=${CIDRS.join(",")})`, () => {
  let ns: string;
  beforeAll(async () => {
    ns = await freshNamespace("ipfam");
  });
  let n = 0;
  for (const c of cases()) {
    it(c.name, async () => {
      const res = await call("POST", `/api/v1/namespaces/${ns}/services`, { apiVersion: "v1", kind: "Service", metadata: { name: `s${n++}` }, spec: c.spec });
      const body = await json(res);
      if (c.expect === "E") {
        expect(res.status, JSON.stringify(body.spec ?? body)).toBe(422);
        expect(body.reason).toBe("Invalid");
        return;
      }
      expect(res.status, body.message).toBe(201);
      const families = [...c.expect.slice(1)].map((f) => FAMILY[f as Fam]);
      expect(body.spec.ipFamilyPolicy).toBe(POLICY_OF[c.expect[0]!]);
      expect(body.spec.ipFamilies).toEqual(families);
      if (c.headless) {
        expect(body.spec.clusterIPs).toEqual(["None"]);
        return;
      }
      // One allocated ClusterIP per family, in the families' order, clusterIP the first.
      expect(body.spec.clusterIPs).toHaveLength(families.length);
      body.spec.clusterIPs.forEach((ip: string, i: number) => expect(ip.includes(":") ? "IPv6" : "IPv4").toBe(families[i]));
      expect(body.spec.clusterIP).toBe(body.spec.clusterIPs[0]);
    });
  }
});
