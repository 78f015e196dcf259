/**
 * Helpers for tests that run real client programs (curl, lftp, wget, python3).
 *
 * @module
 */

/** Output of a finished command. */
export interface CommandOutput {
  code: number;
  stdout: string;
  stderr: string;
}

const available = new Map<string, boolean>();

/** True when `name` is on PATH. Cached. */
export function hasCommand(name: string): boolean {
  let found = available.get(name);
  if (found === undefined) {
    try {
      found = new Deno.Command("sh", {
        args: ["-c", `command -v ${name}`],
        stdout: "null",
        stderr: "null",
      })
        .outputSync().success;
    } catch {
      found = false;
    }
    available.set(name, found);
  }
  return found;
}

/**
 * `ignore` option for a test that needs `name`: when it is missing the test is skipped, and the
 * skip is said out loud once, so a CI log never hides a client that was not tested.
 */
export function needs(name: string): boolean {
  const missing = !hasCommand(name);
  if (missing && !warned.has(name)) {
    warned.add(name);
    // deno-lint-ignore no-console
    console.warn(`SKIPPING tests that need ${name}: it is not installed (.ci/run installs it)`);
  }
  return missing;
}
const warned = new Set<string>();

/**
 * Runs a command to completion with a time limit; never throws for a non-zero exit. `stdin`
 * (text or bytes) is written to a pipe that is then closed; without it stdin is /dev/null.
 */
export async function runCommand(
  command: string,
  args: string[],
  options: {
    cwd?: string;
    stdin?: string | Uint8Array;
    timeoutMs?: number;
    env?: Record<string, string>;
  } = {},
): Promise<CommandOutput> {
  const child = new Deno.Command(command, {
    args,
    cwd: options.cwd,
    env: options.env,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    const stdin = options.stdin;
    await writer.write(typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin);
    await writer.close();
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, options.timeoutMs ?? 30_000);
  try {
    const output = await child.output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}
