// Secondary indexes the controllers read, kept in step with every commit, so that a
// write costs work proportional to what it touches, not to the size of the cluster:
// which Pods each Service selects, and which EndpointSlices belong to each Service.
import { SERVICE_NAME_LABEL, type EndpointSlice, type Pod, type Service } from "../api/types";
import { selectorMatches, selectsPods } from "./endpoints-controller";

const svcKey = (namespace: string, name: string): string => `${namespace}/${name}`;

export class ServicePodIndex {
  /** namespace → Service name → its selector (only Services that select Pods). */
  private readonly selectors = new Map<string, Map<string, Record<string, string>>>();
  /** "ns/svc" → names of the Pods it selects. */
  private readonly members = new Map<string, Set<string>>();

  /** A Service was written (or deleted: `svc` undefined). `pods` are the Pods of its namespace. */
  serviceChanged(namespace: string, name: string, svc: Service | undefined, pods: Iterable<Pod>): void {
    const key = svcKey(namespace, name);
    const inNs = this.selectors.get(namespace);
    if (!svc || !selectsPods(svc)) {
      inNs?.delete(name);
      this.members.delete(key);
      return;
    }
    const selector = svc.spec.selector!;
    const previous = inNs?.get(name);
    if (previous && JSON.stringify(previous) === JSON.stringify(selector)) return;
    if (inNs) inNs.set(name, selector);
    else this.selectors.set(namespace, new Map([[name, selector]]));
    const set = new Set<string>();
    for (const pod of pods) if (selectorMatches(selector, pod.metadata.labels)) set.add(pod.metadata.name!);
    this.members.set(key, set);
  }

  /** A Pod was written (or deleted: `labels` undefined). */
  podChanged(namespace: string, name: string, labels: Record<string, string> | undefined, deleted: boolean): void {
    for (const [svc, selector] of this.selectors.get(namespace) ?? []) {
      const set = this.members.get(svcKey(namespace, svc))!;
      if (!deleted && selectorMatches(selector, labels)) set.add(name);
      else set.delete(name);
    }
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
