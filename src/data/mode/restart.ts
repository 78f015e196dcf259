/**
 * Restart markers (RFC 959 §3.5) for block and compressed mode, and REST for every mode.
 *
 * **The marker is the storage byte offset.** RFC 959 leaves the marker's meaning to its sender;
 * ftpgate's markers, and the server half of its `110 MARK yyyy = mmmm` replies, are the decimal
 * offset in the *stored* file at which a fresh pipeline resumes exactly. So `REST n` always means
 * "n bytes into the stored file", whatever the mode: a marker from a block-mode RETR, the `mmmm`
 * of a 110 reply for a STOR, a stream-mode offset, and MODE Z's offset (in file bytes, as proftpd
 * counts it) are all the same kind of number, and resuming is a seek, never a re-scan.
 *
 * That only works where the representation has a clean cut: a stored offset where a fresh
 * encoder or decoder continues the byte stream exactly (not between CR and LF, not inside a UTF-8
 * sequence, not inside an RDW record or a run of blank ASA lines). The representation stages
 * say where those are:
 *
 * - **Sending (RETR):** the representation encoder offers clean points to a
 *   {@linkcode CheckpointQueue} as (internal offset, storage offset) pairs, about every
 *   `checkpointInterval` stored bytes; the mode encoder puts a marker at the first offered point
 *   once `interval` data bytes have passed since the last marker. Without a representation stage
 *   (TYPE I, STRU F) every byte is a clean point and the mode encoder counts by itself.
 * - **Receiving (STOR):** the mode decoder reports each client marker with its offset in the
 *   decoded data; the representation decoder's `locate(offset)` gives the storage offset, or
 *   null where that point is no clean cut (then no 110 is sent for it: the client restarts from
 *   an earlier marker). {@linkcode MarkReplies} sends the 110 replies in order, each once the
 *   stored file holds the bytes it vouches for.
 *
 * @module
 */

/** A clean cut: this many bytes into the internal (mode-side) stream is this stored offset. */
export interface Checkpoint {
  internal: number;
  storage: number;
}

/** Most checkpoints kept waiting: a queue nobody drains (stream mode) must not grow forever. */
const QUEUE_LIMIT = 4096;

/**
 * Clean cuts offered by a representation encoder, taken in order by a mode encoder. Both run in
 * the same pipeline, the encoder ahead of the mode stage, so a checkpoint is always offered
 * before the mode stage reaches its offset.
 *
 * @example
 * ```ts
 * import { CheckpointQueue } from "./restart.ts";
 * const queue = new CheckpointQueue();
 * queue.offer(10, 8);
 * queue.offer(25, 20);
 * queue.firstFrom(12); // { internal: 25, storage: 20 }
 * ```
 */
export class CheckpointQueue {
  #items: Checkpoint[] = [];
  #head = 0;

  /** Records a clean cut (offsets must grow). */
  offer(internal: number, storage: number): void {
    if (this.#items.length - this.#head >= QUEUE_LIMIT) this.#head++;
    this.#items.push({ internal, storage });
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }

  /** The first checkpoint at or after `internal`, dropping those before it; it stays queued. */
  firstFrom(internal: number): Checkpoint | undefined {
    while (this.#head < this.#items.length && this.#items[this.#head].internal < internal) {
      this.#head++;
    }
    return this.#items[this.#head];
  }
}

/** A marker as a block or compressed decoder reports it. */
export interface RestartMarker {
  /** The marker text the sender chose (printable ASCII, no spaces). */
  text: string;
  /** Bytes of decoded (internal-form) data before the marker. */
  offset: number;
}

/**
 * The text of a restart marker reply, exactly as RFC 959 §4.2 prescribes it.
 *
 * @example
 * ```ts
 * import { markReplyText } from "./restart.ts";
 * markReplyText("r1", 1048576); // "MARK r1 = 1048576"
 * ```
 */
export function markReplyText(clientMarker: string, storageOffset: number): string {
  return `MARK ${clientMarker} = ${storageOffset}`;
}

/**
 * Parses a restart marker or REST argument: the decimal storage offset (ftpgate's markers are
 * nothing else). Returns null for anything that is not one.
 *
 * @example
 * ```ts
 * import { parseRestartMarker } from "./restart.ts";
 * parseRestartMarker("1048576"); // 1048576
 * parseRestartMarker("r1"); // null
 * ```
 */
export function parseRestartMarker(text: string): number | null {
  if (!/^[0-9]{1,16}$/.test(text)) return null;
  const offset = Number(text);
  return Number.isSafeInteger(offset) ? offset : null;
}

interface PendingMark {
  marker: string;
  /** undefined: not located yet; null: no clean cut there. */
  offset: number | null | undefined;
}

/**
 * Markers waiting for their bytes to be stored, at most: beyond, the oldest is dropped, since a
 * later marker supersedes it (a client restarts from the last one confirmed). Without a bound, a
 * client sending marker blocks faster than storage confirms offsets would queue them all.
 */
const MAX_PENDING_MARKS = 64;

/**
 * Sends `110 MARK yyyy = mmmm` replies during a receiving transfer, in marker order, each once
 * the stored file holds every byte before `mmmm` (at most 64 wait).
 *
 * @example
 * ```ts
 * import { MarkReplies } from "./restart.ts";
 * const sent: string[] = [];
 * const marks = new MarkReplies((text) => sent.push(text));
 * marks.add("a", 100);
 * marks.written(99); // nothing yet
 * marks.written(100); // sent: ["MARK a = 100"]
 * ```
 */
export class MarkReplies {
  readonly #send: (text: string) => void;
  readonly #pending: PendingMark[] = [];
  #written = 0;

  /** `send` gets the reply text (without the code, which is always 110). */
  constructor(send: (text: string) => void, startOffset = 0) {
    this.#send = send;
    this.#written = startOffset;
  }

  /** A client marker and the storage offset it maps to (null: no clean cut, no reply). */
  add(marker: string, offset: number | null | Promise<number | null>): void {
    const entry: PendingMark = { marker, offset: undefined };
    this.#pending.push(entry);
    if (this.#pending.length > MAX_PENDING_MARKS) this.#pending.shift();
    if (typeof offset === "number" || offset === null) {
      entry.offset = offset;
    } else {
      offset.then((value) => {
        entry.offset = value;
        this.#drain();
      }, () => {
        entry.offset = null;
        this.#drain();
      });
    }
    this.#drain();
  }

  /** The stored file now holds everything before this storage offset. */
  written(storageOffset: number): void {
    this.#written = storageOffset;
    this.#drain();
  }

  #drain(): void {
    while (this.#pending.length > 0) {
      const head = this.#pending[0];
      if (head.offset === undefined) return;
      if (head.offset !== null) {
        if (head.offset > this.#written) return;
        this.#send(markReplyText(head.marker, head.offset));
      }
      this.#pending.shift();
    }
  }
}
