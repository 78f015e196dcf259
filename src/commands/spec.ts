/**
 * The shape of a command table entry: the handler and, as data, everything the dispatcher checks
 * before it runs (login, argument, TLS policy) and the special treatment some verbs get from the
 * control loop (ABOR and STAT during a transfer, AUTH switching the byte source). The special
 * cases live here as flags, not as `if (verb === ...)` in the loop.
 *
 * @module
 */

import type { CommandContext, Reply } from "./context.ts";

/**
 * Runs a command. Returns the reply, or nothing when it has answered itself or started a
 * transfer (which answers); throws to answer with an error (see `errors.ts`).
 */
export type Handler = (
  ctx: CommandContext,
  arg: string,
) => Promise<Reply | void> | Reply | void;

/** How one verb is checked and run. */
export interface CommandSpec {
  /** The handler. */
  run: Handler;
  /** Syntax shown by HELP and in 501 replies. */
  help: string;
  /** Needs a logged-in user (530 otherwise). Default true. */
  auth?: boolean;
  /** Argument rule; `optional` when absent. Violations get 501. */
  arg?: "required" | "optional" | "none";
  /**
   * Served while a transfer runs, ahead of commands waiting for it (RFC 959 §4.1.3): ABOR
   * always, STAT only without an argument.
   */
  duringTransfer?: "always" | "without-argument";
  /** Under `requireTls`, refused with 534 until the control connection is TLS (USER, PASS). */
  needsTlsFirst?: boolean;
  /** Keeps a pending RNFR; every other command cancels it (RFC 959 §4.1.3: RNTO must follow). */
  keepsRename?: boolean;
  /** Switches the control connection's byte source (AUTH): nothing more is read until it ran. */
  switchesChannel?: boolean;
}

/** A group of commands, by verb. */
export type CommandTable = Record<string, CommandSpec>;

/**
 * A reply value, for handlers to return.
 *
 * @example
 * ```ts
 * import { reply } from "./spec.ts";
 * reply(200, "NOOP ok."); // { code: 200, text: "NOOP ok." }
 * ```
 */
export function reply(code: number, text: string | readonly string[]): Reply {
  return { code, text };
}
