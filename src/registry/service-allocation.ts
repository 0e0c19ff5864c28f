// Allocation for Services: ClusterIPs (one allocator per family of the cluster's service
// CIDRs), NodePorts, health-check NodePorts and edge hostnames. All-or-nothing: a failure
// rolls back what this call took, so a rejected request leaves the allocators exactly as
// they were. The IP families were settled before (api/service-ip-families.ts); this
// allocates what they call for, as kube-apiserver's allocClusterIPs and updateClusterIPs.
import { ipFamilyOfString } from "../api/ip";
import { isUnchangedPreferDualStack, type IPFamily } from "../api/service-ip-families";
import { fieldInvalid } from "../api/status";
import { needsNodePort } from "../api/service-rules";
import type { Service, StatusCause } from "../api/types";
import { AllocationError, ClusterIPAllocator, NodePortAllocator } from "./allocators";
import { lbHostname, serviceHosts, type ClusterConfig } from "./route-compiler";

export interface AllocationConfig extends ClusterConfig {
  /** Primary family first (SERVICE_CIDR). */
  serviceCIDRs: string[];
  nodePortRange: string;
}

/** Allocates a nodePort for every port; a LoadBalancer with allocateLoadBalancerNodePorts false keeps only those the user set. */
const allocatesNodePorts = (s: Service): boolean =>
  s.spec.type === "NodePort" || (s.spec.type === "LoadBalancer" && s.spec.allocateLoadBalancerNodePorts !== false);
const needsHealthCheckPort = (s: Service): boolean => s.spec.type === "LoadBalancer" && s.spec.externalTrafficPolicy === "Local";
const keyOf = (s: Service): string => `${s.metadata.namespace}/${s.metadata.name}`;

export class ServiceAllocations {
  /** One allocator per family, primary first. */
  private readonly ips: ClusterIPAllocator[];
  readonly ports: NodePortAllocator;
  private readonly hosts: ClaimedHosts;

  constructor(
    private readonly sql: SqlStorage,
    private readonly cfg: AllocationConfig,
  ) {
    this.ips = cfg.serviceCIDRs.map((cidr) => new ClusterIPAllocator(sql, cidr));
    this.ports = new NodePortAllocator(sql, cfg.nodePortRange);
    this.hosts = new ClaimedHosts(sql);
    sql.exec("CREATE TABLE IF NOT EXISTS allocation_meta (config TEXT PRIMARY KEY)");
  }

  /** The cluster's service IP families, primary first. */
  get families(): IPFamily[] {
    return this.ips.map((a) => a.family);
  }

  private allocatorOf(family: IPFamily | undefined): ClusterIPAllocator | undefined {
    return this.ips.find((a) => a.family === family);
  }

  /** The allocator for `ip`'s family; none when the cluster no longer has it (its IPs are then left alone, as kube-apiserver does). */
  private allocatorFor(ip: string): ClusterIPAllocator | undefined {
    const f = ipFamilyOfString(ip);
    return this.allocatorOf(f === 4 ? "IPv4" : f === 6 ? "IPv6" : undefined);
  }

  /** False until the allocations of the stored Services were recorded for this configuration (ranges and domains). */
  get built(): boolean {
    return this.sql.exec("SELECT 1 FROM allocation_meta WHERE config = ?", this.configKey).toArray().length > 0;
  }

  /** Records what the stored Services hold: once, for a registry written before allocations were kept, or after the ranges changed. */
  rebuild(services: Iterable<Service>): void {
    for (const svc of services) {
      for (const ip of svc.spec.clusterIPs ?? (svc.spec.clusterIP ? [svc.spec.clusterIP] : [])) if (ip !== "None") this.allocatorFor(ip)?.restore(ip);
      for (const p of svc.spec.ports ?? []) if (p.nodePort) this.ports.restore(p.nodePort);
      if (svc.spec.healthCheckNodePort) this.ports.restore(svc.spec.healthCheckNodePort);
      this.commitHosts(svc);
    }
    this.sql.exec("INSERT OR REPLACE INTO allocation_meta (config) VALUES (?)", this.configKey);
  }

  private get configKey(): string {
    return JSON.stringify([this.cfg.serviceCIDRs.join(","), this.cfg.nodePortRange, this.cfg.clusterDomain, this.cfg.lbDomain]);
  }

  /**
   * Fills in what `svc` needs (mutating it), keeping what `old` already held. Returns field causes for a
   * 422 (with nothing taken), or `undo`, which gives back exactly what this call took; throws
   * AllocationError for an exhausted range (500).
   */
  allocate(svc: Service, old?: Service): { causes: StatusCause[]; undo: () => void } {
    const undo: (() => void)[] = [];
    const causes: StatusCause[] = [];
    try {
      this.allocateClusterIP(svc, old, undo, causes);
      this.allocateNodePorts(svc, old, undo, causes);
      if (svc.spec.type === "LoadBalancer") {
        const hostname = lbHostname(svc, this.cfg);
        svc.status = { loadBalancer: { ingress: [{ hostname, ipMode: "Proxy" }] } };
      } else if (svc.status?.loadBalancer?.ingress) {
        svc.status = { loadBalancer: {} };
      }
      this.claimHosts(svc, causes);
    } catch (e) {
      for (const u of undo.reverse()) u();
      throw e;
    }
    const giveBack = () => {
      for (const u of undo.reverse()) u();
    };
    if (causes.length > 0) giveBack();
    return { causes, undo: giveBack };
  }

  /** Releases what `old` held and `svc` (the new state, or undefined on delete) no longer holds. */
  releaseUnused(old: Service, svc?: Service): void {
    const keepIPs = new Set(svc ? (svc.spec.clusterIPs ?? []) : []);
    for (const ip of old.spec.clusterIPs ?? []) if (!keepIPs.has(ip) && ip !== "None") this.allocatorFor(ip)?.release(ip);
    const keepPorts = new Set<number>();
    for (const p of svc?.spec.ports ?? []) if (p.nodePort) keepPorts.add(p.nodePort);
    if (svc?.spec.healthCheckNodePort) keepPorts.add(svc.spec.healthCheckNodePort);
    for (const p of old.spec.ports ?? []) if (p.nodePort && !keepPorts.has(p.nodePort)) this.ports.release(p.nodePort);
    if (old.spec.healthCheckNodePort && !keepPorts.has(old.spec.healthCheckNodePort)) this.ports.release(old.spec.healthCheckNodePort);
    const keepHosts = new Set(svc ? serviceHosts(svc, this.cfg).map((h) => h.host) : []);
    for (const h of serviceHosts(old, this.cfg)) if (!keepHosts.has(h.host)) this.hosts.release(h.host, keyOf(old));
  }

  private allocateClusterIP(svc: Service, old: Service | undefined, undo: (() => void)[], causes: StatusCause[]): void {
    const spec = svc.spec;
    // Validation, which follows, refuses clusterIPs an ExternalName Service was given.
    if (spec.type === "ExternalName") return;
    if (spec.clusterIP === "None") {
      spec.clusterIPs = ["None"];
      return;
    }
    const families = spec.ipFamilies ?? [];
    let wanted: number[];
    if (!old || old.spec.type === "ExternalName" || !old.spec.clusterIPs?.length) wanted = families.map((_, i) => i);
    else if (isUnchangedPreferDualStack(svc, old)) wanted = [];
    // An upgrade to dual-stack takes the secondary family; a downgrade's release is releaseUnused's, after the write.
    else if ((old.spec.ipFamilies?.length ?? 0) === 1 && families.length === 2) wanted = [1];
    else wanted = [];
    // Validation kept the primary clusterIP: an update holds what it held.
    const ips = [...(spec.clusterIPs ?? [])];
    for (const i of wanted) {
      const allocator = this.allocatorOf(families[i]);
      const requested = ips[i] || undefined;
      if (!allocator) throw new AllocationError(`the ${families[i]} family is not configured on this cluster`);
      try {
        const ip = allocator.allocate(requested);
        undo.push(() => allocator.release(ip));
        ips[i] = ip;
      } catch (e) {
        if (!(e instanceof AllocationError) || !requested) throw e;
        // As the apiserver: the field is the whole list, as it stood while being filled in ("" for what was to be allocated).
        const shown = families.map((_, j) => spec.clusterIPs?.[j] ?? "");
        causes.push(fieldInvalid("spec.clusterIPs", shown, e.message));
        return;
      }
    }
    if (ips.length > 0) {
      spec.clusterIPs = ips;
      spec.clusterIP = ips[0];
    }
  }

  private allocateNodePorts(svc: Service, old: Service | undefined, undo: (() => void)[], causes: StatusCause[]): void {
    const take = (i: number, wanted: number | undefined): number | undefined => {
      try {
        const n = this.ports.allocate(wanted);
        undo.push(() => this.ports.release(n));
        return n;
      } catch (e) {
        if (!(e instanceof AllocationError) || !wanted) throw e;
        causes.push(fieldInvalid(`spec.ports[${i}].nodePort`, wanted, e.message));
        return undefined;
      }
    };
    // Only NodePort and LoadBalancer Services take nodePorts; validation refuses those given to another type
    // (the ones only carried over from the old type were dropped with it: api/defaults.ts dropTypeDependentFields).
    if (needsNodePort(svc)) {
      if (!old) this.initNodePorts(svc, take);
      else this.updateNodePorts(svc, old, take);
    }
    if (!needsHealthCheckPort(svc)) return;
    const held = old && needsHealthCheckPort(old) ? old.spec.healthCheckNodePort : undefined;
    const wanted = svc.spec.healthCheckNodePort ?? held;
    if (wanted && wanted === held) {
      svc.spec.healthCheckNodePort = held;
      return;
    }
    try {
      const n = this.ports.allocate(wanted);
      undo.push(() => this.ports.release(n));
      svc.spec.healthCheckNodePort = n;
    } catch (e) {
      if (!(e instanceof AllocationError) || !wanted) throw e;
      causes.push(fieldInvalid("spec.healthCheckNodePort", wanted, e.message));
    }
  }

  /**
   * A create, as the apiserver's initNodePorts: ports with the same port number (several
   * protocols) share one nodePort; any other nodePort given twice is taken twice, and the
   * second take fails (provided port is already allocated). Stops at the first failure.
   */
  private initNodePorts(svc: Service, take: (i: number, wanted: number | undefined) => number | undefined): void {
    const ports = svc.spec.ports ?? [];
    const byPortNumber = new Map<number, number>();
    for (const [i, p] of ports.entries()) {
      if (!p.nodePort && !allocatesNodePorts(svc)) continue;
      const shared = byPortNumber.get(p.port);
      if (shared === undefined) {
        // The first nodePort requested for this port number, here or further on.
        const requested = ports.slice(i).find((q) => q.port === p.port && q.nodePort)?.nodePort;
        const n = take(i, requested);
        if (n === undefined) return;
        p.nodePort = n;
        byPortNumber.set(p.port, n);
      } else if (!p.nodePort) p.nodePort = shared;
      else if (p.nodePort !== shared && take(i, p.nodePort) === undefined) return;
    }
  }

  /** An update, as the apiserver's updateNodePorts: what the old Service held, or this update took already, is not taken again. */
  private updateNodePorts(svc: Service, old: Service, take: (i: number, wanted: number | undefined) => number | undefined): void {
    const held = new Set((old.spec.ports ?? []).flatMap((p) => (p.nodePort ? [p.nodePort] : [])));
    const takenHere = new Set<number>();
    for (const [i, p] of (svc.spec.ports ?? []).entries()) {
      if (!p.nodePort && !allocatesNodePorts(svc)) continue;
      if (p.nodePort && (held.has(p.nodePort) || takenHere.has(p.nodePort))) continue;
      const n = take(i, p.nodePort);
      if (n === undefined) return;
      p.nodePort = n;
      takenHere.add(n);
    }
  }

  private claimHosts(svc: Service, causes: StatusCause[]): void {
    const me = keyOf(svc);
    const claims = serviceHosts(svc, this.cfg);
    for (const { host, access } of claims) {
      const holder = this.hosts.holder(host);
      if (holder && holder !== me) {
        const field = access === "public" && host !== lbHostname(svc, this.cfg) ? "metadata.annotations[svcedge.io/hostnames]" : "metadata.name";
        causes.push(fieldInvalid(field, host, `hostname is already claimed by Service "${holder}"`));
      }
    }
    if (causes.length > 0) return;
    // Claims are committed only when the whole write succeeds; see commitHosts.
  }

  /** Records the host claims of a Service that has been written. */
  commitHosts(svc: Service): void {
    for (const { host } of serviceHosts(svc, this.cfg)) this.hosts.claim(host, keyOf(svc));
  }
}

/** Edge hostnames and the Service ("namespace/name") holding each, unique by the table's key. */
class ClaimedHosts {
  constructor(private readonly sql: SqlStorage) {
    sql.exec("CREATE TABLE IF NOT EXISTS claimed_hosts (host TEXT PRIMARY KEY, owner TEXT NOT NULL) WITHOUT ROWID");
  }
  holder(host: string): string | undefined {
    return this.sql.exec<{ owner: string }>("SELECT owner FROM claimed_hosts WHERE host = ?", host).toArray()[0]?.owner;
  }
  claim(host: string, owner: string): void {
    this.sql.exec("INSERT OR REPLACE INTO claimed_hosts (host, owner) VALUES (?, ?)", host, owner);
  }
  release(host: string, owner: string): void {
    this.sql.exec("DELETE FROM claimed_hosts WHERE host = ? AND owner = ?", host, owner);
  }
}
