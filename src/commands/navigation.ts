/**
 * Directory navigation: PWD, CWD, CDUP (and their X-aliases). Moving around needs no permission:
 * it reveals only that a directory exists.
 *
 * @module
 */

import { StorageError } from "../errors.ts";
import { Code } from "../protocol/codes.ts";
import { quotePath } from "../protocol/reply.ts";
import type { CommandContext, Reply } from "./context.ts";
import { resolve, storageOf } from "./guards.ts";
import { type CommandTable, reply } from "./spec.ts";

function pwd(ctx: CommandContext): Reply {
  return reply(Code.PATH_CREATED, `${quotePath(ctx.state.cwd)} is the current directory.`);
}

/** Changes to a directory, checking that it exists and is one. */
async function changeDirectory(ctx: CommandContext, arg: string): Promise<Reply> {
  const path = resolve(ctx, arg);
  const stat = await storageOf(ctx).stat(path, { signal: ctx.signal });
  if (stat.type !== "dir") throw new StorageError("not-a-directory", path);
  ctx.state.cwd = path;
  return reply(Code.FILE_ACTION_OK, "Directory successfully changed.");
}

/** The navigation commands. */
export const NAVIGATION_COMMANDS: CommandTable = {
  PWD: { run: pwd, arg: "none", help: "PWD" },
  CWD: { run: changeDirectory, arg: "required", help: "CWD <sp> pathname" },
  CDUP: { run: (ctx) => changeDirectory(ctx, ".."), arg: "none", help: "CDUP" },
};
