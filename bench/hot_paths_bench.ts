/**
 * Micro-benchmarks of the pure functions every command or listing line goes through.
 *
 * Run: `deno bench bench/hot_paths_bench.ts`
 *
 * Per-iteration times are small; what matters is the change between two commits on one machine
 * (`deno bench --json` for a record to diff).
 *
 * @module
 */

import { parseCommand } from "../src/protocol/command.ts";
import { type ByteReader, LineReader } from "../src/protocol/line_reader.ts";
import { encodeReply } from "../src/protocol/reply.ts";
import { formatLsLine } from "../src/listing/ls.ts";
import { formatFacts, MLST_FACTS, type MlstFact } from "../src/listing/mlsx.ts";
import { resolvePath } from "../src/storage/vpath.ts";
import type { FileStat } from "../src/storage/storage.ts";

/** Keeps results alive so that the JIT cannot drop the work being measured. */
const sink = { value: 0 };

Deno.bench("parseCommand() short verb", { group: "command" }, () => {
  sink.value += parseCommand("NOOP")!.verb.length;
});

Deno.bench("parseCommand() verb and path", { group: "command", baseline: true }, () => {
  sink.value += parseCommand("retr pub/releases/ftpgate-0.1.0.tar.gz")!.arg.length;
});

Deno.bench("parseCommand() no verb", { group: "command" }, () => {
  sink.value += parseCommand(" leading space") === null ? 1 : 0;
});

/** A ByteReader over bytes in memory, returning them in reads of up to `readSize` bytes. */
class MemoryReader implements ByteReader {
  #offset = 0;
  constructor(readonly bytes: Uint8Array, readonly readSize = 16384) {}

  read(buffer: Uint8Array): Promise<number | null> {
    if (this.#offset >= this.bytes.length) return Promise.resolve(null);
    const n = Math.min(buffer.length, this.readSize, this.bytes.length - this.#offset);
    buffer.set(this.bytes.subarray(this.#offset, this.#offset + n));
    this.#offset += n;
    return Promise.resolve(n);
  }
}

const LINES = 1000;
const encoder = new TextEncoder();
const commands = ["NOOP", "EPSV", "TYPE I", "RETR pub/some file.bin", "REST 1048576", "PWD"];
const crlfText = Array.from({ length: LINES }, (_, i) => commands[i % commands.length] + "\r\n")
  .join("");
const crlfBytes = encoder.encode(crlfText);
const lfBytes = encoder.encode(crlfText.replaceAll("\r\n", "\n"));

async function readAll(bytes: Uint8Array): Promise<void> {
  const reader = new LineReader(new MemoryReader(bytes));
  let lines = 0;
  while ((await reader.readLine()) !== null) lines++;
  if (lines !== LINES) throw new Error(`read ${lines} lines, expected ${LINES}`);
  sink.value += lines;
}

Deno.bench(`LineReader ${LINES} CRLF lines`, { group: "lines", baseline: true }, async () => {
  await readAll(crlfBytes);
});

Deno.bench(`LineReader ${LINES} LF lines`, { group: "lines" }, async () => {
  await readAll(lfBytes);
});

Deno.bench(`LineReader ${LINES} lines, one byte per read`, { group: "lines" }, async () => {
  const reader = new LineReader(new MemoryReader(crlfBytes, 1));
  while ((await reader.readLine()) !== null) sink.value++;
});

const NOW = Date.parse("2026-11-22T00:00:00Z");
const recentFile: FileStat = {
  name: "ftpgate-0.1.0.tar.gz",
  type: "file",
  size: 12_345_678,
  mtime: new Date("2026-11-20T10:30:00Z"),
  mode: 0o644,
  id: "801g2a",
};
const oldDir: FileStat = {
  name: "archive",
  type: "dir",
  size: 4096,
  mtime: new Date("2024-03-01T08:00:00Z"),
  mode: 0o755,
  id: "801g2b",
};

Deno.bench("formatLsLine() recent file", { group: "listing", baseline: true }, () => {
  sink.value += formatLsLine(recentFile, NOW).length;
});

Deno.bench("formatLsLine() old directory", { group: "listing" }, () => {
  sink.value += formatLsLine(oldDir, NOW).length;
});

const allFacts: ReadonlySet<MlstFact> = new Set(MLST_FACTS);
const someFacts: ReadonlySet<MlstFact> = new Set(["type", "size"]);

Deno.bench("formatFacts() all facts", { group: "listing" }, () => {
  sink.value += formatFacts(recentFile, recentFile.name, allFacts, "adfrw", "entry").length;
});

Deno.bench("formatFacts() type and size", { group: "listing" }, () => {
  sink.value += formatFacts(recentFile, recentFile.name, someFacts, "r", "entry").length;
});

Deno.bench("resolvePath() relative name", { group: "path", baseline: true }, () => {
  sink.value += resolvePath("/pub/releases", "ftpgate-0.1.0.tar.gz").length;
});

Deno.bench("resolvePath() absolute path", { group: "path" }, () => {
  sink.value += resolvePath("/pub", "/home/alice/docs/report.pdf").length;
});

Deno.bench("resolvePath() dots and backslashes", { group: "path" }, () => {
  sink.value += resolvePath("/pub/a/b", "..\\..\\c/./d/../e.txt").length;
});

const featLines = [
  "Extensions supported:",
  "EPSV",
  "MLST type*;size*;modify*;",
  "REST STREAM",
  "End",
];

Deno.bench("encodeReply() single line", { group: "reply", baseline: true }, () => {
  sink.value += encodeReply(226, "Transfer complete.").length;
});

Deno.bench("encodeReply() multi-line", { group: "reply" }, () => {
  sink.value += encodeReply(211, featLines).length;
});
