/**
 * Session transcripts: every command received and every reply sent, in order, so that a test can
 * assert what its client said. Kept in memory (bounded) and, on the command line, appended to a
 * JSON-lines file. Transcripts contain passwords as sent: they are a testing aid.
 *
 * @module
 */

/** One line of a transcript. */
export interface TranscriptEntry {
  /** Milliseconds since the epoch. */
  time: number;
  /** Session number, as in the logs. */
  session: number;
  /** `command` from the client, `reply` from the server. */
  direction: "command" | "reply";
  /** The line(s), without CRLF. */
  text: string;
}

/** Entries kept in memory; older ones are dropped first. */
const DEFAULT_LIMIT = 100_000;

/** A transcript recorder shared by a server's sessions. */
export class Transcript {
  readonly #entries: TranscriptEntry[] = [];
  readonly #limit: number;
  readonly #file: Deno.FsFile | null;
  readonly #encoder = new TextEncoder();

  /** @param file a JSON-lines file to append to, or null for memory only. */
  constructor(file: string | null = null, limit = DEFAULT_LIMIT) {
    this.#limit = limit;
    this.#file = file === null ? null : Deno.openSync(file, { append: true, create: true });
  }

  /** Records one entry. */
  record(session: number, direction: TranscriptEntry["direction"], text: string): void {
    const entry = { time: Date.now(), session, direction, text };
    if (this.#entries.length >= this.#limit) this.#entries.shift();
    this.#entries.push(entry);
    this.#file?.writeSync(this.#encoder.encode(JSON.stringify(entry) + "\n"));
  }

  /** A copy of the entries so far. */
  entries(): TranscriptEntry[] {
    return this.#entries.slice();
  }

  /** Closes the file, if any. */
  close(): void {
    try {
      this.#file?.close();
    } catch { /* closed */ }
  }
}
