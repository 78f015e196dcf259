import {
  deepEqual as assertEquals,
  ok as assert,
  throws as assertThrows,
} from "node:assert/strict";
import { FtpMetrics, verbLabel } from "../../src/ops/metrics.ts";
import { CONTENT_TYPE, escapeLabelValue, formatValue, Registry } from "../../src/ops/prometheus.ts";
import { parseExposition, sampleValue, TestHost } from "../ops/helpers.ts";

const promtool = (() => {
  try {
    return Deno.statSync("/usr/bin/promtool").isFile ? "/usr/bin/promtool" : null;
  } catch {
    return null;
  }
})();

/** `promtool check metrics` reads the exposition on stdin; exit 0 means valid (lint included). */
async function promtoolCheck(text: string): Promise<{ ok: boolean; output: string }> {
  const child = new Deno.Command(promtool!, {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { success, stdout, stderr } = await child.output();
  return {
    ok: success,
    output: new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr),
  };
}

Deno.test("Registry.render() writes HELP, TYPE, escaped labels and cumulative buckets", () => {
  const registry = new Registry();
  const counter = registry.counter({
    name: "test_things_total",
    help: "Things with a \\ backslash\nand a line feed.",
    labels: ["name"],
  });
  counter.labels('a "quoted" \\ value\nwith a line feed').inc(2);
  counter.labels("plain").inc();
  counter.labels("plain").inc(-5); // ignored: counters only go up
  registry.gauge({ name: "test_level", help: "A level." }).set(-1.5);
  const histogram = registry.histogram({
    name: "test_duration_seconds",
    help: "Durations.",
    labels: ["kind"],
    buckets: [0.1, 1, 10],
  });
  for (const v of [0.05, 0.1, 0.5, 5, 50]) histogram.labels("x").observe(v);
  const text = registry.render();
  assertEquals(
    text,
    [
      "# HELP test_things_total Things with a \\\\ backslash\\nand a line feed.",
      "# TYPE test_things_total counter",
      'test_things_total{name="a \\"quoted\\" \\\\ value\\nwith a line feed"} 2',
      'test_things_total{name="plain"} 1',
      "# HELP test_level A level.",
      "# TYPE test_level gauge",
      "test_level -1.5",
      "# HELP test_duration_seconds Durations.",
      "# TYPE test_duration_seconds histogram",
      'test_duration_seconds_bucket{kind="x",le="0.1"} 2',
      'test_duration_seconds_bucket{kind="x",le="1"} 3',
      'test_duration_seconds_bucket{kind="x",le="10"} 4',
      'test_duration_seconds_bucket{kind="x",le="+Inf"} 5',
      'test_duration_seconds_sum{kind="x"} 55.65',
      'test_duration_seconds_count{kind="x"} 5',
      "",
    ].join("\n"),
  );
  const parsed = parseExposition(text);
  assertEquals(
    sampleValue(parsed, "test_things_total", { name: 'a "quoted" \\ value\nwith a line feed' }),
    2,
  );
});

Deno.test("formatValue() and escapeLabelValue() follow the text format", () => {
  assertEquals(formatValue(Infinity), "+Inf");
  assertEquals(formatValue(-Infinity), "-Inf");
  assertEquals(formatValue(NaN), "NaN");
  assertEquals(formatValue(0.25), "0.25");
  assertEquals(escapeLabelValue('a\\b"c\nd'), '"a\\\\b\\"c\\nd"');
  assertEquals(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
});

Deno.test("Registry rejects bad names, reserved labels and unsorted buckets", () => {
  const registry = new Registry();
  assertThrows(() => registry.counter({ name: "1bad", help: "x" }), TypeError);
  assertThrows(() => registry.counter({ name: "ok_total", help: "x", labels: ["le"] }), TypeError);
  assertThrows(() => registry.counter({ name: "ok_total", help: "x", labels: ["__x"] }), TypeError);
  assertThrows(() => registry.histogram({ name: "h", help: "x", buckets: [1, 1] }), TypeError);
  registry.counter({ name: "dup_total", help: "x" });
  assertThrows(() => registry.counter({ name: "dup_total", help: "x" }), TypeError);
  assertThrows(
    () => registry.counter({ name: "two_total", help: "x", labels: ["a"] }).labels(),
    TypeError,
  );
});

Deno.test("FtpMetrics counts events by exact amounts and reads gauges from the snapshot", () => {
  const host = new TestHost();
  const metrics = new FtpMetrics(host);
  try {
    const s = host.open("192.0.2.1");
    host.login(s, "alice");
    host.login(s, "mallory", false);
    host.command(s, "RETR /a", 150);
    host.command(s, "RETR /a", 226);
    host.command(s, "HACKME now", 500);
    host.command(s, "hackme2", 500);
    const t = host.startTransfer(s, "STOR", "/up.bin");
    t.bytes = 1000;
    let scrape = parseExposition(metrics.render());
    // Bytes count while the transfer runs.
    assertEquals(sampleValue(scrape, "ftpgate_transfer_bytes_total", { direction: "in" }), 1000);
    assertEquals(sampleValue(scrape, "ftpgate_transfers_in_progress", { direction: "in" }), 1);
    t.bytes = 4096;
    host.endTransfer(s);
    // The transfer is over; a scrape right after the event cannot count it twice.
    host.transfers.set(s, { ...t });
    scrape = parseExposition(metrics.render());
    host.transfers.delete(s);
    assertEquals(sampleValue(scrape, "ftpgate_transfer_bytes_total", { direction: "in" }), 4096);
    const d = host.startTransfer(s, "RETR", "/a", 10);
    d.bytes = 10;
    host.endTransfer(s);
    host.startTransfer(s, "RETR", "/b", 10);
    host.endTransfer(s, "aborted");
    const l = host.startTransfer(s, "LIST", "/");
    l.bytes = 77;
    host.endTransfer(s);
    host.emit({ type: "ban", remote: "192.0.2.1", failures: 5, durationMs: 60_000 });
    host.emit({ type: "tls-handshake", channel: "control", ok: true, remote: "192.0.2.1" });
    host.emit({ type: "tls-handshake", channel: "data", ok: false, remote: "192.0.2.1" });
    host.emit({
      type: "storage-operation",
      backend: "local",
      operation: "stat",
      durationMs: 0.3,
      ok: true,
    });
    host.emit({
      type: "storage-operation",
      backend: "local",
      operation: "weird<op>",
      durationMs: 2,
      ok: false,
    });
    host.emit({
      type: "file-action",
      session: s,
      remote: "192.0.2.1",
      user: "alice",
      action: "delete",
      path: "/x",
      ok: true,
      code: 250,
    });
    host.passiveListeners = 2;
    host.draining = true;
    scrape = parseExposition(metrics.render());
    const v = (name: string, labels: Record<string, string> = {}) =>
      sampleValue(scrape, name, labels);
    assertEquals(v("ftpgate_sessions_open"), 1);
    assertEquals(v("ftpgate_sessions_total"), 1);
    assertEquals(v("ftpgate_logins_total", { result: "ok" }), 1);
    assertEquals(v("ftpgate_logins_total", { result: "failed" }), 1);
    assertEquals(v("ftpgate_commands_total", { verb: "RETR", class: "1xx" }), 1);
    assertEquals(v("ftpgate_commands_total", { verb: "RETR", class: "2xx" }), 1);
    assertEquals(v("ftpgate_commands_total", { verb: "other", class: "5xx" }), 2);
    assertEquals(v("ftpgate_transfer_bytes_total", { direction: "in" }), 4096);
    assertEquals(v("ftpgate_transfer_bytes_total", { direction: "out" }), 10);
    assertEquals(v("ftpgate_listing_bytes_total"), 77);
    assertEquals(v("ftpgate_transfers_total", { direction: "in", result: "ok" }), 1);
    assertEquals(v("ftpgate_transfers_total", { direction: "out", result: "ok" }), 1);
    assertEquals(v("ftpgate_transfers_total", { direction: "out", result: "aborted" }), 1);
    assertEquals(v("ftpgate_transfers_total", { direction: "list", result: "ok" }), 1);
    assertEquals(v("ftpgate_transfer_duration_seconds_count", { direction: "out" }), 2);
    assertEquals(
      v("ftpgate_transfer_duration_seconds_bucket", { direction: "out", le: "+Inf" }),
      2,
    );
    assertEquals(v("ftpgate_bans_total"), 1);
    assertEquals(v("ftpgate_tls_handshakes_total", { channel: "control", result: "ok" }), 1);
    assertEquals(v("ftpgate_tls_handshakes_total", { channel: "data", result: "failed" }), 1);
    assertEquals(
      v("ftpgate_storage_operation_duration_seconds_count", {
        backend: "local",
        operation: "stat",
      }),
      1,
    );
    assertEquals(
      v("ftpgate_storage_operation_failures_total", { backend: "local", operation: "other" }),
      1,
    );
    assertEquals(v("ftpgate_file_actions_total", { action: "delete", result: "ok" }), 1);
    assertEquals(v("ftpgate_passive_listeners_open"), 2);
    assertEquals(v("ftpgate_draining"), 1);
    assertEquals(v("ftpgate_build_info", { version: "0.1.0-test" }), 1);
    assertEquals(v("ftpgate_start_time_seconds"), host.startedAt / 1000);
  } finally {
    metrics.close();
  }
});

Deno.test("FtpMetrics bounds label cardinality: 1000 made-up verbs are one series", () => {
  const host = new TestHost();
  const metrics = new FtpMetrics(host);
  try {
    const s = host.open();
    for (let i = 0; i < 1000; i++) host.command(s, `X${i}`, 500);
    for (let i = 0; i < 50; i++) {
      host.emit({
        type: "storage-operation",
        backend: `backend${i}`,
        operation: "stat",
        durationMs: 1,
        ok: true,
      });
    }
    const scrape = parseExposition(metrics.render());
    const commandSeries = scrape.samples.filter((s) => s.name === "ftpgate_commands_total");
    assertEquals(commandSeries.length, 1);
    assertEquals(commandSeries[0].value, 1000);
    const backends = new Set(
      scrape.samples.filter((s) => s.name.startsWith("ftpgate_storage_operation_duration"))
        .map((s) => s.labels.backend),
    );
    assertEquals(backends.size, 9); // 8 named, then "other"
    assert(backends.has("other"));
    assertEquals(verbLabel("retr"), "other"); // events carry upper-cased verbs
  } finally {
    metrics.close();
  }
});

Deno.test({
  name: "promtool check metrics accepts ftpgate's exposition",
  ignore: promtool === null,
  async fn() {
    const host = new TestHost();
    const metrics = new FtpMetrics(host);
    try {
      const s = host.open();
      host.login(s, "alice");
      host.command(s, "STOR /x", 226);
      host.startTransfer(s, "STOR", "/x").bytes = 5;
      host.endTransfer(s);
      host.emit({
        type: "storage-operation",
        backend: "memory",
        operation: "write",
        durationMs: 1,
        ok: true,
      });
      metrics.counterFrom(
        "ftpgate_webhook_deliveries_total",
        "Webhook events by outcome.",
        "result",
        () => ({ ok: 1 }),
      );
      metrics.gaugeFrom("ftpgate_webhook_queue_length", "Webhook events waiting.", () => 0);
      const { ok, output } = await promtoolCheck(metrics.render());
      assert(ok, output);
      assertEquals(output.trim(), "");
      // And it is not a check that cannot fail:
      const bad = await promtoolCheck('# TYPE x counter\nx{a="1" 2\n');
      assert(!bad.ok);
    } finally {
      metrics.close();
    }
  },
});
