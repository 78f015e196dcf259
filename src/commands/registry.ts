/**
 * The command table: every verb the server knows, as data. The session checks login, argument
 * and write permission from here before a handler runs, so handlers contain no such checks.
 *
 * @module
 */

import type { Session } from "../session.ts";
import { ACCESS_COMMANDS } from "./access.ts";
import { FILE_COMMANDS } from "./files.ts";
import { INFO_COMMANDS } from "./info.ts";
import { LISTING_COMMANDS } from "./listing.ts";
import { NAVIGATION_COMMANDS } from "./navigation.ts";
import { PARAMETER_COMMANDS } from "./parameters.ts";
import { SECURITY_COMMANDS } from "./security.ts";

/** How one verb is checked and run. */
export interface CommandSpec {
  /** Runs the command; throws to reply with an error (see `errors.ts`). */
  run(session: Session, arg: string): Promise<void> | void;
  /** Needs a logged-in user. Default true. */
  auth?: boolean;
  /** Argument rule; `optional` when absent. Violations get 501. */
  arg?: "required" | "optional" | "none";
  /** Changes the file tree: refused with 550 for read-only accounts. */
  write?: boolean;
  /** Syntax shown by HELP and in 501 replies. */
  help: string;
}

/** A group of commands, by verb. */
export type CommandTable = Record<string, CommandSpec>;

/** The RFC 775 X-verbs, same as their modern names. */
const ALIASES: Record<string, string> = {
  XPWD: "PWD",
  XCWD: "CWD",
  XCUP: "CDUP",
  XMKD: "MKD",
  XRMD: "RMD",
};

/** Every verb the server implements. */
export const COMMANDS: ReadonlyMap<string, CommandSpec> = buildTable([
  ACCESS_COMMANDS,
  NAVIGATION_COMMANDS,
  PARAMETER_COMMANDS,
  FILE_COMMANDS,
  LISTING_COMMANDS,
  INFO_COMMANDS,
  SECURITY_COMMANDS,
]);

/**
 * Verbs we know of but do not implement: they get 502 rather than 500 (unknown), so that a
 * client can tell "not here" from "mistyped".
 */
export const UNIMPLEMENTED: ReadonlySet<string> = new Set([
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

function buildTable(tables: CommandTable[]): Map<string, CommandSpec> {
  const map = new Map<string, CommandSpec>();
  for (const table of tables) {
    for (const [verb, spec] of Object.entries(table)) map.set(verb, spec);
  }
  for (const [alias, verb] of Object.entries(ALIASES)) map.set(alias, map.get(verb)!);
  return map;
}
