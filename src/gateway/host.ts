// Host → lookup key. Only names that could be a record's host pass; everything else
// (userinfo, `..`, empty labels, brackets, odd ports, absolute-form targets that
// disagree with Host) is rejected before any lookup, and answered like an unknown host.

/** RFC 1035 §2.3.4: a name is at most 253 characters (without the trailing dot)… */
const MAX_HOSTNAME_LENGTH = 253;
/** …and a label at most 63. */
const MAX_LABEL_LENGTH = 63;
const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const HOST_HEADER = /^([a-z0-9.-]+)(?::([0-9]{1,5}))?$/;
const DEFAULT_PORTS: Record<string, number> = { "http:": 80, "https:": 443 };

export interface RequestHost {
  /** Lower-cased, port stripped: the key the route records use. */
  hostname: string;
  /** The port written in the Host header, if any. */
  port?: number;
  scheme: "http" | "https";
}

/** The request's URL, or null when it does not parse. */
export function requestUrl(request: Request): URL | null {
  try {
    return new URL(request.url);
  } catch {
    return null;
  }
}

/** `url` is the request's, when the caller has parsed it already. */
export function parseRequestHost(request: Request, url: URL | null = requestUrl(request)): RequestHost | null {
  if (!url) return null;
  const defaultPort = DEFAULT_PORTS[url.protocol];
  if (defaultPort === undefined || url.username !== "" || url.password !== "") return null;
  const raw = (request.headers.get("host") ?? url.host).toLowerCase();
  if (raw.length > MAX_HOSTNAME_LENGTH + ":65535".length) return null;
  const match = HOST_HEADER.exec(raw);
  if (!match) return null;
  const hostname = match[1]!;
  if (!isHostname(hostname)) return null;
  let port: number | undefined;
  if (match[2] !== undefined) {
    port = Number(match[2]);
    if (port < 1 || port > 65535) return null;
  }
  // An absolute-form target (`GET http://elsewhere/ HTTP/1.1`) names another authority
  // than Host; both must agree, or the request is not for one of our names.
  if (url.hostname !== hostname) return null;
  if ((port ?? defaultPort) !== (url.port === "" ? defaultPort : Number(url.port))) return null;
  return { hostname, port, scheme: url.protocol === "https:" ? "https" : "http" };
}

/** A DNS name of non-empty LDH labels (which also rules out `..`, leading or trailing dots). */
export function isHostname(name: string): boolean {
  if (name.length === 0 || name.length > MAX_HOSTNAME_LENGTH) return false;
  return name.split(".").every((label) => label.length <= MAX_LABEL_LENGTH && LABEL.test(label));
}
