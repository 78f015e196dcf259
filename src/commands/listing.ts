/**
 * Listing commands: LIST, NLST, MLSD over the data connection; MLST and STAT over the control
 * connection (RFC 959 §4.1.3, RFC 3659 §7).
 *
 * @module
 */

import { FtpError, StorageError } from "../errors.ts";
import { compileGlob } from "../listing/glob.ts";
import { formatLsLine } from "../listing/ls.ts";
import { type EntryRole, formatFacts } from "../listing/mlsx.ts";
import { quotePath } from "../protocol/reply.ts";
import type { Session } from "../session.ts";
import { collectList, type FileStat } from "../storage/storage.ts";
import { baseName, parentPath } from "../storage/vpath.ts";
import type { CommandTable } from "./registry.ts";

const encoder = new TextEncoder();
/** Listing bytes are produced in chunks of about this size, as the connection takes them. */
const CHUNK_CHARS = 64 * 1024;

/** What a listing argument named. */
interface Listed {
  /** The directory listed, or the file itself. */
  path: string;
  entries: FileStat[];
  /** Prefix for NLST names: the directory part the client typed, or "". */
  prefix: string;
  isDirectory: boolean;
}

/**
 * Splits `ls`-style options off a LIST/NLST argument: `-la /pub` → `/pub`. Clients send
 * `-a`, `-l`, `-la` and the like; we always show everything, so the options only need removing.
 */
export function stripListOptions(arg: string): string {
  let rest = arg;
  while (rest.startsWith("-")) {
    const space = rest.indexOf(" ");
    rest = space === -1 ? "" : rest.slice(space + 1).trimStart();
  }
  return rest;
}

async function collect(session: Session, arg: string): Promise<Listed> {
  const { storage } = session.ctx;
  const path = session.resolve(arg === "" ? "." : arg);
  const slash = arg.lastIndexOf("/");
  const typedDir = slash === -1 ? "" : arg.slice(0, slash + 1);
  let stat: FileStat;
  try {
    stat = await storage.stat(path);
  } catch (error) {
    const pattern = compileGlob(baseName(path));
    if (!(error instanceof StorageError) || error.kind !== "not-found" || pattern === null) {
      throw error;
    }
    const parent = parentPath(path);
    const entries = (await collectList(storage, parent)).filter((entry) =>
      pattern.matches(entry.name)
    );
    return { path: parent, entries: sortByName(entries), prefix: typedDir, isDirectory: true };
  }
  if (stat.type !== "dir") {
    return { path, entries: [stat], prefix: typedDir, isDirectory: false };
  }
  const prefix = arg === "" || arg === "." ? "" : arg.endsWith("/") ? arg : arg + "/";
  return { path, entries: sortByName(await collectList(storage, path)), prefix, isDirectory: true };
}

function sortByName(entries: FileStat[]): FileStat[] {
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Streams formatted lines with CRLF endings, a chunk at a time. */
function lineStream<T>(
  items: readonly T[],
  format: (item: T) => string,
): ReadableStream<Uint8Array> {
  let index = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      let text = "";
      while (index < items.length && text.length < CHUNK_CHARS) {
        text += format(items[index++]) + "\r\n";
      }
      if (text !== "") controller.enqueue(encoder.encode(text));
      if (index >= items.length) controller.close();
    },
  }, { highWaterMark: 0 });
}

function sendListing(
  session: Session,
  command: string,
  path: string,
  source: ReadableStream<Uint8Array>,
) {
  session.startTransfer({
    command,
    path,
    plan: { direction: "send", source },
    ascii: false,
    openingText: "Here comes the directory listing.",
    completeText: "Directory send OK.",
  });
}

async function list(session: Session, arg: string): Promise<void> {
  session.requireDataChannel();
  const listed = await collect(session, stripListOptions(arg));
  const now = Date.now();
  sendListing(
    session,
    "LIST",
    listed.path,
    lineStream(listed.entries, (entry) => formatLsLine(entry, now)),
  );
}

async function nlst(session: Session, arg: string): Promise<void> {
  session.requireDataChannel();
  const listed = await collect(session, stripListOptions(arg));
  const names = listed.isDirectory
    ? listed.entries.map((entry) => listed.prefix + entry.name)
    : [stripListOptions(arg)];
  sendListing(session, "NLST", listed.path, lineStream(names, (name) => name));
}

async function mlsd(session: Session, arg: string): Promise<void> {
  session.requireDataChannel();
  const { storage } = session.ctx;
  const path = session.resolve(arg === "" ? "." : arg);
  const self = await storage.stat(path);
  if (self.type !== "dir") throw new FtpError(501, `${quotePath(path)} is not a directory.`);
  const [parent, entries] = await Promise.all([
    storage.stat(parentPath(path)),
    collectList(storage, path),
  ]);
  const rows: { entry: FileStat; name: string; role: EntryRole }[] = [
    { entry: self, name: ".", role: "cdir" },
    { entry: parent, name: "..", role: "pdir" },
    ...sortByName(entries).map((entry) => ({ entry, name: entry.name, role: "entry" as const })),
  ];
  const writable = session.account?.write ?? false;
  const facts = session.mlstFacts;
  sendListing(
    session,
    "MLSD",
    path,
    lineStream(rows, (row) => formatFacts(row.entry, row.name, facts, writable, row.role)),
  );
}

async function mlst(session: Session, arg: string): Promise<void> {
  const path = session.resolve(arg === "" ? "." : arg);
  const stat = await session.ctx.storage.stat(path);
  const facts = formatFacts(
    stat,
    path,
    session.mlstFacts,
    session.account?.write ?? false,
    "entry",
  );
  // RFC 3659 §7.2: the fact line of an MLST reply starts with a space.
  await session.reply(250, [`Listing ${path}`, ` ${facts}`, "End."]);
}

async function stat(session: Session, arg: string): Promise<void> {
  if (arg === "") return await serverStatus(session);
  const listed = await collect(session, stripListOptions(arg));
  const now = Date.now();
  await session.reply(213, [
    `Status of ${quotePath(listed.path)}:`,
    ...listed.entries.map((entry) => formatLsLine(entry, now)),
    "End of status.",
  ]);
}

async function serverStatus(session: Session): Promise<void> {
  const data = session.data.mode;
  await session.reply(211, [
    "ftpgate status:",
    ` Connected from ${session.remoteHost}`,
    ` Logged in as ${session.userName}`,
    ` TYPE: ${session.ascii ? "ASCII" : "BINARY"}; STRU: File; MODE: Stream`,
    ` Data connection: ${data}`,
    "End of status.",
  ]);
}

/** The listing commands. */
export const LISTING_COMMANDS: CommandTable = {
  LIST: { run: list, help: "LIST [<sp> pathname]" },
  NLST: { run: nlst, help: "NLST [<sp> pathname]" },
  MLSD: { run: mlsd, help: "MLSD [<sp> pathname]" },
  MLST: { run: mlst, help: "MLST [<sp> pathname]" },
  STAT: { run: stat, help: "STAT [<sp> pathname]" },
};
