/**
 * An in-memory {@linkcode CommandContext}: command handlers run against it with no socket, no
 * server and no timer. Replies are recorded; transfers are recorded (not run); the data channel
 * is a flag.
 *
 * @module
 */

import type {
  CommandContext,
  DataChannel,
  LoginPort,
  RunningTransfer,
} from "../../src/commands/context.ts";
import { dispatch } from "../../src/commands/dispatch.ts";
import { COMMANDS } from "../../src/commands/registry.ts";
import type { Endpoint } from "../../src/data/address.ts";
import type { TransferSpec } from "../../src/data/transfer.ts";
import type { FileActionEvent } from "../../src/events.ts";
import type { Identity } from "../../src/identity/identity.ts";
import { AccessRules, type PathRule } from "../../src/identity/rules.ts";
import { resolveOptions, type ServeOptions } from "../../src/options.ts";
import { SessionState } from "../../src/session/state.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import type { Storage, StorageCapabilities } from "../../src/storage/storage.ts";

/** A reply as the fake context saw it. */
export interface RecordedReply {
  code: number;
  lines: string[];
}

/** The fake data channel: PASV and PORT set a flag, nothing listens. */
export class FakeDataChannel implements DataChannel {
  passive = false;
  active: Endpoint | null = null;
  get ready(): boolean {
    return this.passive || this.active !== null;
  }
  get mode(): "passive" | "active" | "none" {
    return this.passive ? "passive" : this.active ? "active" : "none";
  }
  armPassive(): number {
    this.passive = true;
    this.active = null;
    return 50_000;
  }
  setActive(target: Endpoint): void {
    this.passive = false;
    this.active = target;
  }
  cancel(): void {
    this.passive = false;
    this.active = null;
  }
  close(): void {
    this.cancel();
  }
  keptDropped = 0;
  dropKept(): void {
    this.keptDropped++;
  }
}

/** Options of {@linkcode fakeContext}. */
export interface FakeContextOptions {
  storage?: Storage;
  rules?: readonly PathRule[] | null;
  /** Log in as this user at once (default: logged in as `tester`; null: not logged in). */
  user?: string | null;
  server?: ServeOptions;
  tls?: boolean;
}

/** An in-memory context, plus what it recorded. */
export interface FakeContext extends CommandContext {
  readonly replies: RecordedReply[];
  readonly transfers: TransferSpec[];
  readonly actions: Omit<FileActionEvent, "type" | "session" | "remote" | "user">[];
  readonly fakeData: FakeDataChannel;
  closedWith: { code?: number; text?: string } | null;
  /** Dispatches one command line's verb and argument, as the session would. */
  run(line: string): Promise<RecordedReply>;
}

/** Builds a context over `storage` (default: an empty memory tree). */
export function fakeContext(options: FakeContextOptions = {}): FakeContext {
  const storage = options.storage ?? new MemoryStorage();
  const state = new SessionState(false);
  const identity: Identity = {
    name: options.user ?? "tester",
    anonymous: false,
    storage,
    rules: new AccessRules(options.rules ?? null),
  };
  if (options.user !== null) state.identity = identity;
  const replies: RecordedReply[] = [];
  const transfers: TransferSpec[] = [];
  const actions: FakeContext["actions"][number][] = [];
  const data = new FakeDataChannel();
  const lifetime = new AbortController();
  const login: LoginPort = {
    isAnonymous: (user) => user === "anonymous",
    authenticate: (user, password) =>
      Promise.resolve(user === identity.name && password === "secret" ? identity : null),
    isBanned: () => false,
    failed: () => 0,
    admit: (identity) => ({ identity }),
  };
  const context: FakeContext = {
    state,
    options: resolveOptions(options.server ?? {}),
    sessionId: 1,
    remoteHost: "127.0.0.1",
    localHost: "127.0.0.1",
    commands: COMMANDS,
    defaultCapabilities: storage.capabilities as StorageCapabilities,
    tlsAvailable: options.tls ?? false,
    data,
    fakeData: data,
    transfer: null as RunningTransfer | null,
    closed: false,
    signal: lifetime.signal,
    login,
    replies,
    transfers,
    actions,
    closedWith: null,
    reply(code, text) {
      replies.push({ code, lines: typeof text === "string" ? [text] : [...text] });
      return Promise.resolve();
    },
    async replyStream(code, first, lines, last) {
      const all = [first];
      for await (const line of lines) all.push(line);
      all.push(last);
      replies.push({ code, lines: all });
    },
    startTransfer(spec) {
      transfers.push(spec);
    },
    abortTransfer: () => Promise.resolve(false),
    startTls: () => Promise.resolve(),
    close(code, text) {
      context.closedWith = { code, text };
      (context as { closed: boolean }).closed = true;
      lifetime.abort();
    },
    quit() {
      context.close();
    },
    delay: () => Promise.resolve(),
    fileAction(event) {
      actions.push(event);
    },
    async run(line) {
      const space = line.indexOf(" ");
      const verb = (space === -1 ? line : line.slice(0, space)).toUpperCase();
      const arg = space === -1 ? "" : line.slice(space + 1);
      const before = replies.length;
      await dispatch(context, COMMANDS, verb, arg);
      if (replies.length === before) return { code: 0, lines: ["(no reply)"] };
      return replies[replies.length - 1];
    },
  };
  return context;
}
