/**
 * Transfer commands: RETR, STOR, APPE, STOU (RFC 959 §4.1.3, RFC 1123 §4.1.2.9). Each checks
 * its permission on the resolved path and the back end's capabilities before anything moves,
 * then hands the transfer to the session, which answers 150 and the final reply.
 *
 * @module
 */

import type { TransferParameters } from "../data/pipeline.ts";
import type { TransferPlan, TransferSpec } from "../data/transfer.ts";
import { loadPart } from "../app/lazy.ts";
import { describeRepresentation, isText } from "../data/representation.ts";
import { FtpError, StorageError } from "../errors.ts";
import { Code } from "../protocol/codes.ts";
import { quotePath } from "../protocol/reply.ts";
import type { WriteHandle, WriteOptions } from "../storage/storage.ts";
import { baseName, joinPath } from "../storage/vpath.ts";
import type { CommandContext } from "./context.ts";
import {
  allowed,
  authorize,
  requireCapability,
  requireDataChannel,
  resolve,
  resolveFor,
  storageOf,
} from "./guards.ts";
import type { CommandTable } from "./spec.ts";

/** The session's TYPE, STRU and MODE, and the site's settings for them, for a file transfer. */
function parameters(ctx: CommandContext): TransferParameters {
  const { representation, structure, mode, deflateLevel } = ctx.state;
  return {
    representation,
    structure,
    mode,
    codePage: ctx.options.ebcdicCodePage,
    deflateLevel,
    restartInterval: ctx.options.restartMarkerIntervalBytes,
  };
}

/**
 * What a REST offset counts for this session's parameters. In MODE B, C and Z it is a stored
 * byte offset (the text of ftpgate's restart markers; proftpd's MODE Z does the same). In stream
 * mode it counts bytes as transmitted (RFC 3659 §5): the stored bytes for TYPE I and L 8, the
 * converted bytes for TYPE A with file structure; other stream-mode combinations (EBCDIC,
 * carriage control, records) change bytes in ways no offset survives, so REST is refused there.
 */
function restartKind(ctx: CommandContext): "stored" | "converted" {
  const { representation, structure, mode } = ctx.state;
  if (mode !== "S") return "stored";
  if (structure === "F" && !isText(representation)) return "stored";
  if (structure === "F" && representation.type === "A" && representation.format !== "C") {
    return "converted";
  }
  throw new FtpError(
    Code.PARAMETER_NOT_IMPLEMENTED,
    "REST in stream mode needs TYPE I or TYPE A with STRU F; use MODE B to restart this transfer.",
  );
}

function modeName(ctx: CommandContext): string {
  return describeRepresentation(ctx.state.representation);
}

/** RFC 3659 §5.5: a restart marker past the end of the file. */
function beyondEnd(offset: number): FtpError {
  return new FtpError(Code.INVALID_REST, `Restart offset ${offset} is beyond the end of the file.`);
}

async function retr(ctx: CommandContext, arg: string): Promise<void> {
  // Taken first: a REST offset is for the command right after it, whether that one runs or is
  // refused (a rule, a 425), never for a later one (RFC 959 §4.1.3).
  const offset = ctx.state.takeRestOffset();
  const path = resolveFor(ctx, "download", arg);
  requireDataChannel(ctx);
  // In TYPE A, stream mode, the marker counts converted bytes: read from the start and skip
  // after converting.
  const text = offset > 0 && restartKind(ctx) === "converted";
  if (offset > 0 && !text) {
    requireCapability(ctx, path, "readAtOffset", {
      code: Code.PARAMETER_NOT_IMPLEMENTED,
      text: "REST not supported for downloads from this storage.",
    });
  }
  const file = await storageOf(ctx).read(path, { offset: text ? 0 : offset, signal: ctx.signal });
  // Converted, a file grows by at most one byte per byte (every byte an LF).
  if (offset > (text ? 2 * file.size : file.size)) {
    await file.readable.cancel();
    throw beyondEnd(offset);
  }
  ctx.startTransfer({
    command: "RETR",
    path,
    direction: "out",
    offset,
    plan: { direction: "send", source: file.readable },
    ...(isText(ctx.state.representation) ? {} : { expectedBytes: file.size - offset }),
    ...parameters(ctx),
    skip: text ? offset : 0,
    storedOffset: text ? 0 : offset,
    openingText: `Opening ${modeName(ctx)} mode data connection for ${
      quotePath(baseName(path))
    } (${file.size} bytes).`,
  });
}

/**
 * Starts an upload. The storage side is opened only once the data connection exists, so an
 * upload that never starts (425) leaves the existing file as it was. Returns the spec the
 * transfer runs with (STOU names its file once it has made it).
 */
function receive(
  ctx: CommandContext,
  command: string,
  path: string,
  offset: number,
  open: (signal: AbortSignal) => Promise<WriteHandle>,
  texts: { opening?: () => string; complete?: () => string } = {},
  extra: Partial<TransferParameters> = {},
): TransferSpec {
  const spec: TransferSpec = {
    command,
    path,
    direction: "in",
    offset,
    open: async (signal): Promise<TransferPlan> => ({
      direction: "receive",
      sink: await open(signal),
    }),
    ...parameters(ctx),
    ...extra,
    openingText: texts.opening ??
      `Opening ${modeName(ctx)} mode data connection for ${quotePath(baseName(path))}.`,
    ...(texts.complete === undefined ? {} : { completeText: texts.complete }),
  };
  ctx.startTransfer(spec);
  return spec;
}

/** Whether a file is at `path`: decides between the upload and the overwrite permission. */
async function fileExists(ctx: CommandContext, path: string): Promise<{ size: number } | null> {
  try {
    const stat = await storageOf(ctx).stat(path, { signal: ctx.signal });
    return stat.type === "file" ? { size: stat.size } : null;
  } catch (error) {
    if (error instanceof StorageError && error.kind === "not-found") return null;
    throw error;
  }
}

/** The ALLO size for this upload, as write options (taken first, like REST: it applies once). */
function takeSizeHint(ctx: CommandContext): { sizeHint?: number } {
  const size = ctx.state.takeAllocation();
  return size === null ? {} : { sizeHint: size };
}

async function stor(ctx: CommandContext, arg: string): Promise<void> {
  const offset = ctx.state.takeRestOffset();
  const sizeHint = takeSizeHint(ctx);
  const path = resolve(ctx, arg);
  if (offset > 0) {
    requireCapability(ctx, path, "writeAtOffset", {
      code: Code.PARAMETER_NOT_IMPLEMENTED,
      text: "REST not supported for uploads to this storage.",
    });
  }
  // A new file needs `upload`, replacing or resuming one needs `overwrite`. When both are
  // granted (the common case) there is nothing to look up.
  const mayUpload = allowed(ctx, "upload", path);
  if (offset > 0 || !mayUpload || !allowed(ctx, "overwrite", path)) {
    const existing = await fileExists(ctx, path);
    authorize(ctx, existing ? "overwrite" : "upload", path);
    if (offset > 0 && existing === null) throw new StorageError("not-found", path);
    // (In TYPE A the converted file is longer: its end is found when the marker is mapped.)
    if (offset > 0 && restartKind(ctx) === "stored" && offset > existing!.size) {
      throw beyondEnd(offset);
    }
  }
  requireDataChannel(ctx);
  const storage = storageOf(ctx);
  // In TYPE A the marker counts bytes as the client sent them (CRLF): find where that is.
  let storedAt = offset;
  let resumeAfterCR = false;
  if (offset > 0 && restartKind(ctx) === "converted") {
    const { storedOffset } = await loadPart<typeof import("../data/ascii_offset.ts")>(
      "asciiOffset",
    );
    const { readable } = await storage.read(path, { signal: ctx.signal });
    const found = await storedOffset(readable, offset);
    if (found === null) throw beyondEnd(offset);
    storedAt = found.offset;
    resumeAfterCR = found.heldCR;
  }
  receive(
    ctx,
    "STOR",
    path,
    offset,
    (signal) => storage.write(path, { offset: storedAt, signal, ...sizeHint }),
    {},
    { resumeAfterCR, storedOffset: storedAt },
  );
}

async function appe(ctx: CommandContext, arg: string): Promise<void> {
  ctx.state.takeRestOffset();
  const sizeHint = takeSizeHint(ctx);
  const path = resolve(ctx, arg);
  requireCapability(ctx, path, "append", {
    code: Code.NOT_IMPLEMENTED,
    text: "APPE not supported by this storage.",
  });
  if (!allowed(ctx, "append", path) || !allowed(ctx, "upload", path)) {
    authorize(ctx, (await fileExists(ctx, path)) ? "append" : "upload", path);
  }
  requireDataChannel(ctx);
  const storage = storageOf(ctx);
  receive(
    ctx,
    "APPE",
    path,
    0,
    (signal) => storage.write(path, { append: true, signal, ...sizeHint }),
  );
}

/** Tries this many names before giving up on STOU. */
const UNIQUE_ATTEMPTS = 100;

/**
 * Creates a file under a name not yet taken: `base`, `base.1`, `base.2`, ... Each name is
 * checked for `upload` before it is tried: rules are by path, and where only `base` may be
 * uploaded, `base.1` is a file in a place the user may not add to.
 */
async function createUnique(
  ctx: CommandContext,
  base: string,
  signal: AbortSignal,
  sizeHint: { sizeHint?: number },
): Promise<{ path: string; sink: WriteHandle }> {
  const storage = storageOf(ctx);
  const options: WriteOptions = { exclusive: true, signal, ...sizeHint };
  for (let attempt = 0; attempt < UNIQUE_ATTEMPTS; attempt++) {
    const path = attempt === 0 ? base : `${base}.${attempt}`;
    authorize(ctx, "upload", path);
    try {
      return { path, sink: await storage.write(path, options) };
    } catch (error) {
      if (error instanceof StorageError && (error.kind === "exists" || error.kind === "busy")) {
        continue;
      }
      throw error;
    }
  }
  throw new FtpError(Code.NAME_NOT_ALLOWED, "Could not find a unique file name.");
}

function stou(ctx: CommandContext, arg: string): void {
  ctx.state.takeRestOffset();
  const sizeHint = takeSizeHint(ctx);
  const base = arg === ""
    ? joinPath(ctx.state.cwd, `ftpgate.${Date.now().toString(36)}`)
    : resolve(ctx, arg);
  authorize(ctx, "upload", base);
  requireDataChannel(ctx);
  let name = baseName(base);
  const spec = receive(ctx, "STOU", base, 0, async (signal) => {
    const created = await createUnique(ctx, base, signal, sizeHint);
    name = baseName(created.path);
    // The transfer reports (STAT, the log, the transfer event the upload hook, the webhook and
    // the xferlog read) the file it stored, not the name it was asked for.
    spec.path = created.path;
    return created.sink;
  }, {
    // RFC 1123 §4.1.2.9: the 150 reply names the file as "FILE: name".
    opening: () => `FILE: ${name}`,
    complete: () => `Transfer complete (unique file name: ${name}).`,
  });
}

/** The transfer commands. */
export const TRANSFER_COMMANDS: CommandTable = {
  RETR: { run: retr, arg: "required", help: "RETR <sp> pathname" },
  STOR: { run: stor, arg: "required", help: "STOR <sp> pathname" },
  APPE: { run: appe, arg: "required", help: "APPE <sp> pathname" },
  STOU: { run: stou, help: "STOU [<sp> pathname]" },
};
