/**
 * Transfer parameter commands: TYPE, STRU, MODE, REST, ALLO, and the data connection setup
 * commands PORT, EPRT (active) and PASV, EPSV (passive) (RFC 959 §4.1.2, RFC 2428).
 *
 * @module
 */

import {
  formatPasvAddress,
  isIPv4,
  parseEprtArgument,
  parsePortArgument,
} from "../data/address.ts";
import type { Endpoint } from "../data/address.ts";
import { FtpError } from "../errors.ts";
import type { Session } from "../session.ts";
import type { CommandTable } from "./registry.ts";

async function type(session: Session, arg: string): Promise<void> {
  const [code, format, extra] = arg.toUpperCase().split(" ").filter((part) => part !== "");
  if (code === undefined || extra !== undefined) throw new FtpError(501, "Syntax: TYPE A|I|L 8.");
  if (code === "I" && format === undefined) {
    session.ascii = false;
  } else if (code === "L" && format === "8") {
    session.ascii = false; // a local byte size of 8 is binary (RFC 959 §3.1.1.4)
  } else if (code === "A" && (format === undefined || format === "N")) {
    session.ascii = true;
  } else if (code === "A" || code === "E" || code === "L") {
    throw new FtpError(504, `TYPE ${arg} not supported.`);
  } else {
    throw new FtpError(501, "Syntax: TYPE A|I|L 8.");
  }
  await session.reply(200, `Switching to ${session.ascii ? "ASCII" : "Binary"} mode.`);
}

async function stru(session: Session, arg: string): Promise<void> {
  const value = arg.toUpperCase();
  if (value === "F") return await session.reply(200, "Structure set to F.");
  if (value === "R" || value === "P") throw new FtpError(504, `STRU ${value} not supported.`);
  throw new FtpError(501, "Syntax: STRU F|R|P.");
}

async function mode(session: Session, arg: string): Promise<void> {
  const value = arg.toUpperCase();
  if (value === "S") return await session.reply(200, "Mode set to S.");
  if (value === "B" || value === "C") throw new FtpError(504, `MODE ${value} not supported.`);
  throw new FtpError(501, "Syntax: MODE S|B|C.");
}

async function rest(session: Session, arg: string): Promise<void> {
  const offset = /^\d{1,16}$/.test(arg) ? Number(arg) : NaN;
  if (!Number.isSafeInteger(offset)) throw new FtpError(501, "REST needs a byte offset.");
  session.restOffset = offset;
  await session.reply(350, `Restarting at ${offset}. Send STORE or RETRIEVE.`);
}

async function allo(session: Session): Promise<void> {
  await session.reply(202, "ALLO not needed.");
}

/** Checks an active-mode target: no FXP unless allowed, no privileged port (bounce attacks). */
function checkActiveTarget(session: Session, target: Endpoint): void {
  const { options } = session.ctx;
  if (!options.allowActive) throw new FtpError(502, "Active mode is disabled; use PASV or EPSV.");
  if (session.epsvAll) throw new FtpError(503, "EPSV ALL in effect; use EPSV.");
  // RFC 2577 §3: a PORT to a third host turns the server into a port scanner (FTP bounce).
  if (!options.allowFxp && target.host !== session.remoteHost) {
    throw new FtpError(504, "Data connection must go to the client's address.");
  }
  if (target.port < 1024) throw new FtpError(504, "Data connection to a privileged port refused.");
}

/**
 * An unspecified address (`0.0.0.0`, `::`) means "me": lftp sends `EPRT |2|::|port|` over IPv6.
 * Reading it as the client's own address opens no bounce.
 */
function orClient(session: Session, target: Endpoint): Endpoint {
  return target.host === "0.0.0.0" || target.host === "::"
    ? { ...target, host: session.remoteHost }
    : target;
}

async function port(session: Session, arg: string): Promise<void> {
  const parsed = parsePortArgument(arg);
  if (parsed === null) throw new FtpError(501, "Syntax: PORT h1,h2,h3,h4,p1,p2.");
  const target = orClient(session, parsed);
  checkActiveTarget(session, target);
  session.data.setActive(target);
  await session.reply(200, "PORT command successful. Consider using PASV.");
}

async function eprt(session: Session, arg: string): Promise<void> {
  const parsed = parseEprtArgument(arg);
  if (parsed === "unsupported") {
    throw new FtpError(522, "Network protocol not supported, use (1,2).");
  }
  if (parsed === null) throw new FtpError(501, "Syntax: EPRT |protocol|address|port|.");
  const target = orClient(session, parsed);
  checkActiveTarget(session, target);
  session.data.setActive(target);
  await session.reply(200, "EPRT command successful. Consider using EPSV.");
}

async function pasv(session: Session): Promise<void> {
  if (session.epsvAll) throw new FtpError(503, "EPSV ALL in effect; use EPSV.");
  const advertised = session.ctx.options.passiveAddress ?? session.localHost;
  // A 227 reply can only carry an IPv4 address (RFC 2428 §1).
  if (!isIPv4(advertised)) throw new FtpError(425, "PASV needs IPv4; use EPSV.");
  const port = session.data.armPassive();
  await session.reply(227, `Entering Passive Mode (${formatPasvAddress(advertised, port)}).`);
}

async function epsv(session: Session, arg: string): Promise<void> {
  const value = arg.toUpperCase();
  if (value === "ALL") {
    session.epsvAll = true;
    return await session.reply(200, "EPSV ALL ok.");
  }
  const family = isIPv4(session.localHost) ? "1" : "2";
  if (value !== "" && value !== family) {
    throw new FtpError(522, `Network protocol not supported, use (${family}).`);
  }
  const port = session.data.armPassive();
  await session.reply(229, `Entering Extended Passive Mode (|||${port}|).`);
}

/** The transfer parameter commands. */
export const PARAMETER_COMMANDS: CommandTable = {
  TYPE: { run: type, arg: "required", help: "TYPE <sp> A|I|L 8" },
  STRU: { run: stru, arg: "required", help: "STRU <sp> F" },
  MODE: { run: mode, arg: "required", help: "MODE <sp> S" },
  REST: { run: rest, arg: "required", help: "REST <sp> offset" },
  ALLO: { run: allo, arg: "required", help: "ALLO <sp> size" },
  PORT: { run: port, arg: "required", help: "PORT <sp> h1,h2,h3,h4,p1,p2" },
  EPRT: { run: eprt, arg: "required", help: "EPRT <sp> |protocol|address|port|" },
  PASV: { run: pasv, arg: "none", help: "PASV" },
  EPSV: { run: epsv, help: "EPSV [<sp> 1|2|ALL]" },
};
