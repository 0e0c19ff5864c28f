// Registers this node: creates its Node object, or brings the addresses of an existing
// one up to date (through /status, as kubelet's node status updates).
import type { Node, NodeAddress } from "../api/types";
import { isConflict, isNotFound, type ApiClient } from "./api-client";

/** Conflicting writers (an admin editing the Node) are rare; a few rereads settle them. */
const MAX_CONFLICT_RETRIES = 3;

export function nodeAddresses(nodeName: string, nodeIPs: string[]): NodeAddress[] {
  return [...nodeIPs.map((address): NodeAddress => ({ type: "InternalIP", address })), { type: "Hostname", address: nodeName }];
}

const sameAddresses = (a: NodeAddress[] = [], b: NodeAddress[]): boolean =>
  a.length === b.length && a.every((x, i) => x.type === b[i]!.type && x.address === b[i]!.address);

/** Creates or updates the Node; returns it as stored. */
export async function registerNode(client: ApiClient, nodeName: string, nodeIPs: string[]): Promise<Node> {
  const path = `/api/v1/nodes/${nodeName}`;
  const addresses = nodeAddresses(nodeName, nodeIPs);
  let node: Node;
  try {
    node = await client.get<Node>(path);
  } catch (e) {
    if (!isNotFound(e)) throw e;
    node = await client.create<Node>("/api/v1/nodes", {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: nodeName, labels: { "kubernetes.io/hostname": nodeName, "kubernetes.io/os": "linux" } },
      status: { addresses },
    });
  }
  for (let attempt = 0; !sameAddresses(node.status?.addresses, addresses); attempt++) {
    try {
      node = await client.update<Node>(`${path}/status`, { ...node, status: { ...node.status, addresses } });
    } catch (e) {
      if (!isConflict(e) || attempt >= MAX_CONFLICT_RETRIES) throw e;
      node = await client.get<Node>(path);
    }
  }
  return node;
}
