// Compile-time check (run by `npm run typecheck`, not by vitest) that the API shapes in
// src/api/types.ts keep upstream's field names and types, as k8s.io/api publishes them through the
// `kubernetes-types` package (types only), and that the zod schemas in src/api/schemas.ts, which
// decode request bodies into those shapes, have the same fields as the types. A field added to,
// renamed in or dropped from one of them and not the others fails the type check here.
import type * as core from "kubernetes-types/core/v1";
import type * as coordination from "kubernetes-types/coordination/v1";
import type * as discovery from "kubernetes-types/discovery/v1";
import type * as meta from "kubernetes-types/meta/v1";
import type { z } from "zod/mini";
import type { KIND_SCHEMAS } from "../../src/api/schemas";
import type * as ours from "../../src/api/types";

type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;
type Expect<T extends true> = T;

/** The object type under T (through optionality and arrays), or never for scalars and maps. */
type Struct<T> = NonNullable<T> extends readonly (infer E)[] ? Struct<E> : NonNullable<T> extends object ? NonNullable<T> : never;
/** The fields of A that B lacks, at any depth, as dotted paths ("spec.ports.nodePort"). Maps (string keys) are not entered. */
type Extra<A, B, P extends string = ""> = {
  [K in keyof A & string]-?: K extends keyof B
    ? [Struct<A[K]>] extends [never]
      ? never
      : string extends keyof Struct<A[K]>
        ? never
        : Extra<Struct<A[K]>, Struct<B[K]>, `${P}${K}.`>
    : `${P}${K}`;
}[keyof A & string];
/**
 * T without JSON nulls. Our types allow null where clients send it (a Go pointer field's null
 * decodes as unset) and where the apiserver writes it (PodCondition.lastProbeTime); upstream's
 * generated types leave null out.
 */
type NoNull<T> = T extends null ? never : T extends readonly (infer E)[] ? NoNull<E>[] : T extends object ? { [K in keyof T]: NoNull<T[K]> } : T;
/** Each field of ours has upstream's name (at any depth) and a type upstream's accepts. */
type Subset<Ours, Upstream> = [Extra<Ours, Upstream>] extends [never] ? (NoNull<Ours> extends Upstream ? true : false) : Extra<Ours, Upstream>;

// ---- Every field we serve is upstream's, with upstream's type ----

/** EndpointHints.forNodes is newer than kubernetes-types 1.30: checked apart. */
type WithoutForNodes<T> = Omit<T, "endpoints"> & {
  endpoints: (Omit<ours.Endpoint, "hints"> & { hints?: Omit<NonNullable<ours.Endpoint["hints"]>, "forNodes"> })[];
};

export type OursAreUpstreams = [
  Expect<Equal<Subset<ours.ObjectMeta, meta.ObjectMeta>, true>>,
  Expect<Equal<Subset<ours.ListMeta, meta.ListMeta>, true>>,
  Expect<Equal<Subset<ours.Status, meta.Status>, true>>,
  Expect<Equal<Subset<ours.Service, core.Service>, true>>,
  Expect<Equal<Subset<ours.Pod, core.Pod>, true>>,
  Expect<Equal<Subset<ours.Node, core.Node>, true>>,
  Expect<Equal<Subset<ours.Namespace, core.Namespace>, true>>,
  Expect<Equal<Subset<ours.Endpoints, core.Endpoints>, true>>,
  Expect<Equal<Subset<WithoutForNodes<ours.EndpointSlice>, discovery.EndpointSlice>, true>>,
  Expect<Equal<Extra<ours.EndpointSlice, discovery.EndpointSlice>, "endpoints.hints.forNodes">>,
  Expect<Equal<ours.ForNode, { name: string }>>,
  Expect<Equal<Subset<ours.Lease, coordination.Lease>, true>>,
];

// ---- The kinds svcedge serves whole have all of upstream's fields, but these ----

/** Deprecated; a v1.32 apiserver never sets it. */
type SelfLink = "metadata.selfLink";

export type UpstreamsAreOurs = [
  Expect<Equal<Extra<meta.ObjectMeta, ours.ObjectMeta>, "selfLink">>,
  Expect<Equal<Extra<meta.ListMeta, ours.ListMeta>, "selfLink">>,
  Expect<Equal<Extra<meta.Status, ours.Status>, SelfLink>>,
  // Not served (yet): spec.loadBalancerIP (deprecated since v1.24) and the status conditions.
  Expect<Equal<Extra<core.Service, ours.Service>, SelfLink | "spec.loadBalancerIP" | "status.conditions">>,
  Expect<Equal<Extra<discovery.EndpointSlice, ours.EndpointSlice>, SelfLink>>,
  Expect<Equal<Extra<core.Endpoints, ours.Endpoints>, SelfLink>>,
  Expect<Equal<Extra<core.Namespace, ours.Namespace>, SelfLink | "status.conditions">>,
  Expect<Equal<Extra<coordination.Lease, ours.Lease>, SelfLink>>,
];

// ---- The schemas that decode request bodies have exactly the types' fields ----

type Decoded<K extends keyof typeof KIND_SCHEMAS> = z.output<(typeof KIND_SCHEMAS)[K]>;
/** Same fields, both ways, at any depth, and every value of ours decodes (the schemas take any string where we have a union of them). */
type SameFields<Ours, Schema> = [Extra<Ours, Schema> | Extra<Schema, Ours>] extends [never]
  ? NoNull<Ours> extends Schema
    ? true
    : false
  : Extra<Ours, Schema> | Extra<Schema, Ours>;

export type SchemasAreTypes = [
  Expect<Equal<SameFields<ours.Service, Decoded<"Service">>, true>>,
  Expect<Equal<SameFields<ours.Pod, Decoded<"Pod">>, true>>,
  Expect<Equal<SameFields<ours.EndpointSlice, Decoded<"EndpointSlice">>, true>>,
  Expect<Equal<SameFields<ours.Node, Decoded<"Node">>, true>>,
  Expect<Equal<SameFields<ours.Namespace, Decoded<"Namespace">>, true>>,
];
