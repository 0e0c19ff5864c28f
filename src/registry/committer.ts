// What a controller may do to the store: commit an object it derived (an EndpointSlice,
// a Node's Ready condition) or remove one, with the watch event, indexes and KV that
// every committed write gets. The registry implements it; controllers receive it.
import type { KubeObject } from "../api/types";
import type { ResourceDef } from "./resources";

/** The Services whose endpoints a committed Pod write can change (empty for other resources). */
export type TouchedServices = readonly string[];

export interface Committer {
  commit(r: ResourceDef, type: "ADDED" | "MODIFIED", obj: KubeObject, old: KubeObject | undefined, now: number): TouchedServices;
  remove(r: ResourceDef, obj: KubeObject, now: number): TouchedServices;
}

/** A committed write, as the controllers that follow it see it. */
export interface WriteEvent {
  resource: string;
  /** The object as written; undefined when it was deleted. */
  obj?: KubeObject;
  /** The object before the write; undefined when it was created. */
  old?: KubeObject;
  /** What the commit reported (Pods: the Services selecting it before or after). */
  touched: TouchedServices;
  now: number;
}

export interface Controller {
  afterWrite(ev: WriteEvent): void;
}
