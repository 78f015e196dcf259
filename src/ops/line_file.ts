/**
 * An append-only file of lines, written in the background and reopened on demand (logrotate's
 * "move, then signal" rotation: after `reopen()` new lines go to a new file at the same path).
 *
 * Writes never block the caller: lines are queued and written in order by one writer. If the
 * disk stalls, the queue is bounded and drops its oldest lines, counting them.
 *
 * @module
 */

/** Options of {@linkcode LineFile.open}. */
export interface LineFileOptions {
  /** Lines queued at most while the disk is slow; older ones are dropped. Default 10,000. */
  maxPending?: number;
  /** Permission bits of a new file. Default `0o640` (transfer logs name users and files). */
  mode?: number;
}

const encoder = new TextEncoder();

/**
 * A log file that lines are appended to.
 *
 * @example
 * ```ts
 * import { LineFile } from "./line_file.ts";
 * const path = Deno.makeTempFileSync();
 * const file = await LineFile.open(path);
 * file.write("hello\n");
 * await file.close();
 * Deno.readTextFileSync(path); // "hello\n"
 * Deno.removeSync(path);
 * ```
 */
export class LineFile {
  readonly path: string;
  /** Lines dropped because the queue was full. */
  dropped = 0;
  /** Failed writes (the lines of a failed write are lost). */
  errors = 0;
  readonly #maxPending: number;
  readonly #mode: number;
  #file: Deno.FsFile | null;
  #pending: string[] = [];
  #flushing = false;
  /** Serialises writes, reopen and close. */
  #chain: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(path: string, file: Deno.FsFile, options: LineFileOptions) {
    this.path = path;
    this.#file = file;
    this.#maxPending = options.maxPending ?? 10_000;
    this.#mode = options.mode ?? 0o640;
  }

  /** Opens (creating) the file for appending. Throws when it cannot be opened. */
  static async open(path: string, options: LineFileOptions = {}): Promise<LineFile> {
    const file = await openAppend(path, options.mode ?? 0o640);
    return new LineFile(path, file, options);
  }

  /** Queues a line (with its line feed). Never throws, never waits. */
  write(line: string): void {
    if (this.#closed) return;
    if (this.#pending.length >= this.#maxPending) {
      this.#pending.shift();
      this.dropped++;
    }
    this.#pending.push(line);
    if (!this.#flushing) {
      this.#flushing = true;
      this.#enqueue(() => this.#flush());
    }
  }

  /** Resolves once every line queued so far is written. */
  flushed(): Promise<void> {
    return this.#enqueue(() => Promise.resolve());
  }

  /**
   * Closes the file and opens the path again (after logrotate moved it). Lines queued before are
   * written to the old file first. Rejects when the path cannot be opened; lines then wait for
   * the next successful reopen (up to the queue bound).
   */
  reopen(): Promise<void> {
    return this.#enqueue(async () => {
      await this.#flush();
      this.#file?.close();
      this.#file = null;
      this.#file = await openAppend(this.path, this.#mode);
    });
  }

  /** Writes what is queued and closes. */
  close(): Promise<void> {
    if (this.#closed) return this.#chain;
    this.#closed = true;
    return this.#enqueue(async () => {
      await this.#flush();
      this.#file?.close();
      this.#file = null;
    });
  }

  #enqueue(operation: () => Promise<void>): Promise<void> {
    const next = this.#chain.then(operation);
    this.#chain = next.catch(() => {});
    return next;
  }

  async #flush(): Promise<void> {
    this.#flushing = false;
    while (this.#pending.length > 0 && this.#file !== null) {
      const bytes = encoder.encode(this.#pending.splice(0).join(""));
      try {
        let written = 0;
        while (written < bytes.length) written += await this.#file.write(bytes.subarray(written));
      } catch {
        this.errors++;
      }
    }
  }
}

function openAppend(path: string, mode: number): Promise<Deno.FsFile> {
  return Deno.open(path, { append: true, create: true, mode });
}
