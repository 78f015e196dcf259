/**
 * File commands: DELE, MKD, RMD, RNFR, RNTO, SITE CHMOD, and the RFC 3659 queries SIZE and MDTM,
 * with MFMT to set a modification time. Each checks its permission on the resolved path and
 * reports the change it made (or failed to make) for logs and events.
 *
 * @module
 */

import { FtpError, StorageError, toReply } from "../errors.ts";
import type { FileActionEvent } from "../events.ts";
import { isText } from "../data/representation.ts";
import { formatTimeVal, parseTimeVal } from "../listing/mlsx.ts";
import { Code } from "../protocol/codes.ts";
import { quotePath } from "../protocol/reply.ts";
import type { FileStat } from "../storage/storage.ts";
import type { CommandContext, Reply } from "./context.ts";
import { allowed, identityOf, requireCapability, resolveFor, storageOf } from "./guards.ts";
import { type CommandTable, reply } from "./spec.ts";

/** Runs a change to the tree and reports it, whether it worked or not. */
async function act(
  ctx: CommandContext,
  action: FileActionEvent["action"],
  path: string,
  change: () => Promise<void>,
  done: Reply,
  detail?: string,
): Promise<Reply> {
  const report = (ok: boolean, code: number) =>
    ctx.fileAction({ action, path, ok, code, ...(detail === undefined ? {} : { detail }) });
  try {
    await change();
  } catch (error) {
    report(false, toReply(error).code);
    throw error;
  }
  report(true, done.code);
  return done;
}

function dele(ctx: CommandContext, arg: string): Promise<Reply> {
  const path = resolveFor(ctx, "delete", arg);
  return act(
    ctx,
    "delete",
    path,
    () => storageOf(ctx).remove(path, { signal: ctx.signal }),
    reply(Code.FILE_ACTION_OK, "File deleted."),
  );
}

function mkd(ctx: CommandContext, arg: string): Promise<Reply> {
  const path = resolveFor(ctx, "mkdir", arg);
  return act(
    ctx,
    "mkdir",
    path,
    () => storageOf(ctx).mkdir(path, { signal: ctx.signal }),
    reply(Code.PATH_CREATED, `${quotePath(path)} directory created.`),
  );
}

function rmd(ctx: CommandContext, arg: string): Promise<Reply> {
  const path = resolveFor(ctx, "rmdir", arg);
  return act(
    ctx,
    "rmdir",
    path,
    () => storageOf(ctx).rmdir(path, { signal: ctx.signal }),
    reply(Code.FILE_ACTION_OK, "Directory removed."),
  );
}

/**
 * Refuses to move a directory across a rule boundary. Rules name paths, not objects: renaming
 * `/pub` when `/pub/inbox` is a drop box would take the drop box's files out of its rule (to a
 * `/moved/inbox` anyone may read), and renaming a directory to a name with rules below it would
 * put its files under rules they were never meant for. The mount table refuses the same for
 * mount points.
 */
function requireUniformRules(ctx: CommandContext, path: string): void {
  if (!identityOf(ctx).rules.uniformBelow(path)) throw new StorageError("permission", path);
}

async function rnfr(ctx: CommandContext, arg: string): Promise<Reply> {
  const path = resolveFor(ctx, "rename", arg);
  if (path === "/") throw new StorageError("permission", path);
  const stat = await storageOf(ctx).stat(path, { signal: ctx.signal });
  requireCapability(ctx, path, stat.type === "dir" ? "renameDirectory" : "renameFile", {
    code: Code.NOT_IMPLEMENTED,
    text: `Renaming ${stat.type === "dir" ? "directories" : "files"} is not supported here.`,
  });
  if (stat.type === "dir") requireUniformRules(ctx, path);
  ctx.state.renameFrom = path;
  return reply(Code.PENDING, "Ready for RNTO.");
}

/** The stat of `path`, or null when nothing is there. */
async function statOrNull(ctx: CommandContext, path: string): Promise<FileStat | null> {
  try {
    return await storageOf(ctx).stat(path, { signal: ctx.signal });
  } catch (error) {
    if (error instanceof StorageError && error.kind === "not-found") return null;
    throw error;
  }
}

async function rnto(ctx: CommandContext, arg: string): Promise<Reply> {
  const from = ctx.state.renameFrom;
  ctx.state.renameFrom = null;
  // The permission first: a user who may not rename here hears that, not "RNFR first".
  const to = resolveFor(ctx, "rename", arg);
  if (from === null) throw new FtpError(Code.BAD_SEQUENCE, "RNFR required first.");
  // Only a directory has anything below it to fall under the target's rules.
  if (!identityOf(ctx).rules.uniformBelow(to) && (await statOrNull(ctx, from))?.type === "dir") {
    throw new StorageError("permission", to);
  }
  // Renaming onto an existing name replaces it (a file, or an empty directory): the same right
  // as a STOR over it (proftpd applies AllowOverwrite to RNTO). Renaming a name onto itself
  // replaces nothing.
  if (to !== from && !allowed(ctx, "overwrite", to) && (await statOrNull(ctx, to)) !== null) {
    throw new StorageError("permission", to);
  }
  return act(
    ctx,
    "rename",
    from,
    () => storageOf(ctx).rename(from, to, { signal: ctx.signal }),
    reply(Code.FILE_ACTION_OK, "Rename successful."),
    to,
  );
}

async function size(ctx: CommandContext, arg: string): Promise<Reply> {
  const path = resolveFor(ctx, "list", arg);
  const stat = await storageOf(ctx).stat(path, { signal: ctx.signal });
  if (stat.type !== "file") {
    throw new FtpError(Code.FILE_UNAVAILABLE, `${quotePath(path)}: not a regular file.`);
  }
  // In TYPE A the size on the wire differs from the size on disk and would need a full read to
  // compute; like proftpd we refuse rather than answer a number a client would resume from.
  if (isText(ctx.state.representation)) {
    throw new FtpError(Code.FILE_UNAVAILABLE, "SIZE not allowed in ASCII mode; use TYPE I.");
  }
  return reply(Code.FILE_STATUS, String(stat.size));
}

async function mdtm(ctx: CommandContext, arg: string): Promise<Reply> {
  const path = resolveFor(ctx, "list", arg);
  const stat = await storageOf(ctx).stat(path, { signal: ctx.signal });
  if (stat.type !== "file") {
    throw new FtpError(Code.FILE_UNAVAILABLE, `${quotePath(path)}: not a regular file.`);
  }
  return reply(Code.FILE_STATUS, formatTimeVal(stat.mtime));
}

function mfmt(ctx: CommandContext, arg: string): Promise<Reply> {
  const space = arg.indexOf(" ");
  const time = space === -1 ? null : parseTimeVal(arg.slice(0, space));
  if (time === null || space === arg.length - 1) {
    throw new FtpError(Code.SYNTAX_ERROR, "Syntax: MFMT YYYYMMDDHHMMSS pathname.");
  }
  const name = arg.slice(space + 1);
  const path = resolveFor(ctx, "mtime", name);
  requireCapability(ctx, path, "setMtime", {
    code: Code.NOT_IMPLEMENTED,
    text: "MFMT not supported by this storage.",
  });
  const value = formatTimeVal(time);
  return act(
    ctx,
    "mtime",
    path,
    () => storageOf(ctx).setMtime(path, time, { signal: ctx.signal }),
    reply(Code.FILE_STATUS, `Modify=${value}; ${name}`),
    value,
  );
}

/** SITE CHMOD mode path (the SITE command itself is in `info.ts`). */
export function siteChmod(ctx: CommandContext, arg: string): Promise<Reply> {
  const match = /^([0-7]{1,4}) (.+)$/.exec(arg);
  if (!match) throw new FtpError(Code.SYNTAX_ERROR, "Syntax: SITE CHMOD <mode> <pathname>.");
  const path = resolveFor(ctx, "chmod", match[2]);
  // The root's own mode is the operator's business: `SITE CHMOD 000 /` would lock everyone out.
  if (path === "/") throw new StorageError("permission", path);
  requireCapability(ctx, path, "chmod", {
    code: Code.NOT_IMPLEMENTED,
    text: "SITE CHMOD not supported by this storage.",
  });
  const mode = parseInt(match[1], 8);
  return act(
    ctx,
    "chmod",
    path,
    () => storageOf(ctx).chmod(path, mode, { signal: ctx.signal }),
    reply(Code.OK, "SITE CHMOD command ok."),
    match[1],
  );
}

/** The file commands. */
export const FILE_COMMANDS: CommandTable = {
  DELE: { run: dele, arg: "required", help: "DELE <sp> pathname" },
  MKD: { run: mkd, arg: "required", help: "MKD <sp> pathname" },
  RMD: { run: rmd, arg: "required", help: "RMD <sp> pathname" },
  RNFR: { run: rnfr, arg: "required", keepsRename: true, help: "RNFR <sp> pathname" },
  RNTO: { run: rnto, arg: "required", keepsRename: true, help: "RNTO <sp> pathname" },
  SIZE: { run: size, arg: "required", help: "SIZE <sp> pathname" },
  MDTM: { run: mdtm, arg: "required", help: "MDTM <sp> pathname" },
  MFMT: { run: mfmt, arg: "required", help: "MFMT <sp> YYYYMMDDHHMMSS <sp> pathname" },
};
