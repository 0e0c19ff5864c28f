// The interface every proxier backend implements, so the sync loop and the conformance
// suite treat nftables, iptables and userspace alike.
import type { Outcome } from "./command";
import type { ProxyState } from "./state";

export type SyncResult = (Outcome & { ok: false }) | { ok: true; mode: "full" | "partial" | "unchanged" };

export interface SyncOptions {
  /** Rewrite everything even when an incremental update would do (periodic resync, recovery). */
  full?: boolean;
}

export interface Proxier {
  readonly backend: "nftables" | "iptables" | "userspace";
  /** Makes the node forward as `state` says. A failed sync is retried whole by the caller. */
  sync(state: ProxyState, opts?: SyncOptions): Promise<SyncResult>;
  /** Removes everything this backend owns. */
  cleanup(): Promise<Outcome>;
}
