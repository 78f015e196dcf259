/**
 * IP networks in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`): parsing with a reason when the
 * text is wrong, and membership. Pure: no I/O. The config loader validates `allowed_networks`
 * and `passive.addresses[].networks` with it; the core can match a client address with it.
 *
 * @module
 */

/** A parsed network: family, prefix length and the network's address as a number. */
export interface Cidr {
  /** IPv4 or IPv6. */
  family: 4 | 6;
  /** Prefix length: 0–32 for IPv4, 0–128 for IPv6. */
  bits: number;
  /** The network address (host bits zero). */
  network: bigint;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * An IP address as a number and its family, or null when `text` is not an address. IPv4-mapped
 * IPv6 (`::ffff:192.0.2.1`, what a dual-stack listener reports for IPv4 clients) counts as IPv4,
 * so that `192.0.2.0/24` matches it.
 *
 * @example
 * ```ts
 * import { parseAddress } from "./cidr.ts";
 * parseAddress("10.0.0.1"); // { family: 4, value: 167772161n }
 * parseAddress("::ffff:10.0.0.1")?.family; // 4
 * ```
 */
export function parseAddress(text: string): { family: 4 | 6; value: bigint } | null {
  if (IPV4.test(text)) return { family: 4, value: ipv4Value(text) };
  const value = ipv6Value(text);
  if (value === null) return null;
  if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffffffffn };
  return { family: 6, value };
}

/**
 * Why `text` is not a usable CIDR network, or null when it is. A network with host bits set
 * (`10.0.0.5/8`) is refused, as Python's `ipaddress` does in strict mode: it is nearly always a
 * typo for the address or for the network, and guessing which would widen or narrow access.
 *
 * @example
 * ```ts
 * import { cidrProblem } from "./cidr.ts";
 * cidrProblem("10.0.0.0/8"); // null
 * cidrProblem("10.0.0.5/8"); // 'has host bits set (the network is "10.0.0.0/8")'
 * ```
 */
export function cidrProblem(text: string): string | null {
  const result = parse(text);
  return typeof result === "string" ? result : null;
}

/**
 * Parses a CIDR network; throws `RangeError` with the reason when malformed.
 *
 * @example
 * ```ts
 * import { parseCidr } from "./cidr.ts";
 * parseCidr("2001:db8::/32").bits; // 32
 * ```
 */
export function parseCidr(text: string): Cidr {
  const result = parse(text);
  if (typeof result === "string") throw new RangeError(`"${text}": ${result}`);
  return result;
}

/**
 * True when `address` (an IP address as text) is inside `network`. An address of the other
 * family, or text that is no address, is outside.
 *
 * @example
 * ```ts
 * import { cidrContains, parseCidr } from "./cidr.ts";
 * cidrContains(parseCidr("127.0.0.0/8"), "127.0.0.1"); // true
 * cidrContains(parseCidr("10.0.0.0/8"), "::ffff:10.1.2.3"); // true
 * ```
 */
export function cidrContains(network: Cidr, address: string): boolean {
  const parsed = parseAddress(address);
  if (parsed === null || parsed.family !== network.family) return false;
  const width = network.family === 4 ? 32 : 128;
  const shift = BigInt(width - network.bits);
  return parsed.value >> shift === network.network >> shift;
}

/**
 * True when `address` is inside any of `networks` (CIDR text, as in the config file).
 *
 * @example
 * ```ts
 * import { inNetworks } from "./cidr.ts";
 * inNetworks(["10.0.0.0/8", "192.168.0.0/16"], "192.168.1.20"); // true
 * ```
 */
export function inNetworks(networks: readonly string[], address: string): boolean {
  return networks.some((network) => cidrContains(parseCidr(network), address));
}

function parse(text: string): Cidr | string {
  const slash = text.indexOf("/");
  if (slash === -1) {
    return parseAddress(text) === null
      ? "expected a network like 10.0.0.0/8 or 2001:db8::/32"
      : `is an address, not a network: write "${text}/${text.includes(":") ? 128 : 32}"`;
  }
  const host = text.slice(0, slash);
  const length = text.slice(slash + 1);
  const family = IPV4.test(host) ? 4 : ipv6Value(host) !== null ? 6 : 0;
  if (family === 0) return `"${host}" is not an IP address`;
  const width = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(length) || Number(length) > width) {
    return `the prefix length must be a number from 0 to ${width}`;
  }
  const bits = Number(length);
  const value = family === 4 ? ipv4Value(host) : ipv6Value(host)!;
  const shift = BigInt(width - bits);
  const network = (value >> shift) << shift;
  if (network !== value) {
    const shown = family === 4 ? formatIPv4(network) : formatIPv6(network);
    return `has host bits set (the network is "${shown}/${bits}")`;
  }
  return { family, bits, network };
}

function ipv4Value(text: string): bigint {
  return text.split(".").reduce((sum, part) => (sum << 8n) | BigInt(Number(part)), 0n);
}

/** RFC 4291 §2.2 text forms: full, `::` compressed, and a trailing dotted IPv4. */
function ipv6Value(text: string): bigint | null {
  if (!/^[0-9a-fA-F:.]{2,45}$/.test(text)) return null;
  let head = text;
  let tail: bigint[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    const ipv4 = text.slice(lastColon + 1);
    if (!IPV4.test(ipv4)) return null;
    const value = ipv4Value(ipv4);
    tail = [value >> 16n, value & 0xffffn];
    head = text.slice(0, lastColon + 1);
    // "::1.2.3.4" keeps its "::"; "a:b:...:1.2.3.4" ends with a lone ":" to drop.
    if (!head.endsWith("::")) head = head.slice(0, -1);
  }
  const halves = head.split("::");
  if (halves.length > 2) return null;
  const groups = (part: string): bigint[] | null => {
    if (part === "") return [];
    const out: bigint[] = [];
    for (const group of part.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
      out.push(BigInt(parseInt(group, 16)));
    }
    return out;
  };
  const left = groups(halves[0]);
  const right = halves.length === 2 ? groups(halves[1]) : [];
  if (left === null || right === null) return null;
  const given = left.length + right.length + tail.length;
  if (halves.length === 2 ? given > 7 : given !== 8) return null;
  const all = [...left, ...Array(8 - given).fill(0n), ...right, ...tail];
  return all.reduce((sum, group) => (sum << 16n) | group, 0n);
}

function formatIPv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join(".");
}

function formatIPv6(value: bigint): string {
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) {
    groups.push(((value >> shift) & 0xffffn).toString(16));
  }
  // The longest run of zero groups (two or more) becomes "::" (RFC 5952 §4.2).
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j;
  }
  if (best === -1) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLength).join(":")}`;
}
