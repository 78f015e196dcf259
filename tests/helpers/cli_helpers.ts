/**
 * Runs the ftpgate command line (`deno run ... main.ts`) as a child process for a test: waits for
 * its JSON ready line on stdout, keeps everything it prints, stops it with a signal, and always
 * reaps it, so that the sanitizers see no leaked process or pipe. Also: thin basic-ftp wrappers
 * (connect from a target or an `ftp://` URL, upload and download in memory) with time limits.
 *
 * @module
 */

import { equal } from "node:assert/strict";
import { Client } from "basic-ftp";
import { Readable, Writable } from "node:stream";
import { withTimeout } from "./protocol_helpers.ts";
import { concat } from "./server.ts";
import { runCommand } from "./tools.ts";

/** The repository's main.ts. */
export const MAIN = new URL("../../main.ts", import.meta.url).pathname;
/** The repository root. */
export const REPO = new URL("../../", import.meta.url).pathname;

/** The line `--ready-file` writes and prints. */
export interface ReadyLine {
  event: "ready";
  url: string;
  host: string;
  port: number;
  pid: number;
  user?: string;
  password?: string;
}

/** How a CLI run ended. */
export interface CliExit {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
}

/** Options for {@linkcode startCli}. */
export interface StartCliOptions {
  /** Deno permission flags; default `["-A"]`. */
  permissions?: string[];
  /** Extra environment variables (added to this process's environment). */
  env?: Record<string, string>;
  /** Give the child a stdin pipe (for `--stdin-lifeline`); default: no stdin. */
  stdin?: boolean;
  cwd?: string;
  /** Run this executable with `args` instead of `deno run <permissions> main.ts`. */
  executable?: string;
}

/** A running ftpgate process. */
export interface CliProcess extends AsyncDisposable {
  child: Deno.ChildProcess;
  /** `performance.now()` just before the spawn. */
  spawnedAt: number;
  /** Resolves with the first JSON line on stdout; rejects if the process ends first. */
  ready(timeoutMs?: number): Promise<ReadyLine>;
  /** `performance.now()` when the ready line was read (NaN before). */
  readonly readyAt: number;
  /** Resolves when the process has exited and its output has been read to the end. */
  exited: Promise<CliExit>;
  /** Waits for the exit, killing the process (SIGKILL) after `timeoutMs`. */
  wait(timeoutMs?: number): Promise<CliExit>;
  /** Sends a signal; false when the process is already gone. */
  kill(signal?: Deno.Signal): boolean;
  /** Closes the child's stdin (the `--stdin-lifeline` trigger). */
  closeStdin(): Promise<void>;
  /** What it printed so far. */
  stdout(): string;
  stderr(): string;
}

/** Reads a text stream to its end, feeding `onText` as it goes. */
async function drain(stream: ReadableStream<Uint8Array>, onText: (text: string) => void) {
  for await (const text of stream.pipeThrough(new TextDecoderStream())) onText(text);
}

/**
 * Starts ftpgate with `args`. Always `await using` (or `wait()`) it: disposal kills a process
 * that is still running and waits for it.
 */
export function startCli(args: string[], options: StartCliOptions = {}): CliProcess {
  const command = options.executable ?? Deno.execPath();
  const fullArgs = options.executable
    ? args
    : ["run", "--no-prompt", ...(options.permissions ?? ["-A"]), MAIN, ...args];
  let out = "";
  let err = "";
  const spawnedAt = performance.now();
  const child = new Deno.Command(command, {
    args: fullArgs,
    cwd: options.cwd ?? REPO,
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...options.env },
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stdinClosed = !options.stdin;
  const closeStdin = async () => {
    if (stdinClosed) return;
    stdinClosed = true;
    await child.stdin.close().catch(() => {});
  };
  const kill = (signal: Deno.Signal = "SIGTERM") => {
    try {
      child.kill(signal);
      return true;
    } catch {
      return false; // already exited
    }
  };
  let readyAt = NaN;
  let resolveReady!: (line: ReadyLine) => void;
  let rejectReady!: (error: Error) => void;
  const readyLine = new Promise<ReadyLine>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  readyLine.catch(() => {}); // a test that never asks for it must not see an unhandled rejection
  const stdoutDone = drain(child.stdout, (text) => {
    out += text;
    if (!Number.isNaN(readyAt)) return;
    const line = out.split("\n").slice(0, -1).find((line) => line.startsWith("{"));
    if (line === undefined) return;
    readyAt = performance.now();
    try {
      resolveReady(JSON.parse(line));
    } catch (error) {
      rejectReady(error as Error);
    }
  });
  const stderrDone = drain(child.stderr, (text) => (err += text));
  const exited = Promise.all([child.status, stdoutDone, stderrDone]).then(async ([status]) => {
    await closeStdin();
    rejectReady(
      new Error(`ftpgate exited (code ${status.code}) before its ready line:\n${out}\n${err}`),
    );
    return { code: status.code, signal: status.signal, stdout: out, stderr: err };
  });
  return {
    child,
    spawnedAt,
    get readyAt() {
      return readyAt;
    },
    ready: (timeoutMs = 15_000) => withTimeout(readyLine, timeoutMs, "the ready line"),
    exited,
    async wait(timeoutMs = 15_000) {
      const timer = setTimeout(() => kill("SIGKILL"), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    kill,
    closeStdin,
    stdout: () => out,
    stderr: () => err,
    async [Symbol.asyncDispose]() {
      kill("SIGKILL");
      await closeStdin();
      await exited;
    },
  };
}

/**
 * Stops a CLI with SIGTERM and asserts that it exits 0 (its stderr as the message); kills it
 * after `timeoutMs`. Returns how it ended, with everything it printed.
 */
export async function stopCli(cli: CliProcess, timeoutMs = 10_000): Promise<CliExit> {
  cli.kill("SIGTERM");
  const exit = await cli.wait(timeoutMs);
  equal(exit.code, 0, exit.stderr);
  return exit;
}

/**
 * Runs ftpgate on memory storage with one user and no delay after a failed login (`--root memory:
 * --port 0 --user USER --login-failure-delay 0`, then `extra`, then `--ready-file -`), runs `work`
 * against its port, stops it (asserting exit 0) and returns everything it logged (its stderr).
 */
export async function memoryCliLog(
  user: string,
  extra: string[],
  work: (port: number) => Promise<void>,
): Promise<string> {
  await using cli = startCli([
    "--root",
    "memory:",
    "--port",
    "0",
    "--user",
    user,
    "--login-failure-delay",
    "0",
    ...extra,
    "--ready-file",
    "-",
  ]);
  const { port } = await cli.ready();
  await work(port);
  return (await stopCli(cli)).stderr;
}

/**
 * `scripts/launch.ts plan ARGS` run from `cwd`: the `deno run` and `deno compile` command lines
 * that `deno task start` and `deno task compile` would run there.
 */
export async function launchPlan(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ run: string[]; compile: string[] }> {
  const output = await runCommand(
    Deno.execPath(),
    ["run", "--allow-all", `${REPO}scripts/launch.ts`, "plan", ...args],
    { cwd, env: { NO_COLOR: "1", INIT_CWD: cwd, ...env }, timeoutMs: 60_000 },
  );
  equal(output.code, 0, output.stderr);
  return JSON.parse(output.stdout);
}

/** The hash of `password` that the real `ftpgate hash-password` (main.ts) prints. */
export async function hashPassword(password: string): Promise<string> {
  const output = await runCommand(Deno.execPath(), ["run", "-A", MAIN, "hash-password"], {
    stdin: `${password}\n`,
  });
  if (output.code !== 0) throw new Error(`hash-password exited ${output.code}: ${output.stderr}`);
  return output.stdout.trim();
}

/** A port that was free a moment ago (listen on 0, close). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/** The median of some numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Where a basic-ftp client should connect. */
export interface FtpTarget {
  host: string;
  port: number;
  user?: string;
  password?: string;
}

/**
 * A logged-in basic-ftp client (10 s timeout on every step); `await using` it. Pass `url` to use
 * the credentials in an `ftp://user:pass@host:port/` URL.
 */
export async function connectFtp(
  target: FtpTarget | string,
  timeoutMs = 10_000,
): Promise<Client & AsyncDisposable> {
  const access = typeof target === "string" ? urlTarget(target) : target;
  const client = new Client(timeoutMs) as Client & AsyncDisposable;
  client[Symbol.asyncDispose] = () => Promise.resolve(client.close());
  try {
    await client.access({ ...access, secure: false });
  } catch (error) {
    client.close();
    throw error;
  }
  return client;
}

/** host, port, user and password from an `ftp://` URL. */
export function urlTarget(url: string): Required<FtpTarget> {
  const parsed = new URL(url);
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ""),
    port: Number(parsed.port),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
  };
}

/** Downloads a file with basic-ftp into memory. */
export async function downloadBytes(client: Client, path: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  await client.downloadTo(
    new Writable({
      write(chunk, _encoding, done) {
        chunks.push(chunk);
        done();
      },
    }),
    path,
  );
  return concat(chunks);
}

/** Downloads a text file with basic-ftp. */
export async function downloadText(client: Client, path: string): Promise<string> {
  return new TextDecoder().decode(await downloadBytes(client, path));
}

/** Logs in to 127.0.0.1:`port` as `user` with basic-ftp and downloads the text file `path`. */
export async function downloadTextAs(
  port: number,
  user: string,
  password: string,
  path: string,
): Promise<string> {
  await using client = await connectFtp({ host: "127.0.0.1", port, user, password });
  return await downloadText(client, path);
}

/** Uploads bytes or text with basic-ftp. */
export async function uploadBytes(
  client: Client,
  path: string,
  content: Uint8Array | string,
): Promise<void> {
  const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
  await client.uploadFrom(Readable.from([bytes]), path);
}
