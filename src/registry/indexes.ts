// Secondary indexes the controllers read, kept in step with every commit, so that a
// write costs work proportional to what it touches, not to the size of the cluster:
// which Services require each label pair, which Pods each Service selects, and which
// EndpointSlices belong to each Service.
import { SERVICE_NAME_LABEL, type EndpointSlice, type Pod, type Service } from "../api/types";
import { selectorMatches, selectsPods } from "./endpoints-controller";

type Labels = Record<string, string>;

const svcKey = (namespace: string, name: string): string => `${namespace}/${name}`;

/**
 * namespace → label key → label value → the Services whose selector requires key=value.
 * A Service that selects a Pod requires only pairs the Pod carries, so it is found under
 * any of the Pod's pairs: the candidates for a Pod cost what its labels touch.
 */
export class SelectorPairIndex {
  private readonly byNamespace = new Map<string, Map<string, Map<string, Set<string>>>>();

  add(namespace: string, service: string, selector: Labels): void {
    let byKey = this.byNamespace.get(namespace);
    if (!byKey) this.byNamespace.set(namespace, (byKey = new Map()));
    for (const [key, value] of Object.entries(selector)) {
      let byValue = byKey.get(key);
      if (!byValue) byKey.set(key, (byValue = new Map()));
      let services = byValue.get(value);
      if (!services) byValue.set(value, (services = new Set()));
      services.add(service);
    }
  }

  remove(namespace: string, service: string, selector: Labels): void {
    const byKey = this.byNamespace.get(namespace);
    if (!byKey) return;
    for (const [key, value] of Object.entries(selector)) {
      const byValue = byKey.get(key);
      const services = byValue?.get(value);
      if (!byValue || !services) continue;
      services.delete(service);
      if (services.size === 0) byValue.delete(value);
      if (byValue.size === 0) byKey.delete(key);
    }
    if (byKey.size === 0) this.byNamespace.delete(namespace);
  }

  /** The Services requiring at least one pair of any of these label sets: a superset of those that select them. */
  candidates(namespace: string, ...labelSets: (Labels | undefined)[]): Set<string> {
    const out = new Set<string>();
    const byKey = this.byNamespace.get(namespace);
    if (!byKey) return out;
    for (const labels of labelSets)
      for (const [key, value] of Object.entries(labels ?? {})) for (const svc of byKey.get(key)?.get(value) ?? []) out.add(svc);
    return out;
  }
}

export class ServicePodIndex {
  /** namespace → Service name → its selector (only Services that select Pods). */
  private readonly selectors = new Map<string, Map<string, Labels>>();
  private readonly pairs = new SelectorPairIndex();
  /** "ns/svc" → names of the Pods it selects. */
  private readonly members = new Map<string, Set<string>>();

  /** A Service was written (or deleted: `svc` undefined). `pods` are the Pods of its namespace. */
  serviceChanged(namespace: string, name: string, svc: Service | undefined, pods: Iterable<Pod>): void {
    const inNs = this.selectors.get(namespace);
    const previous = inNs?.get(name);
    const selector = svc && selectsPods(svc) ? svc.spec.selector! : undefined;
    if (previous && selector && JSON.stringify(previous) === JSON.stringify(selector)) return;
    if (previous) {
      this.pairs.remove(namespace, name, previous);
      inNs!.delete(name);
    }
    const key = svcKey(namespace, name);
    if (!selector) {
      this.members.delete(key);
      return;
    }
    if (inNs) inNs.set(name, selector);
    else this.selectors.set(namespace, new Map([[name, selector]]));
    this.pairs.add(namespace, name, selector);
    const set = new Set<string>();
    for (const pod of pods) if (selectorMatches(selector, pod.metadata.labels)) set.add(pod.metadata.name!);
    this.members.set(key, set);
  }

  /**
   * A Pod was written: its labels `before` and `after` the write (undefined where it did not
   * exist, was deleted, or has none — no Service selects such a Pod). Returns the Services
   * that selected it before or after: the ones whose endpoints the write can change.
   */
  podChanged(namespace: string, name: string, before: Labels | undefined, after: Labels | undefined): string[] {
    const touched: string[] = [];
    const inNs = this.selectors.get(namespace);
    if (!inNs) return touched;
    for (const svc of this.pairs.candidates(namespace, before, after)) {
      const selector = inNs.get(svc)!;
      const selects = selectorMatches(selector, after);
      if (!selects && !selectorMatches(selector, before)) continue;
      const set = this.members.get(svcKey(namespace, svc))!;
      if (selects) set.add(name);
      else set.delete(name);
      touched.push(svc);
    }
    return touched;
  }

  selected(namespace: string, name: string): ReadonlySet<string> {
    return this.members.get(svcKey(namespace, name)) ?? new Set();
  }
}

export class ServiceSliceIndex {
  /** "ns/svc" → slice name → slice, by the kubernetes.io/service-name label. */
  private readonly slices = new Map<string, Map<string, EndpointSlice>>();

  sliceChanged(slice: EndpointSlice, old: EndpointSlice | undefined, deleted: boolean): void {
    const namespace = slice.metadata.namespace!;
    const name = slice.metadata.name!;
    const before = old?.metadata.labels?.[SERVICE_NAME_LABEL];
    if (before) this.slices.get(svcKey(namespace, before))?.delete(name);
    const after = deleted ? undefined : slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!after) return;
    const key = svcKey(namespace, after);
    let m = this.slices.get(key);
    if (!m) this.slices.set(key, (m = new Map()));
    m.set(name, slice);
  }

  of(namespace: string, service: string): EndpointSlice[] {
    return [...(this.slices.get(svcKey(namespace, service))?.values() ?? [])];
  }
}
