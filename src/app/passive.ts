/**
 * PASV addresses given as host names (`--pasv-address ftp.example.org`, `passive.address`,
 * `passive.addresses[].address`): resolved to IPv4 at start and again on SIGHUP, for a public
 * address that a dynamic-DNS name or a load balancer's name follows. PASV replies carry IPv4
 * only (RFC 959 §4.1.2), so only A records count.
 *
 * @module
 */

import { isIPv4 } from "../data/address.ts";
import type { PassiveAddressRule } from "../options.ts";

/** How long one name may take to resolve. */
const RESOLVE_TIMEOUT_MS = 5_000;

/** A PASV host name that cannot be resolved: the start fails (exit 1); a reload keeps the old. */
export class PassiveNameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PassiveNameError";
  }
}

/** Whether an address needs resolving (not an IPv4 address, not `local`). */
export function isPassiveName(address: string | undefined): address is string {
  return address !== undefined && address !== "local" && !isIPv4(address);
}

/** Resolves a name to its first IPv4 address. */
export async function resolveIPv4(name: string): Promise<string> {
  let addresses: string[];
  try {
    addresses = await Deno.resolveDns(name, "A", {
      signal: AbortSignal.timeout(RESOLVE_TIMEOUT_MS),
    });
  } catch (error) {
    // The resolver's own text can be long and internal: name the kind only.
    const kind = error instanceof Error ? error.name : "error";
    const hint = error instanceof Deno.errors.NotCapable
      ? "; Deno needs --allow-net for the name servers of /etc/resolv.conf"
      : "";
    throw new PassiveNameError(`cannot resolve PASV address "${name}" (${kind}${hint})`);
  }
  const first = addresses.find(isIPv4);
  if (first === undefined) {
    throw new PassiveNameError(`PASV address "${name}" has no IPv4 address`);
  }
  return first;
}

/** The PASV settings with every host name resolved (the rest as it is). */
export async function resolvePassive(options: {
  passiveAddress?: string;
  passiveAddresses?: readonly PassiveAddressRule[];
}): Promise<{ passiveAddress?: string; passiveAddresses?: PassiveAddressRule[] }> {
  const resolve = (address: string) => isPassiveName(address) ? resolveIPv4(address) : address;
  const out: { passiveAddress?: string; passiveAddresses?: PassiveAddressRule[] } = {};
  if (options.passiveAddress !== undefined) {
    out.passiveAddress = await resolve(options.passiveAddress);
  }
  if (options.passiveAddresses !== undefined) {
    out.passiveAddresses = await Promise.all(options.passiveAddresses.map(async (rule) => ({
      networks: [...rule.networks],
      address: await resolve(rule.address),
    })));
  }
  return out;
}
