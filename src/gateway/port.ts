// Which Service port a request is for. Workers speak HTTP(S) only, so only TCP ports
// qualify (UDP and SCTP are the node agent's).
import type { RoutePort } from "../api/route";

const SCHEME_PORTS = { http: 80, https: 443 } as const;

/**
 * 1. the port written in the Host header, if the Service has it;
 * 2. by scheme: the port named `http`/`https`, else the one numbered 80/443;
 * 3. the only port.
 * Otherwise none (the caller answers 404).
 */
export function choosePort(ports: readonly RoutePort[], hostPort: number | undefined, scheme: "http" | "https"): RoutePort | undefined {
  const tcp = ports.filter((p) => p.protocol === "TCP");
  if (hostPort !== undefined) {
    const byNumber = tcp.find((p) => p.port === hostPort);
    if (byNumber) return byNumber;
  }
  const byName = tcp.find((p) => p.name === scheme);
  if (byName) return byName;
  const bySchemePort = tcp.find((p) => p.port === SCHEME_PORTS[scheme]);
  if (bySchemePort) return bySchemePort;
  return tcp.length === 1 ? tcp[0] : undefined;
}
