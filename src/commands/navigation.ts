/**
 * Directory navigation: PWD, CWD, CDUP (and their X-aliases).
 *
 * @module
 */

import { StorageError } from "../errors.ts";
import { quotePath } from "../protocol/reply.ts";
import type { Session } from "../session.ts";
import type { CommandTable } from "./registry.ts";

async function pwd(session: Session): Promise<void> {
  await session.reply(257, `${quotePath(session.cwd)} is the current directory.`);
}

/** Changes to a directory, checking that it exists and is one. */
export async function changeDirectory(session: Session, arg: string): Promise<void> {
  const path = session.resolve(arg);
  const stat = await session.ctx.storage.stat(path);
  if (stat.type !== "dir") throw new StorageError("not-a-directory", path);
  session.cwd = path;
  await session.reply(250, "Directory successfully changed.");
}

/** The navigation commands. */
export const NAVIGATION_COMMANDS: CommandTable = {
  PWD: { run: pwd, arg: "none", help: "PWD" },
  CWD: { run: changeDirectory, arg: "required", help: "CWD <sp> pathname" },
  CDUP: { run: (session) => changeDirectory(session, ".."), arg: "none", help: "CDUP" },
};
