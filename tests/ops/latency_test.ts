/**
 * A dead webhook receiver must not delay FTP replies. Measured on a real server: NOOP round
 * trips from a raw client, first with no ops attached, then with a webhook pointed at a receiver
 * that accepts connections and never answers (or one that answers 500 at once, so that the
 * webhook keeps retrying), while every command produces an event.
 *
 * Each round also emits one login event (an activity the webhook posts) on the server's own
 * event hub once it has one (`server.events`), else on a hub of the test's, on the same event
 * loop as the server: the webhook always has more to send than the receiver takes.
 */

import { ok } from "node:assert/strict";
import type { EventHub } from "../../src/events.ts";
import { Webhook } from "../../src/ops/webhook.ts";
import { startTestServer } from "../../src/testing.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { report, until } from "./helpers.ts";

const ROUNDS = 300;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function noopLatencies(client: RawClient, emit: () => void): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const started = performance.now();
    emit();
    await client.expect("NOOP", 200);
    out.push(performance.now() - started);
  }
  return out;
}

/** Emits one login event (an activity the webhook posts) on `events` per call. */
function loginEmitter(events: EventHub): () => void {
  return () =>
    events.emit({
      type: "login",
      session: 1,
      remote: "127.0.0.1",
      user: "test",
      ok: true,
      anonymous: false,
      secure: false,
    });
}

/**
 * Logs `client` in, warms up, and measures the NOOP latencies with no webhook attached; the
 * emitter goes on emitting one login event a round for the measurements that follow.
 */
async function baselineLatencies(
  client: RawClient,
  login: { user: string; password: string },
  events: EventHub,
): Promise<{ emit: () => void; baseline: number[] }> {
  await client.login(login.user, login.password);
  const emit = loginEmitter(events);
  await noopLatencies(client, emit); // warm up
  return { emit, baseline: await noopLatencies(client, emit) };
}

function latencyLine(name: string, v: number[]): string {
  return `${name}: p50 ${percentile(v, 0.5).toFixed(3)} ms, p99 ${
    percentile(v, 0.99).toFixed(3)
  } ms`;
}

/** Reports the baseline latencies and those measured with the webhook named `name`. */
function reportLatencies(baseline: number[], name: string, measured: number[]): void {
  report(`NOOP reply latency over ${ROUNDS} round trips, one event each`);
  report(latencyLine("  no webhook        ", baseline));
  report(latencyLine(`  ${name}`, measured));
}

/** The median grew by less than a millisecond over the baseline, and p99 stayed under 50 ms. */
function assertNotDelayed(baseline: number[], measured: number[]): void {
  ok(
    percentile(measured, 0.5) < percentile(baseline, 0.5) + 1,
    "median reply latency grew by a millisecond or more",
  );
  ok(percentile(measured, 0.99) < 50);
}

Deno.test("A hanging webhook receiver does not delay FTP replies (NOOP latency, measured)", async () => {
  await using ftp = startTestServer({ storage: "memory" });
  // The server's own hub: the emitting happens where the server's events are emitted.
  const events = ftp.server.events;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of listener) held.push(conn);
    } catch { /* closed */ }
  })();
  const client = await RawClient.connect(ftp.port);
  let hook: Webhook | undefined;
  try {
    const { emit, baseline } = await baselineLatencies(client, ftp, events);
    hook = new Webhook(events, {
      url: `http://127.0.0.1:${listener.addr.port}/`,
      timeoutMs: 60_000,
      maxQueue: 100,
    });
    emit();
    await until(() => held.length > 0, 5000, "the webhook request to hang");
    const dead = await noopLatencies(client, emit);
    reportLatencies(baseline, "hanging webhook   ", dead);
    report(`  webhook queue ${hook.queueLength}, dropped ${hook.stats.dropped}`);
    ok(hook.stats.dropped > 0, "the queue filled and dropped, so the receiver really hung");
    assertNotDelayed(baseline, dead);
  } finally {
    client.close();
    await hook?.close(0);
    listener.close();
    await accepting;
    for (const conn of held) conn.close();
  }
});

Deno.test("A webhook receiver answering 500 does not delay FTP replies (NOOP latency, measured)", async () => {
  await using ftp = startTestServer({ storage: "memory" });
  const events = ftp.server.events;
  let answered = 0;
  // Fails every request at once: the webhook retries with almost no back-off, so it is busy
  // posting on the server's event loop all the while (the worst case of a failing receiver).
  await using receiver = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      await request.body?.cancel();
      answered++;
      return new Response("boom", { status: 500 });
    },
  );
  const client = await RawClient.connect(ftp.port);
  let hook: Webhook | undefined;
  try {
    const { emit, baseline } = await baselineLatencies(client, ftp, events);
    hook = new Webhook(events, {
      url: `http://127.0.0.1:${receiver.addr.port}/`,
      maxQueue: 100,
      maxAttempts: 3,
      backoffMs: 1,
      maxBackoffMs: 5,
    });
    emit();
    await until(() => answered > 0, 5000, "the receiver to answer 500");
    const failing = await noopLatencies(client, emit);
    reportLatencies(baseline, "webhook 500       ", failing);
    report(
      `  receiver answered 500 ${answered} times; failed ${hook.stats.failed}, ` +
        `retries ${hook.stats.retries}, dropped ${hook.stats.dropped}`,
    );
    ok(hook.stats.retries > 0 && hook.stats.failed > 0, "the webhook retried and gave up");
    assertNotDelayed(baseline, failing);
  } finally {
    client.close();
    await hook?.close(0);
  }
});
