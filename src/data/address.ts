/**
 * Host and port arguments of PORT/EPRT and replies of PASV/EPSV (RFC 959 §4.1.2, RFC 2428).
 * Pure functions.
 *
 * @module
 */

/** A network endpoint named by a client. */
export interface Endpoint {
  host: string;
  port: number;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** True for dotted-quad IPv4 text. */
export function isIPv4(host: string): boolean {
  return IPV4.test(host);
}

/** True for IPv6 text (checked loosely here; the OS validates on connect). */
export function isIPv6(host: string): boolean {
  return host.includes(":") && /^[0-9a-fA-F:.]+$/.test(host) && host.length <= 45;
}

/**
 * One spelling per address: IPv4-mapped IPv6 (`::ffff:1.2.3.4`, what a dual-stack listener
 * reports for IPv4 clients) becomes plain IPv4, IPv6 is lower-cased.
 */
export function normalizeHost(host: string): string {
  const lower = host.toLowerCase();
  if (lower.startsWith("::ffff:") && isIPv4(lower.slice(7))) return lower.slice(7);
  return lower;
}

/** Parses `h1,h2,h3,h4,p1,p2` (PORT); null when malformed. */
export function parsePortArgument(arg: string): Endpoint | null {
  const parts = arg.trim().split(",");
  if (parts.length !== 6) return null;
  const numbers: number[] = [];
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    numbers.push(value);
  }
  return { host: numbers.slice(0, 4).join("."), port: numbers[4] * 256 + numbers[5] };
}

/**
 * Parses `<d>proto<d>address<d>port<d>` (EPRT, RFC 2428 §2); null when malformed, `unsupported`
 * for a protocol number other than 1 (IPv4) and 2 (IPv6), which earns a 522 reply.
 */
export function parseEprtArgument(arg: string): Endpoint | "unsupported" | null {
  const delimiter = arg.charAt(0);
  // RFC 2428: the delimiter is any printable ASCII character other than a digit.
  if (!delimiter || delimiter < "!" || delimiter > "~" || /[0-9]/.test(delimiter)) return null;
  const parts = arg.split(delimiter);
  if (parts.length !== 5 || parts[0] !== "" || parts[4] !== "") return null;
  const [, protocol, host, portText] = parts;
  if (!/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  if (port < 1 || port > 65535) return null;
  if (protocol === "1" && isIPv4(host)) return { host, port };
  if (protocol === "2" && isIPv6(host)) return { host: normalizeHost(host), port };
  return /^\d+$/.test(protocol) && protocol !== "1" && protocol !== "2" ? "unsupported" : null;
}

/** The address part of a 227 reply: `h1,h2,h3,h4,p1,p2`. */
export function formatPasvAddress(ipv4: string, port: number): string {
  return `${ipv4.replaceAll(".", ",")},${port >> 8},${port & 255}`;
}
