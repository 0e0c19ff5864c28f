// What cluster DNS answers from: the Services, EndpointSlices and Namespaces the agent's
// informers hold, indexed for lookups by name (a Service by namespace and name, its slices
// by Service) and by address (PTR). Informer changes feed it one object at a time; only the
// Service a change touches is re-indexed, and every change bumps `generation`, so cached
// answers can tell they are stale.
import type { EndpointSlice, KubeObject, Service } from "../../api/types";
import { SERVICE_NAME_LABEL } from "../../api/types";
import type { Change } from "../informer";
import { addressKey, dashedAddress } from "./names";

export type ServiceKind = "ClusterIP" | "Headless" | "ExternalName";

export interface DnsPort {
  /** Lowercase ("" when unnamed: such a port has no SRV record, spec 2.3.2). */
  name: string;
  /** Lowercase ("tcp", "udp", "sctp"), as in `_<proto>`. */
  protocol: string;
  port: number;
}

export interface DnsEndpoint {
  address: string;
  family: 4 | 6;
  /** Lowercase: the endpoint's `hostname`, else its address dashed (spec 2.1 "hostname"). */
  hostname: string;
  /** The ports of the slice it came from. */
  ports: DnsPort[];
}

export interface DnsService {
  namespace: string;
  name: string;
  kind: ServiceKind;
  clusterIPs: string[];
  /** Lowercase, without a trailing dot. */
  externalName: string;
  ports: DnsPort[];
  /** Endpoints DNS publishes: ready ones, or every one with publishNotReadyAddresses. */
  endpoints: DnsEndpoint[];
}

const familyOf = (ip: string): 4 | 6 => (ip.includes(":") ? 6 : 4);
const keyOf = (namespace: string, name: string): string => `${namespace}/${name}`;

function kindOf(svc: Service): ServiceKind {
  if (svc.spec.type === "ExternalName") return "ExternalName";
  const ip = svc.spec.clusterIP;
  return ip === undefined || ip === "" || ip === "None" ? "Headless" : "ClusterIP";
}

function portsOf(ports: readonly { name?: string | null; protocol?: string; port?: number | null }[] | undefined): DnsPort[] {
  const out: DnsPort[] = [];
  for (const p of ports ?? [])
    if (typeof p.port === "number") out.push({ name: (p.name ?? "").toLowerCase(), protocol: (p.protocol ?? "TCP").toLowerCase(), port: p.port });
  return out;
}

/** discovery/v1: a nil `ready` means ready. */
const isReady = (ready: boolean | null | undefined): boolean => ready !== false;

function endpointsOf(svc: Service, slices: Iterable<EndpointSlice>): DnsEndpoint[] {
  const publishNotReady = svc.spec.publishNotReadyAddresses === true;
  const out: DnsEndpoint[] = [];
  const seen = new Set<string>();
  for (const slice of slices) {
    if (slice.addressType !== "IPv4" && slice.addressType !== "IPv6") continue;
    const ports = portsOf(slice.ports);
    for (const ep of slice.endpoints ?? []) {
      if (!publishNotReady && !isReady(ep.conditions?.ready)) continue;
      for (const address of ep.addresses ?? []) {
        const key = addressKey(address);
        // The same endpoint may sit in two slices while the controller moves it.
        if (key === undefined || seen.has(`${key}/${ep.hostname ?? ""}`)) continue;
        seen.add(`${key}/${ep.hostname ?? ""}`);
        out.push({ address, family: familyOf(address), hostname: (ep.hostname ?? dashedAddress(address)).toLowerCase(), ports });
      }
    }
  }
  return out;
}

export class ClusterRecords {
  /** Bumped by every change: answers cached under an older generation are stale. */
  generation = 0;
  /** Unix seconds of the last change: the SOA serial. */
  serial = Math.floor(Date.now() / 1000);
  private readonly services = new Map<string, Service>();
  private readonly slices = new Map<string, Map<string, EndpointSlice>>();
  private readonly namespaces = new Set<string>();
  /** Services per namespace: a namespace holding one exists even before its own watch event arrives (another stream). */
  private readonly servicesIn = new Map<string, number>();
  private readonly views = new Map<string, DnsService>();
  /** addressKey → the names whose PTR record it has (spec 2.3.3, 2.4.3). */
  private readonly reverse = new Map<string, string[]>();
  /** What each Service put into `reverse`, to take it out again. */
  private readonly reverseBy = new Map<string, [address: string, name: string][]>();

  constructor(private readonly zone: string) {}

  hasNamespace(namespace: string): boolean {
    return this.namespaces.has(namespace) || this.servicesIn.has(namespace);
  }

  service(namespace: string, name: string): DnsService | undefined {
    return this.views.get(keyOf(namespace, name));
  }

  /** The names an address points back to (PTR). */
  namesOf(addressKeyHex: string): readonly string[] | undefined {
    return this.reverse.get(addressKeyHex);
  }

  get serviceCount(): number {
    return this.views.size;
  }

  namespaceChanged(change: Change<KubeObject>): void {
    const name = change.object.metadata.name ?? "";
    if (change.type === "DELETED") this.namespaces.delete(name);
    else this.namespaces.add(name);
    this.touched();
  }

  serviceChanged(change: Change<Service>): void {
    const svc = change.object;
    const namespace = svc.metadata.namespace ?? "default";
    const key = keyOf(namespace, svc.metadata.name ?? "");
    const had = this.services.has(key);
    if (change.type === "DELETED") this.services.delete(key);
    else this.services.set(key, svc);
    const delta = Number(this.services.has(key)) - Number(had);
    const left = (this.servicesIn.get(namespace) ?? 0) + delta;
    if (left > 0) this.servicesIn.set(namespace, left);
    else this.servicesIn.delete(namespace);
    this.reindex(key);
  }

  sliceChanged(change: Change<EndpointSlice>): void {
    const slice = change.object;
    const serviceName = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    const oldName = change.old?.metadata.labels?.[SERVICE_NAME_LABEL];
    const namespace = slice.metadata.namespace ?? "default";
    const sliceName = slice.metadata.name ?? "";
    // A relabelled slice leaves its old Service.
    if (oldName !== undefined && oldName !== serviceName) this.removeSlice(keyOf(namespace, oldName), sliceName);
    if (serviceName === undefined) return;
    const key = keyOf(namespace, serviceName);
    if (change.type === "DELETED") this.removeSlice(key, sliceName);
    else {
      let byName = this.slices.get(key);
      if (!byName) this.slices.set(key, (byName = new Map()));
      byName.set(sliceName, slice);
      this.reindex(key);
    }
  }

  private removeSlice(key: string, sliceName: string): void {
    const byName = this.slices.get(key);
    if (!byName?.delete(sliceName)) return;
    if (byName.size === 0) this.slices.delete(key);
    this.reindex(key);
  }

  private touched(): void {
    this.generation++;
    this.serial = Math.max(this.serial + 1, Math.floor(Date.now() / 1000)) >>> 0;
  }

  /** Rebuilds one Service's view and its PTR records. */
  private reindex(key: string): void {
    this.touched();
    for (const [address, name] of this.reverseBy.get(key) ?? []) {
      const names = this.reverse.get(address);
      if (!names) continue;
      const left = names.filter((n) => n !== name);
      if (left.length) this.reverse.set(address, left);
      else this.reverse.delete(address);
    }
    this.reverseBy.delete(key);
    const svc = this.services.get(key);
    if (!svc) {
      this.views.delete(key);
      return;
    }
    const kind = kindOf(svc);
    const namespace = svc.metadata.namespace ?? "default";
    const name = svc.metadata.name ?? "";
    const view: DnsService = {
      namespace,
      name,
      kind,
      clusterIPs: kind === "ClusterIP" ? (svc.spec.clusterIPs?.length ? svc.spec.clusterIPs : [svc.spec.clusterIP!]) : [],
      externalName: kind === "ExternalName" ? (svc.spec.externalName ?? "").toLowerCase().replace(/\.$/, "") : "",
      ports: portsOf(svc.spec.ports),
      endpoints: kind === "ExternalName" ? [] : endpointsOf(svc, this.slices.get(key)?.values() ?? []),
    };
    this.views.set(key, view);
    const serviceName = `${name}.${namespace}.svc.${this.zone}`;
    const added: [string, string][] = [];
    for (const ip of view.clusterIPs) added.push([ip, serviceName]);
    if (kind === "Headless") for (const ep of view.endpoints) added.push([ep.address, `${ep.hostname}.${serviceName}`]);
    const entries: [string, string][] = [];
    for (const [ip, ptr] of added) {
      const k = addressKey(ip);
      if (k === undefined) continue;
      const names = this.reverse.get(k);
      if (names?.includes(ptr)) continue;
      this.reverse.set(k, names ? [...names, ptr] : [ptr]);
      entries.push([k, ptr]);
    }
    if (entries.length) this.reverseBy.set(key, entries);
  }
}
