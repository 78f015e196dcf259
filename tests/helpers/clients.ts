/**
 * Shared pieces for the real-client interoperability tests (`tests/integration/client_*_test.ts`):
 * a scratch directory for the client's side of a transfer, byte and listing assertions, and thin
 * wrappers that run curl, lftp, wget and python3 against a {@linkcode TestServer} with time limits
 * on both sides, so that a misbehaving server fails a test instead of hanging it.
 *
 * @module
 */

import { fail } from "node:assert/strict";
import type { TestServer } from "./server.ts";
import { type CommandOutput, runCommand } from "./tools.ts";

/** Kills a client that outlives this; the client's own time limit is shorter. */
export const COMMAND_TIMEOUT_MS = 30_000;
/** Client-side limit on a whole curl or wget run, in seconds. */
const CLIENT_MAX_SECONDS = 20;

/** A temporary directory for the client's files, removed at the end of the scope. */
export interface LocalDir extends AsyncDisposable {
  path: string;
}

/** Creates a scratch directory for a client; `await using` it. */
export function localDir(): LocalDir {
  const path = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "ftpgate-client-" }));
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Asserts two byte arrays are equal, naming the first differing offset rather than printing
 * megabytes of diff.
 */
export function assertBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  const length = Math.min(actual.length, expected.length);
  let at = -1;
  for (let i = 0; i < length; i++) {
    if (actual[i] !== expected[i]) {
      at = i;
      break;
    }
  }
  if (at === -1 && actual.length === expected.length) return;
  if (at === -1) at = length;
  fail(
    `${what}: got ${actual.length} bytes, expected ${expected.length}; first difference at ` +
      `offset ${at} (got ${actual[at]}, expected ${expected[at]})`,
  );
}

/** Asserts a client exited with `code`, showing its output (protocol trace) when it did not. */
export function assertExit(output: CommandOutput, what: string, code = 0): void {
  if (output.code !== code) {
    fail(
      `${what}: exit code ${output.code}, expected ${code}\n--- stdout\n${
        output.stdout.slice(-4000)
      }\n--- stderr\n${output.stderr.slice(-6000)}`,
    );
  }
}

/** One parsed `ls -l` line. */
export interface LsEntry {
  type: "file" | "dir" | "link" | "other";
  perms: string;
  size: number;
  /** The date column as sent: `Nov 20 10:30` or `Nov 20  2025`. */
  date: string;
  name: string;
}

const LS_LINE =
  /^([-dlcbps])([-rwxsStT]{9})\s+\d+\s+\S+\s+\S+\s+(\d+)\s+([A-Z][a-z]{2}\s+\d{1,2}\s+(?:\d{1,2}:\d{2}|\d{4}))\s(.+)$/;

/** Parses an `ls -l` style listing (LIST output) into entries; throws on a line it cannot read. */
export function parseLsListing(text: string): LsEntry[] {
  const entries: LsEntry[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === "" || line.startsWith("total ")) continue;
    const match = LS_LINE.exec(line);
    if (match === null) throw new Error(`unparsable listing line: ${JSON.stringify(line)}`);
    const kind = match[1];
    entries.push({
      type: kind === "-" ? "file" : kind === "d" ? "dir" : kind === "l" ? "link" : "other",
      perms: match[2],
      size: Number(match[3]),
      date: match[4],
      name: match[5],
    });
  }
  return entries;
}

/**
 * The `ls -l` date column the server should show for `mtime` (UTC, GNU ls rules: `HH:MM` within
 * the last six months, the year otherwise).
 */
export function lsDate(mtime: Date, now = Date.now()): string {
  const months = "JanFebMarAprMayJunJulAugSepOctNovDec";
  const month = months.slice(mtime.getUTCMonth() * 3, mtime.getUTCMonth() * 3 + 3);
  const day = String(mtime.getUTCDate()).padStart(2, " ");
  const recent = mtime.getTime() > now - 182.5 * 86_400_000 && mtime.getTime() < now + 86_400_000;
  const tail = recent
    ? `${String(mtime.getUTCHours()).padStart(2, "0")}:${
      String(mtime.getUTCMinutes()).padStart(2, "0")
    }`
    : ` ${mtime.getUTCFullYear()}`;
  return `${month} ${day} ${tail}`;
}

/** Writes `files` (path → content) under `dir`, creating parent directories. */
export function writeTree(dir: string, files: Record<string, string | Uint8Array>): void {
  for (const [path, content] of Object.entries(files)) {
    const full = `${dir}/${path}`;
    Deno.mkdirSync(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    if (typeof content === "string") Deno.writeTextFileSync(full, content);
    else Deno.writeFileSync(full, content);
  }
}

/** Every regular file under `dir` as relative path → bytes, and every directory as path → null. */
export async function readTree(dir: string): Promise<Map<string, Uint8Array | null>> {
  const out = new Map<string, Uint8Array | null>();
  async function walk(relative: string): Promise<void> {
    for await (const entry of Deno.readDir(relative === "" ? dir : `${dir}/${relative}`)) {
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory) {
        out.set(path, null);
        await walk(path);
      } else out.set(path, await Deno.readFile(`${dir}/${path}`));
    }
  }
  await walk("");
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Asserts two trees from {@linkcode readTree} hold the same directories and the same bytes. */
export function assertSameTree(
  actual: Map<string, Uint8Array | null>,
  expected: Map<string, Uint8Array | null>,
  what: string,
): void {
  const names = (tree: Map<string, Uint8Array | null>) =>
    [...tree].map(([path, bytes]) => (bytes === null ? path + "/" : path)).join("\n");
  if (names(actual) !== names(expected)) {
    fail(`${what}: entries differ\n--- got\n${names(actual)}\n--- expected\n${names(expected)}`);
  }
  for (const [path, bytes] of expected) {
    if (bytes !== null) assertBytes(actual.get(path)!, bytes, `${what}: ${path}`);
  }
}

/** Percent-encodes each segment of a path for an `ftp://` URL (spaces, UTF-8). */
export function urlPath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

/** `ftp://127.0.0.1:PORT/path`, with `[...]` around an IPv6 host. */
export function ftpUrl(t: TestServer, path = "", credentials = false): string {
  const host = t.host.includes(":") ? `[${t.host}]` : t.host;
  const auth = credentials
    ? `${encodeURIComponent(t.user)}:${encodeURIComponent(t.password)}@`
    : "";
  return `ftp://${auth}${host}:${t.port}/${urlPath(path)}`;
}

/**
 * Runs curl as the test user (`--user`, so the password's space needs no URL encoding), silent
 * but with errors shown, with a client-side time limit. Add `-v` to get the protocol trace.
 */
export function curl(
  t: TestServer,
  args: string[],
  options: { cwd?: string } = {},
): Promise<CommandOutput> {
  return runCommand("curl", [
    "--silent",
    "--show-error",
    "--globoff",
    "--max-time",
    String(CLIENT_MAX_SECONDS),
    "--user",
    `${t.user}:${t.password}`,
    ...args,
  ], { cwd: options.cwd, timeoutMs: COMMAND_TIMEOUT_MS });
}

/** Quotes a word for lftp's command line (double quotes, backslash escapes). */
export function lftpQuote(word: string): string {
  return `"${word.replace(/[\\"]/g, (char) => "\\" + char)}"`;
}

/**
 * Runs `lftp -c` with `commands` after opening a session to the server, in the local directory
 * `cwd` (lftp's `lcd`; required so that a stray `get` can never write into the repository). The
 * preamble makes lftp fail fast (one try, short timeouts, stop at the first failing command) and
 * keeps it off TLS. `settings` come before `open`; `debug` adds `debug 5` (trace on stderr).
 */
export function lftp(
  t: TestServer,
  commands: string[],
  options: { cwd: string; settings?: string[]; debug?: boolean },
): Promise<CommandOutput> {
  const script = [
    "set cmd:fail-exit yes",
    "set net:max-retries 1",
    "set net:timeout 5",
    "set net:reconnect-interval-base 1",
    "set ftp:ssl-allow no",
    "set xfer:clobber on",
    "set xfer:log no",
    "set cmd:save-cwd-history no",
    ...(options.settings ?? []),
    ...(options.debug ? ["debug 5"] : []),
    `open -u ${lftpQuote(`${t.user},${t.password}`)} ${ftpUrl(t)}`,
    ...commands,
  ].join("; ");
  return runCommand("lftp", ["-c", script], {
    cwd: options.cwd,
    timeoutMs: COMMAND_TIMEOUT_MS,
    env: { LC_ALL: "C.UTF-8" },
  });
}

/** Runs wget with one try, a short timeout, and the test user's credentials. */
export function wget(
  t: TestServer,
  args: string[],
  options: { cwd: string },
): Promise<CommandOutput> {
  return runCommand("wget", [
    "--no-config",
    "--tries=1",
    `--timeout=${CLIENT_MAX_SECONDS}`,
    "--no-verbose",
    `--user=${t.user}`,
    `--password=${t.password}`,
    ...args,
  ], {
    cwd: options.cwd,
    timeoutMs: COMMAND_TIMEOUT_MS,
    // wget reads listing times as local time; ftpgate sends UTC.
    env: { TZ: "UTC", LC_ALL: "C.UTF-8" },
  });
}

/** Output of {@linkcode python}: what the script passed to `result(...)`, and the raw output. */
export interface PythonOutput<T> extends CommandOutput {
  result: T;
}

/**
 * Prelude of every Python script: connection details from the environment, `connect()`, and
 * `result(value)` which prints the value as JSON on a marked line (the rest of stdout is free for
 * `set_debuglevel` traces).
 */
const PYTHON_PRELUDE = `
import ftplib, io, json, os, socket, sys
HOST = os.environ["FTP_HOST"]
PORT = int(os.environ["FTP_PORT"])
USER = os.environ["FTP_USER"]
PASSWORD = os.environ["FTP_PASSWORD"]
def connect(host=HOST, debug=2):
    ftp = ftplib.FTP(timeout=10, encoding="utf-8")
    ftp.set_debuglevel(debug)
    ftp.connect(host, PORT)
    ftp.login(USER, PASSWORD)
    return ftp
def result(value):
    sys.stdout.write("\\n@@RESULT@@" + json.dumps(value) + "\\n")
    sys.stdout.flush()
`;

/**
 * Runs a Python 3 script (ftplib) against the server and returns what it passed to `result()`.
 * Fails the test, showing the ftplib debug trace, when the script raises.
 */
export async function python<T = unknown>(
  t: TestServer,
  script: string,
  options: { cwd?: string; host?: string } = {},
): Promise<PythonOutput<T>> {
  const output = await runCommand("python3", ["-c", PYTHON_PRELUDE + script], {
    cwd: options.cwd,
    timeoutMs: COMMAND_TIMEOUT_MS,
    env: {
      FTP_HOST: options.host ?? t.host,
      FTP_PORT: String(t.port),
      FTP_USER: t.user,
      FTP_PASSWORD: t.password,
      PYTHONIOENCODING: "utf-8",
    },
  });
  assertExit(output, "python3 script");
  const marker = output.stdout.lastIndexOf("\n@@RESULT@@");
  if (marker === -1) fail(`python3 script printed no result\n${output.stdout.slice(-4000)}`);
  const line = output.stdout.slice(marker + "\n@@RESULT@@".length).split("\n")[0];
  return { ...output, result: JSON.parse(line) as T };
}

let ipv6: boolean | undefined;

/**
 * `ignore` option for a test that needs IPv6 loopback (`::1`): skips it, and says so out loud
 * once, when `::1` cannot be bound here (IPv6 disabled in a container, for instance).
 */
export function needsIPv6(): boolean {
  if (ipv6 === undefined) {
    try {
      Deno.listen({ hostname: "::1", port: 0 }).close();
      ipv6 = true;
    } catch {
      ipv6 = false;
      // deno-lint-ignore no-console
      console.warn("SKIPPING tests that need IPv6: cannot listen on ::1 here");
    }
  }
  return !ipv6;
}
