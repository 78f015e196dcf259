/**
 * A session's data-connection setup: what PASV/EPSV or PORT/EPRT prepared, and how the next
 * transfer gets its TCP connection from it (RFC 959 §3.2, RFC 2428).
 *
 * @module
 */

import { FtpError } from "../errors.ts";
import type { Endpoint } from "./address.ts";
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
  /** Port of a listener that never accepts, when the `deadPassive` fault is on. */
  deadPassivePort?: () => number;
  /** A passive connection came from another address (it was closed). */
  refused(stranger: string): void;
}

/** One session's data-connection setup. */
export class DataSetup {
  readonly #context: DataSetupContext;
  #passive: PassiveListener | null = null;
  #active: Endpoint | null = null;
  #deadPassive = false;

  constructor(context: DataSetupContext) {
    this.#context = context;
  }

  /** True when the next transfer has a way to connect (425 otherwise). */
  get ready(): boolean {
    return this.#active !== null || this.#deadPassive || (this.#passive?.armed ?? false);
  }

  /** `passive`, `active` or `none`, for STAT. */
  get mode(): "passive" | "active" | "none" {
    return this.#passive?.armed || this.#deadPassive
      ? "passive"
      : this.#active !== null
      ? "active"
      : "none";
  }

  /** PASV/EPSV: opens (or reuses) the passive listener, arms it for one connection; its port. */
  armPassive(): number {
    this.#active = null;
    const context = this.#context;
    if (context.deadPassivePort) {
      this.#deadPassive = true;
      return context.deadPassivePort();
    }
    this.#passive ??= PassiveListener.open(
      context.localHost,
      context.passivePorts,
      context.remoteHost,
      context.refused,
    );
    this.#passive.arm();
    return this.#passive.port;
  }

  /** PORT/EPRT: the next transfer connects to `target`; a passive listener is given up. */
  setActive(target: Endpoint): void {
    this.close();
    this.#active = target;
  }

  /** ABOR with no transfer: forget what was prepared. */
  cancel(): void {
    this.#passive?.cancel();
    this.#active = null;
    this.#deadPassive = false;
  }

  /** Closes the passive listener (REIN, end of session). */
  close(): void {
    this.#passive?.close();
    this.#passive = null;
  }

  /** Called when a transfer has ended: the listener's idle time starts now. */
  transferEnded(now: number): void {
    if (this.#passive) this.#passive.idleSince = now;
  }

  /** Expires a passive arm past the data timeout; closes a listener idle for a while. */
  tick(now: number, transferRunning: boolean): void {
    const passive = this.#passive;
    if (passive === null) return;
    passive.expire(now, this.#context.dataTimeoutMs);
    if (!passive.armed && !transferRunning && now - passive.idleSince >= PASSIVE_LINGER_MS) {
      this.close();
    }
  }

  /**
   * The TCP connection for the transfer about to start: the passive one (waiting for it if
   * needed) or a connect to the active target, each within the data timeout. Rejects with 425.
   */
  async connect(signal: AbortSignal): Promise<Deno.TcpConn> {
    const { dataTimeoutMs } = this.#context;
    if (this.#deadPassive) {
      this.#deadPassive = false;
      // The client connects to a port nobody accepts on; we wait as for a real one, then give up.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, dataTimeoutMs);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        }, { once: true });
      });
      throw new FtpError(425, "Can't open data connection.");
    }
    const active = this.#active;
    if (active !== null) {
      this.#active = null;
      const timeout = AbortSignal.timeout(dataTimeoutMs);
      return await Deno.connect({
        hostname: active.host,
        port: active.port,
        signal: AbortSignal.any([signal, timeout]),
      });
    }
    const passive = this.#passive;
    if (passive === null) throw new FtpError(425, "Use PORT, EPRT, PASV or EPSV first.");
    const cancel = () => passive.cancel();
    signal.addEventListener("abort", cancel, { once: true });
    try {
      return await passive.take();
    } finally {
      signal.removeEventListener("abort", cancel);
    }
  }
}
