/**
 * Informational and miscellaneous commands: SYST, NOOP, FEAT, OPTS, HELP, SITE, ABOR, CLNT.
 *
 * @module
 */

import { FtpError } from "../errors.ts";
import { mlstFeature, parseMlstOptions } from "../listing/mlsx.ts";
import type { Session } from "../session.ts";
import { COMMANDS } from "./registry.ts";
import type { CommandTable } from "./registry.ts";

async function syst(session: Session): Promise<void> {
  // What every client expects, whatever the host OS: it selects the `ls -l` parser.
  await session.reply(215, "UNIX Type: L8");
}

async function noop(session: Session): Promise<void> {
  await session.reply(200, "NOOP ok.");
}

/** The FEAT lines for this session (RFC 2389 §3.2): one feature per line, each after a space. */
export function features(session: Session): string[] {
  const tls = session.ctx.tls === null ? [] : ["AUTH TLS", "AUTH SSL", "PBSZ", "PROT"];
  return [
    ...tls,
    "EPRT",
    "EPSV",
    "HOST",
    "MDTM",
    "MFMT",
    mlstFeature(session.mlstFacts),
    "PASV",
    "REST STREAM",
    "SIZE",
    "TVFS",
    "UTF8",
  ];
}

async function feat(session: Session): Promise<void> {
  await session.reply(211, ["Features:", ...features(session).map((line) => ` ${line}`), "End"]);
}

async function opts(session: Session, arg: string): Promise<void> {
  const space = arg.indexOf(" ");
  const name = (space === -1 ? arg : arg.slice(0, space)).toUpperCase();
  const value = space === -1 ? "" : arg.slice(space + 1).trim();
  if (name === "UTF8" || name === "UTF-8") {
    // RFC 2640: paths are always UTF-8 here; there is no other encoding to switch to.
    if (value.toUpperCase() === "ON" || value === "") {
      return await session.reply(200, "Always in UTF8 mode.");
    }
    throw new FtpError(504, "UTF8 cannot be turned off.");
  }
  if (name === "MLST") {
    session.mlstFacts = parseMlstOptions(value);
    const list = [...session.mlstFacts].map((fact) => fact + ";").join("");
    return await session.reply(200, `MLST OPTS ${list}`);
  }
  throw new FtpError(501, `Option ${name} not understood.`);
}

async function help(session: Session, arg: string): Promise<void> {
  if (arg !== "") {
    const verb = arg.toUpperCase();
    const spec = COMMANDS.get(verb);
    if (!spec) throw new FtpError(501, `Unknown command ${verb}.`);
    return await session.reply(214, `Syntax: ${spec.help}`);
  }
  const verbs = [...COMMANDS.keys()].sort();
  const rows: string[] = [];
  for (let i = 0; i < verbs.length; i += 8) {
    rows.push(" " + verbs.slice(i, i + 8).map((verb) => verb.padEnd(5)).join(" "));
  }
  await session.reply(214, ["The following commands are recognized:", ...rows, "Help OK."]);
}

async function site(session: Session, arg: string): Promise<void> {
  const space = arg.indexOf(" ");
  const sub = (space === -1 ? arg : arg.slice(0, space)).toUpperCase();
  const rest = space === -1 ? "" : arg.slice(space + 1);
  if (sub === "HELP") {
    return await session.reply(214, [
      "SITE commands:",
      " CHMOD <sp> mode <sp> pathname",
      " HELP",
      "End.",
    ]);
  }
  if (sub === "CHMOD") return await chmod(session, rest);
  throw new FtpError(504, `SITE ${sub} not understood.`);
}

async function chmod(session: Session, arg: string): Promise<void> {
  if (!session.account?.write) throw new FtpError(550, "Permission denied.");
  const match = /^([0-7]{1,4}) (.+)$/.exec(arg);
  if (!match) throw new FtpError(501, "Syntax: SITE CHMOD <mode> <pathname>.");
  const path = session.resolve(match[2]);
  // The root's own mode is the operator's business: `SITE CHMOD 000 /` would lock everyone out.
  if (path === "/") throw new FtpError(550, "Permission denied.");
  await session.ctx.storage.chmod(path, parseInt(match[1], 8));
  await session.reply(200, "SITE CHMOD command ok.");
}

async function abor(session: Session): Promise<void> {
  // A running transfer is aborted by the session loop itself; here nothing runs.
  await session.abortTransfer();
  await session.reply(226, "No transfer to abort.");
}

async function clnt(session: Session): Promise<void> {
  await session.reply(200, "Noted.");
}

/** The informational commands. */
export const INFO_COMMANDS: CommandTable = {
  SYST: { run: syst, auth: false, arg: "none", help: "SYST" },
  NOOP: { run: noop, auth: false, arg: "none", help: "NOOP" },
  FEAT: { run: feat, auth: false, arg: "none", help: "FEAT" },
  OPTS: { run: opts, auth: false, arg: "required", help: "OPTS <sp> UTF8 ON | MLST facts" },
  HELP: { run: help, auth: false, help: "HELP [<sp> command]" },
  SITE: { run: site, arg: "required", help: "SITE <sp> CHMOD|HELP" },
  ABOR: { run: abor, arg: "none", help: "ABOR" },
  CLNT: { run: clnt, auth: false, help: "CLNT <sp> client name" },
};
