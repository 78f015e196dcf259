/**
 * Fault injection as decorators: each fault wraps one seam of the server (storage, identity
 * provider, reply channel, data setup, command table) instead of branching inside the core.
 * The server applies {@linkcode applyFaults} once, at start, when faults are configured.
 *
 * @module
 */

import type { CommandRegistry } from "../commands/registry.ts";
import type { DataConnection } from "../data/connection.ts";
import type { DataSetupContext, SessionDataSetup } from "../data/setup.ts";
import { FtpError } from "../errors.ts";
import type { Identity, IdentityProvider } from "../identity/identity.ts";
import { writeAll } from "../io.ts";
import { Code } from "../protocol/codes.ts";
import type { ReplyChannelFactory } from "../session/services.ts";
import type {
  ReadHandle,
  ReadOptions,
  Storage,
  WriteHandle,
  WriteOptions,
} from "../storage/storage.ts";
import { StorageDecorator } from "../storage/decorator.ts";
import type { Faults } from "./parse.ts";

/** The seams a fault set decorates. */
export interface FaultableSeams {
  identity: IdentityProvider;
  commands: CommandRegistry;
  createReplyChannel: ReplyChannelFactory;
  createDataSetup: (context: DataSetupContext) => SessionDataSetup;
}

/**
 * The seams with the faults applied.
 *
 * @param deadPassivePort the port of a listener that never accepts (for `deadPassive`).
 */
export function applyFaults(
  seams: FaultableSeams,
  faults: Faults,
  deadPassivePort: () => number,
): FaultableSeams {
  let { identity, commands, createReplyChannel, createDataSetup } = seams;
  if (faults.stallRetrAfterBytes !== undefined || faults.failStorAfter !== undefined) {
    identity = withStorageFaults(identity, faults);
  }
  if (faults.rejectLogin !== undefined) identity = rejectingLogin(identity, faults.rejectLogin);
  if (faults.dropAfter !== undefined) commands = droppingAfter(commands, faults.dropAfter);
  if (faults.replyDelayMs || faults.splitReplies) {
    createReplyChannel = misbehavingReplies(createReplyChannel, faults);
  }
  if (faults.deadPassive) {
    const inner = createDataSetup;
    createDataSetup = (context) => new DeadPassiveSetup(inner(context), deadPassivePort, context);
  }
  return { identity, commands, createReplyChannel, createDataSetup };
}

/** `rejectLogin`: the Nth login attempt (server-wide, from 1) cannot be decided: 421. */
function rejectingLogin(inner: IdentityProvider, nth: number): IdentityProvider {
  let attempts = 0;
  return {
    isAnonymous: (user) => inner.isAnonymous?.(user) ?? false,
    authenticate: (user, password, context) =>
      ++attempts === nth
        ? Promise.reject(new Error("injected fault: reject-login"))
        : inner.authenticate(user, password, context),
  };
}

/** The storage faults, on every identity's storage. */
function withStorageFaults(inner: IdentityProvider, faults: Faults): IdentityProvider {
  const wrapped = new WeakMap<Storage, Storage>();
  const wrap = (identity: Identity): Identity => {
    let storage = wrapped.get(identity.storage);
    if (storage === undefined) {
      storage = new FaultyStorage(identity.storage, faults);
      wrapped.set(identity.storage, storage);
    }
    return { ...identity, storage };
  };
  return {
    isAnonymous: (user) => inner.isAnonymous?.(user) ?? false,
    authenticate: async (user, password, context) => {
      const identity = await inner.authenticate(user, password, context);
      return identity === null ? null : wrap(identity);
    },
  };
}

/** `stallRetrAfterBytes` and `failStorAfter` around a storage. */
class FaultyStorage extends StorageDecorator {
  readonly #faults: Faults;

  constructor(inner: Storage, faults: Faults) {
    super(inner);
    this.#faults = faults;
  }

  override async read(path: string, options?: ReadOptions): Promise<ReadHandle> {
    const handle = await this.inner.read(path, options);
    const limit = this.#faults.stallRetrAfterBytes;
    if (limit === undefined) return handle;
    return { size: handle.size, readable: handle.readable.pipeThrough(stallAfter(limit)) };
  }

  override async write(path: string, options?: WriteOptions): Promise<WriteHandle> {
    const sink = await this.inner.write(path, options);
    const failure = this.#faults.failStorAfter;
    return failure === undefined ? sink : failAfter(sink, failure.bytes, failure.code);
  }
}

/** Passes the first `limit` bytes through, then never delivers another byte. */
export function stallAfter(limit: number): TransformStream<Uint8Array, Uint8Array> {
  let passed = 0;
  let release: (() => void) | undefined;
  return new TransformStream({
    transform(chunk, controller) {
      const room = limit - passed;
      if (room > 0) {
        const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
        passed += part.length;
        controller.enqueue(part);
      }
      // The stall: a transform that never finishes holds everything behind it.
      return passed >= limit ? new Promise<void>((resolve) => (release = resolve)) : undefined;
    },
    // Until the reader gives up: then the file behind it is let go (closed), as a real
    // storage's would be.
    cancel() {
      release?.();
    },
  });
}

/** A sink that forwards to `sink` until `bytes` have passed, then fails with `code`. */
export function failAfter(
  sink: WritableStream<Uint8Array>,
  bytes: number,
  code: number,
): WritableStream<Uint8Array> {
  const writer = sink.getWriter();
  let written = 0;
  const failure = () => new FtpError(code, `Injected failure after ${bytes} bytes.`);
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      const room = bytes - written;
      if (room > 0) await writer.write(chunk.length <= room ? chunk : chunk.subarray(0, room));
      written += chunk.length;
      if (written > bytes) {
        await writer.abort(failure()).catch(() => {});
        throw failure();
      }
    },
    close: () => writer.close(),
    abort: (reason) => writer.abort(reason),
  });
}

/** `dropAfter`: that verb closes the control connection without a reply, before any check. */
function droppingAfter(commands: CommandRegistry, verb: string): CommandRegistry {
  return commands.with({
    [verb]: {
      run: (ctx) => ctx.close(),
      auth: false,
      help: commands.help(verb) ?? verb,
    },
  });
}

/** `replyDelayMs` and `splitReplies`: late replies, or one TCP write per line. */
function misbehavingReplies(inner: ReplyChannelFactory, faults: Faults): ReplyChannelFactory {
  return (writer, session) => {
    const channel = inner(writer, session);
    return {
      async write(bytes) {
        if (faults.replyDelayMs) await session.delay(faults.replyDelayMs);
        if (!faults.splitReplies) return await channel.write(bytes);
        session.setNoDelay(); // or Nagle would join the lines again
        let start = 0;
        while (start < bytes.length) {
          const end = bytes.indexOf(0x0a, start) + 1 || bytes.length;
          await writeAll(writer, bytes.subarray(start, end));
          // A pause between lines, so that they leave in separate TCP segments.
          if (end < bytes.length) await session.delay(5);
          start = end;
        }
      },
    };
  };
}

/**
 * `deadPassive`: PASV/EPSV answer with a port that never accepts; the transfer waits the data
 * timeout for a connection that cannot come, then answers 425.
 */
class DeadPassiveSetup implements SessionDataSetup {
  readonly #inner: SessionDataSetup;
  readonly #port: () => number;
  readonly #timeoutMs: number;
  #armed = false;

  constructor(inner: SessionDataSetup, port: () => number, context: DataSetupContext) {
    this.#inner = inner;
    this.#port = port;
    this.#timeoutMs = context.dataTimeoutMs;
  }

  get ready(): boolean {
    return this.#armed || this.#inner.ready;
  }
  get listening(): boolean {
    return this.#inner.listening;
  }
  get mode(): "passive" | "active" | "none" {
    return this.#armed ? "passive" : this.#inner.mode;
  }
  armPassive(): number {
    this.#inner.cancel();
    this.#armed = true;
    return this.#port();
  }
  setActive: SessionDataSetup["setActive"] = (target) => {
    this.#armed = false;
    this.#inner.setActive(target);
  };
  cancel(): void {
    this.#armed = false;
    this.#inner.cancel();
  }
  close(): void {
    this.#armed = false;
    this.#inner.close();
  }
  keep(connection: DataConnection): void {
    this.#inner.keep(connection);
  }
  dropKept(): void {
    this.#inner.dropKept();
  }
  transferEnded(now: number): void {
    this.#inner.transferEnded(now);
  }
  tick(now: number, transferRunning: boolean): void {
    this.#inner.tick(now, transferRunning);
  }
  async connect(signal: AbortSignal): Promise<DataConnection> {
    if (!this.#armed) return await this.#inner.connect(signal);
    this.#armed = false;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.#timeoutMs);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
    throw new FtpError(Code.CANT_OPEN_DATA, "Can't open data connection.");
  }
}
