/**
 * The verifier's bounds: a fixed number of workers, a bounded queue that refuses the excess at
 * once, a time limit per check, abort, close, and workers that stop when idle. Real workers and
 * real hashing throughout; slow checks are bcrypt hashes with a high cost.
 */

import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import {
  PasswordBusyError,
  type PasswordBusyReason,
  PasswordVerifier,
} from "../../src/identity/passwords/mod.ts";

/** A well-formed bcrypt hash of the given cost (no password matches it). */
function bcryptOfCost(cost: number): string {
  return `$2b$${String(cost).padStart(2, "0")}$${"a".repeat(22)}${"b".repeat(31)}`;
}
/** openssl's SHA-256-crypt of "Hello world!" (the spec's example). */
const QUICK = "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA";

function isBusy(reason: PasswordBusyReason): (error: unknown) => boolean {
  return (error) => error instanceof PasswordBusyError && error.reason === reason;
}

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

Deno.test("PasswordVerifier refuses checks beyond its workers and queue at once", async () => {
  await using verifier = new PasswordVerifier({ workers: 1, maxQueue: 2 });
  const started = performance.now();
  const results = await Promise.allSettled(
    Array.from({ length: 5 }, () => verifier.verify(bcryptOfCost(8), "guess")),
  );
  const outcomes = results.map((result) =>
    result.status === "fulfilled"
      ? String(result.value)
      : (result.reason as PasswordBusyError).reason
  );
  deepEqual(outcomes, ["false", "false", "false", "queue-full", "queue-full"]);
  const stats = verifier.stats;
  equal(stats.refused, 2);
  equal(stats.completed, 3);
  equal(stats.workers, 1);
  ok(performance.now() - started < 10_000);
});

Deno.test("PasswordVerifier runs one check per worker at a time", async () => {
  await using verifier = new PasswordVerifier({ workers: 2, maxQueue: 8 });
  let mostRunning = 0;
  const all = Promise.all(
    Array.from({ length: 6 }, () => verifier.verify(bcryptOfCost(7), "guess")),
  );
  const poll = setInterval(() => mostRunning = Math.max(mostRunning, verifier.stats.running), 2);
  try {
    deepEqual(await all, [false, false, false, false, false, false]);
  } finally {
    clearInterval(poll);
  }
  equal(mostRunning, 2);
  equal(verifier.stats.workers, 2);
});

Deno.test("PasswordVerifier stops a check that exceeds timeoutMs and replaces the worker", async () => {
  await using verifier = new PasswordVerifier({ workers: 1, timeoutMs: 300 });
  const started = performance.now();
  // bcrypt cost 20 is minutes of work: only the time limit ends it.
  await rejects(verifier.verify(bcryptOfCost(20), "guess"), isBusy("timeout"));
  const elapsed = performance.now() - started;
  ok(elapsed >= 290 && elapsed < 5_000, `stopped after ${elapsed} ms`);
  equal(verifier.stats.timedOut, 1);
  equal(verifier.stats.workers, 0, "the stuck worker was terminated");
  equal(await verifier.verify(QUICK, "Hello world!"), true, "a new worker takes the next check");
});

Deno.test("PasswordVerifier.close() refuses running, waiting and later checks", async () => {
  const verifier = new PasswordVerifier({ workers: 1, maxQueue: 4 });
  const pending = [
    verifier.verify(bcryptOfCost(20), "a"),
    verifier.verify(bcryptOfCost(20), "b"),
    verifier.verify(QUICK, "Hello world!"),
  ];
  await waitUntil(() => verifier.stats.running === 1);
  await verifier.close();
  for (const check of pending) await rejects(check, isBusy("closed"));
  await rejects(verifier.verify(QUICK, "Hello world!"), isBusy("closed"));
  await rejects(verifier.hash("pw"), isBusy("closed"));
  deepEqual([verifier.stats.workers, verifier.stats.queued], [0, 0]);
  await verifier.close(); // idempotent
});

Deno.test("PasswordVerifier drops an aborted check from the queue", async () => {
  await using verifier = new PasswordVerifier({ workers: 1 });
  const running = verifier.verify(bcryptOfCost(10), "a");
  const controller = new AbortController();
  const queued = verifier.verify(QUICK, "Hello world!", { signal: controller.signal });
  equal(verifier.stats.queued, 1);
  controller.abort();
  await rejects(queued, isBusy("aborted"));
  equal(verifier.stats.queued, 0);
  equal(await running, false);
  equal(verifier.stats.completed, 1, "the aborted check never ran");
  await rejects(
    verifier.verify(QUICK, "Hello world!", { signal: AbortSignal.abort() }),
    isBusy("aborted"),
  );
});

Deno.test("PasswordVerifier answers an aborted running check at once and keeps the bound", async () => {
  await using verifier = new PasswordVerifier({ workers: 1, maxQueue: 0 });
  const controller = new AbortController();
  const running = verifier.verify(bcryptOfCost(11), "a", { signal: controller.signal });
  await waitUntil(() => verifier.stats.running === 1);
  controller.abort();
  await rejects(running, isBusy("aborted"));
  // The worker is still busy with it: the pool is still full.
  await rejects(verifier.verify(QUICK, "Hello world!"), isBusy("queue-full"));
  await waitUntil(() => verifier.stats.running === 0);
  equal(await verifier.verify(QUICK, "Hello world!"), true);
});

Deno.test("PasswordVerifier stops idle workers and starts them again on demand", async () => {
  await using verifier = new PasswordVerifier({ workers: 1, idleMs: 100 });
  equal(verifier.stats.workers, 0, "lazily started");
  equal(await verifier.verify(QUICK, "Hello world!"), true);
  equal(verifier.stats.workers, 1);
  await waitUntil(() => verifier.stats.workers === 0, 5_000);
  equal(await verifier.verify(QUICK, "Hello world!"), true);
  equal(verifier.stats.workers, 1);
});

Deno.test("PasswordVerifier with workers: 0 checks on the calling thread, one at a time", async () => {
  await using verifier = new PasswordVerifier({ workers: 0, maxQueue: 1 });
  const results = await Promise.allSettled([
    verifier.verify(QUICK, "Hello world!"),
    verifier.verify(QUICK, "hello world!"),
    verifier.verify(QUICK, "Hello world!"),
  ]);
  deepEqual(results.map((result) => result.status), ["fulfilled", "fulfilled", "rejected"]);
  deepEqual(
    results.slice(0, 2).map((result) => result.status === "fulfilled" && result.value),
    [true, false],
  );
  equal(verifier.stats.workers, 0);
});

Deno.test("PasswordVerifier refuses bad options", () => {
  for (const options of [{ workers: -1 }, { maxQueue: 1.5 }, { timeoutMs: Number.NaN }]) {
    let threw = false;
    try {
      new PasswordVerifier(options);
    } catch (error) {
      threw = error instanceof RangeError;
    }
    ok(threw, JSON.stringify(options));
  }
});
