/**
 * Bounded parallelism: run a task per item with at most N at once, stop at the first failure.
 *
 * @module
 */

/**
 * Runs `task` for every item of `items` (an iterable or async iterable, read only as fast as
 * tasks finish, so a listing stream is never read ahead), at most `concurrency` at once. On the
 * first failure no new task starts, the running ones are told through their signal, every
 * task is awaited (nothing is left running), and the first error is thrown.
 *
 * @example
 * ```ts
 * import { runBounded } from "./bounded.ts";
 * let total = 0;
 * await runBounded([1, 2, 3], 2, async (n) => {
 *   total += n;
 * });
 * // total === 6
 * ```
 */
export async function runBounded<T>(
  items: Iterable<T> | AsyncIterable<T>,
  concurrency: number,
  task: (item: T, signal: AbortSignal) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const stop = new AbortController();
  const taskSignal = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  let failure: { error: unknown } | null = null;
  const running = new Set<Promise<void>>();
  const iterator = Symbol.asyncIterator in items
    ? (items as AsyncIterable<T>)[Symbol.asyncIterator]()
    : (items as Iterable<T>)[Symbol.iterator]();
  try {
    for (;;) {
      if (failure !== null || taskSignal.aborted) break;
      while (running.size >= concurrency) await Promise.race(running);
      if (failure !== null || taskSignal.aborted) break;
      const next = await iterator.next();
      if (next.done) break;
      const promise: Promise<void> = task(next.value, taskSignal).catch((error) => {
        if (failure === null) {
          failure = { error };
          stop.abort(error);
        }
      }).finally(() => running.delete(promise));
      running.add(promise);
    }
  } catch (error) {
    // The items themselves failed (a listing page that could not be read).
    if (failure === null) failure = { error };
    stop.abort(error);
  } finally {
    await Promise.allSettled(running);
    if (failure !== null || taskSignal.aborted) await iterator.return?.();
  }
  if (failure !== null) throw (failure as { error: unknown }).error;
  signal?.throwIfAborted();
}
