/**
 * ftpgate under test: `deno run -A main.ts` as a subprocess, exactly as a user would start it.
 *
 * @module
 */

import { BenchError, LineStream, spawn, stop } from "./proc.ts";
import { V8_FLAGS } from "../../scripts/v8_flags.ts";

/** The benchmark's login. */
export const USER = "bench";
/** The benchmark's password. */
export const PASSWORD = "bench";

/** A running ftpgate. */
export interface BenchServer {
  port: number;
  pid: number;
  /** What the server wrote on stderr so far (it logs warnings and errors only). */
  stderr(): string;
  /** True when the process has exited (it should not, before {@linkcode BenchServer.stop}). */
  exited(): boolean;
  /** Stops the server and waits for it to exit. */
  stop(): Promise<void>;
}

/** The command line, without the port: the server as shipped (`--workers` adds `--unstable-net`). */
export function serverArgs(root: string, denoFlags: readonly string[] = []): string[] {
  return [
    "run",
    "-A",
    ...V8_FLAGS, // as `deno task start` and the compiled binary run
    ...denoFlags,
    "main.ts",
    "--root",
    root,
    "--user",
    `${USER}:${PASSWORD}`,
    "--max-sessions",
    "5000",
    "--max-sessions-per-ip",
    "5000",
    "--idle-timeout",
    "600",
    "--log-level",
    "warning",
  ];
}

/**
 * Starts ftpgate on a free port and waits for its ready line (`ftp://127.0.0.1:PORT/`).
 * `--stdin-lifeline` makes it exit by itself should the benchmark die without cleaning up.
 */
export async function startServer(
  repo: string,
  root: string,
  workers = 1,
  extraFlags: readonly string[] = [],
): Promise<BenchServer> {
  const child = spawn(
    Deno.execPath(),
    [
      ...serverArgs(root, workers > 1 ? ["--unstable-net"] : []),
      "--port",
      "0",
      "--stdin-lifeline",
      ...(workers > 1 ? ["--workers", String(workers)] : []),
      ...extraFlags,
    ],
    { cwd: repo, stdin: true },
  );
  let exited = false;
  child.status.then(() => (exited = true));
  let stderr = "";
  const decoder = new TextDecoder();
  (async () => {
    for await (const chunk of child.stderr) {
      // The first 64 KiB are what explains a failure; later lines only repeat it.
      if (stderr.length < 65536) stderr += decoder.decode(chunk, { stream: true });
    }
  })().catch(() => {});
  const out = new LineStream(child.stdout);
  let ready: string | null;
  try {
    ready = await out.next(30_000, "ready line from ftpgate");
  } catch (error) {
    await stop(child);
    throw error;
  }
  const match = ready === null ? null : /^ftp:\/\/127\.0\.0\.1:(\d+)\//.exec(ready);
  if (!match) {
    await stop(child);
    throw new BenchError(`ftpgate did not start: ${ready ?? "(no output)"} ${stderr.trim()}`);
  }
  out.rest(); // keep stdout drained
  const stdin = child.stdin.getWriter();
  return {
    port: Number(match[1]),
    pid: child.pid,
    stderr: () => stderr,
    exited: () => exited,
    async stop() {
      await stdin.close().catch(() => {});
      await stop(child);
    },
  };
}
