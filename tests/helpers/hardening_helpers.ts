/**
 * Helpers for the hardening tests (attacks, faults, limits, load, shutdown): canary files
 * outside the root, a logged-in raw client, "still serves" checks, memory readings, a seeded
 * PRNG, a helper that connects from another loopback address (Python, since Deno cannot bind a
 * source address), and the CLI as a subprocess.
 *
 * @module
 */

import { deepEqual, equal, ok } from "node:assert/strict";
import { loginAs, type RawClient, type Reply } from "./raw_client.ts";
import { PASSWORD, USER } from "./server.ts";
import { drain, sleep, text, withTimeout } from "./protocol_helpers.ts";
import { hasCommand } from "./tools.ts";

export const KiB = 1024;
export const MiB = 1024 * 1024;

/** Says something in the test log that must not go unnoticed (a skip, a scaled-down limit). */
export function loud(message: string): void {
  // deno-lint-ignore no-console
  console.warn(`[hardening] ${message}`);
}

/** Prints a measured number into the test log. */
export function report(message: string): void {
  // deno-lint-ignore no-console
  console.log(`[measure] ${message}`);
}

// ---------------------------------------------------------------------------------------------
// Canaries
// ---------------------------------------------------------------------------------------------

/** Content of the canary file; it must never appear in any reply or data stream. */
export const CANARY_CONTENT = "CANARY-7f3e1a-hardening never serve this";
export const CANARY_FILE = "canary-secret-41d9.txt";
export const CANARY_DIR = "canary-dir-c0de";
export const CANARY_HIDDEN = "canary-hidden-aa17.txt";
export const CANARY_HIDDEN_CONTENT = "HIDDEN-CANARY-5e2b";

interface EntrySnapshot {
  kind: "file" | "dir" | "symlink";
  content?: string;
  mode: number;
  mtime: number;
  ino: number;
}

/**
 * A directory outside every root with a canary file and a canary directory. `assertIntact`
 * compares every entry under it (names, contents, modes, mtimes, inodes) with the state at
 * creation, so any write, chmod, utime, rename, creation or deletion is caught.
 */
export class Canary implements Disposable {
  readonly base: string;
  readonly file: string;
  readonly dir: string;
  readonly #snapshot: Map<string, EntrySnapshot>;

  /** @param base an existing directory to use (default: a new temporary one). */
  constructor(base?: string) {
    this.base = base ?? Deno.realPathSync(Deno.makeTempDirSync({ prefix: "ftpgate-canary-" }));
    this.file = `${this.base}/${CANARY_FILE}`;
    this.dir = `${this.base}/${CANARY_DIR}`;
    Deno.writeTextFileSync(this.file, CANARY_CONTENT);
    Deno.chmodSync(this.file, 0o640);
    const old = new Date("2011-11-11T11:11:11Z");
    Deno.utimeSync(this.file, old, old);
    Deno.mkdirSync(this.dir);
    Deno.writeTextFileSync(`${this.dir}/${CANARY_HIDDEN}`, CANARY_HIDDEN_CONTENT);
    Deno.writeTextFileSync(`${this.dir}/known.txt`, CANARY_CONTENT);
    Deno.utimeSync(this.dir, old, old);
    this.#snapshot = snapshot(this.base);
  }

  /** The base directory's name (for attacks that climb to it through a symlink). */
  get baseName(): string {
    return this.base.slice(this.base.lastIndexOf("/") + 1);
  }

  /** Asserts that nothing under the canary directory was created, changed or removed. */
  assertIntact(context = ""): void {
    const now = snapshot(this.base);
    deepEqual(
      [...now.keys()].sort(),
      [...this.#snapshot.keys()].sort(),
      `entries outside the root changed ${context}`,
    );
    for (const [path, before] of this.#snapshot) {
      deepEqual(now.get(path), before, `${path} changed ${context}`);
    }
  }

  /** Texts that must never appear in anything the server sends. */
  secrets(extra: string[] = []): string[] {
    return [CANARY_CONTENT, CANARY_HIDDEN_CONTENT, CANARY_HIDDEN, ...extra];
  }

  /** Asserts that none of the secrets appears in `said`. */
  assertNotRevealed(said: string, extra: string[] = [], context = ""): void {
    for (const secret of this.secrets(extra)) {
      ok(!said.includes(secret), `the server revealed ${JSON.stringify(secret)} ${context}`);
    }
  }

  [Symbol.dispose](): void {
    Deno.removeSync(this.base, { recursive: true });
  }
}

function snapshot(base: string): Map<string, EntrySnapshot> {
  const out = new Map<string, EntrySnapshot>();
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(dir)) {
      const path = `${dir}/${entry.name}`;
      const info = Deno.lstatSync(path);
      const kind = info.isSymlink ? "symlink" : info.isDirectory ? "dir" : "file";
      out.set(path, {
        kind,
        ...(kind === "file" ? { content: Deno.readTextFileSync(path) } : {}),
        mode: (info.mode ?? 0) & 0o7777,
        mtime: info.mtime?.getTime() ?? 0,
        ino: info.ino ?? 0,
      });
      if (kind === "dir") walk(path);
    }
  };
  walk(base);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------

/**
 * Swaps the directory `d` with a symlink to the canary directory and back, for `ms`: a
 * directory cannot be renamed over a symlink, so it takes two renames each way (what a local
 * user with write access to the root can do).
 */
export const DIR_SWAPPER = `
const root = Deno.env.get("ROOT"), canary = Deno.env.get("CANARY");
const end = Date.now() + Number(Deno.env.get("MS"));
let swaps = 0;
while (Date.now() < end) {
  Deno.renameSync(root + "/d", root + "/.d-real");
  Deno.symlinkSync(canary, root + "/d");
  Deno.removeSync(root + "/d");
  Deno.renameSync(root + "/.d-real", root + "/d");
  swaps++;
}
console.log(swaps);
`;

/** A `deno eval` script racing the server from another process: {@linkcode startSwapper}. */
export interface Swapper {
  /** True until the script has exited. */
  readonly running: boolean;
  /** The script's exit and output (stdout and stderr piped). */
  readonly output: Promise<Deno.CommandOutput>;
}

/** Runs `script` with `deno eval` in another process, with `env` (and `NO_COLOR=1`). */
export function startSwapper(script: string, env: Record<string, string>): Swapper {
  const output = new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    env: { ...env, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn().output();
  let running = true;
  output.finally(() => (running = false));
  return {
    get running() {
      return running;
    },
    output,
  };
}

/** Connects, logs in as the test user and switches to TYPE I. */
export function loginBinary(port: number, host = "127.0.0.1"): Promise<RawClient> {
  return loginAs(port, USER, PASSWORD, host);
}

/** What a data command produced. */
export interface DataResult {
  /** The final code: the refusal, or the reply after the transfer. */
  code: number;
  /** Every reply line, for "never revealed" checks. */
  said: string;
  data: Uint8Array;
}

/**
 * EPSV, then `line`; uploads `upload` or downloads whatever comes. Never throws for a refusal:
 * returns its code.
 */
export async function dataCommand(
  c: RawClient,
  line: string,
  upload?: Uint8Array,
): Promise<DataResult> {
  const data = await c.epsv();
  const first = await c.command(line);
  if (first.code !== 150 && first.code !== 125) {
    data.close();
    return { code: first.code, said: first.lines.join("\n"), data: new Uint8Array() };
  }
  let received: Uint8Array = new Uint8Array();
  if (upload) {
    try {
      await writeAll(data, upload);
    } catch {
      /* the server may close early (disk full, refusal) */
    } finally {
      try {
        data.close();
      } catch { /* closed */ }
    }
  } else {
    received = await drain(data);
  }
  const last = await c.read();
  return {
    code: last.code,
    said: [...first.lines, ...last.lines].join("\n") + "\n" + text(received),
    data: received,
  };
}

/**
 * STOR of `size` bytes as `name`; returns the final code: the refusal's, or the reply that ends
 * the transfer (552 for an upload past a quota).
 */
export async function storCode(c: RawClient, name: string, size: number): Promise<number> {
  return (await dataCommand(c, `STOR ${name}`, new TextEncoder().encode("z".repeat(size)))).code;
}

/**
 * Proves the server still works: a fresh session logs in and downloads `path`, which must be
 * byte for byte `expected`.
 */
export async function assertStillServes(
  port: number,
  path: string,
  expected: Uint8Array | string,
): Promise<void> {
  const bytes = typeof expected === "string" ? new TextEncoder().encode(expected) : expected;
  await using c = await withTimeout(loginBinary(port), 5_000, "a fresh login");
  const got = await withTimeout(c.download(`RETR ${path}`), 20_000, `RETR ${path}`);
  equal(got.length, bytes.length, `RETR ${path}: length`);
  ok(equalBytes(got, bytes), `RETR ${path}: content differs`);
  await c.expect("QUIT", 221);
}

/** Byte equality without building a huge assertion diff. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when `needle` occurs in `haystack`. */
export function containsBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  if (needle.length === 0) return true;
  outer: for (
    let i = haystack.indexOf(needle[0]);
    i !== -1;
    i = haystack.indexOf(needle[0], i + 1)
  ) {
    if (i + needle.length > haystack.length) return false;
    for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** All reply lines of some replies, one string. */
export function said(replies: readonly Reply[]): string {
  return replies.flatMap((reply) => reply.lines).join("\n");
}

/** Reads the `bytes transferred` figure from a STAT reply during a transfer (213). */
export async function transferredBytes(c: RawClient): Promise<number> {
  const reply = await c.command("STAT");
  const match = /(\d+) bytes transferred/.exec(reply.text);
  if (reply.code !== 213 || !match) throw new Error(`unexpected STAT: ${reply.lines.join(" | ")}`);
  return Number(match[1]);
}

/** Reads a data connection slowly: `chunk` bytes, then a pause, until the end. */
export async function readSlowly(
  conn: Deno.Conn,
  chunk: number,
  pauseMs: number,
  timeoutMs = 30_000,
): Promise<Uint8Array> {
  const deadline = Date.now() + timeoutMs;
  const parts: Uint8Array[] = [];
  const buffer = new Uint8Array(chunk);
  let total = 0;
  try {
    for (;;) {
      if (Date.now() > deadline) throw new Error("slow read timed out");
      const n = await conn.read(buffer);
      if (n === null) break;
      parts.push(buffer.slice(0, n));
      total += n;
      await sleep(pauseMs);
    }
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Lists a directory's entry names, sorted. */
export function names(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((entry) => entry.name).sort();
}

/** Creates a file of `size` bytes quickly (sparse: reads return zeros). */
export function sparseFile(path: string, size: number): void {
  using file = Deno.openSync(path, { write: true, create: true, truncate: true });
  file.truncateSync(size);
}

// ---------------------------------------------------------------------------------------------
// Memory
// ---------------------------------------------------------------------------------------------

/** Resident set size of this process, in bytes. */
export function rss(): number {
  return Deno.memoryUsage().rss;
}

/** VmRSS of another process from /proc, in bytes; NaN when unreadable. */
export function processRss(pid: number): number {
  return procStatusBytes(pid, "VmRSS");
}

/** VmHWM (peak resident set size) of another process from /proc, in bytes; NaN when unreadable. */
export function processPeakRss(pid: number): number {
  return procStatusBytes(pid, "VmHWM");
}

/** A `kB` line of /proc/PID/status, in bytes; NaN when unreadable. */
function procStatusBytes(pid: number, field: "VmRSS" | "VmHWM"): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(status);
    return match ? Number(match[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Bytes as MiB with one decimal. */
export function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

/**
 * Samples a process's RSS (this one by default) every `intervalMs` until stopped; returns the
 * peak. Note that `deno test --parallel` runs test files as workers of one process, so this
 * process's RSS includes whatever other test files allocate meanwhile: measure a server that
 * runs in its own process ({@linkcode ServerProcess}) when the number is asserted.
 */
export function rssSampler(pid?: number, intervalMs = 20): { stop(): number } {
  const read = () => (pid === undefined ? rss() : processRss(pid));
  let peak = read();
  const timer = setInterval(() => (peak = Math.max(peak, read())), intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, read());
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Randomness
// ---------------------------------------------------------------------------------------------

/** mulberry32: a small seeded PRNG; returns floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------
// Other loopback addresses
// ---------------------------------------------------------------------------------------------

/** True when this host can listen on `hostname` (e.g. 127.0.0.2). */
export function canListenOn(hostname: string): boolean {
  try {
    Deno.listen({ hostname, port: 0 }).close();
    return true;
  } catch {
    return false;
  }
}

const PY_HELPER = String.raw`
import json, socket, struct, sys, time
mode = sys.argv[1]
if mode == "connect-from":
    source, host, port, timeout = sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    s = socket.socket()
    s.settimeout(timeout)
    try:
        s.bind((source, 0))
        s.connect((host, port))
    except Exception as e:
        print(json.dumps({"connected": False, "error": str(e)}))
        sys.exit(0)
    total, eof, head = 0, False, b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                eof = True
                break
            total += len(chunk)
            head = (head + chunk)[:200]
    except socket.timeout:
        pass
    except ConnectionResetError:
        eof = True
    s.close()
    print(json.dumps({"connected": True, "bytes": total, "eof": eof, "head": head.decode("latin-1")}))
elif mode == "upload-rst":
    host, port, size = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    payload = sys.stdin.buffer.read(size)
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(payload)
    print("sent", flush=True)
    sys.stdin.buffer.readline()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    print("reset", flush=True)
`;
import { writeAll } from "../../src/io.ts";

/** True when python3 is installed (the helper that binds a source address). */
export function hasPython(): boolean {
  return hasCommand("python3");
}

/** What a connection from another source address saw. */
export interface StrangerResult {
  connected: boolean;
  bytes?: number;
  eof?: boolean;
  head?: string;
  error?: string;
}

/**
 * Connects from `source` (e.g. 127.0.0.2) to host:port and reads until the end or `timeoutS`.
 * Python, because Deno cannot choose the source address of a connection.
 */
export async function connectFrom(
  source: string,
  host: string,
  port: number,
  timeoutS = 3,
): Promise<StrangerResult> {
  const output = await runPython(
    ["connect-from", source, host, String(port), String(timeoutS)],
    (timeoutS + 5) * 1000,
  );
  return JSON.parse(output.trim().split("\n").at(-1)!);
}

async function runPython(args: string[], timeoutMs: number): Promise<string> {
  const child = new Deno.Command("python3", {
    args: ["-c", PY_HELPER, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, timeoutMs);
  try {
    const output = await child.output();
    const out = new TextDecoder().decode(output.stdout);
    if (!output.success) {
      throw new Error(`python helper failed: ${new TextDecoder().decode(output.stderr)}`);
    }
    return out;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * An upload over a data connection that ends with a TCP reset instead of a clean close (what a
 * crashed or killed client leaves): `send()` sends the payload, `reset()` sends the RST.
 */
export class ResettingUpload implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: ReadableStreamDefaultReader<string>;
  #buffer = "";

  readonly payload: Uint8Array;

  constructor(host: string, port: number, payload: Uint8Array) {
    this.payload = payload;
    this.#child = new Deno.Command("python3", {
      args: ["-c", PY_HELPER, "upload-rst", host, String(port), String(payload.length)],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#lines = this.#child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  }

  async #expectLine(word: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!this.#buffer.includes(word + "\n")) {
      const { value, done } = await withTimeout(
        this.#lines.read(),
        Math.max(1, deadline - Date.now()),
        `python: ${word}`,
      );
      if (done) throw new Error(`python helper ended before "${word}"`);
      this.#buffer += value;
    }
  }

  /** Connects and sends the whole payload. */
  async send(): Promise<void> {
    await this.#writer.write(this.payload);
    await this.#expectLine("sent");
  }

  /** Closes the connection with RST (SO_LINGER 0). */
  async reset(): Promise<void> {
    await this.#writer.write(new TextEncoder().encode("rst\n"));
    await this.#expectLine("reset");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#writer.close().catch(() => {});
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* exited */ }
    }, 5_000);
    try {
      for (;;) {
        const { done } = await this.#lines.read();
        if (done) break;
      }
      await this.#child.status;
    } finally {
      clearTimeout(timer);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The CLI as a subprocess
// ---------------------------------------------------------------------------------------------

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/**
 * Serves `root` with the CLI in its own process, with the test user of `startServer` (so
 * {@linkcode loginBinary} and {@linkcode assertStillServes} work) and quiet logs.
 */
export function startServerProcess(
  root: string,
  extra: string[] = [],
  denoFlags: readonly string[] = [],
): Promise<ServerProcess & { port: number }> {
  return ServerProcess.start([
    "--root",
    root,
    "--port",
    "0",
    "--user",
    `${USER}:${PASSWORD}`,
    "--log-level",
    "error",
    ...extra,
  ], denoFlags);
}

/** ftpgate's main.ts running as a child process. */
export class ServerProcess implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly pid: number;
  #stdout = "";
  #stderr = "";
  readonly #done: Promise<Deno.CommandStatus>;

  private constructor(child: Deno.ChildProcess) {
    this.child = child;
    this.pid = child.pid;
    const collect = async (stream: ReadableStream<Uint8Array>, into: "out" | "err") => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        if (into === "out") this.#stdout += chunk;
        else this.#stderr = (this.#stderr + chunk).slice(-20_000);
      }
    };
    const out = collect(child.stdout, "out");
    const err = collect(child.stderr, "err");
    this.#done = Promise.all([child.status, out, err]).then(([status]) => status);
  }

  /**
   * Starts `deno run -A DENO_FLAGS main.ts ARGS --ready-file -` and waits for the JSON ready
   * line. The port is in `port`.
   */
  static async start(
    args: string[],
    denoFlags: readonly string[] = [],
  ): Promise<ServerProcess & { port: number }> {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-prompt", ...denoFlags, MAIN, ...args, "--ready-file", "-"],
      env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const server = new ServerProcess(child);
    try {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const line = server.#stdout.split("\n").find((l) => l.startsWith("{"));
        if (line) {
          const ready = JSON.parse(line) as { port: number };
          return Object.assign(server, { port: ready.port });
        }
        if (Date.now() > deadline) throw new Error(`no ready line:\n${server.#stderr}`);
        const exited = await Promise.race([server.#done.then(() => true), sleep(20)]);
        if (exited) throw new Error(`ftpgate exited before its ready line:\n${server.#stderr}`);
      }
    } catch (error) {
      await server[Symbol.asyncDispose]();
      throw error;
    }
  }

  /** VmRSS of the server process. */
  get rss(): number {
    return processRss(this.pid);
  }

  get stderr(): string {
    return this.#stderr;
  }

  kill(signal: Deno.Signal): void {
    try {
      this.child.kill(signal);
    } catch { /* exited */ }
  }

  /** Waits for the exit, at most `timeoutMs` (then SIGKILL and throw). */
  async exited(timeoutMs: number): Promise<Deno.CommandStatus> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    try {
      const result = await Promise.race([this.#done, timeout]);
      if (result === "timeout") {
        this.kill("SIGKILL");
        await this.#done;
        throw new Error(`ftpgate did not exit within ${timeoutMs} ms:\n${this.#stderr}`);
      }
      return result;
    } finally {
      clearTimeout(timer);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.kill("SIGKILL");
    await this.#done;
  }
}
