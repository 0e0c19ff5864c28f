// nftables object names, as kube-proxy's nftables proxier builds them: a readable
// "ns/name/proto/port" part (for operators) behind a short stable hash (for uniqueness).
import { base32Hash, type HashName } from "../chain-names";
import type { EndpointInfo, ServicePortState } from "../state";

/** kube-proxy truncates its nftables hashes to 8 base32 characters. */
const NFT_HASH_LENGTH = 8;

export interface ServiceChainNames {
  cluster: string;
  local: string;
  external: string;
}

const readable = (svc: ServicePortState): string => `${svc.namespace}/${svc.service}/${svc.protocol.toLowerCase()}/${svc.portName || `p${svc.port}`}`;

export function serviceChainNames(svc: ServicePortState, hash: HashName = base32Hash): ServiceChainNames {
  const base = `${hash(svc.name + svc.protocol, NFT_HASH_LENGTH)}-${readable(svc)}`;
  return { cluster: `service-${base}`, local: `local-${base}`, external: `external-${base}` };
}

/** Base shared by an endpoint's chain and its affinity set. */
export function endpointNameBase(svc: ServicePortState, ep: EndpointInfo, hash: HashName = base32Hash): string {
  const v6 = ep.ip.includes(":");
  // kube-proxy hashes the endpoint as "ip:port" ("[ip]:port" for IPv6); nft names cannot hold ':', so IPv6 shows it as '.'.
  const epText = v6 ? `[${ep.ip}]:${ep.port}` : `${ep.ip}:${ep.port}`;
  const shown = v6 ? ep.ip.replaceAll(":", ".") : ep.ip;
  return `${hash(svc.name + svc.protocol + epText, NFT_HASH_LENGTH)}-${readable(svc)}__${shown}/${ep.port}`;
}
