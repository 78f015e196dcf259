/**
 * Bytes moved, counted while transfers run, not only when they end: a 10 GB upload shows up on
 * a dashboard as it goes instead of as one spike at the end.
 *
 * Two sources meet here: snapshots of the transfers in progress (sampled by a metrics scrape or
 * the status page's clock) and the `transfer` event that ends each one with its exact byte
 * count. A session runs at most one transfer at a time, so a transfer is known by its session
 * and start time. What a snapshot has already counted is not counted again by the event, so the
 * totals only ever go up and end exact.
 *
 * The host takes a transfer out of its status before it emits the transfer's event (see
 * {@linkcode TransferStatus}). Should a snapshot still list a transfer whose event has been seen,
 * it is recognised by its start time and ignored, when the tracker had sampled it before.
 *
 * @module
 */

import type { EventHub, FtpEvent, TransferDirection } from "../events.ts";
import type { TransferStatus } from "./host.ts";

/** Bytes per direction, since the tracker started. */
export type ByteTotals = Record<TransferDirection, number>;

/**
 * Monotonic byte totals per direction, exact once each transfer has ended.
 *
 * @example
 * ```ts
 * import { EventHub } from "../events.ts";
 * import { ByteTracker } from "./throughput.ts";
 * const hub = new EventHub();
 * const tracker = new ByteTracker(hub);
 * tracker.sample([{ session: 1, user: "u", command: "STOR", direction: "in", path: "/a", bytes: 10, started: 1 }]);
 * tracker.totals.in; // 10
 * tracker.close();
 * ```
 */
export class ByteTracker {
  readonly totals: ByteTotals = { in: 0, out: 0, list: 0 };
  /** Per session: the running transfer's start and the bytes counted for it so far. */
  readonly #live = new Map<number, { started: number; bytes: number }>();
  /** Per session: the start time of its last sampled transfer whose event has been seen. */
  readonly #ended = new Map<number, number>();
  readonly #off: () => void;

  constructor(events: EventHub) {
    this.#off = events.on((event) => this.#onEvent(event));
  }

  /** Counts the progress of the transfers in a snapshot. */
  sample(transfers: readonly TransferStatus[]): void {
    for (const transfer of transfers) {
      if (this.#ended.get(transfer.session) === transfer.started) continue; // its event counted it
      const live = this.#live.get(transfer.session);
      if (live !== undefined && live.started === transfer.started) {
        if (transfer.bytes > live.bytes) {
          this.totals[transfer.direction] += transfer.bytes - live.bytes;
          live.bytes = transfer.bytes;
        }
      } else {
        this.totals[transfer.direction] += transfer.bytes;
        this.#live.set(transfer.session, { started: transfer.started, bytes: transfer.bytes });
      }
    }
  }

  #onEvent(event: FtpEvent): void {
    if (event.type === "transfer") {
      const live = this.#live.get(event.session);
      const counted = live?.bytes ?? 0;
      if (event.bytes > counted) this.totals[event.direction] += event.bytes - counted;
      this.#live.delete(event.session);
      if (live !== undefined) this.#ended.set(event.session, live.started);
      else this.#ended.delete(event.session);
    } else if (event.type === "session-closed") {
      this.#live.delete(event.session);
      this.#ended.delete(event.session);
    }
  }

  /** Stops listening. */
  close(): void {
    this.#off();
  }
}
