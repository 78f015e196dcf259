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
import { prepare } from "../data/pipeline.ts";
import { describeRepresentation, IMAGE, type Representation } from "../data/representation.ts";
import { FtpError } from "../errors.ts";
import { inNetworks } from "../net/cidr.ts";
import { Code } from "../protocol/codes.ts";
import type { CommandContext, Reply } from "./context.ts";
import { storageOf } from "./guards.ts";
import { type CommandTable, reply } from "./spec.ts";

/**
 * Parses a TYPE argument (RFC 959 §4.1.2: `A [N|T|C]`, `E [N|T|C]`, `I`, `L byte-size`); null
 * when malformed, "unsupported" for a local byte size other than 8 (504).
 */
function parseType(arg: string): Representation | "unsupported" | null {
  const [code, format, extra] = arg.toUpperCase().split(" ").filter((part) => part !== "");
  if (code === undefined || extra !== undefined) return null;
  if (code === "I") return format === undefined ? IMAGE : null;
  // A local byte size of 8 is binary (RFC 959 §3.1.1.4); other sizes this host cannot hold.
  if (code === "L") {
    if (format === undefined || !/^\d{1,3}$/.test(format)) return null;
    return format === "8" ? { ...IMAGE, type: "L" } : "unsupported";
  }
  if (code === "A" || code === "E") {
    if (format !== undefined && format !== "N" && format !== "T" && format !== "C") return null;
    return { type: code, format: format ?? "N", byteSize: 8 };
  }
  return null;
}

function type(ctx: CommandContext, arg: string): Reply {
  const parsed = parseType(arg);
  if (parsed === null) throw new FtpError(Code.SYNTAX_ERROR, "Syntax: TYPE A|E [N|T|C], I, L 8.");
  if (parsed === "unsupported") {
    throw new FtpError(Code.PARAMETER_NOT_IMPLEMENTED, `TYPE ${arg} not supported: only L 8.`);
  }
  ctx.state.representation = parsed;
  prepare(ctx.state);
  const name = describeRepresentation(parsed);
  return reply(Code.OK, `Switching to ${name === "BINARY" ? "Binary" : name} mode.`);
}

function stru(ctx: CommandContext, arg: string): Reply {
  const value = arg.toUpperCase();
  if (value === "F" || value === "R") {
    ctx.state.structure = value;
    prepare(ctx.state);
    return reply(Code.OK, `Structure set to ${value === "F" ? "File" : "Record"}.`);
  }
  // Page structure (RFC 959 §3.1.2.3) describes TOPS-20 files; nothing stores pages today.
  if (value === "P") {
    throw new FtpError(Code.PARAMETER_NOT_IMPLEMENTED, "STRU P not supported: use F or R.");
  }
  throw new FtpError(Code.SYNTAX_ERROR, "Syntax: STRU F|R|P.");
}

const MODES = { S: "Stream", B: "Block", C: "Compressed", Z: "Deflate" } as const;

function mode(ctx: CommandContext, arg: string): Reply {
  const value = arg.toUpperCase();
  if (value === "Z" && !ctx.options.modeZ) {
    throw new FtpError(Code.PARAMETER_NOT_IMPLEMENTED, "MODE Z is not enabled on this server.");
  }
  if (value === "S" || value === "B" || value === "C" || value === "Z") {
    // A kept connection carries the old mode's framing (RFC 959 §3.4: modes B and C keep it).
    if (ctx.state.mode !== value) ctx.data.dropKept();
    ctx.state.mode = value;
    prepare(ctx.state);
    return reply(Code.OK, `Mode set to ${MODES[value]}.`);
  }
  throw new FtpError(Code.SYNTAX_ERROR, `Syntax: MODE S|B|C${ctx.options.modeZ ? "|Z" : ""}.`);
}

function rest(ctx: CommandContext, arg: string): Reply {
  const offset = /^\d{1,16}$/.test(arg) ? Number(arg) : NaN;
  if (!Number.isSafeInteger(offset)) {
    throw new FtpError(Code.SYNTAX_ERROR, "REST needs a byte offset.");
  }
  const { readAtOffset, writeAtOffset } = storageOf(ctx).capabilities;
  // RFC 3659 §5: a server that cannot restart says so at REST, not at the transfer.
  if (offset > 0 && !readAtOffset && !writeAtOffset) {
    throw new FtpError(Code.NOT_IMPLEMENTED, "REST not supported by this storage.");
  }
  ctx.state.restOffset = offset;
  return reply(Code.PENDING, `Restarting at ${offset}. Send STORE or RETRIEVE.`);
}

/**
 * ALLO size [R record-size] (RFC 959 §4.1.3). Nothing needs reserving here (202), but the size
 * goes with the next upload as a hint: an object store picks its part size from it, which lets
 * an upload beyond part size × 10,000 (80 GiB by default) succeed.
 */
function allo(ctx: CommandContext, arg: string): Reply {
  const size = /^(\d{1,16})(?:\s+R\s+\d{1,16})?$/i.exec(arg.trim());
  if (!size) throw new FtpError(Code.SYNTAX_ERROR, "Syntax: ALLO <size> [R <record size>].");
  const bytes = Number(size[1]);
  if (!Number.isSafeInteger(bytes)) throw new FtpError(Code.SYNTAX_ERROR, "ALLO size too large.");
  ctx.state.allocation = bytes;
  return reply(Code.SUPERFLUOUS, "ALLO not needed; the size goes with the next upload.");
}

/** Checks an active-mode target: no FXP unless allowed, no privileged port (bounce attacks). */
function checkActiveTarget(ctx: CommandContext, target: Endpoint): void {
  const { options } = ctx;
  if (!options.allowActive) {
    throw new FtpError(Code.NOT_IMPLEMENTED, "Active mode is disabled; use PASV or EPSV.");
  }
  if (ctx.state.epsvAll) throw new FtpError(Code.BAD_SEQUENCE, "EPSV ALL in effect; use EPSV.");
  // RFC 2577 §3: a PORT to a third host turns the server into a port scanner (FTP bounce).
  if (!options.allowFxp && target.host !== ctx.remoteHost) {
    throw new FtpError(
      Code.PARAMETER_NOT_IMPLEMENTED,
      "Data connection must go to the client's address.",
    );
  }
  if (target.port < 1024) {
    throw new FtpError(
      Code.PARAMETER_NOT_IMPLEMENTED,
      "Data connection to a privileged port refused.",
    );
  }
}

/**
 * An unspecified address (`0.0.0.0`, `::`) means "me": lftp sends `EPRT |2|::|port|` over IPv6.
 * Reading it as the client's own address opens no bounce.
 */
function orClient(ctx: CommandContext, target: Endpoint): Endpoint {
  return target.host === "0.0.0.0" || target.host === "::"
    ? { ...target, host: ctx.remoteHost }
    : target;
}

function port(ctx: CommandContext, arg: string): Reply {
  const parsed = parsePortArgument(arg);
  if (parsed === null) throw new FtpError(Code.SYNTAX_ERROR, "Syntax: PORT h1,h2,h3,h4,p1,p2.");
  const target = orClient(ctx, parsed);
  checkActiveTarget(ctx, target);
  ctx.data.setActive(target);
  return reply(Code.OK, "PORT command successful. Consider using PASV.");
}

function eprt(ctx: CommandContext, arg: string): Reply {
  const parsed = parseEprtArgument(arg);
  if (parsed === "unsupported") {
    throw new FtpError(Code.PROTOCOL_NOT_SUPPORTED, "Network protocol not supported, use (1,2).");
  }
  if (parsed === null) {
    throw new FtpError(Code.SYNTAX_ERROR, "Syntax: EPRT |protocol|address|port|.");
  }
  const target = orClient(ctx, parsed);
  checkActiveTarget(ctx, target);
  ctx.data.setActive(target);
  return reply(Code.OK, "EPRT command successful. Consider using EPSV.");
}

/**
 * The address a 227 reply gives this client: by network first (behind NAT, clients inside get
 * the local address and those outside the public one), then the configured one, then ours.
 */
function passiveAddressFor(ctx: CommandContext): string {
  for (const rule of ctx.options.passiveAddresses) {
    if (inNetworks(rule.networks, ctx.remoteHost)) {
      return rule.address === "local" ? ctx.localHost : rule.address;
    }
  }
  return ctx.options.passiveAddress ?? ctx.localHost;
}

function pasv(ctx: CommandContext): Reply {
  if (ctx.state.epsvAll) throw new FtpError(Code.BAD_SEQUENCE, "EPSV ALL in effect; use EPSV.");
  const advertised = passiveAddressFor(ctx);
  // A 227 reply can only carry an IPv4 address (RFC 2428 §1).
  if (!isIPv4(advertised)) throw new FtpError(Code.CANT_OPEN_DATA, "PASV needs IPv4; use EPSV.");
  const port = ctx.data.armPassive();
  return reply(Code.PASSIVE, `Entering Passive Mode (${formatPasvAddress(advertised, port)}).`);
}

function epsv(ctx: CommandContext, arg: string): Reply {
  const value = arg.toUpperCase();
  if (value === "ALL") {
    ctx.state.epsvAll = true;
    return reply(Code.OK, "EPSV ALL ok.");
  }
  const family = isIPv4(ctx.localHost) ? "1" : "2";
  if (value !== "" && value !== family) {
    throw new FtpError(
      Code.PROTOCOL_NOT_SUPPORTED,
      `Network protocol not supported, use (${family}).`,
    );
  }
  const port = ctx.data.armPassive();
  return reply(Code.EXTENDED_PASSIVE, `Entering Extended Passive Mode (|||${port}|).`);
}

/** The transfer parameter commands. */
export const PARAMETER_COMMANDS: CommandTable = {
  TYPE: { run: type, arg: "required", help: "TYPE <sp> A|E [N|T|C] | I | L 8" },
  STRU: { run: stru, arg: "required", help: "STRU <sp> F|R" },
  MODE: { run: mode, arg: "required", help: "MODE <sp> S|B|C|Z" },
  REST: { run: rest, arg: "required", help: "REST <sp> offset" },
  ALLO: { run: allo, arg: "required", help: "ALLO <sp> size" },
  PORT: { run: port, arg: "required", help: "PORT <sp> h1,h2,h3,h4,p1,p2" },
  EPRT: { run: eprt, arg: "required", help: "EPRT <sp> |protocol|address|port|" },
  PASV: { run: pasv, arg: "none", help: "PASV" },
  EPSV: { run: epsv, help: "EPSV [<sp> 1|2|ALL]" },
};
