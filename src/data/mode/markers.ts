/**
 * Where a block or compressed encoder puts its restart markers, and what they say.
 *
 * @module
 */

import type { CheckpointQueue } from "./restart.ts";

/** Restart markers for a sending transfer in block or compressed mode. */
export interface RestartOptions {
  /** Data bytes (internal form) at least between two markers; 0 sends none. */
  interval: number;
  /**
   * Clean cuts from the representation encoder. Without them every byte is a clean cut and a
   * marker's storage offset is `startOffset` plus the data bytes before it, which is right only
   * when there is no representation stage (TYPE I, STRU F).
   */
  checkpoints?: CheckpointQueue;
  /** Storage offset of the first data byte (after REST), when there are no checkpoints. */
  startOffset?: number;
}

/** The next restart markers of one transfer. */
export class MarkerSchedule {
  readonly #interval: number;
  readonly #checkpoints: CheckpointQueue | undefined;
  readonly #start: number;
  #last = 0;
  #pending: { internal: number; storage: number } | undefined;

  constructor(options?: RestartOptions) {
    this.#interval = options && options.interval > 0 ? options.interval : 0;
    this.#checkpoints = options?.checkpoints;
    this.#start = options?.startOffset ?? 0;
  }

  get enabled(): boolean {
    return this.#interval > 0;
  }

  /**
   * The internal offset in `[from, to]` of the next marker, or -1 if none falls there. Call
   * {@linkcode MarkerSchedule.take} once the data before it is out.
   */
  next(from: number, to: number): number {
    if (this.#interval === 0) return -1;
    const due = this.#last + this.#interval;
    if (due > to) return -1;
    if (!this.#checkpoints) {
      const at = Math.max(due, from);
      this.#pending = { internal: at, storage: this.#start + at };
      return at;
    }
    const cut = this.#checkpoints.firstFrom(Math.max(due, from));
    if (!cut || cut.internal > to) return -1;
    this.#pending = cut;
    return cut.internal;
  }

  /** The marker text (the storage offset in decimal) for the offset `next` returned. */
  take(): string {
    const cut = this.#pending!;
    this.#pending = undefined;
    this.#last = cut.internal;
    return String(cut.storage);
  }
}

/** True for a marker RFC 959 §3.4.2 allows: printable characters, no space. */
export function validMarker(bytes: Uint8Array): boolean {
  if (bytes.length === 0) return false;
  for (const byte of bytes) if (byte < 0x21 || byte > 0x7e) return false;
  return true;
}

/** Longest marker a decoder accepts (RFC 959 sets no limit; a 110 reply line must stay short). */
export const MAX_MARKER = 256;
