/**
 * What a metric is, and the helpers metrics share: the C client, curl, time limits.
 *
 * @module
 */

import type { FixtureName, Fixtures, Sizes } from "./fixtures.ts";
import { BenchError, run } from "./proc.ts";
import type { BenchServer } from "./server.ts";

/** One number a metric reports per round. */
export interface Figure {
  /** Stable key for --json. */
  key: string;
  /** Row label in the table. */
  label: string;
  unit: string;
  value: number;
}

/** Everything a metric round can use. */
export interface Context {
  /** The repository (cwd for `deno run main.ts`). */
  repo: string;
  /** Where the measured server's main.ts is (the repository, unless `--server-repo`). */
  serverRepo: string;
  /** Worker isolates of the server under test (1: a plain `deno run main.ts`). */
  workers: number;
  /** The temporary directory; the served root is `fixtures.root`, inside it. */
  tmp: string;
  fixtures: Fixtures;
  sizes: Sizes;
  /** Compiles the C client if it is missing; returns its path. */
  client(): Promise<string>;
  /** When the current metric's time is up (ms since epoch). */
  deadline: number;
  /**
   * Medians measured earlier in this run: the ceiling's by key, and every metric's as
   * `metric:key` (small-retr-b compares with `small-retr:files`).
   */
  ceilings: Map<string, number>;
  /** Prints a progress line. */
  say(line: string): void;
}

/** One benchmark metric; `--only` takes its name. */
export interface Metric {
  name: string;
  /** What it measures, for --help and the README. */
  title: string;
  /** Time limit for all its rounds, in seconds. */
  limitSeconds: number;
  needs: readonly FixtureName[];
  /** "metric": one server for all rounds; "round": a fresh one per round; "none": no server. */
  server: "metric" | "round" | "none";
  /** Flags added to the server's command line for this metric only (`--mode-z`). */
  serverFlags?: readonly string[];
  round(context: Context, server: BenchServer | null, round: number): Promise<Figure[]>;
}

/** Milliseconds left before the metric's deadline; throws when there are none. */
export function remaining(context: Context): number {
  const left = context.deadline - Date.now();
  if (left <= 0) throw new BenchError("time limit reached");
  return left;
}

/** Environment for the C client: its own alarm() just after our time limit. */
export function clientEnv(timeoutMs: number): Record<string, string> {
  return { FTPCLIENT_TIMEOUT: String(Math.ceil(timeoutMs / 1000) + 2) };
}

/** Runs the C client in `mode` (in the temporary directory unless `cwd`); returns its stdout. */
export async function client(
  context: Context,
  mode: string,
  args: string[],
  cwd = context.tmp,
): Promise<string> {
  const timeout = remaining(context);
  return await run(await context.client(), [mode, ...args], timeout, {
    cwd,
    env: clientEnv(timeout),
  });
}

/** The C client's arguments that log in to `server`. */
export function login(server: BenchServer): string[] {
  return [String(server.port), "bench", "bench"];
}

/** Runs curl with `-w '%{size_…} %{time_total}'`; returns the bytes and seconds it reports. */
export async function curl(
  context: Context,
  args: string[],
  direction: "download" | "upload",
): Promise<{ bytes: number; seconds: number }> {
  const timeout = remaining(context);
  const format = direction === "download"
    ? "%{size_download} %{time_total}"
    : "%{size_upload} %{time_total}";
  const out = await run("curl", [
    "-s",
    "-S",
    "-o",
    "/dev/null",
    "--max-time",
    String(Math.ceil(timeout / 1000)),
    "-w",
    format,
    ...args,
  ], timeout + 2000);
  const [bytes, seconds] = out.trim().split(/\s+/).map(Number);
  if (!(seconds > 0)) throw new BenchError(`curl reported "${out.trim()}"`);
  return { bytes, seconds };
}

/** Throws unless `actual` is what was expected: a figure from a short transfer is worthless. */
export function check(actual: number, expected: number, what: string): void {
  if (actual !== expected) throw new BenchError(`${what}: expected ${expected}, got ${actual}`);
}

/** Decimal megabytes per second. */
export function mbps(bytes: number, seconds: number): number {
  return bytes / 1e6 / seconds;
}

/** Median of a list of numbers (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Nearest-rank percentile (p in 0–100). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}
