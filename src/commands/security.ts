/**
 * FTPS commands (RFC 4217, RFC 2228): AUTH, PBSZ, PROT. CCC is not offered (502): dropping to
 * clear text after login only helps NAT boxes that rewrite PORT, and it lets an attacker on the
 * path inject commands.
 *
 * @module
 */

import { FtpError } from "../errors.ts";
import { Code } from "../protocol/codes.ts";
import type { CommandContext, Reply } from "./context.ts";
import { type CommandTable, reply } from "./spec.ts";

/** AUTH mechanisms: TLS (RFC 4217); SSL and TLS-P, the pre-RFC names some clients still send. */
const MECHANISMS = new Set(["TLS", "TLS-C", "SSL", "TLS-P"]);

function requireTlsConfigured(ctx: CommandContext): void {
  if (!ctx.tlsAvailable) {
    throw new FtpError(Code.NOT_IMPLEMENTED, "TLS is not configured on this server.");
  }
}

async function auth(ctx: CommandContext, arg: string): Promise<void> {
  requireTlsConfigured(ctx);
  const mechanism = arg.toUpperCase();
  if (!MECHANISMS.has(mechanism)) {
    throw new FtpError(Code.PARAMETER_NOT_IMPLEMENTED, `AUTH ${arg} not supported; use AUTH TLS.`);
  }
  if (ctx.state.secure) throw new FtpError(Code.BAD_SEQUENCE, "Already using TLS.");
  ctx.data.dropKept();
  await ctx.reply(Code.AUTH_OK, `AUTH ${mechanism} successful.`);
  await ctx.startTls();
  // The old names meant "protect the data connections too".
  if (mechanism === "SSL" || mechanism === "TLS-P") ctx.state.protectData = true;
}

function pbsz(ctx: CommandContext, arg: string): Reply {
  requireTlsConfigured(ctx);
  if (!ctx.state.secure) throw new FtpError(Code.BAD_SEQUENCE, "PBSZ needs AUTH TLS first.");
  if (!/^\d+$/.test(arg)) throw new FtpError(Code.SYNTAX_ERROR, "Syntax: PBSZ 0.");
  ctx.state.pbszDone = true;
  // RFC 4217 §8: TLS is a stream, the buffer size is always 0.
  return reply(Code.OK, "PBSZ=0");
}

function prot(ctx: CommandContext, arg: string): Reply {
  requireTlsConfigured(ctx);
  if (!ctx.state.secure) throw new FtpError(Code.BAD_SEQUENCE, "PROT needs AUTH TLS first.");
  if (!ctx.state.pbszDone) throw new FtpError(Code.BAD_SEQUENCE, "PROT needs PBSZ first.");
  const level = arg.toUpperCase();
  if (level === "P" || level === "C") {
    if (ctx.state.protectData !== (level === "P")) ctx.data.dropKept();
    ctx.state.protectData = level === "P";
    return reply(Code.OK, `PROT now ${level === "P" ? "Private" : "Clear"}.`);
  }
  if (level === "S" || level === "E") {
    throw new FtpError(Code.PROT_NOT_SUPPORTED, `PROT ${level} not supported.`);
  }
  throw new FtpError(Code.PARAMETER_NOT_IMPLEMENTED, "Syntax: PROT C|P.");
}

/** The security commands. */
export const SECURITY_COMMANDS: CommandTable = {
  AUTH: {
    run: auth,
    auth: false,
    arg: "required",
    switchesChannel: true,
    help: "AUTH <sp> TLS",
  },
  PBSZ: { run: pbsz, auth: false, arg: "required", help: "PBSZ <sp> 0" },
  PROT: { run: prot, auth: false, arg: "required", help: "PROT <sp> C|P" },
};
