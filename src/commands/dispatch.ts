/**
 * Runs one command line: the checks of the command table (known verb, TLS policy, login,
 * argument), the handler, and the one conversion of whatever it threw into a reply. Works on a
 * {@linkcode CommandContext} only, so it runs in unit tests without sockets.
 *
 * @module
 */

import { toReply } from "../errors.ts";
import { log } from "../log.ts";
import { Code } from "../protocol/codes.ts";
import { backgroundCommand } from "./background.ts";
import type { CommandContext } from "./context.ts";
import { dropRange, hasPendingRange } from "./hash.ts";
import { syntaxOf } from "./info.ts";
import type { CommandRegistry } from "./registry.ts";

/**
 * Checks and runs `verb` with `arg`, writing its reply. Never rejects for a command's failure;
 * rejects only when the reply cannot be written (the connection is gone).
 *
 * @example
 * ```ts ignore
 * import { dispatch } from "./dispatch.ts";
 * import { COMMANDS } from "./registry.ts";
 * await dispatch(ctx, COMMANDS, "NOOP", ""); // writes "200 NOOP ok."
 * ```
 */
export async function dispatch(
  ctx: CommandContext,
  commands: CommandRegistry,
  verb: string,
  arg: string,
): Promise<void> {
  // RFC 959 §4.1.3: REST "shall be immediately followed by the appropriate FTP service command
  // where file transfer shall resume". The transfer commands take the offset as they start, run
  // or refused; any other command (LIST, NOOP, TYPE, an unknown verb) drops it, so that it
  // cannot make a later download start in the middle. A new REST replaces it, or cancels it when
  // refused.
  if (verb === "REST") ctx.state.takeRestOffset();
  if (verb === "ALLO") ctx.state.takeAllocation();
  // A command running beside the loop (HASH) answers before the next one runs: ABOR stops it
  // first (its 426, then our 226), STAT without argument reports on it, the rest wait for it.
  const background = backgroundCommand(ctx);
  if (background !== undefined && verb === "ABOR" && ctx.transfer === null) {
    background.abort();
    await background.done;
    return await ctx.reply(Code.TRANSFER_COMPLETE, "ABOR successful.");
  }
  if (background !== undefined && !(verb === "STAT" && arg === "")) await background.done;
  try {
    // RANG is implemented for HASH only (FEAT has no RANG STREAM): a transfer after it would
    // move the whole file where the client asked for part of it, and a STOR would truncate.
    if (RANGED_TRANSFERS.has(verb) && hasPendingRange(ctx.state)) {
      return await ctx.reply(
        Code.PARAMETER_NOT_IMPLEMENTED,
        `RANG applies to HASH only; ${verb} refused and the range dropped.`,
      );
    }
    await run(ctx, commands, verb, arg);
  } finally {
    if (!KEEPS_REST.has(verb)) ctx.state.takeRestOffset();
    if (!KEEPS_ALLOCATION.has(verb)) ctx.state.takeAllocation();
    // draft-bryan-ftp-range §4.3: RANG applies to the command right after it, like REST.
    if (verb !== "RANG") dropRange(ctx.state);
  }
}

/** Transfer commands that RANG would change (draft-bryan-ftp-range §4.3), refused after one. */
const RANGED_TRANSFERS: ReadonlySet<string> = new Set(["RETR", "STOR", "APPE", "STOU"]);

/**
 * Commands after which a REST offset still applies: REST itself, and the data connection's
 * setup, which prepares the same transfer and moves nothing. A client that sends REST before
 * PASV or PORT (the BSD `ftp` client's `get` after a `quote rest n` sends PORT in between) then
 * gets the rest of the file, not the whole of it.
 */
const KEEPS_REST: ReadonlySet<string> = new Set(["REST", "ALLO", "PORT", "EPRT", "PASV", "EPSV"]);

/**
 * Commands after which an ALLO size still applies: those that prepare the same upload (its
 * parameters, offset and data connection). Anything else drops it, so that a size announced for
 * one file never reaches another.
 */
const KEEPS_ALLOCATION: ReadonlySet<string> = new Set([
  ...KEEPS_REST,
  "TYPE",
  "MODE",
  "STRU",
]);

async function run(
  ctx: CommandContext,
  commands: CommandRegistry,
  verb: string,
  arg: string,
): Promise<void> {
  const spec = commands.get(verb);
  // RFC 959 §4.1.3: RNTO must immediately follow RNFR.
  if (!spec?.keepsRename) ctx.state.renameFrom = null;
  if (spec === undefined) {
    return await (commands.isUnimplemented(verb)
      ? ctx.reply(Code.NOT_IMPLEMENTED, `${verb} not implemented.`)
      : ctx.reply(Code.UNKNOWN_COMMAND, "Syntax error, command unrecognized."));
  }
  if (spec.needsTlsFirst && ctx.options.requireTls && !ctx.state.secure) {
    return await ctx.reply(Code.POLICY_DENIED, "TLS required: use AUTH TLS first.");
  }
  if (spec.auth !== false && ctx.state.identity === null) {
    return await ctx.reply(Code.NOT_LOGGED_IN, "Please login with USER and PASS.");
  }
  if ((spec.arg === "required" && arg === "") || (spec.arg === "none" && arg !== "")) {
    return await ctx.reply(Code.SYNTAX_ERROR, `Syntax: ${syntaxOf(ctx, verb) ?? spec.help}`);
  }
  let result;
  try {
    result = await spec.run(ctx, arg);
  } catch (error) {
    const reply = toReply(error);
    if (reply.unexpected) {
      log.session.error("Session {session}: {verb} failed: {error}", {
        session: ctx.sessionId,
        verb,
        error,
      });
    }
    return await ctx.reply(reply.code, reply.text);
  }
  if (result) await ctx.reply(result.code, result.text);
}
