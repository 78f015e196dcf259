/**
 * The command table: every verb the server knows, as data. The dispatcher checks login, argument
 * and TLS policy from here before a handler runs, so handlers contain no such checks.
 *
 * @module
 */

import { ACCESS_COMMANDS } from "./access.ts";
import type { CommandLookup } from "./context.ts";
import { FILE_COMMANDS } from "./files.ts";
import { HASH_COMMANDS } from "./hash.ts";
import { INFO_COMMANDS } from "./info.ts";
import { LISTING_COMMANDS } from "./listing.ts";
import { NAVIGATION_COMMANDS } from "./navigation.ts";
import { PARAMETER_COMMANDS } from "./parameters.ts";
import { SECURITY_COMMANDS } from "./security.ts";
import type { CommandSpec, CommandTable } from "./spec.ts";
import { TRANSFER_COMMANDS } from "./transfers.ts";

/** The RFC 775 X-verbs, same as their modern names. */
const ALIASES: Record<string, string> = {
  XPWD: "PWD",
  XCWD: "CWD",
  XCUP: "CDUP",
  XMKD: "MKD",
  XRMD: "RMD",
};

/**
 * Verbs we know of but do not implement: they get 502 rather than 500 (unknown), so that a
 * client can tell "not here" from "mistyped".
 */
const UNIMPLEMENTED: ReadonlySet<string> = new Set([
  "SMNT",
  "CCC",
  "ADAT",
  "MIC",
  "CONF",
  "ENC",
  "LANG",
  "XRCP",
  "XRSQ",
  "XSEM",
  "XSEN",
  "MLFL",
  "MAIL",
  "MSND",
  "MSOM",
  "MSAM",
  "MRSQ",
  "MRCP",
]);

/** A command table ready for dispatch. */
export interface CommandRegistry extends CommandLookup {
  /** The spec of a verb (aliases included), or undefined. */
  get(verb: string): CommandSpec | undefined;
  /** True for a verb we know of but do not implement (502 rather than 500). */
  isUnimplemented(verb: string): boolean;
  /** A copy with some verbs replaced (fault injection decorates the table this way). */
  with(overrides: CommandTable): CommandRegistry;
}

/**
 * Every verb the server implements.
 *
 * @example
 * ```ts
 * import { COMMANDS } from "./registry.ts";
 * COMMANDS.get("RETR")?.help; // "RETR <sp> pathname"
 * ```
 */
export const COMMANDS: CommandRegistry = registry(buildTable([
  ACCESS_COMMANDS,
  NAVIGATION_COMMANDS,
  PARAMETER_COMMANDS,
  TRANSFER_COMMANDS,
  FILE_COMMANDS,
  HASH_COMMANDS,
  LISTING_COMMANDS,
  INFO_COMMANDS,
  SECURITY_COMMANDS,
]));

function buildTable(tables: CommandTable[]): Map<string, CommandSpec> {
  const map = new Map<string, CommandSpec>();
  for (const table of tables) {
    for (const [verb, spec] of Object.entries(table)) map.set(verb, spec);
  }
  for (const [alias, verb] of Object.entries(ALIASES)) map.set(alias, map.get(verb)!);
  return map;
}

function registry(table: ReadonlyMap<string, CommandSpec>): CommandRegistry {
  const verbs = [...table.keys()].sort();
  return {
    get: (verb) => table.get(verb),
    help: (verb) => table.get(verb)?.help,
    verbs: () => verbs,
    isUnimplemented: (verb) => UNIMPLEMENTED.has(verb),
    with: (overrides) => registry(new Map([...table, ...Object.entries(overrides)])),
  };
}
