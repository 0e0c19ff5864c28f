// The proxier layer's public surface, for the agent's sync loop and CLI.
export { buildProxyState, DEFAULT_AFFINITY_TIMEOUT_SECONDS, type ProxyState, type ProxyStateInput, type ServicePortState, type EndpointInfo } from "./state";
export { categorizeEndpoints, type CategorizedEndpoints } from "./categorize";
export type { Proxier, SyncOptions, SyncResult } from "./proxier";
export { commandRunner, spawnCommand, type CommandOptions, type CommandResult, type Result, type RunCommand } from "./command";
export { renderNftables, renderNftablesUpdate, NFT_TABLE, type NftablesOptions } from "./nftables/render";
export { applyNftables, cleanupNftables, NftablesProxier } from "./nftables/apply";
export { traceNftables, NftModel } from "./nftables/trace";
export { renderIptables, type IptablesOptions } from "./iptables/render";
export { applyIptables, cleanupIptables, ensureJumpRules, listOwnedChains, IptablesProxier } from "./iptables/apply";
export { traceIptables, IptablesModel } from "./iptables/trace";
export { JUMP_RULES } from "./iptables/chains";
export { flushConntrackUDP, staleUDPEndpoints, type StaleUDPEndpoint } from "./conntrack";
export { UserspaceProxier, type UserspaceOptions } from "./userspace";
export type { Packet, TraceResult } from "./trace-engine";
