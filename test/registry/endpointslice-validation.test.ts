// Upstream's EndpointSlice validation tests (kubernetes/kubernetes pkg/apis/discovery/validation/validation_test.go:
// TestValidateEndpointSlice, TestValidateEndpointSliceCreate, TestValidateEndpointSliceUpdate), replayed over
// REST against /apis/discovery.k8s.io/v1 with user-managed slices (no endpointslice-controller managed-by
// label). Upstream validates an internal object and counts errors; over REST kube-apiserver first applies the
// discovery/v1 defaults (a port's name "" and protocol TCP) and converts, and every write is a create or an
// update, so TestValidateEndpointSlice's cases are creates; each case expects what kube-apiserver answers: 201
// (200 on update), or 422 Invalid with these causes' fields.
// Translated: upstream's addresses 10.1.2.x become 198.18.2.x; the namespace is the URL's, so "empty-everything"
// (an object with nothing set but its kind) misses its name and addressType only, not its namespace.
// Not expressible over REST: TestValidateEndpointSliceUpdate "deprecated address type" (its old slice, of the
// deprecated type "IP", cannot be created); its "valid and identical slices with different address types"
// (old type "other", which cannot be created either) is replayed as a change from IPv6 to IPv4, the same
// immutability error.
// Agreement: TestValidateEndpointSlice 38 of 38, TestValidateEndpointSliceCreate 5 of 5,
// TestValidateEndpointSliceUpdate 4 of 4.
import { beforeAll, describe, expect, it } from "vitest";
import { call, freshNamespace, json } from "../admin/client";
import { causeFields, type Spec } from "./conformance";

type Slice = Record<string, any>;
/** 201 (200 for an update), or the fields of the 422's causes. */
type Outcome = 201 | 200 | string[];
interface Case {
  test: "TestValidateEndpointSlice" | "TestValidateEndpointSliceCreate" | "TestValidateEndpointSliceUpdate";
  name: string;
  slice: Slice;
  /** For an update: the old slice, created first; `slice` is PUT over it. */
  old?: Slice;
  expect: Outcome;
}

const MAX_ENDPOINTS = 1000;
const MAX_PORTS = 20000;
const MAX_ADDRESSES = 100;
const MAX_TOPOLOGY_LABELS = 16;

const ip = (i: number) => `198.18.2.${i % 255}`;
const generateIPAddresses = (n: number) => Array.from({ length: n }, (_, i) => ip(i));
const generatePorts = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `http-${i}`, protocol: "TCP" }));
const generateEndpoints = (n: number) => Array.from({ length: n }, (_, i) => ({ addresses: [ip(i)] }));
const generateTopology = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`topology-${i}`, "example"]));
const HTTP = [{ name: "http", protocol: "TCP" }];
/** The usual slice of the table: one http port, and the endpoint given. */
const slice = (addressType: string, endpoint: Spec, ports: Spec[] = HTTP): Slice => ({ addressType, ports, endpoints: [endpoint] });
const one = (extra: Spec = {}) => ({ addresses: generateIPAddresses(1), ...extra });
const HOST = { hostname: "valid-123" };
const portsOnly = (ports: Spec[]): Slice => ({ addressType: "IPv4", ports, endpoints: [] });
const zones = (...names: string[]) => one({ hints: { forZones: names.map((name) => ({ name })) } });
const addressFields = (n: number) => Array.from({ length: n }, (_, i) => `endpoints[0].addresses[${i}]`);

const V = "TestValidateEndpointSlice" as const;
const CASES: Case[] = [
  { test: V, name: "good-slice", slice: slice("IPv4", one(HOST)), expect: 201 },
  { test: V, name: "good-ipv6", slice: slice("IPv6", { addresses: ["a00:100::4"], ...HOST }), expect: 201 },
  {
    test: V,
    name: "good-fqdns",
    slice: slice("FQDN", { addresses: ["foo.example.com", "example.com", "example.com.", "hyphens-are-good.example.com"], ...HOST }),
    expect: 201,
  },
  {
    test: V,
    name: "all-protocols",
    slice: slice("IPv4", one(HOST), [
      { name: "tcp", protocol: "TCP" },
      { name: "udp", protocol: "UDP" },
      { name: "sctp", protocol: "SCTP" },
    ]),
    expect: 201,
  },
  {
    test: V,
    name: "app-protocols",
    slice: slice(
      "IPv4",
      one(HOST),
      ["HTTP", "https", "my-protocol", "example.com/custom-protocol"].map((appProtocol, i) => ({
        name: ["one", "two", "three", "four"][i],
        protocol: "TCP",
        appProtocol,
      })),
    ),
    expect: 201,
  },
  {
    test: V,
    name: "empty-port-name",
    slice: slice("IPv4", one(), [
      { name: "", protocol: "TCP" },
      { name: "http", protocol: "TCP" },
    ]),
    expect: 201,
  },
  { test: V, name: "long-port-name", slice: slice("IPv4", one(), [{ name: "a".repeat(63), protocol: "TCP" }]), expect: 201 },
  { test: V, name: "empty-ports-and-endpoints", slice: portsOnly([]), expect: 201 },
  { test: V, name: "max-endpoints", slice: { addressType: "IPv4", ports: generatePorts(1), endpoints: generateEndpoints(MAX_ENDPOINTS) }, expect: 201 },
  { test: V, name: "max-ports", slice: { addressType: "IPv4", ports: generatePorts(MAX_PORTS) }, expect: 201 },
  { test: V, name: "max-addresses", slice: slice("IPv4", { addresses: generateIPAddresses(MAX_ADDRESSES) }), expect: 201 },
  { test: V, name: "max-topology-keys", slice: slice("IPv4", one({ deprecatedTopology: generateTopology(MAX_TOPOLOGY_LABELS) })), expect: 201 },
  { test: V, name: "valid-hints", slice: slice("IPv4", zones("zone-a")), expect: 201 },
  // expected failures
  {
    test: V,
    name: "duplicate-port-name",
    slice: portsOnly([
      { name: "", protocol: "TCP" },
      { name: "", protocol: "TCP" },
    ]),
    expect: ["ports[1].name"],
  },
  { test: V, name: "bad-port-name-caps", slice: portsOnly([{ name: "aCapital", protocol: "TCP" }]), expect: ["ports[0].name"] },
  { test: V, name: "bad-port-name-chars", slice: portsOnly([{ name: "almost_valid", protocol: "TCP" }]), expect: ["ports[0].name"] },
  { test: V, name: "bad-port-name-length", slice: portsOnly([{ name: "a".repeat(64), protocol: "TCP" }]), expect: ["ports[0].name"] },
  { test: V, name: "invalid-port-protocol", slice: { addressType: "IPv4", ports: [{ name: "http", protocol: "foo" }] }, expect: ["ports[0].protocol"] },
  { test: V, name: "too-many-ports", slice: { addressType: "IPv4", ports: generatePorts(MAX_PORTS + 1) }, expect: ["ports"] },
  {
    test: V,
    name: "too-many-endpoints",
    slice: { addressType: "IPv4", ports: generatePorts(1), endpoints: generateEndpoints(MAX_ENDPOINTS + 1) },
    expect: ["endpoints"],
  },
  { test: V, name: "no-endpoint-addresses", slice: slice("IPv4", { addresses: [] }), expect: ["endpoints[0].addresses"] },
  { test: V, name: "too-many-addresses", slice: slice("IPv4", { addresses: generateIPAddresses(MAX_ADDRESSES + 1) }), expect: ["endpoints[0].addresses"] },
  {
    test: V,
    name: "bad-topology-key",
    slice: slice("IPv4", one({ deprecatedTopology: { "--INVALID": "example" } })),
    expect: ["endpoints[0].deprecatedTopology"],
  },
  {
    test: V,
    name: "too-many-topology-keys",
    slice: slice("IPv4", one({ deprecatedTopology: generateTopology(MAX_TOPOLOGY_LABELS + 1) })),
    expect: ["endpoints[0].deprecatedTopology"],
  },
  { test: V, name: "bad-hostname", slice: slice("IPv4", one({ hostname: "--INVALID" })), expect: ["endpoints[0].hostname"] },
  { test: V, name: "bad-meta", slice: { metadata: { name: "*&^" }, ...slice("IPv4", one(HOST)) }, expect: ["metadata.name"] },
  { test: V, name: "bad-ip", slice: slice("IPv4", { addresses: ["123.456.789.012"], ...HOST }), expect: addressFields(1) },
  { test: V, name: "bad-ipv4", slice: slice("IPv4", { addresses: ["123.456.789.012", "2001:4860:4860::8888"], ...HOST }), expect: addressFields(2) },
  { test: V, name: "bad-ipv6", slice: slice("IPv6", { addresses: ["123.456.789.012", "2001:4860:4860:defg"], ...HOST }), expect: addressFields(2) },
  {
    test: V,
    name: "bad-fqdns",
    slice: slice("FQDN", { addresses: ["foo.*", "FOO.example.com", "underscores_are_bad.example.com", "*.example.com"], ...HOST }),
    expect: addressFields(4),
  },
  {
    test: V,
    name: "bad-app-protocol",
    slice: slice("IPv4", one(HOST), [{ name: "http", protocol: "TCP", appProtocol: "--" }]),
    expect: ["ports[0].appProtocol"],
  },
  { test: V, name: "invalid-hints", slice: slice("IPv4", zones("inv@lid")), expect: ["endpoints[0].hints.forZones[0].name"] },
  { test: V, name: "overlapping-hints", slice: slice("IPv4", zones("zone-a", "zone-b", "zone-a")), expect: ["endpoints[0].hints.forZones[2].name"] },
  {
    test: V,
    name: "too-many-hints",
    slice: slice("IPv4", zones(..."abcdefghi".split("").map((z) => `zone-${z}`))),
    expect: ["endpoints[0].hints.forZones"],
  },
  { test: V, name: "empty-everything", slice: { metadata: {} }, expect: ["addressType", "metadata.name"] },
  {
    test: V,
    name: "zone-key-topology",
    slice: slice("IPv4", one({ deprecatedTopology: { "topology.kubernetes.io/zone": "zone1" } })),
    expect: ["endpoints[0].deprecatedTopology[topology.kubernetes.io/zone]"],
  },
  { test: V, name: "special-ipv4", slice: slice("IPv4", { addresses: ["127.0.0.1"], ...HOST }), expect: addressFields(1) },
  { test: V, name: "special-ipv6", slice: slice("IPv6", { addresses: ["fe80::9656:d028:8652:66b6"], ...HOST }), expect: addressFields(1) },

  { test: "TestValidateEndpointSliceCreate", name: "good-slice", slice: slice("IPv4", one(HOST)), expect: 201 },
  { test: "TestValidateEndpointSliceCreate", name: "good-slice-node-name", slice: slice("IPv4", one({ ...HOST, nodeName: "valid-node-name" })), expect: 201 },
  {
    test: "TestValidateEndpointSliceCreate",
    name: "bad-node-name",
    slice: slice("IPv4", one({ ...HOST, nodeName: "INvalid-node-name" })),
    expect: ["endpoints[0].nodeName"],
  },
  { test: "TestValidateEndpointSliceCreate", name: "deprecated-address-type", slice: slice("IP", one()), expect: ["addressType"] },
  { test: "TestValidateEndpointSliceCreate", name: "bad-address-type", slice: slice("other", one()), expect: ["addressType"] },

  {
    test: "TestValidateEndpointSliceUpdate",
    name: "valid and identical slices",
    old: { addressType: "IPv6" },
    slice: { addressType: "IPv6" },
    expect: 200,
  },
  {
    test: "TestValidateEndpointSliceUpdate",
    name: "invalid node name set",
    old: { addressType: "IPv4", endpoints: [{ addresses: ["198.18.2.3"] }] },
    slice: { addressType: "IPv4", endpoints: [{ addresses: ["198.18.2.3"], nodeName: "INVALID foo" }] },
    expect: ["endpoints[0].nodeName"],
  },
  {
    test: "TestValidateEndpointSliceUpdate",
    name: "valid and identical slices with different address types",
    old: { addressType: "IPv6" },
    slice: { addressType: "IPv4" },
    expect: ["addressType"],
  },
  {
    test: "TestValidateEndpointSliceUpdate",
    name: "invalid slices with valid address types",
    old: { addressType: "IPv4" },
    slice: { addressType: "IPv4", ports: [{ name: "", protocol: "invalid" }] },
    expect: ["ports[0].protocol"],
  },
];

describe("EndpointSlice validation over REST (discovery validation_test.go)", () => {
  let ns: string;
  beforeAll(async () => {
    ns = await freshNamespace("slices");
  });
  CASES.forEach((c, i) => {
    it(`${c.test}: ${c.name}`, async () => {
      const base = `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`;
      const name = `es${i}`;
      const body = (s: Slice) => ({ apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", ...s, metadata: s.metadata ?? { name } });
      let res: Response;
      if (c.old) {
        const created = await call("POST", base, body(c.old));
        expect(created.status, await created.clone().text()).toBe(201);
        const { metadata } = await json(created);
        res = await call("PUT", `${base}/${name}`, { ...body(c.slice), metadata });
      } else {
        res = await call("POST", base, body(c.slice));
      }
      const answer = await json(res);
      await call("DELETE", `${base}/${name}`);
      if (typeof c.expect === "number") {
        expect(res.status, JSON.stringify(answer.details?.causes ?? answer.message)).toBe(c.expect);
        return;
      }
      expect(res.status, JSON.stringify(answer.details?.causes ?? answer.message)).toBe(422);
      expect(answer.reason).toBe("Invalid");
      expect(causeFields(answer)).toEqual([...c.expect].sort());
    });
  });
});
