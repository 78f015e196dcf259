/**
 * A session's data-connection setup: what PASV/EPSV or PORT/EPRT prepared, and how the next
 * transfer gets its connection from it (RFC 959 §3.2, RFC 2428). A connection that a transfer
 * keeps open (MODE B ends a file in-band) is handed to the next transfer unless a PASV/EPSV or
 * PORT/EPRT replaced it.
 *
 * @module
 */

import type { DataChannel } from "../commands/context.ts";
import { FtpError } from "../errors.ts";
import { Code } from "../protocol/codes.ts";
import type { Endpoint } from "./address.ts";
import type { DataConnection } from "./connection.ts";
import { PassiveListener, type PortRange } from "./passive.ts";

/** An idle passive listener is closed after this long, giving its port back. */
const PASSIVE_LINGER_MS = 5_000;

/** What the setup needs to know about its session and server. */
export interface DataSetupContext {
  /** Our address as the client reached it: where passive listeners bind. */
  localHost: string;
  /** The client's address: the only one a passive listener accepts. */
  remoteHost: string;
  passivePorts: PortRange | undefined;
  dataTimeoutMs: number;
  /** A passive connection came from another address (it was closed). */
  refused(stranger: string): void;
  /** No port of the passive range was free. */
  exhausted(range: PortRange): void;
}

/** What a session does with its data setup, beyond what handlers do. */
export interface SessionDataSetup extends DataChannel {
  /**
   * The connection for the transfer about to start: a kept one, the passive one (waiting for
   * it if needed) or a connect to the active target, within the data timeout. Rejects with 425.
   */
  connect(signal: AbortSignal): Promise<DataConnection>;
  /** Takes a connection that stays open for the next transfer. */
  keep(connection: DataConnection): void;
  /** Called when a transfer has ended: the listener's idle time starts now. */
  transferEnded(now: number): void;
  /** A passive listener is open (for the status page and metrics). */
  readonly listening: boolean;
  /** Expires a passive arm past the data timeout; closes a listener idle for a while. */
  tick(now: number, transferRunning: boolean): void;
}

/** One session's data-connection setup. */
export class DataSetup implements SessionDataSetup {
  readonly #context: DataSetupContext;
  #passive: PassiveListener | null = null;
  #active: Endpoint | null = null;
  #kept: DataConnection | null = null;

  constructor(context: DataSetupContext) {
    this.#context = context;
  }

  get ready(): boolean {
    return this.#kept !== null || this.#active !== null || (this.#passive?.armed ?? false);
  }

  get listening(): boolean {
    return this.#passive !== null;
  }

  get mode(): "passive" | "active" | "none" {
    if (this.#passive?.armed) return "passive";
    return this.#active !== null ? "active" : this.#kept !== null ? "passive" : "none";
  }

  armPassive(): number {
    this.#active = null;
    this.#dropKept();
    const context = this.#context;
    if (this.#passive === null) {
      try {
        this.#passive = PassiveListener.open(
          context.localHost,
          context.passivePorts,
          context.remoteHost,
          context.refused,
        );
      } catch (error) {
        if (context.passivePorts && error instanceof FtpError) {
          context.exhausted(context.passivePorts);
        }
        throw error;
      }
    }
    this.#passive.arm();
    return this.#passive.port;
  }

  setActive(target: Endpoint): void {
    this.close();
    this.#active = target;
  }

  cancel(): void {
    this.#passive?.cancel();
    this.#active = null;
    // RFC 959 §4.1.3: after a completed transfer ABOR "closes the data connection (if it is
    // open)": a connection kept by MODE B or C is open, and must not carry the next transfer.
    this.#dropKept();
  }

  close(): void {
    this.#passive?.close();
    this.#passive = null;
    this.#dropKept();
  }

  dropKept(): void {
    this.#dropKept();
  }

  keep(connection: DataConnection): void {
    this.#dropKept();
    this.#kept = connection;
  }

  transferEnded(now: number): void {
    if (this.#passive) this.#passive.idleSince = now;
  }

  tick(now: number, transferRunning: boolean): void {
    const passive = this.#passive;
    if (passive === null) return;
    passive.expire(now, this.#context.dataTimeoutMs);
    if (!passive.armed && !transferRunning && now - passive.idleSince >= PASSIVE_LINGER_MS) {
      this.#passive?.close();
      this.#passive = null;
    }
  }

  async connect(signal: AbortSignal): Promise<DataConnection> {
    const kept = this.#kept;
    if (kept !== null && !this.#passive?.armed && this.#active === null) {
      this.#kept = null;
      return kept;
    }
    const active = this.#active;
    if (active !== null) {
      this.#active = null;
      const timeout = AbortSignal.timeout(this.#context.dataTimeoutMs);
      return await Deno.connect({
        hostname: active.host,
        port: active.port,
        signal: AbortSignal.any([signal, timeout]),
      });
    }
    const passive = this.#passive;
    if (passive === null) {
      throw new FtpError(Code.CANT_OPEN_DATA, "Use PORT, EPRT, PASV or EPSV first.");
    }
    const cancel = () => passive.cancel();
    signal.addEventListener("abort", cancel, { once: true });
    try {
      return await passive.take();
    } finally {
      signal.removeEventListener("abort", cancel);
    }
  }

  #dropKept(): void {
    try {
      this.#kept?.close();
    } catch { /* closed already */ }
    this.#kept = null;
  }
}
