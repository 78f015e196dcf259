/**
 * What every session of one server shares, as the server provides it. The session knows the
 * server only through this interface.
 *
 * @module
 */

import type { Admission } from "../commands/context.ts";
import type { CommandRegistry } from "../commands/registry.ts";
import type { Throttle } from "../limits/throttled.ts";
import type { DataSetupContext, SessionDataSetup } from "../data/setup.ts";
import type { EventHub } from "../events.ts";
import type { Identity, IdentityProvider } from "../identity/identity.ts";
import type { ByteWriter } from "../io.ts";
import type { ResolvedOptions } from "../options.ts";
import type { StorageCapabilities } from "../storage/storage.ts";
import type { TlsContext } from "../tls/context.ts";
import type { Transcript } from "../transcript.ts";

/** Where a session's replies go, below the ordering and the deadlines (faults decorate it). */
export interface ReplyChannel {
  write(bytes: Uint8Array): Promise<void>;
}

/** How a reply channel is made from the control connection's byte writer. */
export type ReplyChannelFactory = (
  writer: ByteWriter,
  session: { delay(ms: number): Promise<void>; setNoDelay(): void },
) => ReplyChannel;

/** The server, as its sessions see it. */
export interface SessionServices {
  readonly options: ResolvedOptions;
  /** Who may log in, and their file systems. */
  readonly identity: IdentityProvider;
  /** The command table. */
  readonly commands: CommandRegistry;
  /** TLS credentials, when FTPS is configured. */
  readonly tls: TlsContext | null;
  /** Records commands and replies, when asked for. */
  readonly transcript: Transcript | null;
  /** Where sessions report what happens. */
  readonly events: EventHub;
  /** What the default storage can do (FEAT before login). */
  readonly defaultCapabilities: StorageCapabilities;
  /** Numbers sessions, per server, from 1. */
  nextSessionId(): number;
  /** Makes a session's data-connection setup. */
  createDataSetup(context: DataSetupContext): SessionDataSetup;
  /** Makes a session's reply channel. */
  createReplyChannel: ReplyChannelFactory;
  /** Called once the banner of a session has been written. */
  sessionStarted(): void;
  /** Called once when a session has ended. */
  sessionEnded(session: { remoteHost: string }): void;
  /** Records a failed login; returns how long to wait before answering. */
  loginFailed(remote: string, user: string, session: number): number;
  /** True while an address is banned for failed logins. */
  isBanned(remote: string): boolean;
  /** A user's own conditions at login (see `LoginPort.admit`). */
  admitLogin(
    identity: Identity,
    session: { remoteHost: string; secure: boolean; id?: number },
  ): Admission;
  /** The bandwidth buckets of a logged-in user, when the user has limits. */
  throttleFor(identity: Identity): Throttle | undefined;
}
