/**
 * File commands: RETR, STOR, APPE, STOU (transfers), DELE, MKD, RMD, RNFR, RNTO, and the
 * RFC 3659 queries SIZE and MDTM, with MFMT to set a modification time.
 *
 * @module
 */

import { FtpError, StorageError } from "../errors.ts";
import { formatTimeVal, parseTimeVal } from "../listing/mlsx.ts";
import { quotePath } from "../protocol/reply.ts";
import type { Session } from "../session.ts";
import type { WriteHandle } from "../storage/storage.ts";
import { baseName, joinPath } from "../storage/vpath.ts";
import type { CommandTable } from "./registry.ts";

function modeName(session: Session): string {
  return session.ascii ? "ASCII" : "BINARY";
}

async function retr(session: Session, arg: string): Promise<void> {
  session.requireDataChannel();
  const path = session.resolve(arg);
  const offset = session.takeRestOffset();
  const file = await session.ctx.storage.read(path, { offset });
  if (offset > file.size) {
    await file.readable.cancel();
    // RFC 3659 §5.5: a restart marker past the end of the file.
    throw new FtpError(554, `Restart offset ${offset} is beyond the end of the file.`);
  }
  session.startTransfer({
    command: "RETR",
    path,
    plan: { direction: "send", source: file.readable },
    ascii: session.ascii,
    openingText: `Opening ${modeName(session)} mode data connection for ${
      quotePath(baseName(path))
    } (${file.size} bytes).`,
  });
}

/**
 * Starts an upload. The storage side is opened only once the data connection exists, so an
 * upload that never starts (425) leaves the existing file as it was.
 */
function receive(
  session: Session,
  command: string,
  path: string,
  open: () => Promise<WriteHandle>,
  texts: { opening?: () => string; complete?: () => string } = {},
): void {
  session.startTransfer({
    command,
    path,
    open: async () => ({ direction: "receive", sink: await open() }),
    ascii: session.ascii,
    openingText: texts.opening ??
      `Opening ${modeName(session)} mode data connection for ${quotePath(baseName(path))}.`,
    ...(texts.complete === undefined ? {} : { completeText: texts.complete }),
  });
}

async function stor(session: Session, arg: string): Promise<void> {
  session.requireDataChannel();
  const path = session.resolve(arg);
  const offset = session.takeRestOffset();
  const { storage } = session.ctx;
  if (offset > 0) {
    const { size } = await storage.stat(path);
    if (offset > size) {
      throw new FtpError(554, `Restart offset ${offset} is beyond the end of the file.`);
    }
  }
  receive(session, "STOR", path, () => storage.write(path, { offset }));
}

function appe(session: Session, arg: string): void {
  session.requireDataChannel();
  const path = session.resolve(arg);
  session.takeRestOffset();
  const { storage } = session.ctx;
  receive(session, "APPE", path, () => storage.write(path, { append: true }));
}

/** Tries this many names before giving up on STOU. */
const UNIQUE_ATTEMPTS = 100;

/** Creates a file under a name not yet taken: `base`, `base.1`, `base.2`, ... */
async function createUnique(
  session: Session,
  base: string,
): Promise<{ path: string; sink: WriteHandle }> {
  for (let attempt = 0; attempt < UNIQUE_ATTEMPTS; attempt++) {
    const path = attempt === 0 ? base : `${base}.${attempt}`;
    try {
      return { path, sink: await session.ctx.storage.write(path, { exclusive: true }) };
    } catch (error) {
      if (error instanceof StorageError && (error.kind === "exists" || error.kind === "busy")) {
        continue;
      }
      throw error;
    }
  }
  throw new FtpError(553, "Could not find a unique file name.");
}

function stou(session: Session, arg: string): void {
  session.requireDataChannel();
  session.takeRestOffset();
  const base = arg === ""
    ? joinPath(session.cwd, `ftpgate.${Date.now().toString(36)}`)
    : session.resolve(arg);
  let name = baseName(base);
  receive(session, "STOU", base, async () => {
    const created = await createUnique(session, base);
    name = baseName(created.path);
    return created.sink;
  }, {
    // RFC 1123 §4.1.2.9: the 150 reply names the file as "FILE: name".
    opening: () => `FILE: ${name}`,
    complete: () => `Transfer complete (unique file name: ${name}).`,
  });
}

async function dele(session: Session, arg: string): Promise<void> {
  await session.ctx.storage.remove(session.resolve(arg));
  await session.reply(250, "File deleted.");
}

async function mkd(session: Session, arg: string): Promise<void> {
  const path = session.resolve(arg);
  await session.ctx.storage.mkdir(path);
  await session.reply(257, `${quotePath(path)} directory created.`);
}

async function rmd(session: Session, arg: string): Promise<void> {
  await session.ctx.storage.rmdir(session.resolve(arg));
  await session.reply(250, "Directory removed.");
}

async function rnfr(session: Session, arg: string): Promise<void> {
  const path = session.resolve(arg);
  if (path === "/") throw new StorageError("permission", path);
  await session.ctx.storage.stat(path);
  session.renameFrom = path;
  await session.reply(350, "Ready for RNTO.");
}

async function rnto(session: Session, arg: string): Promise<void> {
  const from = session.renameFrom;
  session.renameFrom = null;
  if (from === null) throw new FtpError(503, "RNFR required first.");
  await session.ctx.storage.rename(from, session.resolve(arg));
  await session.reply(250, "Rename successful.");
}

async function size(session: Session, arg: string): Promise<void> {
  const path = session.resolve(arg);
  const stat = await session.ctx.storage.stat(path);
  if (stat.type !== "file") throw new FtpError(550, `${quotePath(path)}: not a regular file.`);
  // In TYPE A the size on the wire differs from the size on disk and would need a full read to
  // compute; like proftpd we refuse rather than answer a number a client would resume from.
  if (session.ascii) throw new FtpError(550, "SIZE not allowed in ASCII mode; use TYPE I.");
  await session.reply(213, String(stat.size));
}

async function mdtm(session: Session, arg: string): Promise<void> {
  const path = session.resolve(arg);
  const stat = await session.ctx.storage.stat(path);
  if (stat.type !== "file") throw new FtpError(550, `${quotePath(path)}: not a regular file.`);
  await session.reply(213, formatTimeVal(stat.mtime));
}

async function mfmt(session: Session, arg: string): Promise<void> {
  const space = arg.indexOf(" ");
  const time = space === -1 ? null : parseTimeVal(arg.slice(0, space));
  if (time === null || space === arg.length - 1) {
    throw new FtpError(501, "Syntax: MFMT YYYYMMDDHHMMSS pathname.");
  }
  const path = session.resolve(arg.slice(space + 1));
  await session.ctx.storage.setMtime(path, time);
  await session.reply(213, `Modify=${formatTimeVal(time)}; ${arg.slice(space + 1)}`);
}

/** The file commands. */
export const FILE_COMMANDS: CommandTable = {
  RETR: { run: retr, arg: "required", help: "RETR <sp> pathname" },
  STOR: { run: stor, arg: "required", write: true, help: "STOR <sp> pathname" },
  APPE: { run: appe, arg: "required", write: true, help: "APPE <sp> pathname" },
  STOU: { run: stou, write: true, help: "STOU [<sp> pathname]" },
  DELE: { run: dele, arg: "required", write: true, help: "DELE <sp> pathname" },
  MKD: { run: mkd, arg: "required", write: true, help: "MKD <sp> pathname" },
  RMD: { run: rmd, arg: "required", write: true, help: "RMD <sp> pathname" },
  RNFR: { run: rnfr, arg: "required", write: true, help: "RNFR <sp> pathname" },
  RNTO: { run: rnto, arg: "required", write: true, help: "RNTO <sp> pathname" },
  SIZE: { run: size, arg: "required", help: "SIZE <sp> pathname" },
  MDTM: { run: mdtm, arg: "required", help: "MDTM <sp> pathname" },
  MFMT: { run: mfmt, arg: "required", write: true, help: "MFMT <sp> YYYYMMDDHHMMSS <sp> pathname" },
};
