/**
 * The connection limits of a multi-worker server, in shared memory: every worker admits and
 * releases connections itself, in a few hundred nanoseconds, with no message to the main
 * isolate (a message each way per connection halved the logins per second).
 *
 * One `SharedArrayBuffer` of `Int32Array` words, guarded by one spin lock (the critical sections
 * are a hash probe and a few additions; the JS memory model makes everything written before the
 * releasing `Atomics.store` visible to the next `Atomics.compareExchange` that takes the lock):
 *
 * | words            | what |
 * |------------------|------|
 * | 0                | the lock: 0 free, else the holder (worker index + 1; the main isolate: workers + 1) |
 * | 1, 2             | `maxSessions`, `maxSessionsPerIp` (written by the main isolate) |
 * | 3                | slots in use |
 * | 4, 5, 6, 7       | ban after N failures, ban seconds, the clock's epoch, failure slots in use |
 * | 8 … 8+W          | sessions of each worker |
 * | then, per slot   | `h1, h2, used, count of worker 0, …, count of worker W−1` |
 * | then, 4,096 ×    | `h1, h2, used, failures, since, banned until` (failed logins and bans) |
 *
 * Slots are an open-addressed hash table of client addresses (two 32-bit FNV-1a hashes: two
 * addresses share a slot with odds of 1 in 2⁶⁴), with linear probing and backward-shift
 * deletion, so that it never fills with tombstones. Counts are kept per worker so that when a
 * worker dies the main isolate can give back exactly what it held.
 *
 * @module
 */

const LOCK = 0;
const MAX_SESSIONS = 1;
const MAX_PER_IP = 2;
const USED = 3;
const BAN_AFTER = 4;
const BAN_SECONDS = 5;
const EPOCH = 6;
const FAILURES_USED = 7;
const SESSIONS = 8;
const SLOT_HEADER = 3;
/** Addresses with recent failed logins, remembered at once (older ones are forgotten first). */
const FAILURE_SLOTS = 4096;
/** A failure slot: h1, h2, used, count, since, banned until (seconds after EPOCH). */
const FAILURE_STRIDE = 6;

/** A refusal's reply text, as a single server words it. */
export const TOO_MANY_USERS = "Too many users, try again later.";
/** A refusal's reply text, as a single server words it. */
export const TOO_MANY_FROM_IP = "Too many connections from your address.";

/**
 * The shared table, as one isolate sees it.
 *
 * @example
 * ```ts
 * import { AdmissionTable } from "./admission_table.ts";
 * const buffer = AdmissionTable.allocate(2, 100);
 * const main = new AdmissionTable(buffer, 2, -1);
 * main.setLimits(100, 2);
 * const worker = new AdmissionTable(buffer, 2, 0);
 * worker.admit("192.0.2.1"); // null: admitted
 * ```
 */
export class AdmissionTable {
  readonly #words: Int32Array;
  readonly #workers: number;
  readonly #owner: number;
  readonly #column: number;
  readonly #slots: number;
  readonly #stride: number;
  readonly #base: number;
  /** Where the failure table starts. */
  readonly #failures: number;

  /** A table for `workers` workers and up to `maxSessions` sessions (more addresses are refused). */
  static allocate(workers: number, maxSessions: number): SharedArrayBuffer {
    const slots = slotCount(maxSessions);
    const words = SESSIONS + workers + slots * (SLOT_HEADER + workers) +
      FAILURE_SLOTS * FAILURE_STRIDE;
    return new SharedArrayBuffer(words * 4);
  }

  /** @param worker this isolate's worker index, or -1 for the main isolate. */
  constructor(buffer: SharedArrayBuffer, workers: number, worker: number) {
    this.#words = new Int32Array(buffer);
    this.#workers = workers;
    this.#owner = worker < 0 ? workers + 1 : worker + 1;
    this.#column = worker;
    this.#stride = SLOT_HEADER + workers;
    this.#base = SESSIONS + workers;
    this.#slots = (this.#words.length - this.#base - FAILURE_SLOTS * FAILURE_STRIDE) /
      this.#stride;
    this.#failures = this.#base + this.#slots * this.#stride;
  }

  /** Sets the limits every worker applies (main isolate). */
  setLimits(
    maxSessions: number,
    maxPerIp: number,
    ban: { after: number; durationMs: number } = { after: 0x7fffffff, durationMs: 0 },
  ): void {
    const words = this.#words;
    if (Atomics.load(words, EPOCH) === 0) {
      Atomics.store(words, EPOCH, Math.floor(Date.now() / 1000) - 1);
    }
    Atomics.store(words, MAX_SESSIONS, Math.min(maxSessions, 0x7fffffff));
    Atomics.store(words, MAX_PER_IP, Math.min(maxPerIp, 0x7fffffff));
    Atomics.store(words, BAN_AFTER, Math.min(ban.after, 0x7fffffff));
    Atomics.store(words, BAN_SECONDS, Math.min(Math.ceil(ban.durationMs / 1000), 0x7fffffff));
  }

  /**
   * Counts a failed login from `ip` at `nowMs` (as a single server does: failures within the
   * ban duration add up; the one that reaches the limit bans). `banned` is true only for the
   * failure that started a ban.
   */
  recordFailure(ip: string, nowMs: number): { count: number; banned: boolean } {
    const words = this.#words;
    const [h1, h2] = hashes(ip);
    const now = this.#seconds(nowMs);
    this.#lock();
    try {
      const duration = words[BAN_SECONDS];
      let slot = this.#findFailure(h1, h2);
      if (slot < 0) {
        if (words[FAILURES_USED] >= FAILURE_SLOTS / 2) {
          this.#forgetFailures(now, duration);
        }
        slot = -this.#findFailure(h1, h2) - 1;
        const at = this.#failureAt(slot);
        words[at] = h1;
        words[at + 1] = h2;
        words[at + 2] = 1;
        words[at + 3] = 0;
        words[at + 4] = now;
        words[at + 5] = 0;
        words[FAILURES_USED]++;
      }
      const at = this.#failureAt(slot);
      if (now - words[at + 4] > duration) {
        words[at + 3] = 0;
        words[at + 4] = now;
        words[at + 5] = 0;
      }
      const count = ++words[at + 3];
      let banned = false;
      if (count >= words[BAN_AFTER] && words[at + 5] <= now) {
        words[at + 5] = now + duration;
        banned = true;
      }
      return { count, banned };
    } finally {
      Atomics.store(words, LOCK, 0);
    }
  }

  /** True while `ip` is banned. */
  isBanned(ip: string, nowMs: number): boolean {
    const [h1, h2] = hashes(ip);
    const now = this.#seconds(nowMs);
    this.#lock();
    try {
      const slot = this.#findFailure(h1, h2);
      return slot >= 0 && this.#words[this.#failureAt(slot) + 5] > now;
    } finally {
      Atomics.store(this.#words, LOCK, 0);
    }
  }

  /** Addresses banned right now. */
  bannedCount(nowMs: number): number {
    const now = this.#seconds(nowMs);
    this.#lock();
    try {
      let count = 0;
      for (let slot = 0; slot < FAILURE_SLOTS; slot++) {
        const at = this.#failureAt(slot);
        if (this.#words[at + 2] === 1 && this.#words[at + 5] > now) count++;
      }
      return count;
    } finally {
      Atomics.store(this.#words, LOCK, 0);
    }
  }

  #seconds(nowMs: number): number {
    return Math.floor(nowMs / 1000) - Atomics.load(this.#words, EPOCH);
  }

  #failureAt(slot: number): number {
    return this.#failures + slot * FAILURE_STRIDE;
  }

  #findFailure(h1: number, h2: number): number {
    const words = this.#words;
    const mask = FAILURE_SLOTS - 1;
    for (let slot = h1 & mask, n = 0; n < FAILURE_SLOTS; slot = (slot + 1) & mask, n++) {
      const at = this.#failureAt(slot);
      if (words[at + 2] === 0) return -slot - 1;
      if (words[at] === h1 && words[at + 1] === h2) return slot;
    }
    return -1;
  }

  /**
   * Rebuilds the failure table without what a single server would have forgotten (failures
   * older than the ban duration, bans over); when that is not enough, without the oldest half.
   */
  #forgetFailures(now: number, duration: number): void {
    const words = this.#words;
    const live: Int32Array[] = [];
    for (let slot = 0; slot < FAILURE_SLOTS; slot++) {
      const at = this.#failureAt(slot);
      if (words[at + 2] !== 1) continue;
      if (now - words[at + 4] > duration && words[at + 5] <= now) continue;
      live.push(words.slice(at, at + FAILURE_STRIDE));
    }
    if (live.length >= FAILURE_SLOTS / 2) {
      live.sort((a, b) => Math.max(b[4], b[5]) - Math.max(a[4], a[5]));
      live.length = FAILURE_SLOTS / 4;
    }
    words.fill(0, this.#failures, this.#failures + FAILURE_SLOTS * FAILURE_STRIDE);
    words[FAILURES_USED] = 0;
    for (const entry of live) {
      const slot = -this.#findFailure(entry[0], entry[1]) - 1;
      words.set(entry, this.#failureAt(slot));
      words[FAILURES_USED]++;
    }
  }

  /** Sessions over all workers. */
  total(): number {
    let total = 0;
    for (let w = 0; w < this.#workers; w++) total += Atomics.load(this.#words, SESSIONS + w);
    return total;
  }

  /** Counts a new connection from `ip` in this worker, or returns why it is refused. */
  admit(ip: string): string | null {
    const words = this.#words;
    const [h1, h2] = hashes(ip);
    this.#lock();
    try {
      if (this.#totalLocked() >= words[MAX_SESSIONS]) return TOO_MANY_USERS;
      let slot = this.#find(h1, h2);
      if (slot >= 0 && this.#countOf(slot) >= words[MAX_PER_IP]) return TOO_MANY_FROM_IP;
      if (slot < 0) {
        if (words[MAX_PER_IP] <= 0) return TOO_MANY_FROM_IP;
        slot = -slot - 1;
        if (words[USED] >= this.#slots - 1) return TOO_MANY_USERS; // keep one slot free
        const at = this.#at(slot);
        words[at] = h1;
        words[at + 1] = h2;
        words[at + 2] = 1;
        words[USED]++;
      }
      words[this.#at(slot) + SLOT_HEADER + this.#column]++;
      words[SESSIONS + this.#column]++;
      return null;
    } finally {
      Atomics.store(words, LOCK, 0);
    }
  }

  /** A connection admitted by this worker has ended. */
  release(ip: string): void {
    const words = this.#words;
    const [h1, h2] = hashes(ip);
    this.#lock();
    try {
      const slot = this.#find(h1, h2);
      if (slot < 0) return;
      const cell = this.#at(slot) + SLOT_HEADER + this.#column;
      if (words[cell] <= 0) return;
      words[cell]--;
      words[SESSIONS + this.#column]--;
      if (this.#countOf(slot) === 0) this.#delete(slot);
    } finally {
      Atomics.store(words, LOCK, 0);
    }
  }

  /** Gives back everything worker `worker` held (it died); main isolate. */
  releaseWorker(worker: number): void {
    const words = this.#words;
    // A worker killed inside its critical section leaves the lock taken: take it over.
    Atomics.compareExchange(words, LOCK, worker + 1, 0);
    this.#lock();
    try {
      words[SESSIONS + worker] = 0;
      for (let slot = 0; slot < this.#slots;) {
        const at = this.#at(slot);
        if (words[at + 2] === 1 && words[at + SLOT_HEADER + worker] !== 0) {
          words[at + SLOT_HEADER + worker] = 0;
          if (this.#countOf(slot) === 0) {
            this.#delete(slot); // something else may have moved into `slot`: look again
            continue;
          }
        }
        slot++;
      }
    } finally {
      Atomics.store(words, LOCK, 0);
    }
  }

  #lock(): void {
    while (Atomics.compareExchange(this.#words, LOCK, 0, this.#owner) !== 0) {
      // Held for well under a microsecond by another thread: spin.
    }
  }

  #totalLocked(): number {
    let total = 0;
    for (let w = 0; w < this.#workers; w++) total += this.#words[SESSIONS + w];
    return total;
  }

  #at(slot: number): number {
    return this.#base + slot * this.#stride;
  }

  #countOf(slot: number): number {
    const at = this.#at(slot) + SLOT_HEADER;
    let count = 0;
    for (let w = 0; w < this.#workers; w++) count += this.#words[at + w];
    return count;
  }

  /** The slot of (h1, h2), or −(the empty slot where it would go) − 1. */
  #find(h1: number, h2: number): number {
    const words = this.#words;
    const mask = this.#slots - 1;
    for (let slot = h1 & mask, n = 0; n < this.#slots; slot = (slot + 1) & mask, n++) {
      const at = this.#at(slot);
      if (words[at + 2] === 0) return -slot - 1;
      if (words[at] === h1 && words[at + 1] === h2) return slot;
    }
    return -1; // full: cannot happen, one slot is always kept free
  }

  /** Empties `slot`, moving later entries of its probe run back (no tombstones). */
  #delete(slot: number): void {
    const words = this.#words;
    const mask = this.#slots - 1;
    let hole = slot;
    for (let next = (hole + 1) & mask;; next = (next + 1) & mask) {
      const at = this.#at(next);
      if (words[at + 2] === 0) break;
      const home = words[at] & mask;
      // `next` may move into the hole unless its home lies cyclically in (hole, next].
      const stays = hole <= next ? hole < home && home <= next : hole < home || home <= next;
      if (stays) continue;
      words.copyWithin(this.#at(hole), at, at + this.#stride);
      hole = next;
    }
    words.fill(0, this.#at(hole), this.#at(hole) + this.#stride);
    words[USED]--;
  }
}

/** A power of two, at least twice the sessions (a probe run stays short), within bounds. */
function slotCount(maxSessions: number): number {
  const wanted = Math.min(Math.max(2 * maxSessions, 1024), 1 << 17);
  let slots = 1;
  while (slots < wanted) slots <<= 1;
  return slots;
}

/** Two FNV-1a hashes of the address (different offset bases). */
function hashes(text: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return [a | 0, b | 0];
}
