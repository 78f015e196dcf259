/**
 * Child processes for the benchmark: every one is tracked so that an error, a time limit or
 * Ctrl-C can end them all, and every one runs under a time limit.
 *
 * @module
 */

/** A benchmark step that failed: a client that exited non-zero, a time limit, a bad figure. */
export class BenchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BenchError";
  }
}

const live = new Set<Deno.ChildProcess>();
const decoder = new TextDecoder();

/** Options for {@linkcode spawn} and {@linkcode run}. */
export interface SpawnOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Keep stdin open as a pipe (default: /dev/null). */
  stdin?: boolean;
}

/** Starts a tracked child with piped stdout and stderr. */
export function spawn(
  command: string,
  args: string[],
  options: SpawnOptions = {},
): Deno.ChildProcess {
  const child = new Deno.Command(command, {
    args,
    cwd: options.cwd,
    env: options.env,
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  live.add(child);
  child.status.finally(() => live.delete(child));
  return child;
}

/** Ends a child: SIGTERM, then SIGKILL if it is still there after `graceMs`. */
export async function stop(child: Deno.ChildProcess, graceMs = 3000): Promise<void> {
  const signal = (name: Deno.Signal) => {
    try {
      child.kill(name);
    } catch { /* already gone */ }
  };
  signal("SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const exited = await Promise.race([
    child.status.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
  ]);
  clearTimeout(timer);
  if (!exited) {
    signal("SIGKILL");
    await child.status;
  }
}

/** Ends every child still running (cleanup after an error or a signal). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((child) => stop(child, 1000)));
}

/** How many tracked children are still running. */
export function liveChildren(): number {
  return live.size;
}

/**
 * Runs a command to completion within `timeoutMs` and returns its stdout. Throws
 * {@linkcode BenchError} with the stderr when it exits non-zero or runs out of time.
 */
export async function run(
  command: string,
  args: string[],
  timeoutMs: number,
  options: SpawnOptions = {},
): Promise<string> {
  const child = spawn(command, args, options);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, timeoutMs);
  try {
    const output = await child.output();
    const stderr = decoder.decode(output.stderr).trim();
    const name = `${command.split("/").pop()} ${args[0] ?? ""}`.trim();
    if (timedOut || output.signal === "SIGALRM") {
      throw new BenchError(`${name} did not finish within ${Math.round(timeoutMs / 1000)} s`);
    }
    if (!output.success) {
      throw new BenchError(`${name} exited with code ${output.code}: ${stderr || "(no stderr)"}`);
    }
    return decoder.decode(output.stdout);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads a child's stream line by line (without line endings). */
export class LineStream {
  readonly #reader: ReadableStreamDefaultReader<string>;
  #buffer = "";

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** The next line, or null at end of stream; rejects after `timeoutMs`. */
  async next(timeoutMs: number, what: string): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const newline = this.#buffer.indexOf("\n");
      if (newline !== -1) {
        const line = this.#buffer.slice(0, newline);
        this.#buffer = this.#buffer.slice(newline + 1);
        return line;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const chunk = await Promise.race([
        this.#reader.read(),
        new Promise<"timeout">((resolve) =>
          timer = setTimeout(() => resolve("timeout"), Math.max(0, deadline - Date.now()))
        ),
      ]);
      clearTimeout(timer);
      if (chunk === "timeout") throw new BenchError(`no ${what} within ${timeoutMs / 1000} s`);
      if (chunk.done) {
        const rest = this.#buffer;
        this.#buffer = "";
        return rest === "" ? null : rest;
      }
      this.#buffer += chunk.value;
    }
  }

  /**
   * Reads and discards the rest of the stream, keeping the last `keep` characters. Never
   * rejects: it is often left running unawaited, only to keep a pipe drained.
   */
  async rest(keep = 16384): Promise<string> {
    let tail = this.#buffer;
    try {
      for (;;) {
        const chunk = await this.#reader.read();
        if (chunk.done) return tail;
        tail = (tail + chunk.value).slice(-keep);
      }
    } catch {
      return tail;
    }
  }
}

/** Parses `key value key value` output of the C client into numbers. */
export function fields(line: string): Record<string, number> {
  const words = line.trim().split(/\s+/);
  const out: Record<string, number> = {};
  for (let i = 0; i + 1 < words.length; i += 2) out[words[i]] = Number(words[i + 1]);
  return out;
}

let ticks: number | undefined;

/** Clock ticks per second for /proc/<pid>/stat (`getconf CLK_TCK`). */
export async function clockTicks(): Promise<number> {
  ticks ??= Number((await run("getconf", ["CLK_TCK"], 5000)).trim()) || 100;
  return ticks;
}

/** User + system CPU seconds a process has used so far (fields 14 and 15 of /proc/<pid>/stat). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  // The command name (field 2) is in parentheses and may contain spaces: count after it.
  const after = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(after[11]);
  const stime = Number(after[12]);
  return (utime + stime) / await clockTicks();
}

/** Resident set size of a process in KiB (VmRSS in /proc/<pid>/status). */
export async function rssKiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new BenchError(`no VmRSS for process ${pid}`);
  return Number(match[1]);
}

/** A port that was free a moment ago (for commands that must be told their port). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
