// Packet marks that both backends (nftables and iptables) write.

/** The masquerade bit: kube-proxy's own (--iptables-masquerade-bit 14), so operators recognise it. */
export const MASQUERADE_MARK = "0x4000";
