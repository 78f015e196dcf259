/**
 * Directory navigation: PWD, CWD, CDUP (and their X-aliases). Moving around needs no permission:
 * it reveals only that a directory exists (and, where the user may not list, not even whether a
 * name that is no directory exists).
 *
 * @module
 */

import { StorageError } from "../errors.ts";
import { Code } from "../protocol/codes.ts";
import { quotePath } from "../protocol/reply.ts";
import { parentPath } from "../storage/vpath.ts";
import type { CommandContext, Reply } from "./context.ts";
import { allowed, resolve, storageOf } from "./guards.ts";
import { type CommandTable, reply } from "./spec.ts";

function pwd(ctx: CommandContext): Reply {
  return reply(Code.PATH_CREATED, `${quotePath(ctx.state.cwd)} is the current directory.`);
}

/**
 * Changes to a directory, checking that it exists and is one. Where the user may list neither
 * the directory nor its parent (a drop box), a file is answered as a missing name: "Not a
 * directory" would tell which files the drop box holds.
 */
async function changeDirectory(ctx: CommandContext, arg: string): Promise<Reply> {
  const path = resolve(ctx, arg);
  const visible = allowed(ctx, "list", path) || allowed(ctx, "list", parentPath(path));
  let stat;
  try {
    stat = await storageOf(ctx).stat(path, { signal: ctx.signal });
  } catch (error) {
    if (visible || !(error instanceof StorageError) || error.kind !== "not-a-directory") {
      throw error;
    }
    throw new StorageError("not-found", path);
  }
  if (stat.type !== "dir") throw new StorageError(visible ? "not-a-directory" : "not-found", path);
  ctx.state.cwd = path;
  return reply(Code.FILE_ACTION_OK, "Directory successfully changed.");
}

/** The navigation commands. */
export const NAVIGATION_COMMANDS: CommandTable = {
  PWD: { run: pwd, arg: "none", help: "PWD" },
  CWD: { run: changeDirectory, arg: "required", help: "CWD <sp> pathname" },
  CDUP: { run: (ctx) => changeDirectory(ctx, ".."), arg: "none", help: "CDUP" },
};
