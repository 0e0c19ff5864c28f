// Pure nftables transactions for the layout in layout.ts: ProxyState -> text for `nft -f -`.
// A full sync keeps the table and refills it (flush rules and maps, delete what is stale),
// so affinity sets keep their clients; an update touches only the chains, sets and
// elements of the service ports that changed. Neither needs nft to list the ruleset.
import { isLoopbackAddress } from "../nodeport-addresses";
import { sameServicePort } from "../same-service-port";
import { changedServicePorts, isOfFamily, type ProxyState, type ServicePortState } from "../state";
import {
  BASE_CHAIN_NAMES,
  BASE_CONTAINERS,
  baseChains,
  baseContainers,
  containerDefinition,
  type BaseContainer,
  nftFamily,
  CLUSTER_CIDRS_SET,
  CLUSTER_IPS_SET,
  HAIRPIN_SET,
  SERVICE_CIDRS_SET,
  NODEPORT_IPS_SET,
  serviceObjects,
  sharedChainRules,
  sharedChains,
  withPickFamilies,
  type NftablesOptions,
  type NftServiceObjects,
} from "./layout";
import { buildIndex, CountDelta, entryKeys, hairpinIPs, type TableIndex } from "./table-index";
import { elementCommands, ElementList, type NftPiece } from "./element-list";

export type { NftablesOptions } from "./layout";

export const NFT_TABLE = "svcedge";
const TABLE_COMMENT = "rules for svcedge";

/** What a table already holds, as listed before a full sync: stale objects are deleted. */
export interface ExistingObjects {
  chains: string[];
  /** Set name -> its timeout in seconds (undefined for sets without one). */
  sets: Map<string, number | undefined>;
}

const BASE_SET_NAMES = new Set(BASE_CONTAINERS.map((c) => c.name));

/** "ip <table>" or "ip6 <table>": the table the options name, in their family. */
export const nftTableOf = (opts: NftablesOptions): string => `${nftFamily(opts.family).table} ${opts.table ?? NFT_TABLE}`;

/**
 * The whole table as one transaction that leaves it exactly as `state` says, whatever it
 * held before, provided `existing` lists what it held (without it, stale service chains and
 * affinity sets are left behind, empty and unreferenced: fine for --dry-run and goldens).
 */
export function renderNftables(state: ProxyState, opts: NftablesOptions = {}, existing?: ExistingObjects): string {
  return [...renderNftablesPieces(state, opts, existing)].join("");
}

/**
 * renderNftables in pieces, for writing to nft as they are made: the rules first (they need
 * every Service), then the elements one command at a time, as data that becomes text only
 * when written (element-list.ts; the netlink compiler reads the data). At 10,000 Services the
 * transaction is several MB; as one string (and one buffer for the pipe) it would be the
 * largest allocation of the agent.
 */
export function* renderNftablesPieces(state: ProxyState, opts: NftablesOptions = {}, existing?: ExistingObjects): Generator<NftPiece> {
  const T = nftTableOf(opts);
  const containers = opts.family === "IPv6" ? baseContainers(opts.family) : BASE_CONTAINERS;
  const declare = (definition: (c: BaseContainer) => string): string =>
    `table ${T} {\n\tcomment "${TABLE_COMMENT}"\n${containers.map((c) => `\t${c.kind} ${c.name} { ${definition(c)} }\n`).join("")}}\n`;
  // Rules go first (flush table), then the shared maps and sets are recreated rather than
  // flushed: nothing uses them any more, and dropping a container is one kernel operation
  // where flushing is one per element.
  const parts: string[] = [`add table ${T}\nflush table ${T}\n`, declare((c) => c.definition)];
  for (const c of containers) parts.push(`delete ${c.kind} ${T} ${c.name}\n`);

  const chains: string[] = [];
  const sets: string[] = [];
  const wantedChains = new Set<string>();
  const wantedSets = new Map<string, string>();
  const elements = new Map<string, ElementList>();
  const hairpin = new Set<string>();
  const clusterIPs = new Set<string>();
  const picks = new Set<string>();
  const owners = new Map<string, ServicePortState>();
  let svc: ServicePortState;
  // Two Services claiming one address and port: the first (sorted) wins, as a duplicate key would fail the transaction.
  const collect = (map: string, entry: string, index: number, value: string): void => {
    if (owners.get(entry) !== svc) return;
    let list = elements.get(map);
    if (!list) elements.set(map, (list = new ElementList()));
    list.add(entry, index, value);
  };
  for (svc of state.services) {
    for (const key of entryKeys(svc)) if (!owners.has(key)) owners.set(key, svc);
    const objects = serviceObjects(svc, opts, collect);
    for (const [name, def] of objects.sets) {
      wantedSets.set(name, def);
      sets.push(`\tset ${name} ${def}\n`);
    }
    for (const [name, rules] of objects.chains) {
      wantedChains.add(name);
      chains.push(`\tchain ${name} {\n\t\t${rules.join("\n\t\t")}\n\t}\n`);
    }
    for (const ip of hairpinIPs(svc)) hairpin.add(ip);
    for (const ip of svc.clusterIPs) clusterIPs.add(ip);
    for (const name of sharedChains(svc)) picks.add(name);
  }
  const pickBlocks = [...withPickFamilies(picks)].sort().map((name) => {
    wantedChains.add(name);
    return `\tchain ${name} {\n\t\t${sharedChainRules(name, opts).join("\n\t\t")}\n\t}\n`;
  });

  if (existing) {
    // Rules and map elements are flushed above, so nothing references these any more.
    for (const [name, timeout] of existing.sets) {
      const def = wantedSets.get(name);
      if (BASE_SET_NAMES.has(name) || def?.includes(`timeout ${timeout}s;`)) continue;
      // Stale, or its timeout changed (nft cannot redefine a set): the block below declares it anew.
      parts.push(`delete set ${T} ${name}\n`);
    }
    for (const name of existing.chains) if (!wantedChains.has(name) && !BASE_CHAIN_NAMES.has(name)) parts.push(`delete chain ${T} ${name}\n`);
  }

  // The shared sets' elements, then the maps' (in the order their first element came).
  const lists = new Map<string, ElementList>();
  if (opts.clusterCIDRs?.length) lists.set(CLUSTER_CIDRS_SET, ElementList.of(opts.clusterCIDRs));
  // The table serves one family: the other family's range has no place in it.
  const family = opts.family ?? "IPv4";
  lists.set(SERVICE_CIDRS_SET, ElementList.of(opts.serviceCIDRs?.filter((cidr) => isOfFamily(cidr.split("/")[0]!, family)) ?? []));
  lists.set(CLUSTER_IPS_SET, ElementList.of(clusterIPs));
  // kube-proxy's nftables mode never takes NodePorts on loopback addresses (no route_localnet).
  lists.set(NODEPORT_IPS_SET, ElementList.of(opts.nodePortIPs?.filter((ip) => !isLoopbackAddress(ip)) ?? []));
  lists.set(HAIRPIN_SET, ElementList.of([...hairpin].map((ip) => `${ip} . ${ip}`)));
  for (const [map, list] of elements) lists.set(map, list);

  // Rules before elements: a map's new elements are checked against each rule using it, and
  // the rules that use the endpoint maps are the few pick chains. The containers are declared
  // anew with sizes for the elements they are about to get.
  parts.push(
    declare((c) => containerDefinition(c, lists.get(c.name)?.length ?? 0, opts)).slice(0, -2),
    baseChains(opts),
    ...pickBlocks,
    ...sets,
    ...chains,
    "}\n",
  );
  yield parts.join("");
  for (const [container, list] of lists) yield* elementCommands(T, container, list);
}

/** A full sync that first deletes the table: the last resort when the table holds something a refill cannot fix. */
export function* renderNftablesReplacement(state: ProxyState, opts: NftablesOptions = {}): Generator<NftPiece> {
  const T = nftTableOf(opts);
  yield `add table ${T}\ndelete table ${T}\n`;
  yield* renderNftablesPieces(state, opts);
}

const sameRules = (a: string[] | undefined, b: string[]): boolean => a !== undefined && a.length === b.length && a.every((r, i) => r === b[i]);
const EMPTY: NftServiceObjects = { chains: [], sets: [], elements: [] };

/**
 * Only what changed between two states, as one transaction that assumes the kernel holds
 * `prev` (rendered with the same options). Returns "" when nothing changed, and undefined
 * when the change needs a full sync: an affinity timeout changed (nft cannot redefine a
 * set), or a changed service port shares an entry (IP:port) with another one.
 * `index` is `prev`'s table index (table-index.ts; counted here when not given): this
 * turns it into `next`'s, whatever it returns, so the caller can keep it for the next change.
 */
export function renderNftablesUpdate(prev: ProxyState, next: ProxyState, opts: NftablesOptions = {}, index?: TableIndex): string | undefined {
  const T = nftTableOf(opts);
  if (prev === next) return "";
  const changed = changedServicePorts(prev, next).filter(([old, now]) => !old || !now || !sameServicePort(old, now));

  index ??= buildIndex(prev);
  const hairpin = new CountDelta(index.hairpin);
  const clusterIPs = new CountDelta(index.clusterIPs);
  const entries = new CountDelta(index.entries);
  const sharedBefore = withPickFamilies(index.picks.keys());
  const picks = new CountDelta(index.picks);
  for (const [old, now] of changed) {
    for (const name of old ? sharedChains(old) : []) picks.add(name, -1);
    for (const name of now ? sharedChains(now) : []) picks.add(name, 1);
    for (const ip of old ? hairpinIPs(old) : []) hairpin.add(ip, -1);
    for (const ip of now ? hairpinIPs(now) : []) hairpin.add(ip, 1);
    for (const ip of old?.clusterIPs ?? []) clusterIPs.add(ip, -1);
    for (const ip of now?.clusterIPs ?? []) clusterIPs.add(ip, 1);
    for (const key of old ? entryKeys(old) : []) entries.add(key, -1);
    for (const key of now ? entryKeys(now) : []) entries.add(key, 1);
  }
  for (const [key, was] of entries.before) if (was > 1 || entries.after(key) > 1) return undefined;

  // Phases keep every reference valid inside the transaction: declare, fill, repoint, then remove.
  const addSets: string[] = [],
    addChains: string[] = [],
    fill: string[] = [],
    delElements: string[] = [];
  const addElements: string[] = [],
    flushStale: string[] = [],
    deleteStale: string[] = [],
    deleteSets: string[] = [];
  for (const [oldSvc, nowSvc] of changed) {
    const old = oldSvc ? serviceObjects(oldSvc, opts) : EMPTY;
    const now = nowSvc ? serviceObjects(nowSvc, opts) : EMPTY;
    const oldSets = new Map(old.sets);
    for (const [name, def] of now.sets) {
      const was = oldSets.get(name);
      if (was === undefined) addSets.push(`add set ${T} ${name} ${def}`);
      else if (was !== def) return undefined;
    }
    const newSets = new Set(now.sets.map(([name]) => name));
    for (const [name] of old.sets) if (!newSets.has(name)) deleteSets.push(`delete set ${T} ${name}`);

    const oldChains = new Map(old.chains);
    for (const [name, rules] of now.chains) {
      const was = oldChains.get(name);
      if (sameRules(was, rules)) continue;
      if (was === undefined) addChains.push(`add chain ${T} ${name}`);
      else fill.push(`flush chain ${T} ${name}`);
      for (const rule of rules) fill.push(`add rule ${T} ${name} ${rule}`);
    }
    const newChains = new Set(now.chains.map(([name]) => name));
    for (const [name] of old.chains) {
      if (newChains.has(name)) continue;
      // Stale chains may jump to each other (service -> endpoint): empty them all before deleting any.
      flushStale.push(`flush chain ${T} ${name}`);
      deleteStale.push(`delete chain ${T} ${name}`);
    }

    const oldElements = new Map(old.elements.map((el) => [`${el.map} ${el.key}`, el]));
    const newElements = new Map(now.elements.map((el) => [`${el.map} ${el.key}`, el]));
    for (const [id, el] of oldElements) {
      if (newElements.get(id)?.value !== el.value) delElements.push(`delete element ${T} ${el.map} { ${el.key} }`);
    }
    for (const [id, el] of newElements) {
      if (oldElements.get(id)?.value !== el.value) addElements.push(`add element ${T} ${el.map} { ${el.key} : ${el.value} }`);
    }
  }
  // Shared chains follow the table's invariant (what a full render of `next` holds).
  const sharedAfter = withPickFamilies(index.picks.keys());
  for (const name of sharedAfter) {
    if (sharedBefore.has(name)) continue;
    addChains.push(`add chain ${T} ${name}`);
    for (const rule of sharedChainRules(name, opts)) fill.push(`add rule ${T} ${name} ${rule}`);
  }
  for (const name of sharedBefore) {
    if (sharedAfter.has(name)) continue;
    flushStale.push(`flush chain ${T} ${name}`);
    deleteStale.push(`delete chain ${T} ${name}`);
  }
  for (const [ip, was] of hairpin.before) {
    const now = hairpin.after(ip);
    if (was === 0 && now > 0) addElements.push(`add element ${T} ${HAIRPIN_SET} { ${ip} . ${ip} }`);
    else if (was > 0 && now === 0) delElements.push(`delete element ${T} ${HAIRPIN_SET} { ${ip} . ${ip} }`);
  }
  for (const [ip, was] of clusterIPs.before) {
    const now = clusterIPs.after(ip);
    if (was === 0 && now > 0) addElements.push(`add element ${T} ${CLUSTER_IPS_SET} { ${ip} }`);
    else if (was > 0 && now === 0) delElements.push(`delete element ${T} ${CLUSTER_IPS_SET} { ${ip} }`);
  }
  const lines = [...addSets, ...addChains, ...fill, ...delElements, ...addElements, ...flushStale, ...deleteStale, ...deleteSets];
  return lines.length ? `${lines.join("\n")}\n` : "";
}
