/**
 * Commands that run beside the command loop without a data connection (HASH of a large file):
 * the handler returns at once, so the session goes on reading the control connection and an
 * ABOR is seen while the work runs. The dispatcher ({@linkcode ./dispatch.ts}) keeps the order:
 * ABOR ends the work (426, then 226), STAT without argument answers at once, and every other
 * command waits until the work has answered.
 *
 * @module
 */

import { toReply } from "../errors.ts";
import { log } from "../log.ts";
import { Code } from "../protocol/codes.ts";
import type { SessionState } from "../session/state.ts";
import type { CommandContext, Reply } from "./context.ts";

/** Work running beside the command loop. */
export interface BackgroundCommand {
  /** The verb, for STAT and logs. */
  readonly verb: string;
  /** The virtual path it works on, for STAT. */
  readonly path: string;
  /** Bytes done so far, for STAT. */
  readonly bytes: number;
  /** The bytes it will do, when known, for STAT. */
  readonly total: number | undefined;
  /** Its reply's code, once written (the command event reports it). */
  readonly code: number | undefined;
  /** When it last made progress (its start, at first): the session's stall check reads it. */
  readonly lastProgress: number;
  /** Stops it: its reply will be 426. */
  abort(): void;
  /** Resolves once its reply has been written (or the session has closed). Never rejects. */
  readonly done: Promise<void>;
}

/** What the work is told. */
export interface BackgroundProgress {
  /** Aborted by ABOR and when the session closes. */
  readonly signal: AbortSignal;
  /** Reports progress, for STAT. */
  progress(bytes: number, total?: number): void;
}

/** One running command per session, by its state (the context has no slot for it). */
const running = new WeakMap<SessionState, BackgroundCommand>();

/** The command running beside the loop in this session, if any. */
export function backgroundCommand(ctx: CommandContext): BackgroundCommand | undefined {
  return running.get(ctx.state);
}

/**
 * Runs `work` beside the command loop and writes its reply (or the reply of what it threw) when
 * it ends. ABOR or the session's end aborts its signal; an aborted work answers 426.
 */
export function runInBackground(
  ctx: CommandContext,
  verb: string,
  path: string,
  work: (progress: BackgroundProgress) => Promise<Reply>,
): BackgroundCommand {
  const controller = new AbortController();
  const stop = () => controller.abort();
  ctx.signal.addEventListener("abort", stop, { once: true });
  let bytes = 0;
  let total: number | undefined;
  let code: number | undefined;
  let lastProgress = Date.now();
  const task: BackgroundProgress = {
    signal: controller.signal,
    progress(done, all) {
      if (done !== bytes) lastProgress = Date.now();
      bytes = done;
      if (all !== undefined) total = all;
    },
  };
  const answer = async (): Promise<void> => {
    let result: Reply;
    try {
      result = await work(task);
      if (controller.signal.aborted) throw controller.signal.reason;
    } catch (error) {
      if (controller.signal.aborted) {
        result = { code: Code.TRANSFER_ABORTED, text: `${verb} aborted.` };
      } else {
        const reply = toReply(error);
        if (reply.unexpected) {
          log.session.error("Session {session}: {verb} failed: {error}", {
            session: ctx.sessionId,
            verb,
            error,
          });
        }
        result = reply;
      }
    }
    ctx.signal.removeEventListener("abort", stop);
    if (ctx.closed) return;
    code = result.code;
    await ctx.reply(result.code, result.text).catch(() => {});
  };
  const command: BackgroundCommand = {
    verb,
    path,
    get bytes() {
      return bytes;
    },
    get total() {
      return total;
    },
    get code() {
      return code;
    },
    get lastProgress() {
      return lastProgress;
    },
    abort: stop,
    done: Promise.resolve().then(answer).finally(() => {
      if (running.get(ctx.state) === command) running.delete(ctx.state);
    }),
  };
  running.set(ctx.state, command);
  return command;
}
