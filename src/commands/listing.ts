/**
 * Listing commands: LIST, NLST, MLSD over the data connection; MLST and STAT over the control
 * connection (RFC 959 §4.1.3, RFC 3659 §7).
 *
 * Listings stream: entries are formatted and written as the back end yields them, so memory
 * stays bounded whatever the size of the directory. A directory of up to
 * {@linkcode SORT_LIMIT} entries is sorted by name; a larger one is sent in the back end's order
 * (vsftpd does the same for large directories), because sorting it would mean holding it whole.
 *
 * @module
 */

import { describeRepresentation } from "../data/representation.ts";
import { StorageError } from "../errors.ts";
import type { Permission } from "../identity/rules.ts";
import { compileGlob } from "../listing/glob.ts";
import { formatLsLine } from "../listing/ls.ts";
import { type EntryRole, formatFacts, permFact } from "../listing/mlsx.ts";
import { Code } from "../protocol/codes.ts";
import { quotePath } from "../protocol/reply.ts";
import type { FileStat, StorageCapabilities } from "../storage/storage.ts";
import { baseName, isWithin, joinPath, parentPath } from "../storage/vpath.ts";
import { backgroundCommand } from "./background.ts";
import type { CommandContext, Reply } from "./context.ts";
import { selectedHashAlgorithm } from "./hash.ts";
import {
  authorize,
  capabilities,
  identityOf,
  requireDataChannel,
  resolve,
  storageOf,
} from "./guards.ts";
import type { CommandTable } from "./spec.ts";

/** Directories with up to this many entries are listed sorted; larger ones in back-end order. */
export const SORT_LIMIT = 1_000;
/** Listing bytes are produced in chunks of about this size, as the connection takes them. */
const CHUNK_BYTES = 64 * 1024;
/** A chunk is sent once less than this is left in it (a typical line is under 100 bytes). */
const MAX_LINE_BYTES = 1024;
const encoder = new TextEncoder();

/** What a listing argument named. */
interface Listed {
  /** The directory listed, or the file itself. */
  path: string;
  /** The entries, sorted when small. */
  entries: AsyncIterable<FileStat>;
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

async function collect(ctx: CommandContext, arg: string): Promise<Listed> {
  const storage = storageOf(ctx);
  const signal = ctx.signal;
  const path = resolve(ctx, arg === "" ? "." : arg);
  const slash = arg.lastIndexOf("/");
  const typedDir = slash === -1 ? "" : arg.slice(0, slash + 1);
  // Before anything is looked up: in a drop box the answer must be the same whether the name
  // exists or not (a stat first would tell "Permission denied" from "No such file").
  authorize(ctx, "list", path);
  let stat: FileStat;
  try {
    stat = await storage.stat(path, { signal });
  } catch (error) {
    const pattern = compileGlob(baseName(path));
    if (!(error instanceof StorageError) || error.kind !== "not-found" || pattern === null) {
      throw error;
    }
    const parent = parentPath(path);
    authorize(ctx, "list", parent);
    const matching = filter(
      storage.list(parent, { signal }),
      (entry) => pattern.matches(entry.name),
    );
    return {
      path: parent,
      entries: sortedWhenSmall(matching),
      prefix: typedDir,
      isDirectory: true,
    };
  }
  if (stat.type !== "dir") {
    return { path, entries: once(stat), prefix: typedDir, isDirectory: false };
  }
  const prefix = arg === "" || arg === "." ? "" : arg.endsWith("/") ? arg : arg + "/";
  return {
    path,
    entries: sortedWhenSmall(storage.list(path, { signal })),
    prefix,
    isDirectory: true,
  };
}

async function* once<T>(item: T): AsyncGenerator<T> {
  yield item;
}

async function* filter<T>(items: AsyncIterable<T>, keep: (item: T) => boolean): AsyncGenerator<T> {
  for await (const item of items) if (keep(item)) yield item;
}

/**
 * The entries sorted by name when there are at most {@linkcode SORT_LIMIT}; otherwise the first
 * batch and the rest in the order they come. Holds at most one batch.
 */
async function* sortedWhenSmall(entries: AsyncIterable<FileStat>): AsyncGenerator<FileStat> {
  const batch: FileStat[] = [];
  const iterator = entries[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done) {
        yield* batch.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        return;
      }
      batch.push(next.value);
      if (batch.length > SORT_LIMIT) break;
    }
    yield* batch.splice(0);
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await iterator.return?.();
  }
}

/**
 * Formatted lines with CRLF endings as a byte stream, a chunk at a time as the connection takes
 * them. The first line is read before this returns, so that a failing listing is answered with
 * its error instead of a 150.
 */
async function lineStream<T>(
  items: AsyncIterable<T>,
  format: (item: T) => string,
  eol = "\r\n",
): Promise<ReadableStream<Uint8Array>> {
  const iterator = items[Symbol.asyncIterator]();
  let pending: IteratorResult<T> | null = await iterator.next();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // Each line is encoded into the chunk as soon as it is made: no string of a chunk's
      // worth of lines is built, so lines die young (a long-lived string of lines would be
      // promoted to the old generation, and a 200,000-entry listing leave tens of MiB behind).
      const chunk = new Uint8Array(CHUNK_BYTES);
      let used = 0;
      for (;;) {
        const next: IteratorResult<T> = pending ?? await iterator.next();
        pending = null;
        if (next.done) {
          if (used > 0) controller.enqueue(chunk.subarray(0, used));
          controller.close();
          return;
        }
        const line = format(next.value) + eol;
        const { read, written } = encoder.encodeInto(line, chunk.subarray(used));
        if (read === line.length) {
          used += written;
          if (used < CHUNK_BYTES - MAX_LINE_BYTES) continue;
          controller.enqueue(chunk.subarray(0, used));
          return;
        }
        // The rare line that does not fit what is left: this chunk goes, the line starts the
        // next one (a line longer than a chunk goes alone).
        if (used > 0) controller.enqueue(chunk.subarray(0, used));
        controller.enqueue(encoder.encode(line));
        return;
      }
    },
    async cancel() {
      await iterator.return?.();
    },
  }, { highWaterMark: 0 });
}

/**
 * Listings travel in the current TYPE (RFC 959 §4.1.3): made as network ASCII (CRLF) for TYPE
 * A and I; for TYPE E made with LF and converted to EBCDIC like a stored text file.
 */
function listingEol(ctx: CommandContext): string {
  return ctx.state.representation.type === "E" ? "\n" : "\r\n";
}

function sendListing(
  ctx: CommandContext,
  command: string,
  path: string,
  source: () => Promise<ReadableStream<Uint8Array>>,
): void {
  const ebcdic = ctx.state.representation.type === "E";
  ctx.startTransfer({
    command,
    path,
    direction: "list",
    offset: 0,
    open: async () => ({ direction: "send", source: await source() }),
    representation: ebcdic ? { type: "E", format: "N", byteSize: 8 } : null,
    codePage: ctx.options.ebcdicCodePage,
    // A listing is one stream of lines whatever STRU says; the mode applies as to any transfer.
    structure: "F",
    mode: ctx.state.mode,
    deflateLevel: ctx.state.deflateLevel,
    openingText: "Here comes the directory listing.",
    completeText: "Directory send OK.",
  });
}

async function list(ctx: CommandContext, arg: string): Promise<void> {
  requireDataChannel(ctx);
  const listed = await collect(ctx, stripListOptions(arg));
  const now = Date.now();
  sendListing(
    ctx,
    "LIST",
    listed.path,
    () => lineStream(listed.entries, (entry) => formatLsLine(entry, now), listingEol(ctx)),
  );
}

async function nlst(ctx: CommandContext, arg: string): Promise<void> {
  requireDataChannel(ctx);
  const typed = stripListOptions(arg);
  const listed = await collect(ctx, typed);
  const format = listed.isDirectory ? (entry: FileStat) => listed.prefix + entry.name : () => typed;
  sendListing(
    ctx,
    "NLST",
    listed.path,
    () => lineStream(listed.entries, format, listingEol(ctx)),
  );
}

/**
 * The perm fact of each entry, computed once per directory when the rules allow it. A directory
 * with a rule below it gets no `f`: RNFR refuses to move it (see `files.ts`).
 */
function permissions(ctx: CommandContext, dir: string): (entry: FileStat, path: string) => string {
  const { rules } = identityOf(ctx);
  const caps: StorageCapabilities = capabilities(ctx, dir);
  const fact = (type: FileStat["type"], path: string, granted: Set<Permission>) => {
    if (type === "dir" && !rules.uniformBelow(path)) granted.delete("rename");
    return permFact(type, granted, caps);
  };
  // With no rule below `dir`, every entry has the rights of any name inside it, and no rule below
  // it either. (Not the parent, MLSD's "..": it is worked out on its own.)
  const uniform = rules.uniformBelow(dir);
  const inside = joinPath(dir, "x");
  const cache = {
    file: fact("file", inside, rules.at(inside)),
    dir: fact("dir", inside, rules.at(inside)),
  };
  return (entry, path) =>
    uniform && path !== dir && isWithin(path, dir)
      ? cache[entry.type]
      : fact(entry.type, path, rules.at(path));
}

/**
 * Where the rules judge `path`: its real location when a symbolic link inside the tree leads
 * elsewhere and the rules are not the same everywhere (see identity/real_path_rules.ts, which
 * refuses the operations themselves; this keeps the perm facts in step with it).
 */
async function judgedPath(ctx: CommandContext, path: string): Promise<string> {
  const storage = storageOf(ctx);
  if (storage.realVirtualPath === undefined || identityOf(ctx).rules.uniformBelow("/")) return path;
  try {
    return await storage.realVirtualPath(path, { signal: ctx.signal });
  } catch {
    return path; // the operation itself reports what is wrong with the path
  }
}

async function mlsd(ctx: CommandContext, arg: string): Promise<void> {
  requireDataChannel(ctx);
  const storage = storageOf(ctx);
  const signal = ctx.signal;
  const path = resolve(ctx, arg === "" ? "." : arg);
  // Before the stat, as in `collect`: a drop box does not tell which names it holds.
  authorize(ctx, "list", path);
  const self = await storage.stat(path, { signal });
  // The same answer as CWD to a file: 550 (RFC 3659 §7.2.1 calls it a failed command).
  if (self.type !== "dir") throw new StorageError("not-a-directory", path);
  const parent = await storage.stat(parentPath(path), { signal });
  const facts = ctx.state.mlstFacts;
  const judged = await judgedPath(ctx, path);
  const perm = permissions(ctx, judged);
  async function* rows(): AsyncGenerator<{ entry: FileStat; name: string; role: EntryRole }> {
    yield { entry: self, name: ".", role: "cdir" };
    yield { entry: parent, name: "..", role: "pdir" };
    for await (const entry of sortedWhenSmall(storage.list(path, { signal }))) {
      yield { entry, name: entry.name, role: "entry" };
    }
  }
  const format = (row: { entry: FileStat; name: string; role: EntryRole }) => {
    const entryPath = row.role === "entry"
      ? joinPath(judged, row.name)
      : row.role === "cdir"
      ? judged
      : parentPath(judged);
    return formatFacts(row.entry, row.name, facts, perm(row.entry, entryPath), row.role);
  };
  sendListing(ctx, "MLSD", path, () => lineStream(rows(), format, listingEol(ctx)));
}

async function mlst(ctx: CommandContext, arg: string): Promise<Reply> {
  const path = resolve(ctx, arg === "" ? "." : arg);
  authorize(ctx, "list", path);
  const stat = await storageOf(ctx).stat(path, { signal: ctx.signal });
  const facts = formatFacts(
    stat,
    path,
    ctx.state.mlstFacts,
    await judgedPath(ctx, path).then((judged) => permissions(ctx, judged)(stat, judged)),
    "entry",
  );
  // RFC 3659 §7.2: the fact line of an MLST reply starts with a space.
  return { code: Code.FILE_ACTION_OK, text: [`Listing ${path}`, ` ${facts}`, "End."] };
}

async function stat(ctx: CommandContext, arg: string): Promise<Reply | void> {
  if (arg === "") return serverStatus(ctx);
  const listed = await collect(ctx, stripListOptions(arg));
  const now = Date.now();
  async function* lines(): AsyncGenerator<string> {
    for await (const entry of listed.entries) yield formatLsLine(entry, now);
  }
  await ctx.replyStream(
    Code.FILE_STATUS,
    `Status of ${quotePath(listed.path)}:`,
    lines(),
    "End of status.",
  );
}

function serverStatus(ctx: CommandContext): Reply {
  const { state } = ctx;
  return {
    code: Code.SYSTEM_STATUS,
    text: [
      "ftpgate status:",
      ` Connected from ${ctx.remoteHost}`,
      ` Logged in as ${state.userName}`,
      // The representation as TYPE set it (EBCDIC, carriage control...), not just text/binary.
      ` TYPE: ${describeRepresentation(state.representation)}; STRU: ${
        STRUCTURE_NAMES[state.structure]
      }; MODE: ${MODE_NAMES[state.mode]}`,
      ` Data connection: ${ctx.data.mode}`,
      ` HASH algorithm: ${selectedHashAlgorithm(state)}`,
      ...hashingStatus(ctx),
      "End of status.",
    ],
  };
}

/** STAT while a HASH or an X-command runs beside the loop: how far it got. */
function hashingStatus(ctx: CommandContext): string[] {
  const running = backgroundCommand(ctx);
  if (running === undefined) return [];
  const total = running.total === undefined ? "" : ` of ${running.total}`;
  return [` ${running.verb} of ${quotePath(running.path)}: ${running.bytes}${total} bytes hashed`];
}

const STRUCTURE_NAMES = { F: "File", R: "Record", P: "Page" } as const;
const MODE_NAMES = { S: "Stream", B: "Block", C: "Compressed", Z: "Deflate" } as const;

/** STAT during a transfer (RFC 959 §4.1.3): how far it got. */
function transferStatus(ctx: CommandContext): Reply | undefined {
  const transfer = ctx.transfer;
  if (transfer === null) return undefined;
  const { spec, bytes } = transfer;
  return {
    code: Code.FILE_STATUS,
    text: `Status: ${spec.command} ${spec.path}, ${bytes} bytes transferred.`,
  };
}

async function statCommand(ctx: CommandContext, arg: string): Promise<Reply | void> {
  if (arg === "" && ctx.transfer !== null) return transferStatus(ctx);
  return await stat(ctx, arg);
}

/** The listing commands. */
export const LISTING_COMMANDS: CommandTable = {
  LIST: { run: list, help: "LIST [<sp> pathname]" },
  NLST: { run: nlst, help: "NLST [<sp> pathname]" },
  MLSD: { run: mlsd, help: "MLSD [<sp> pathname]" },
  MLST: { run: mlst, help: "MLST [<sp> pathname]" },
  STAT: { run: statCommand, duringTransfer: "without-argument", help: "STAT [<sp> pathname]" },
};
