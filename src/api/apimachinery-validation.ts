// Ports of k8s.io/apimachinery/pkg/util/validation: each check returns the list
// of apimachinery's messages (empty when valid), word for word, so callers wrap
// them in field errors exactly as the Kubernetes validators do.
import { familyOf, hasHostBits, isIPv4MappedIPv6, parseCIDR, parseIP } from "./ip";
import { fieldInvalid, fieldRequired } from "./status";
import type { StatusCause } from "./types";

export const DNS1123_LABEL_MAX_LENGTH = 63;
export const DNS1123_SUBDOMAIN_MAX_LENGTH = 253;
export const DNS1035_LABEL_MAX_LENGTH = 63;
export const QUALIFIED_NAME_MAX_LENGTH = 63;
export const LABEL_VALUE_MAX_LENGTH = 63;
/** IANA service names are at most 15 characters (RFC 6335). */
export const PORT_NAME_MAX_LENGTH = 15;
/**
 * Labels one object may carry. Kubernetes sets no count (only etcd's object size);
 * svcedge indexes every Pod label for its selectors, so it bounds them. Real
 * objects carry a few dozen at most.
 */
export const MAX_LABELS_PER_OBJECT = 256;
/** ObjectMeta.annotations may hold at most 256 KiB in total. */
export const TOTAL_ANNOTATION_SIZE_LIMIT_BYTES = 256 * 1024;

export const FIELD_IMMUTABLE = "field is immutable";
export const IS_NEGATIVE = "must be greater than or equal to 0";

export const maxLenError = (n: number): string => `must be no more than ${n} characters`;
export const emptyError = (): string => "must be non-empty";
export const inclusiveRangeError = (lo: number, hi: number): string => `must be between ${lo} and ${hi}, inclusive`;

export function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  let out = `${msg} (e.g. `;
  examples.forEach((e, i) => {
    if (i > 0) out += " or ";
    out += `'${e}', `;
  });
  return `${out}regex used for validation is '${fmt}')`;
}

const DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_ERR =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1123_SUBDOMAIN_ERR =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?";
const DNS1035_LABEL_ERR =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
const QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QNAME_ERR = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT = `(${QNAME_FMT})?`;
const LABEL_VALUE_ERR =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const HTTP_HEADER_NAME_FMT = "[-A-Za-z0-9]+";
const HTTP_HEADER_NAME_ERR = "a valid HTTP header must consist of alphanumeric characters or '-'";

const dns1123LabelRe = new RegExp(`^${DNS1123_LABEL_FMT}$`);
const dns1123SubdomainRe = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);
const dns1035LabelRe = new RegExp(`^${DNS1035_LABEL_FMT}$`);
const qnameRe = new RegExp(`^${QNAME_FMT}$`);
const labelValueRe = new RegExp(`^${LABEL_VALUE_FMT}$`);
const httpHeaderNameRe = new RegExp(`^${HTTP_HEADER_NAME_FMT}$`);
const portNameCharsetRe = /^[-a-z0-9]+$/;
const portNameOneLetterRe = /[a-z]/;

export function isDNS1123Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > DNS1123_LABEL_MAX_LENGTH) errs.push(maxLenError(DNS1123_LABEL_MAX_LENGTH));
  if (!dns1123LabelRe.test(value)) {
    // A valid subdomain that is not a valid label can only be failing on its dots.
    if (dns1123SubdomainRe.test(value)) errs.push("must not contain dots");
    else errs.push(regexError(DNS1123_LABEL_ERR, DNS1123_LABEL_FMT, "my-name", "123-abc"));
  }
  return errs;
}

export function isDNS1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (value.length > DNS1123_SUBDOMAIN_MAX_LENGTH) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX_LENGTH));
  if (!dns1123SubdomainRe.test(value)) errs.push(regexError(DNS1123_SUBDOMAIN_ERR, DNS1123_SUBDOMAIN_FMT, "example.com"));
  return errs;
}

export function isDNS1035Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > DNS1035_LABEL_MAX_LENGTH) errs.push(maxLenError(DNS1035_LABEL_MAX_LENGTH));
  if (!dns1035LabelRe.test(value)) errs.push(regexError(DNS1035_LABEL_ERR, DNS1035_LABEL_FMT, "my-name", "abc-123"));
  return errs;
}

export function isQualifiedName(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split("/");
  let name: string;
  if (parts.length === 1) {
    name = parts[0]!;
  } else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errs.push(`prefix part ${emptyError()}`);
    else for (const m of isDNS1123Subdomain(prefix)) errs.push(`prefix part ${m}`);
  } else {
    return [
      "a qualified name " +
        regexError(QNAME_ERR, QNAME_FMT, "MyName", "my.name", "123-abc") +
        " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) errs.push(`name part ${emptyError()}`);
  else if (name.length > QUALIFIED_NAME_MAX_LENGTH) errs.push(`name part ${maxLenError(QUALIFIED_NAME_MAX_LENGTH)}`);
  if (!qnameRe.test(name)) errs.push(`name part ${regexError(QNAME_ERR, QNAME_FMT, "MyName", "my.name", "123-abc")}`);
  return errs;
}

export function isValidLabelValue(value: string): string[] {
  const errs: string[] = [];
  if (value.length > LABEL_VALUE_MAX_LENGTH) errs.push(maxLenError(LABEL_VALUE_MAX_LENGTH));
  if (!labelValueRe.test(value)) errs.push(regexError(LABEL_VALUE_ERR, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"));
  return errs;
}

export function isValidPortNum(port: number): string[] {
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? [] : [inclusiveRangeError(1, 65535)];
}

/** IANA_SVC_NAME (RFC 6335): what a named port may be called. */
export function isValidPortName(port: string): string[] {
  const errs: string[] = [];
  if (port.length > PORT_NAME_MAX_LENGTH) errs.push(maxLenError(PORT_NAME_MAX_LENGTH));
  if (!portNameCharsetRe.test(port)) errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (!portNameOneLetterRe.test(port)) errs.push("must contain at least one letter (a-z)");
  if (port.includes("--")) errs.push("must not contain consecutive hyphens");
  if (port.length > 0 && (port.startsWith("-") || port.endsWith("-"))) errs.push("must not begin or end with a hyphen");
  return errs;
}

export function isHTTPHeaderName(value: string): string[] {
  return httpHeaderNameRe.test(value) ? [] : [regexError(HTTP_HEADER_NAME_ERR, HTTP_HEADER_NAME_FMT, "X-Header-Name")];
}

// ---- field-level checks (they build causes themselves, as apimachinery's do) ----

export const fieldTooMany = (field: string, actual: number, max: number): StatusCause => ({
  reason: "FieldValueTooMany",
  message: `Too many: ${actual}: must have at most ${max} items`,
  field,
});

export const fieldTooLong = (field: string, maxBytes: number): StatusCause => ({
  reason: "FieldValueTooLong",
  message: `Too long: may not be more than ${maxBytes} bytes`,
  field,
});

/**
 * IsValidIPForLegacyField with strict validation (the StrictIPCIDRValidation
 * behaviour): any address the sloppy parser accepts, except leading zeros and
 * IPv4-mapped IPv6, which different software reads differently.
 */
export function isValidIP(field: string, value: string): StatusCause[] {
  const ip = parseIP(value);
  if (!ip) return [fieldInvalid(field, value, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")];
  const errs: StatusCause[] = [];
  if (ip.leadingZeros) errs.push(fieldInvalid(field, value, "must not have leading 0s"));
  if (isIPv4MappedIPv6(ip)) errs.push(fieldInvalid(field, value, "must not be an IPv4-mapped IPv6 address"));
  return errs;
}

export function isValidIPv4Address(field: string, value: string): StatusCause[] {
  const ip = parseIP(value);
  return ip && familyOf(ip) === 4 ? [] : [fieldInvalid(field, value, "must be a valid IPv4 address")];
}

export function isValidIPv6Address(field: string, value: string): StatusCause[] {
  const ip = parseIP(value);
  return ip && familyOf(ip) === 6 ? [] : [fieldInvalid(field, value, "must be a valid IPv6 address")];
}

/** IsValidCIDRForLegacyField with strict validation: a subnet in "address/prefix" form. */
export function isValidCIDR(field: string, value: string): StatusCause[] {
  const cidr = parseCIDR(value);
  if (!cidr) return [fieldInvalid(field, value, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")];
  if (cidr.ip.leadingZeros || cidr.prefixLeadingZeros) return [fieldInvalid(field, value, "must not have leading 0s in IP or prefix length")];
  if (isIPv4MappedIPv6(cidr.ip)) return [fieldInvalid(field, value, "must not have an IPv4-mapped IPv6 address")];
  if (hasHostBits(cidr)) return [fieldInvalid(field, value, "must not have bits set beyond the prefix length")];
  return [];
}

export function isFullyQualifiedDomainName(field: string, name: string): StatusCause[] {
  if (name.length === 0) return [fieldRequired(field)];
  if (name.endsWith(".")) name = name.slice(0, -1);
  const sub = isDNS1123Subdomain(name);
  if (sub.length > 0) return [fieldInvalid(field, name, sub.join(","))];
  const labels = name.split(".");
  if (labels.length < 2) return [fieldInvalid(field, name, "should be a domain with at least two segments separated by dots")];
  for (const label of labels) {
    const errs = isDNS1123Label(label);
    if (errs.length > 0) return [fieldInvalid(field, label, errs.join(","))];
  }
  return [];
}
