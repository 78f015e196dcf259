/**
 * ftpgate benchmark: `deno task bench [--rounds N] [--only a,b] [--quick] [--json FILE]`.
 *
 * Starts ftpgate as a subprocess on a temporary root under /tmp, drives it with curl and a small
 * C client (bench/ftpclient.c, compiled into the temporary directory), and prints per metric the
 * median and the range over the rounds. Everything it starts and creates is removed at the end,
 * after an error, and on Ctrl-C. See bench/README.md for what each figure means.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Fixtures, FULL, QUICK } from "./lib/fixtures.ts";
import type { Context, Figure, Metric } from "./lib/metric.ts";
import { BenchError, liveChildren, run, stopAll } from "./lib/proc.ts";
import { formatNumber, machineInfo, type MetricResult, summarize, table } from "./lib/report.ts";
import { type BenchServer, startServer } from "./lib/server.ts";
import { SESSION_METRICS } from "./lib/sessions.ts";
import { TRANSFER_METRICS } from "./lib/transfers.ts";

const ORDER = [
  "ceiling",
  "retr",
  "stor",
  "rest",
  "small-retr",
  "small-retr-b",
  "small-stor",
  "mode-z",
  "list",
  "mlsd",
  "concurrent",
  "logins",
  "idle",
  "startup",
];
const METRICS: Metric[] = ORDER.map((name) =>
  [...TRANSFER_METRICS, ...SESSION_METRICS].find((metric) => metric.name === name)!
);

/** When the first SIGINT or SIGTERM arrived (0: none). */
let interruptedAt = 0;

function say(line: string): void {
  // deno-lint-ignore no-console
  console.log(line);
}

function fail(message: string): never {
  // deno-lint-ignore no-console
  console.error(`bench: ${message}`);
  Deno.exit(2);
}

interface Options {
  rounds: number;
  only: Metric[];
  quick: boolean;
  json: string | undefined;
  /** Workers of the server under test (`--workers N`, src/workers/pool.ts). */
  workers: number;
  /** Another checkout whose main.ts to measure (`--server-repo DIR`: before/after runs). */
  serverRepo: string | undefined;
}

function help(): string {
  const names = METRICS.map((metric) => `  ${metric.name.padEnd(12)} ${metric.title}`);
  return [
    "Usage: deno task bench [--rounds N] [--only NAME,...] [--quick] [--json FILE]",
    "",
    "  --rounds N      rounds per metric (default 3); the table shows median and min–max",
    "  --only NAMES    comma-separated metrics to run (default: all)",
    "  --quick         smaller files and shorter loops (a smoke test of the benchmark)",
    "  --json FILE     also write the results as JSON",
    "  --workers N     run the server with N worker isolates (default 1)",
    "  --server-repo D run the main.ts of checkout D (same harness, e.g. the commit before)",
    "",
    "Metrics, in the order they run:",
    ...names,
  ].join("\n");
}

function parseOptions(args: string[]): Options {
  let values;
  try {
    values = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        rounds: { type: "string", default: "3" },
        only: { type: "string" },
        quick: { type: "boolean", default: false },
        json: { type: "string" },
        workers: { type: "string", default: "1" },
        "server-repo": { type: "string" },
        help: { type: "boolean", default: false },
      },
    }).values;
  } catch (error) {
    fail(`${(error as Error).message}\n${help()}`);
  }
  if (values.help) {
    say(help());
    Deno.exit(0);
  }
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) fail(`--rounds: expected a whole number ≥ 1`);
  let only = METRICS;
  if (values.only !== undefined) {
    const names = values.only.split(",").map((name) => name.trim()).filter(Boolean);
    const unknown = names.filter((name) => !ORDER.includes(name));
    if (unknown.length > 0) fail(`--only: unknown metric ${unknown.join(", ")}\n${help()}`);
    only = METRICS.filter((metric) => names.includes(metric.name));
  }
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1) fail(`--workers: expected a whole number ≥ 1`);
  return {
    rounds,
    only,
    quick: values.quick,
    json: values.json,
    workers,
    serverRepo: values["server-repo"],
  };
}

/** Rejects once `ms` have passed; the returned function cancels the timer. */
function timeLimit(ms: number, what: string): { expired: Promise<never>; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BenchError(`${what}: time limit reached`)), ms);
  });
  // It may fire while nothing races it (between rounds): that must not be an unhandled rejection.
  expired.catch(() => {});
  return { expired, cancel: () => clearTimeout(timer) };
}

function describe(figures: Figure[]): string {
  return figures.map((figure) => `${figure.label} ${formatNumber(figure.value)} ${figure.unit}`)
    .join(", ");
}

async function runMetric(metric: Metric, context: Context, rounds: number): Promise<MetricResult> {
  const started = performance.now();
  const result: MetricResult = {
    name: metric.name,
    title: metric.title,
    rounds: 0,
    seconds: 0,
    figures: [],
  };
  const perRound: Figure[][] = [];
  let serverLog = "";
  let server: BenchServer | null = null;
  const startFor = async () =>
    await startServer(
      context.serverRepo,
      context.fixtures.root,
      context.workers,
      metric.serverFlags,
    );
  const stopServer = async () => {
    if (!server) return;
    serverLog += server.stderr();
    const crashed = server.exited();
    await server.stop();
    server = null;
    if (crashed) throw new BenchError("ftpgate exited on its own during the metric");
  };
  for (const line of await context.fixtures.ensure(metric.needs)) say(`  created ${line}`);
  context.deadline = Date.now() + metric.limitSeconds * 1000;
  const limit = timeLimit(metric.limitSeconds * 1000 + 2000, metric.name);
  try {
    if (metric.server === "metric") server = await startFor();
    for (let round = 1; round <= rounds; round++) {
      // Write-back of what earlier rounds and fixtures wrote (GiBs) must not land inside this
      // round's measurement: STOR figures swing by 3× without it.
      await run("sync", [], 60_000);
      if (metric.server === "round") server = await startFor();
      const figures = await Promise.race([metric.round(context, server, round), limit.expired]);
      if (server && (server as BenchServer).exited()) {
        throw new BenchError("ftpgate exited on its own during the round");
      }
      if (metric.server === "round") await stopServer();
      perRound.push(figures);
      say(`  round ${round}/${rounds}: ${describe(figures)}`);
    }
    await stopServer();
  } catch (error) {
    result.error = interruptedAt !== 0
      ? "interrupted"
      : error instanceof Error
      ? error.message
      : String(error);
    say(`  FAILED: ${result.error}`);
    await stopServer().catch(() => {});
    await stopAll(); // whatever the failed round left running
  } finally {
    limit.cancel();
  }
  result.rounds = perRound.length;
  result.figures = summarize(perRound);
  result.seconds = (performance.now() - started) / 1000;
  if (serverLog.trim()) {
    result.serverLog = serverLog.trim();
    say(`  ftpgate wrote on stderr:\n${indent(serverLog.trim())}`);
  }
  return result;
}

function indent(text: string): string {
  const lines = text.split("\n");
  const shown = lines.slice(0, 20).map((line) => `    ${line}`);
  if (lines.length > 20) shown.push(`    … ${lines.length - 20} more lines`);
  return shown.join("\n");
}

async function main(): Promise<number> {
  const options = parseOptions(Deno.args);
  const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const sizes = options.quick ? QUICK : FULL;
  const tmp = await Deno.makeTempDir({ dir: "/tmp", prefix: "ftpgate-bench-" });
  let cleaned: Promise<void> | undefined;
  const cleanup = () =>
    cleaned ??= (async () => {
      await stopAll();
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    })();
  // Ctrl-C: stop the clients and the server, so the running metric fails at once, then print
  // what was measured and clean up. `deno task` passes the signal on to us besides the terminal
  // sending it, so a second one within a second is the same Ctrl-C; a later one exits at once.
  const onSignal = async () => {
    if (interruptedAt === 0) {
      interruptedAt = Date.now();
      say("\ninterrupted: stopping ftpgate and the clients (Ctrl-C again to exit at once)");
      await stopAll();
    } else if (Date.now() - interruptedAt > 1000) {
      await cleanup();
      Deno.exit(130);
    }
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    const root = `${tmp}/root`;
    await Deno.mkdir(root);
    const binary = `${tmp}/ftpclient`;
    const context: Context = {
      repo,
      serverRepo: options.serverRepo ?? repo,
      workers: options.workers,
      tmp,
      fixtures: new Fixtures(root, sizes),
      sizes,
      deadline: 0,
      ceilings: new Map(),
      say,
      async client() {
        const exists = await Deno.stat(binary).then(() => true, () => false);
        if (!exists) {
          const source = `${repo}/bench/ftpclient.c`;
          // zlib for MODE Z (zlib1g-dev); without it every mode but `retrz Z` still works.
          await run("gcc", ["-O2", "-pthread", "-o", binary, source, "-lz"], 60_000).catch(
            async () => {
              say("warning: no zlib (apt-get install zlib1g-dev): mode-z will fail");
              await run(
                "gcc",
                ["-O2", "-pthread", "-DFTPCLIENT_NO_ZLIB", "-o", binary, source],
                60_000,
              );
            },
          );
        }
        return binary;
      },
    };
    await context.client();
    const machine = await machineInfo();
    say(
      `ftpgate benchmark: ${options.rounds} round(s)${options.quick ? ", --quick" : ""}, in ${tmp}`,
    );
    const started = performance.now();
    const results: MetricResult[] = [];
    for (const metric of options.only) {
      if (interruptedAt !== 0) break;
      say(`${metric.name}: ${metric.title}`);
      const result = await runMetric(metric, context, options.rounds);
      results.push(result);
      if (metric.name === "ceiling") {
        for (const figure of result.figures) context.ceilings.set(figure.key, figure.median);
      }
      // Later metrics compare with earlier ones (small-retr-b with small-retr): `name:key`.
      for (const figure of result.figures) {
        context.ceilings.set(`${metric.name}:${figure.key}`, figure.median);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    say("");
    say(table(results));
    say("");
    say(
      `machine: ${machine.nproc} CPUs, ${machine.cpu}, ${machine.memory} RAM, Linux ${machine.kernel}`,
    );
    say(`tools:   deno ${machine.deno}; ${machine.curl.split(" (")[0]}; ${machine.gcc}`);
    say(
      `run:     ${options.rounds} round(s) per metric${options.quick ? " (--quick sizes)" : ""}, ${
        seconds.toFixed(0)
      } s in all`,
    );
    if (options.json !== undefined) {
      const report = {
        date: new Date().toISOString(),
        machine,
        options: { rounds: options.rounds, quick: options.quick },
        sizes,
        seconds,
        results,
      };
      await Deno.writeTextFile(options.json, JSON.stringify(report, null, 2) + "\n");
      say(`results written to ${options.json}`);
    }
    if (interruptedAt !== 0) return 130;
    return results.some((result) => result.error) ? 1 : 0;
  } finally {
    await cleanup();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    if (liveChildren() > 0) say(`warning: ${liveChildren()} child process(es) still running`);
  }
}

if (import.meta.main) Deno.exit(await main());
