/**
 * A token bucket for bandwidth limits: `rate` bytes per second, bursts up to `burst` bytes, shared
 * by every transfer of one user (so that parallel sessions do not add up to more than the
 * limit). Takers may overdraw: a take that leaves the bucket in debt waits until the rate has
 * paid it back, which keeps the arithmetic O(1) per take and the long-run rate exact however
 * many transfers share the bucket.
 *
 * @module
 */

/**
 * A shared byte-rate limit.
 *
 * @example
 * ```ts
 * import { TokenBucket } from "./token_bucket.ts";
 * const bucket = new TokenBucket(1024 * 1024); // 1 MiB/s
 * await bucket.take(64 * 1024); // returns at once: the burst allows it
 * ```
 */
export class TokenBucket {
  /** Bytes per second. */
  readonly rate: number;
  /** Most bytes that may go at once after an idle time. */
  readonly burst: number;
  #tokens: number;
  #updated = performance.now();

  /** @param burst default: a tenth of a second's worth, at least 16 KiB. */
  constructor(rate: number, burst = Math.max(16 * 1024, rate / 10)) {
    if (!(rate > 0)) throw new RangeError(`rate: expected bytes per second above 0, got ${rate}`);
    this.rate = rate;
    this.burst = burst;
    this.#tokens = burst;
  }

  /** Waits until `bytes` may go. Aborting `signal` ends the wait early (the caller is done). */
  take(bytes: number, signal?: AbortSignal): Promise<void> {
    const now = performance.now();
    this.#tokens = Math.min(this.burst, this.#tokens + (now - this.#updated) * this.rate / 1000);
    this.#updated = now;
    this.#tokens -= bytes;
    if (this.#tokens >= 0) return Promise.resolve();
    const waitMs = -this.#tokens / this.rate * 1000;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}
