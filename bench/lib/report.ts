/**
 * Results: per-figure median and range over rounds, the table, machine info, the JSON file.
 *
 * @module
 */

import type { Figure } from "./metric.ts";
import { median } from "./metric.ts";

/** One figure over every round. */
export interface FigureResult {
  key: string;
  label: string;
  unit: string;
  values: number[];
  median: number;
  min: number;
  max: number;
}

/** One metric's outcome. */
export interface MetricResult {
  name: string;
  title: string;
  rounds: number;
  seconds: number;
  figures: FigureResult[];
  /** Why the metric stopped early, when it did (figures from completed rounds are kept). */
  error?: string;
  /** What the server wrote on stderr during the metric (warnings and errors). */
  serverLog?: string;
}

/** Groups the figures of every round by key, in first-seen order. */
export function summarize(rounds: Figure[][]): FigureResult[] {
  const byKey = new Map<string, FigureResult>();
  for (const figures of rounds) {
    for (const figure of figures) {
      let result = byKey.get(figure.key);
      if (!result) {
        result = { ...figure, values: [], median: 0, min: 0, max: 0 };
        byKey.set(figure.key, result);
      }
      result.values.push(figure.value);
    }
  }
  for (const result of byKey.values()) {
    result.median = median(result.values);
    result.min = Math.min(...result.values);
    result.max = Math.max(...result.values);
  }
  return [...byKey.values()];
}

/** The machine the figures come from. */
export interface MachineInfo {
  nproc: number;
  cpu: string;
  memory: string;
  kernel: string;
  deno: string;
  curl: string;
  gcc: string;
}

async function firstLine(command: string, args: string[]): Promise<string> {
  try {
    const output = await new Deno.Command(command, { args, stdout: "piped", stderr: "null" })
      .output();
    return new TextDecoder().decode(output.stdout).split("\n")[0].trim();
  } catch {
    return "(not found)";
  }
}

/** nproc, CPU model, memory, kernel and tool versions. */
export async function machineInfo(): Promise<MachineInfo> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const memKiB = Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? 0);
  return {
    nproc: Number(await firstLine("nproc", [])) || navigator.hardwareConcurrency,
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1].trim() ?? "unknown",
    memory: `${(memKiB / 1024 / 1024).toFixed(1)} GiB`,
    kernel: Deno.osRelease(),
    deno: `${Deno.version.deno} (V8 ${Deno.version.v8})`,
    curl: await firstLine("curl", ["--version"]),
    gcc: await firstLine("gcc", ["--version"]),
  };
}

/** A number with about three significant digits, the way a reader wants to compare them. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude >= 1000) return Math.round(value).toLocaleString("en-US");
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  return value.toPrecision(2);
}

/** The results table, as text. */
export function table(results: readonly MetricResult[]): string {
  const rows: string[][] = [["metric", "figure", "median", "min–max", "unit"]];
  for (const result of results) {
    let first = true;
    for (const figure of result.figures) {
      rows.push([
        first ? result.name : "",
        figure.label,
        formatNumber(figure.median),
        figure.values.length > 1 ? `${formatNumber(figure.min)}–${formatNumber(figure.max)}` : "",
        figure.unit,
      ]);
      first = false;
    }
    if (result.error) {
      rows.push([first ? result.name : "", `FAILED: ${result.error}`, "", "", ""]);
    }
  }
  const widths = rows[0].map((_, column) =>
    Math.max(...rows.filter((row) => row.length > 1).map((row) => cellWidth(row, column)))
  );
  const line = (row: string[]) =>
    row.map((cell, column) =>
      column === 2 || column === 3 ? cell.padStart(widths[column]) : cell.padEnd(widths[column])
    ).join("  ").trimEnd();
  const rule = widths.map((width) => "-".repeat(width)).join("  ");
  return [line(rows[0]), rule, ...rows.slice(1).map(line)].join("\n");
}

/** Width of a cell, ignoring FAILED messages (they may run past the table). */
function cellWidth(row: string[], column: number): number {
  return row[column].startsWith("FAILED: ") ? 0 : row[column].length;
}
