/**
 * FTPS commands (RFC 4217, RFC 2228): AUTH, PBSZ, PROT. CCC is not offered (502): dropping to
 * clear text after login only helps NAT boxes that rewrite PORT, and it lets an attacker on the
 * path inject commands.
 *
 * @module
 */

import { FtpError } from "../errors.ts";
import type { Session } from "../session.ts";
import type { CommandTable } from "./registry.ts";

/** AUTH mechanisms: TLS (RFC 4217); SSL and TLS-P, the pre-RFC names some clients still send. */
const MECHANISMS = new Set(["TLS", "TLS-C", "SSL", "TLS-P"]);

function requireTlsConfigured(session: Session): void {
  if (session.ctx.tls === null) throw new FtpError(502, "TLS is not configured on this server.");
}

async function auth(session: Session, arg: string): Promise<void> {
  requireTlsConfigured(session);
  const mechanism = arg.toUpperCase();
  if (!MECHANISMS.has(mechanism)) {
    throw new FtpError(504, `AUTH ${arg} not supported; use AUTH TLS.`);
  }
  if (session.secure) throw new FtpError(503, "Already using TLS.");
  await session.reply(234, `AUTH ${mechanism} successful.`);
  await session.startTls();
  // The old names meant "protect the data connections too".
  if (mechanism === "SSL" || mechanism === "TLS-P") session.protectData = true;
}

async function pbsz(session: Session, arg: string): Promise<void> {
  requireTlsConfigured(session);
  if (!session.secure) throw new FtpError(503, "PBSZ needs AUTH TLS first.");
  if (!/^\d+$/.test(arg)) throw new FtpError(501, "Syntax: PBSZ 0.");
  session.pbszDone = true;
  // RFC 4217 §8: TLS is a stream, the buffer size is always 0.
  await session.reply(200, "PBSZ=0");
}

async function prot(session: Session, arg: string): Promise<void> {
  requireTlsConfigured(session);
  if (!session.secure) throw new FtpError(503, "PROT needs AUTH TLS first.");
  if (!session.pbszDone) throw new FtpError(503, "PROT needs PBSZ first.");
  const level = arg.toUpperCase();
  if (level === "P" || level === "C") {
    session.protectData = level === "P";
    return await session.reply(200, `PROT now ${level === "P" ? "Private" : "Clear"}.`);
  }
  if (level === "S" || level === "E") throw new FtpError(536, `PROT ${level} not supported.`);
  throw new FtpError(504, "Syntax: PROT C|P.");
}

/** The security commands. */
export const SECURITY_COMMANDS: CommandTable = {
  AUTH: { run: auth, auth: false, arg: "required", help: "AUTH <sp> TLS" },
  PBSZ: { run: pbsz, auth: false, arg: "required", help: "PBSZ <sp> 0" },
  PROT: { run: prot, auth: false, arg: "required", help: "PROT <sp> C|P" },
};
