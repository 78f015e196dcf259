/**
 * The password verifier: a small pool of workers with a bounded queue, so that a login storm
 * costs at most `workers` cores and a bounded amount of memory, and never stalls the event loop
 * that serves the other sessions. One argon2id check with OWASP's parameters is ~70 ms of CPU
 * and 19 MiB; on the event loop, fifty at once would freeze every transfer for seconds.
 *
 * Workers start on the first check and stop after `idleMs` without work, so a server whose users
 * have no hashes never starts one, and an idle server holds no worker memory. Work beyond the
 * pool and the queue is refused at once with {@linkcode PasswordBusyError} ("cannot decide": the
 * session answers 421) instead of piling up behind a flood of guesses.
 *
 * @module
 */

import type { Argon2idParams } from "./compute.ts";
import { PasswordBusyError, PasswordHashError } from "./errors.ts";
import { parseHash } from "./format.ts";
import type { WorkRequest, WorkResponse } from "./protocol.ts";

/** Options of a {@linkcode PasswordVerifier}. */
export interface PasswordVerifierOptions {
  /**
   * Workers, each running one check at a time. 0 runs checks on the calling thread, one at a
   * time (for environments without workers; it blocks the event loop for each check).
   * @default 1 on a machine with 1–2 cores, else 2
   */
  workers?: number;
  /**
   * Checks that may wait while all workers are busy; more are refused with
   * {@linkcode PasswordBusyError} (`queue-full`).
   * @default 32
   */
  maxQueue?: number;
  /**
   * Longest a check may run before its worker is terminated and the check refused (`timeout`):
   * a hash with absurd parameters (a typo, bcrypt cost 31) cannot hold a worker for hours.
   * Not enforced when `workers` is 0.
   * @default 10000
   */
  timeoutMs?: number;
  /**
   * Workers stop after this long without work; the next check starts one again (~30 ms).
   * @default 30000
   */
  idleMs?: number;
}

/** Options of one check. */
export interface VerifyOptions {
  /** Aborting gives up the check: a queued one is dropped, a running one's answer ignored. */
  signal?: AbortSignal;
}

/** Parameters of a new argon2id hash. */
export interface HashPasswordOptions {
  /** @default 19456 (19 MiB, OWASP's recommendation for argon2id) */
  memoryKiB?: number;
  /** @default 2 */
  iterations?: number;
  /** @default 1 */
  parallelism?: number;
  /** Bytes of derived key. @default 32 */
  hashLength?: number;
  /** Salt; random by default (16 bytes). For reproducible tests only. */
  salt?: Uint8Array;
}

/** OWASP's argon2id parameters (Password Storage Cheat Sheet): m=19456 KiB, t=2, p=1. */
export const ARGON2ID_DEFAULTS: Readonly<Required<Omit<HashPasswordOptions, "salt">>> = {
  memoryKiB: 19456,
  iterations: 2,
  parallelism: 1,
  hashLength: 32,
};

/** Counters for logs and tests. */
export interface PasswordVerifierStats {
  /** Workers alive now. */
  workers: number;
  /** Checks running now. */
  running: number;
  /** Checks waiting now. */
  queued: number;
  /** Checks done since creation (any answer). */
  completed: number;
  /** Checks refused because the queue was full. */
  refused: number;
  /** Workers terminated because a check took longer than `timeoutMs`. */
  timedOut: number;
}

type Work = { op: "verify"; hash: string; password: string } | {
  op: "hash";
  password: string;
  params: Argon2idParams;
};

interface Job {
  work: Work;
  resolve(value: boolean | string): void;
  reject(error: Error): void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/** Where checks run: a worker, or the calling thread. */
interface Runner {
  run(request: WorkRequest): Promise<WorkResponse>;
  terminate(): void;
}

interface Slot {
  runner: Runner;
  job: Job | null;
}

/**
 * Verifies passwords against stored hashes, and makes new argon2id hashes, in a bounded pool of
 * workers. Close it (or `await using` it) to stop the workers; an idle verifier stops them by
 * itself after `idleMs`.
 *
 * @example
 * ```ts
 * import { PasswordVerifier } from "./verifier.ts";
 * await using verifier = new PasswordVerifier({ workers: 1 });
 * const hash = await verifier.hash("s3cret");
 * await verifier.verify(hash, "s3cret"); // true
 * await verifier.verify(hash, "guess"); // false
 * ```
 */
export class PasswordVerifier implements AsyncDisposable {
  readonly #size: number;
  readonly #maxQueue: number;
  readonly #timeoutMs: number;
  readonly #idleMs: number;
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #nextId = 1;
  #completed = 0;
  #refused = 0;
  #timedOut = 0;

  constructor(options: PasswordVerifierOptions = {}) {
    const cores = navigator.hardwareConcurrency ?? 1;
    this.#size = nonNegative("workers", options.workers ?? (cores <= 2 ? 1 : 2));
    this.#maxQueue = nonNegative("maxQueue", options.maxQueue ?? 32);
    this.#timeoutMs = nonNegative("timeoutMs", options.timeoutMs ?? 10_000);
    this.#idleMs = nonNegative("idleMs", options.idleMs ?? 30_000);
  }

  /**
   * True when `password` matches `hash`; false when it does not. Rejects with
   * {@linkcode PasswordHashError} when the hash is not a supported, well-formed one (before any
   * work), and with {@linkcode PasswordBusyError} when the check was not done.
   */
  verify(hash: string, password: string, options: VerifyOptions = {}): Promise<boolean> {
    try {
      parseHash(hash); // a bad hash is a config error: say so now, not from a worker
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#submit({ op: "verify", hash, password }, options.signal) as Promise<boolean>;
  }

  /** A new argon2id PHC string for `password` (OWASP's parameters unless told otherwise). */
  hash(password: string, options: HashPasswordOptions = {}): Promise<string> {
    let params: Argon2idParams;
    try {
      params = argon2idParams(password, options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#submit({ op: "hash", password, params }) as Promise<string>;
  }

  /** What the pool is doing now, and what it did. */
  get stats(): PasswordVerifierStats {
    return {
      workers: this.#size === 0 ? 0 : this.#slots.length,
      running: this.#slots.filter((slot) => slot.job !== null).length,
      queued: this.#queue.length,
      completed: this.#completed,
      refused: this.#refused,
      timedOut: this.#timedOut,
    };
  }

  /**
   * Stops every worker now. Waiting and running checks are refused (`closed`); so is any later
   * one. Idempotent.
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#clearIdle();
    for (const job of this.#queue.splice(0)) this.#settle(job, new PasswordBusyError("closed"));
    for (const slot of this.#slots.splice(0)) {
      slot.runner.terminate();
      if (slot.job) this.#settle(slot.job, new PasswordBusyError("closed"));
    }
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #submit(work: Work, signal?: AbortSignal): Promise<boolean | string> {
    if (this.#closed) return Promise.reject(new PasswordBusyError("closed"));
    if (signal?.aborted) return Promise.reject(new PasswordBusyError("aborted"));
    const running = this.#slots.filter((slot) => slot.job !== null).length;
    if (running >= this.#capacity && this.#queue.length >= this.#maxQueue) {
      this.#refused++;
      return Promise.reject(new PasswordBusyError("queue-full"));
    }
    return new Promise((resolve, reject) => {
      const job: Job = { work, resolve, reject, signal };
      if (signal) {
        job.onAbort = () => {
          const index = this.#queue.indexOf(job);
          if (index >= 0) this.#queue.splice(index, 1);
          // A running check goes on (its slot stays busy, so the bound holds); its answer is
          // dropped.
          this.#settle(job, new PasswordBusyError("aborted"));
        };
        signal.addEventListener("abort", job.onAbort, { once: true });
      }
      this.#queue.push(job);
      this.#clearIdle();
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      const slot = this.#freeSlot();
      if (!slot) return;
      const job = this.#queue.shift()!;
      slot.job = job;
      void this.#run(slot, job);
    }
  }

  /** Checks that run at once: one per worker, or one on the calling thread. */
  get #capacity(): number {
    return Math.max(1, this.#size);
  }

  #freeSlot(): Slot | undefined {
    const idle = this.#slots.find((slot) => slot.job === null);
    if (idle) return idle;
    if (this.#slots.length >= this.#capacity) return undefined;
    const slot: Slot = {
      runner: this.#size === 0 ? new InlineRunner() : new WorkerRunner(),
      job: null,
    };
    this.#slots.push(slot);
    return slot;
  }

  async #run(slot: Slot, job: Job): Promise<void> {
    const request = { id: this.#nextId++, ...job.work } as WorkRequest;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      if (this.#size > 0 && this.#timeoutMs > 0) {
        timer = setTimeout(() => resolve("timeout"), this.#timeoutMs);
      }
    });
    let outcome: WorkResponse | "timeout";
    try {
      outcome = await Promise.race([slot.runner.run(request), timeout]);
    } catch (error) {
      outcome = {
        id: request.id,
        ok: false,
        name: "Error",
        message: error instanceof Error ? error.message : String(error),
      };
    } finally {
      clearTimeout(timer);
    }
    if (!this.#slots.includes(slot)) return; // closed meanwhile: the job is settled already
    this.#completed++;
    if (outcome === "timeout") {
      this.#timedOut++;
      slot.runner.terminate();
      this.#slots.splice(this.#slots.indexOf(slot), 1);
      this.#settle(job, new PasswordBusyError("timeout"));
    } else {
      slot.job = null;
      if (outcome.ok) {
        this.#settle(job, outcome.value);
      } else {
        this.#settle(job, rebuildError(outcome.name, outcome.message));
        if (outcome.name === "WorkerFailure") {
          slot.runner.terminate();
          this.#slots.splice(this.#slots.indexOf(slot), 1);
        }
      }
    }
    this.#pump();
    this.#scheduleIdle();
  }

  #settle(job: Job, result: boolean | string | Error): void {
    if (job.signal && job.onAbort) job.signal.removeEventListener("abort", job.onAbort);
    job.onAbort = undefined;
    if (result instanceof Error) job.reject(result);
    else job.resolve(result);
    // Later calls are no-ops for a promise already settled (an abort, then the answer).
  }

  #scheduleIdle(): void {
    if (this.#closed || this.#slots.some((slot) => slot.job !== null) || this.#queue.length) return;
    this.#clearIdle();
    if (this.#slots.length === 0) return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      for (const slot of this.#slots.splice(0)) slot.runner.terminate();
    }, this.#idleMs);
    // Live workers keep a process up; this timer ends them, so a script that forgets close()
    // still exits, idleMs after its last check. The timer itself holds nothing up.
    Deno.unrefTimer(this.#idleTimer);
  }

  #clearIdle(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }
}

/** Runs checks in a Deno worker, one at a time. */
class WorkerRunner implements Runner {
  readonly #worker: Worker;
  #pending: { id: number; resolve(response: WorkResponse): void } | null = null;

  constructor() {
    this.#worker = new Worker(new URL("./worker.ts", import.meta.url), {
      type: "module",
      name: "ftpgate-password",
    });
    this.#worker.onmessage = (event: MessageEvent<WorkResponse>) => {
      const pending = this.#pending;
      if (pending && event.data.id === pending.id) {
        this.#pending = null;
        pending.resolve(event.data);
      }
    };
    // A worker that fails to load or throws outside a request: answer the pending request
    // instead of letting the error reach the main thread (where it would end the process).
    this.#worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      const pending = this.#pending;
      this.#pending = null;
      pending?.resolve({
        id: pending.id,
        ok: false,
        name: "WorkerFailure",
        message: `The password worker failed: ${event.message}`,
      });
    };
  }

  run(request: WorkRequest): Promise<WorkResponse> {
    return new Promise((resolve) => {
      this.#pending = { id: request.id, resolve };
      this.#worker.postMessage(request);
    });
  }

  terminate(): void {
    this.#worker.terminate();
    const pending = this.#pending;
    this.#pending = null;
    pending?.resolve({ id: pending.id, ok: false, name: "Terminated", message: "terminated" });
  }
}

/** Runs checks on the calling thread (`workers: 0`). */
class InlineRunner implements Runner {
  async run(request: WorkRequest): Promise<WorkResponse> {
    // Let the event loop turn between checks: a queue of checks then stalls other sessions for
    // one check at a time (~60 ms for argon2id), not for the whole queue.
    await new Promise((resolve) => setTimeout(resolve, 0));
    // By computed URL: a literal import("./work.ts") puts work.ts, compute.ts and sha_crypt.ts
    // (with its node:crypto) into the graph Deno loads at every start, hashes or not: ~12 ms of
    // each start (deno task bench, startup 61 → 49 ms). The password worker imports work.ts
    // statically, so `deno compile` embeds it.
    const { perform } = await import(
      new URL("./work.ts", import.meta.url).href
    ) as typeof import("./work.ts");
    return await perform(request);
  }

  terminate(): void {}
}

function rebuildError(name: string, message: string): Error {
  if (name === "PasswordHashError") return new PasswordHashError(message);
  if (name === "RangeError") return new RangeError(message);
  return new Error(message);
}

function nonNegative(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, not ${value}`);
  }
  return value;
}

function argon2idParams(password: string, options: HashPasswordOptions): Argon2idParams {
  if (typeof password !== "string" || password === "") {
    throw new RangeError("Cannot hash an empty password");
  }
  const params: Argon2idParams = {
    memoryKiB: options.memoryKiB ?? ARGON2ID_DEFAULTS.memoryKiB,
    iterations: options.iterations ?? ARGON2ID_DEFAULTS.iterations,
    parallelism: options.parallelism ?? ARGON2ID_DEFAULTS.parallelism,
    hashLength: options.hashLength ?? ARGON2ID_DEFAULTS.hashLength,
    salt: options.salt ?? crypto.getRandomValues(new Uint8Array(16)),
  };
  const checks: [string, number, number, number][] = [
    ["parallelism", params.parallelism, 1, 0xffffff],
    ["memoryKiB", params.memoryKiB, 8 * params.parallelism, 1024 * 1024],
    ["iterations", params.iterations, 1, 0xffffffff],
    ["hashLength", params.hashLength, 16, 1024],
    ["salt length", params.salt.length, 8, 1024],
  ];
  for (const [name, value, min, max] of checks) {
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new RangeError(`argon2id ${name} must be within ${min}–${max}, not ${value}`);
    }
  }
  return params;
}
