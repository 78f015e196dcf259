/**
 * Writes a receiving transfer's `110 MARK` replies (RFC 959 §4.2, restart markers in MODE B and
 * C) with at most one on its way at a time. While one is being written, only the newest marker
 * waits: a client that restarts needs the last marker the server confirmed, not every one, and a
 * client sending 4-byte marker blocks (or not reading its replies) would otherwise queue a reply
 * and its promise per marker — hundreds of MiB for a few MB of upload.
 *
 * @module
 */

/**
 * Coalescing sender of restart marker replies.
 *
 * @example
 * ```ts
 * import { MarkSender } from "./mark_sender.ts";
 * const sent: string[] = [];
 * const marks = new MarkSender(async (text) => { sent.push(text); });
 * marks.mark("MARK a = 1");
 * marks.mark("MARK b = 2"); // replaces nothing: "a" is already on its way
 * marks.mark("MARK c = 3"); // replaces "b"
 * await marks.settled();
 * // sent: ["MARK a = 1", "MARK c = 3"]
 * ```
 */
export class MarkSender {
  readonly #write: (text: string) => Promise<void>;
  #next: string | undefined;
  #writing: Promise<void> | undefined;

  /** `write` sends one reply's text; a rejection is ignored (the session sees the broken line). */
  constructor(write: (text: string) => Promise<void>) {
    this.#write = write;
  }

  /** Reports a marker: written now, or after the one on its way (replacing any waiting one). */
  mark(text: string): void {
    this.#next = text;
    this.#writing ??= this.#drain();
  }

  /** Resolves once every marker reported so far is written or replaced by a later one. */
  async settled(): Promise<void> {
    await this.#writing;
  }

  async #drain(): Promise<void> {
    while (this.#next !== undefined) {
      const text = this.#next;
      this.#next = undefined;
      await this.#write(text).catch(() => {});
    }
    this.#writing = undefined;
  }
}
