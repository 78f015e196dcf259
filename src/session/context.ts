/**
 * The {@linkcode CommandContext} of a live session: the handlers' view of it, delegating to the
 * session's state, replies, data setup, transfers and the server's services.
 *
 * @module
 */

import type {
  Admission,
  CommandContext,
  CommandLookup,
  DataChannel,
  LoginPort,
  RunningTransfer,
} from "../commands/context.ts";
import type { Endpoint } from "../data/address.ts";
import type { Transfer, TransferSpec } from "../data/transfer.ts";
import type { FileActionEvent } from "../events.ts";
import type { Identity } from "../identity/identity.ts";
import type { ResolvedOptions } from "../options.ts";
import type { StorageCapabilities } from "../storage/storage.ts";
import type { SessionDataSetup } from "../data/setup.ts";
import type { ReplyWriter } from "./replies.ts";
import type { SessionServices } from "./services.ts";
import type { SessionState } from "./state.ts";
import type { TransferRunner } from "./transfers.ts";

/** What the context needs of its session (the session implements it). */
export interface SessionHandle {
  readonly id: number;
  readonly services: SessionServices;
  readonly remoteHost: string;
  readonly localHost: string;
  readonly state: SessionState;
  /** Made at the first use (an idle session has none). */
  readonly data: SessionDataSetup;
  /** The data setup if it has been made, without making it. */
  readonly dataIfMade: SessionDataSetup | undefined;
  readonly replies: ReplyWriter;
  /** Made at the first transfer. */
  readonly transfers: TransferRunner;
  /** The running transfer, or null (without making a runner). */
  readonly transfer: Transfer | null;
  readonly closed: boolean;
  readonly signal: AbortSignal;
  startTls(): Promise<void>;
  abortTransfer(): Promise<boolean>;
  close(code?: number, text?: string): void;
  quit(): void;
  delay(ms: number): Promise<void>;
}

/** A session as its command handlers see it. */
export class SessionContext implements CommandContext {
  readonly #session: SessionHandle;

  constructor(session: SessionHandle) {
    this.#session = session;
  }

  /** Made for each use: a session logs in once, and an idle one should not keep this. */
  get login(): LoginPort {
    return new SessionLogin(this.#session);
  }

  get state(): SessionState {
    return this.#session.state;
  }
  get options(): ResolvedOptions {
    return this.#session.services.options;
  }
  get sessionId(): number {
    return this.#session.id;
  }
  get remoteHost(): string {
    return this.#session.remoteHost;
  }
  get localHost(): string {
    return this.#session.localHost;
  }
  get commands(): CommandLookup {
    return this.#session.services.commands;
  }
  get defaultCapabilities(): StorageCapabilities {
    return this.#session.services.defaultCapabilities;
  }
  get tlsAvailable(): boolean {
    return this.#session.services.tls !== null;
  }
  get data(): DataChannel {
    // USER closes a kept data connection: on a session that never prepared one, that must not
    // make the setup (and keep it for the session's life) only to find nothing to close.
    return this.#session.dataIfMade ?? new UnmadeDataChannel(this.#session);
  }
  get transfer(): RunningTransfer | null {
    return this.#session.transfer;
  }
  get closed(): boolean {
    return this.#session.closed;
  }
  get signal(): AbortSignal {
    return this.#session.signal;
  }

  reply(code: number, text: string | readonly string[]): Promise<void> {
    return this.#session.replies.reply(code, text);
  }

  replyStream(
    code: number,
    first: string,
    lines: AsyncIterable<string>,
    last: string,
  ): Promise<void> {
    return this.#session.replies.replyStream(code, first, lines, last);
  }

  startTransfer(spec: TransferSpec): void {
    this.#session.transfers.start(spec);
  }

  abortTransfer(): Promise<boolean> {
    return this.#session.abortTransfer();
  }

  startTls(): Promise<void> {
    return this.#session.startTls();
  }

  close(code?: number, text?: string): void {
    this.#session.close(code, text);
  }

  quit(): void {
    this.#session.quit();
  }

  delay(ms: number): Promise<void> {
    return this.#session.delay(ms);
  }

  fileAction(event: Omit<FileActionEvent, "type" | "session" | "remote" | "user">): void {
    const session = this.#session;
    session.services.events.emit({
      type: "file-action",
      session: session.id,
      remote: session.remoteHost,
      user: session.state.userName,
      ...event,
    });
  }
}

/**
 * The data channel of a session that has not prepared one yet: what a fresh setup answers,
 * and the setup made (and used) as soon as something is to be prepared.
 */
class UnmadeDataChannel implements DataChannel {
  readonly #session: SessionHandle;

  constructor(session: SessionHandle) {
    this.#session = session;
  }

  get ready(): boolean {
    return this.#session.data.ready;
  }

  get mode(): "passive" | "active" | "none" {
    return this.#session.data.mode;
  }

  armPassive(): number {
    return this.#session.data.armPassive();
  }

  setActive(target: Endpoint): void {
    this.#session.data.setActive(target);
  }

  // Nothing prepared, nothing kept: nothing to forget or close.
  cancel(): void {}
  close(): void {}
  dropKept(): void {}
}

/** The login steps of one session (see {@linkcode LoginPort}). */
class SessionLogin implements LoginPort {
  readonly #session: SessionHandle;

  constructor(session: SessionHandle) {
    this.#session = session;
  }

  isAnonymous(user: string): boolean {
    return this.#session.services.identity.isAnonymous?.(user) ?? false;
  }

  authenticate(user: string, password: string): Promise<Identity | null> {
    const session = this.#session;
    return session.services.identity.authenticate(user, password, {
      remoteAddress: session.remoteHost,
      secure: session.state.secure,
      // Asked for only by a provider that can give up (a hash verifier, an HTTP hook): a
      // session's abort controller is made when first needed.
      get signal() {
        return session.signal;
      },
    }).then((identity) => {
      // An accepted password is reported by `admit`, once the user's conditions are known.
      if (identity === null) this.#loginEvent(user, false, false);
      return identity;
    });
  }

  isBanned(): boolean {
    const { services, remoteHost } = this.#session;
    return services.isBanned(remoteHost);
  }

  failed(user: string): number {
    const { services, remoteHost, id } = this.#session;
    return services.loginFailed(remoteHost, user, id);
  }

  admit(identity: Identity): Admission {
    const { services, remoteHost, state, id } = this.#session;
    const admission = services.admitLogin(identity, { remoteHost, secure: state.secure, id });
    this.#loginEvent(
      state.pendingUser ?? identity.name,
      !("refusal" in admission),
      identity.anonymous,
    );
    return admission;
  }

  /** The `login` event: ok only for a session that is now logged in. */
  #loginEvent(user: string, ok: boolean, anonymous: boolean): void {
    const { services, remoteHost, id, state } = this.#session;
    services.events.emit({
      type: "login",
      session: id,
      remote: remoteHost,
      user,
      ok,
      anonymous,
      secure: state.secure,
    });
  }
}
