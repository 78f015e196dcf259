/**
 * Splits a command line into its verb and argument (RFC 959 §5.3).
 *
 * @module
 */

/** One parsed command. */
export interface Command {
  /** The verb, upper-cased: verbs are case-insensitive (RFC 959 §5.3.1). */
  verb: string;
  /** Everything after the single space that follows the verb, unchanged: file names may start
   * or end with spaces. Empty when there is no argument. */
  arg: string;
}

/** Longest verb we accept; RFC 959 verbs are 3–4 letters, extensions at most a few more. */
const MAX_VERB_LENGTH = 16;

/**
 * Parses a line (without its line ending) into a {@linkcode Command}.
 * Returns null for a line that has no verb (empty, or starts with a space).
 *
 * @example
 * ```ts
 * import { parseCommand } from "./command.ts";
 * parseCommand("retr my file.txt"); // { verb: "RETR", arg: "my file.txt" }
 * ```
 */
export function parseCommand(line: string): Command | null {
  const space = line.indexOf(" ");
  const verb = space === -1 ? line : line.slice(0, space);
  if (verb.length === 0 || verb.length > MAX_VERB_LENGTH) return null;
  return { verb: verb.toUpperCase(), arg: space === -1 ? "" : line.slice(space + 1) };
}
