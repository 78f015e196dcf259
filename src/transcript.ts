/**
 * Session transcripts: every command received and every reply sent, in order, so that a test can
 * assert what its client said. Kept in memory (bounded) and, on the command line, appended to a
 * JSON-lines file. A PASS or ACCT argument is recorded as `****`: a transcript is handed to test
 * reports and CI artefacts, where no secret belongs. The file is still the server user's alone
 * (mode 0600; one that exists already is made so, and one that cannot be — another user's — is
 * refused), like vsftpd's and proftpd's logs of the protocol: it holds user names and paths.
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
    this.#file = file === null ? null : openPrivate(file);
  }

  /** Records one entry. */
  record(session: number, direction: TranscriptEntry["direction"], text: string): void {
    const entry = { time: Date.now(), session, direction, text: masked(direction, text) };
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

/** The command with the argument of PASS or ACCT replaced by `****` (verbs are case-blind). */
function masked(direction: TranscriptEntry["direction"], text: string): string {
  if (direction !== "command") return text;
  const match = /^\s*(pass|acct)(?:\s|$)/i.exec(text);
  return match === null ? text : `${match[1].toUpperCase()} ****`;
}

/**
 * Opens `path` for appending, readable and writable by this user only. `mode` applies only to a
 * file the call creates: an existing file keeps its bits, so they are narrowed too. One that
 * cannot be (another user's) is written to only if it is private already. (Narrowed by path:
 * reading the open file's mode needs read permission, which the launcher does not grant.)
 */
function openPrivate(path: string): Deno.FsFile {
  const file = Deno.openSync(path, { append: true, create: true, mode: 0o600 });
  try {
    Deno.chmodSync(path, 0o600);
  } catch {
    let shared = true;
    try {
      shared = ((file.statSync().mode ?? 0) & 0o077) !== 0;
    } catch { /* cannot tell: not private then */ }
    if (shared) {
      file.close();
      throw new Deno.errors.PermissionDenied(
        "the transcript file is readable by other users and cannot be made private",
      );
    }
  }
  return file;
}
