/**
 * Informational and miscellaneous commands: SYST, NOOP, FEAT, OPTS, HELP, SITE, ABOR, CLNT.
 *
 * @module
 */

import { FtpError } from "../errors.ts";
import { availableFacts, mlstFeature, parseMlstOptions } from "../listing/mlsx.ts";
import { Code } from "../protocol/codes.ts";
import type { StorageCapabilities } from "../storage/storage.ts";
import type { CommandContext, Reply } from "./context.ts";
import { siteChmod } from "./files.ts";
import { hashFeatureOf, optsHash } from "./hash.ts";
import { type CommandTable, reply } from "./spec.ts";

function syst(): Reply {
  // What every client expects, whatever the host OS: it selects the `ls -l` parser.
  return reply(Code.SYSTEM_TYPE, "UNIX Type: L8");
}

function noop(): Reply {
  return reply(Code.OK, "NOOP ok.");
}

/** What the session's storage can do: the user's once logged in, the server's before. */
function sessionCapabilities(ctx: CommandContext): StorageCapabilities {
  return ctx.state.identity?.storage.capabilities ?? ctx.defaultCapabilities;
}

/**
 * The FEAT lines for this session (RFC 2389 §3.2): one feature per line, each after a space.
 * Only what the back end can do is advertised: REST STREAM without restart support would make
 * clients resume into a 502.
 */
export function features(ctx: CommandContext): string[] {
  const capabilities = sessionCapabilities(ctx);
  const tls = ctx.tlsAvailable ? ["AUTH TLS", "AUTH SSL", "PBSZ", "PROT"] : [];
  return [
    ...tls,
    "EPRT",
    "EPSV",
    // draft-bryan-ftpext-hash §3.1: every algorithm, the selected one marked.
    hashFeatureOf(ctx.state),
    "HOST",
    "MDTM",
    ...(capabilities.setMtime ? ["MFMT"] : []),
    mlstFeature(ctx.state.mlstFacts, availableFacts(capabilities)),
    ...(ctx.options.modeZ ? ["MODE Z"] : []),
    "PASV",
    ...(capabilities.readAtOffset || capabilities.writeAtOffset ? ["REST STREAM"] : []),
    "SIZE",
    "TVFS",
    "UTF8",
  ];
}

function feat(ctx: CommandContext): Reply {
  return reply(Code.SYSTEM_STATUS, [
    "Features:",
    ...features(ctx).map((line) => ` ${line}`),
    "End",
  ]);
}

function opts(ctx: CommandContext, arg: string): Reply {
  const space = arg.indexOf(" ");
  const name = (space === -1 ? arg : arg.slice(0, space)).toUpperCase();
  const value = space === -1 ? "" : arg.slice(space + 1).trim();
  if (name === "UTF8" || name === "UTF-8") {
    // RFC 2640: paths are always UTF-8 here; there is no other encoding to switch to.
    if (value.toUpperCase() === "ON" || value === "") return reply(Code.OK, "Always in UTF8 mode.");
    throw new FtpError(Code.PARAMETER_NOT_IMPLEMENTED, "UTF8 cannot be turned off.");
  }
  if (name === "MODE" && /^Z\b/i.test(value)) {
    // RFC 2389 §4: options of a feature the server does not offer are refused like MODE Z is.
    if (!ctx.options.modeZ) {
      throw new FtpError(Code.PARAMETER_NOT_IMPLEMENTED, "MODE Z is not enabled on this server.");
    }
    // draft-preston-ftpext-deflate: OPTS MODE Z LEVEL n, 0 (store) to 9 (smallest).
    const level = /^Z(?:\s+LEVEL\s+(\d))?$/i.exec(value);
    if (!level) throw new FtpError(Code.SYNTAX_ERROR, "Syntax: OPTS MODE Z LEVEL <0-9>.");
    if (level[1] !== undefined) ctx.state.deflateLevel = Number(level[1]);
    return reply(Code.OK, `MODE Z LEVEL set to ${ctx.state.deflateLevel}.`);
  }
  if (name === "HASH") return optsHash(ctx, value);
  if (name === "MLST") {
    const available = new Set(availableFacts(sessionCapabilities(ctx)));
    const facts = new Set([...parseMlstOptions(value)].filter((fact) => available.has(fact)));
    ctx.state.mlstFacts = facts;
    return reply(Code.OK, `MLST OPTS ${[...facts].map((fact) => fact + ";").join("")}`);
  }
  throw new FtpError(Code.SYNTAX_ERROR, `Option ${name} not understood.`);
}

/**
 * A verb's syntax line as this server accepts it: the table's, less what the server's options
 * turn off (MODE Z and its OPTS when `modeZ` is off: HELP must not offer a mode that gets 504).
 *
 * @example
 * ```ts ignore
 * syntaxOf(ctx, "MODE"); // "MODE <sp> S|B|C" unless MODE Z is on
 * ```
 */
export function syntaxOf(ctx: CommandContext, verb: string): string | undefined {
  const syntax = ctx.commands.help(verb);
  if (ctx.options.modeZ) return syntax;
  if (verb === "MODE") return syntax?.replace(/\|Z\b/, "");
  if (verb === "OPTS") return syntax?.replace(/ \| MODE Z LEVEL n\b/, "");
  return syntax;
}

function help(ctx: CommandContext, arg: string): Reply {
  if (arg !== "") {
    const verb = arg.toUpperCase();
    const syntax = syntaxOf(ctx, verb);
    if (syntax === undefined) throw new FtpError(Code.SYNTAX_ERROR, `Unknown command ${verb}.`);
    return reply(Code.HELP, `Syntax: ${syntax}`);
  }
  const verbs = ctx.commands.verbs();
  const rows: string[] = [];
  for (let i = 0; i < verbs.length; i += 8) {
    rows.push(" " + verbs.slice(i, i + 8).map((verb) => verb.padEnd(5)).join(" "));
  }
  return reply(Code.HELP, ["The following commands are recognized:", ...rows, "Help OK."]);
}

function site(ctx: CommandContext, arg: string): Reply | Promise<Reply> {
  const space = arg.indexOf(" ");
  const sub = (space === -1 ? arg : arg.slice(0, space)).toUpperCase();
  const rest = space === -1 ? "" : arg.slice(space + 1);
  if (sub === "HELP") {
    return reply(Code.HELP, ["SITE commands:", " CHMOD <sp> mode <sp> pathname", " HELP", "End."]);
  }
  if (sub === "CHMOD") return siteChmod(ctx, rest);
  throw new FtpError(Code.PARAMETER_NOT_IMPLEMENTED, `SITE ${sub} not understood.`);
}

async function abor(ctx: CommandContext): Promise<Reply> {
  const aborted = await ctx.abortTransfer();
  return reply(Code.TRANSFER_COMPLETE, aborted ? "ABOR successful." : "No transfer to abort.");
}

function clnt(): Reply {
  return reply(Code.OK, "Noted.");
}

/** The informational commands. */
export const INFO_COMMANDS: CommandTable = {
  SYST: { run: syst, auth: false, arg: "none", help: "SYST" },
  NOOP: { run: noop, auth: false, arg: "none", help: "NOOP" },
  FEAT: { run: feat, auth: false, arg: "none", help: "FEAT" },
  OPTS: {
    run: opts,
    auth: false,
    arg: "required",
    help: "OPTS <sp> UTF8 ON | MLST facts | HASH [algorithm] | MODE Z LEVEL n",
  },
  HELP: { run: help, auth: false, help: "HELP [<sp> command]" },
  SITE: { run: site, arg: "required", help: "SITE <sp> CHMOD|HELP" },
  ABOR: { run: abor, arg: "none", duringTransfer: "always", help: "ABOR" },
  CLNT: { run: clnt, auth: false, help: "CLNT <sp> client name" },
};
