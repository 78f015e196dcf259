/**
 * File hashes: HASH with OPTS HASH and RANG (draft-bryan-ftpext-hash-02, draft-bryan-ftp-range-09)
 * and the older X-commands XCRC, XMD5, XSHA1, XSHA256 and XSHA512 (GlobalSCAPE, proftpd's
 * mod_digest). A hash reads the whole file (or range) through the storage's read stream, so it
 * needs the `download` right: a drop box must not tell what its files contain. It runs beside
 * the command loop (see `background.ts`), so ABOR stops it.
 *
 * Hashes are of the stored bytes, whatever TYPE and MODE the session has: the draft (§3) asks
 * for the hash of a TYPE I, MODE S download. They are not transfers: no data connection, no
 * transfer event or byte count, no bandwidth throttle (nothing goes over the network; the cost
 * is the back end's read, which the storage's own limits govern).
 *
 * @module
 */

import { loadPart } from "../app/lazy.ts";
import { FtpError, StorageError, toReply } from "../errors.ts";
import { log } from "../log.ts";
import { Code } from "../protocol/codes.ts";
import { quotePath } from "../protocol/reply.ts";
import type { SessionState } from "../session/state.ts";
import { capabilitiesAt } from "../storage/storage.ts";
import { type BackgroundProgress, runInBackground } from "./background.ts";
import type { CommandContext, Reply } from "./context.ts";
import { identityOf, resolveFor, storageOf } from "./guards.ts";
import {
  type ByteRange,
  DEFAULT_HASH_ALGORITHM,
  type HashAlgorithm,
  hashAlgorithm,
  hashFeature,
  hashReplyText,
  parseRang,
  parseXArguments,
} from "./hash_syntax.ts";
import { type CommandTable, reply } from "./spec.ts";

/** A session's hash settings: OPTS HASH's choice and a pending RANG. */
interface HashSettings {
  algorithm: HashAlgorithm;
  /** Set by RANG for the next HASH only. */
  range: ByteRange | null;
}

/** Per session, by its state (kept out of `SessionState`, which the core owns). */
const settings = new WeakMap<SessionState, HashSettings>();

function settingsOf(state: SessionState): HashSettings {
  let found = settings.get(state);
  if (found === undefined) {
    found = { algorithm: DEFAULT_HASH_ALGORITHM, range: null };
    settings.set(state, found);
  }
  return found;
}

/** The FEAT line for this session (draft §3.1), with its selected algorithm marked. */
export function hashFeatureOf(state: SessionState): string {
  return hashFeature(settings.get(state)?.algorithm ?? DEFAULT_HASH_ALGORITHM);
}

/** The HASH algorithm this session has selected, for STAT. */
export function selectedHashAlgorithm(state: SessionState): HashAlgorithm {
  return settings.get(state)?.algorithm ?? DEFAULT_HASH_ALGORITHM;
}

/** REIN: back to the default algorithm and no range (draft §3.2). */
export function resetHashSettings(state: SessionState): void {
  settings.delete(state);
}

/** True when a RANG is waiting for its HASH. */
export function hasPendingRange(state: SessionState): boolean {
  return (settings.get(state)?.range ?? null) !== null;
}

/**
 * Drops a pending RANG: it applies to the command right after it (draft-bryan-ftp-range §4.3),
 * as REST does, and the dispatcher drops it after any other command.
 */
export function dropRange(state: SessionState): void {
  const found = settings.get(state);
  if (found) found.range = null;
}

/**
 * OPTS HASH [algorithm] (draft §3.2): without an argument the selected algorithm, with one the
 * new selection; an unknown one is 501 and changes nothing.
 */
export function optsHash(ctx: CommandContext, value: string): Reply {
  const state = settingsOf(ctx.state);
  if (value === "") return reply(Code.OK, state.algorithm);
  const algorithm = hashAlgorithm(value);
  if (algorithm === undefined) {
    throw new FtpError(Code.SYNTAX_ERROR, "Unknown algorithm, current selection not changed.");
  }
  state.algorithm = algorithm;
  return reply(Code.OK, algorithm);
}

function rang(ctx: CommandContext, arg: string): Reply {
  const state = settingsOf(ctx.state);
  state.range = null;
  const parsed = parseRang(arg);
  if ("error" in parsed) throw new FtpError(Code.SYNTAX_ERROR, parsed.error);
  if ("reset" in parsed) return reply(Code.PENDING, "Range reset: HASH covers the whole file.");
  state.range = parsed.range;
  return reply(
    Code.PENDING,
    `Range ${parsed.range.start}-${parsed.range.end! - 1} set for the next HASH.`,
  );
}

/** What one hash command does once its arguments are checked. */
interface HashJob {
  verb: string;
  algorithm: HashAlgorithm;
  /** The path as the client wrote it (echoed by HASH). */
  given: string;
  /** The resolved virtual path. */
  path: string;
  /** Turns the file's size into the range to hash, or throws the refusal. */
  range(size: number): Required<ByteRange>;
  /** The reply for a directory. */
  directory: Reply;
  /** The reply for a computed hash. */
  done(range: Required<ByteRange>, hex: string): Reply;
}

/** Runs a hash beside the command loop; logs it like the other file actions. */
function start(ctx: CommandContext, job: HashJob): void {
  const user = identityOf(ctx).name;
  runInBackground(ctx, job.verb, job.path, async (task) => {
    let detail: string = job.algorithm;
    try {
      const result = await compute(ctx, job, task, (text) => (detail = text));
      report(ctx, job, user, detail, result.code);
      return result;
    } catch (error) {
      report(
        ctx,
        job,
        user,
        detail,
        task.signal.aborted ? Code.TRANSFER_ABORTED : toReply(error).code,
      );
      throw error;
    }
  });
}

async function compute(
  ctx: CommandContext,
  job: HashJob,
  task: BackgroundProgress,
  describe: (detail: string) => void,
): Promise<Reply> {
  const storage = storageOf(ctx);
  const { signal } = task;
  const stat = await storage.stat(job.path, { signal });
  if (stat.type === "dir") return job.directory;
  if (stat.type !== "file") throw new StorageError("not-found", job.path);
  const range = job.range(stat.size);
  const length = range.end - range.start;
  task.progress(0, length);
  describe(hashReplyText(job.algorithm, range, "", "").trim());
  // Without offsets (a back end that can only stream from the start) the skipped part is read
  // and dropped: slower, but the same bytes and still one chunk in memory.
  const seek = range.start > 0 && capabilitiesAt(storage, job.path).readAtOffset;
  // Loaded on the first hash (src/app/lazy.ts): most sessions never send one.
  const { digestStream } = await loadPart<typeof import("./hash_digest.ts")>("hashDigest");
  const file = await storage.read(job.path, { offset: seek ? range.start : 0, signal });
  const hex = await digestStream(file.readable, job.algorithm, {
    skip: seek ? 0 : range.start,
    length,
    signal,
    progress: (bytes) => task.progress(bytes),
  });
  describe(hashReplyText(job.algorithm, range, hex, "").trim());
  return job.done(range, hex);
}

function report(ctx: CommandContext, job: HashJob, user: string, detail: string, code: number) {
  log.session.info(
    "Session {session}: {verb} {path} ({detail}) by {user} from {remote}: {result} ({code})",
    {
      session: ctx.sessionId,
      verb: job.verb.toLowerCase(),
      path: job.path,
      detail,
      user,
      remote: ctx.remoteHost,
      result: code < 400 ? "ok" : "failed",
      code,
    },
  );
}

function notAFile(path: string, code: number): Reply {
  return reply(code, `${quotePath(path)}: not a regular file.`);
}

function hash(ctx: CommandContext, arg: string): void {
  // Taken first, like REST: the range is for this command whether it runs or is refused.
  const state = settingsOf(ctx.state);
  const requested = state.range;
  state.range = null;
  const path = resolveFor(ctx, "download", arg);
  start(ctx, {
    verb: "HASH",
    algorithm: state.algorithm,
    given: arg,
    path,
    range(size) {
      if (requested === null) return { start: 0, end: size };
      // draft-bryan-ftp-range §4.3: an end past the file ends at the file's end, and the reply
      // says which bytes were hashed; a start past it is reported by this command (554, as REST).
      if (requested.start >= size) {
        throw new FtpError(
          Code.INVALID_REST,
          `Range start ${requested.start} is beyond the end of the file (${size} bytes).`,
        );
      }
      return { start: requested.start, end: Math.min(requested.end ?? size, size) };
    },
    // Draft §3.5: 553 for a directory, "not a defined operation".
    directory: notAFile(path, Code.NAME_NOT_ALLOWED),
    done: (range, hex) => reply(Code.FILE_STATUS, hashReplyText(state.algorithm, range, hex, arg)),
  });
}

/** XCRC, XMD5, XSHA1, XSHA256, XSHA512: `path [start end]`, answered `250 <hex>`. */
function xCommand(verb: string, algorithm: HashAlgorithm) {
  return (ctx: CommandContext, arg: string): void => {
    const parsed = parseXArguments(arg);
    const path = resolveFor(ctx, "download", parsed.path);
    const requested = parsed.range;
    start(ctx, {
      verb,
      algorithm,
      given: parsed.path,
      path,
      range(size) {
        if (requested === undefined) return { start: 0, end: size };
        // mod_digest's checks: the end is an offset within the file, after the start.
        if (requested.end! > size) {
          throw new FtpError(Code.SYNTAX_ERROR, `${verb}: end exceeds the file size (${size}).`);
        }
        if (requested.start >= requested.end!) {
          throw new FtpError(Code.SYNTAX_ERROR, `${verb}: end must be greater than start.`);
        }
        return { start: requested.start, end: requested.end! };
      },
      directory: notAFile(path, Code.FILE_UNAVAILABLE),
      // One line, as Serv-U and GlobalSCAPE answer; lower case, as sha256sum prints.
      done: (_range, hex) => reply(Code.FILE_ACTION_OK, hex),
    });
  };
}

const X_SYNTAX = "<sp> pathname [<sp> start <sp> end]";

/** The hash commands. */
export const HASH_COMMANDS: CommandTable = {
  HASH: { run: hash, arg: "required", help: "HASH <sp> pathname" },
  RANG: { run: rang, arg: "required", help: "RANG <sp> start-point <sp> end-point" },
  XCRC: { run: xCommand("XCRC", "CRC32"), arg: "required", help: `XCRC ${X_SYNTAX}` },
  XMD5: { run: xCommand("XMD5", "MD5"), arg: "required", help: `XMD5 ${X_SYNTAX}` },
  XSHA1: { run: xCommand("XSHA1", "SHA-1"), arg: "required", help: `XSHA1 ${X_SYNTAX}` },
  XSHA256: { run: xCommand("XSHA256", "SHA-256"), arg: "required", help: `XSHA256 ${X_SYNTAX}` },
  XSHA512: { run: xCommand("XSHA512", "SHA-512"), arg: "required", help: `XSHA512 ${X_SYNTAX}` },
};
