/**
 * `ftpgate hash-password`: reads a password and prints its argon2id hash, for the
 * `password_hash` of a user in the config file.
 *
 * - On a terminal it asks twice, without echo (raw mode, so nothing is shown, not even `*`:
 *   the length of a password is a hint too), and both answers must match.
 * - Otherwise it reads one line from standard input (`printf '%s\n' "$PW" | ftpgate
 *   hash-password`, or a secrets manager's pipe), strips the line ending (LF or CRLF) and uses
 *   the rest as is, spaces included.
 *
 * The hash goes to standard output, alone on its line; prompts and errors go to standard error.
 * Exit codes: 0 done; 2 empty password, passwords that differ, not UTF-8, too long, or a usage
 * mistake; 130 cancelled with Ctrl-C or Ctrl-D; 1 anything else.
 *
 * The password never appears in an argument (where `ps` would show it) or in any output.
 *
 * @module
 */

import { PasswordVerifier } from "./verifier.ts";
import { writeAll } from "../../io.ts";

/** Standard input as the command needs it: `Deno.stdin` fits. */
export interface HashPasswordInput {
  read(buffer: Uint8Array): Promise<number | null>;
  isTerminal(): boolean;
  setRaw(mode: boolean, options?: { cbreak: boolean }): void;
}

/** An output stream: `Deno.stdout` and `Deno.stderr` fit. */
export interface HashPasswordOutput {
  write(bytes: Uint8Array): Promise<number>;
}

/** Where the command reads and writes; every field defaults to the process's own. */
export interface HashPasswordIo {
  stdin?: HashPasswordInput;
  stdout?: HashPasswordOutput;
  stderr?: HashPasswordOutput;
  /** Arguments after `hash-password`. Only `-h`/`--help` is understood. */
  args?: readonly string[];
}

/** The longest password accepted, in bytes (a pasted file is a mistake, not a password). */
export const MAX_PASSWORD_BYTES = 4096;

const USAGE = `Usage: ftpgate hash-password

Reads a password and prints its argon2id hash (m=19456 KiB, t=2, p=1, random salt) for the
"password_hash" of a user in the config file. On a terminal it asks twice without echo;
otherwise it reads one line from standard input.

  ftpgate hash-password
  printf '%s\\n' "$PASSWORD" | ftpgate hash-password

Exit status: 0 done, 2 empty or mismatched password, 130 cancelled.
`;

/** Why reading a password stopped early. */
class Stop extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/**
 * Runs `ftpgate hash-password` and returns its exit code (the caller exits with it).
 *
 * @example
 * ```ts ignore
 * import { runHashPassword } from "./hash_password_command.ts";
 * Deno.exit(await runHashPassword({ args: Deno.args.slice(1) }));
 * ```
 */
export async function runHashPassword(io: HashPasswordIo = {}): Promise<number> {
  const stdin = io.stdin ?? Deno.stdin;
  const stdout = io.stdout ?? Deno.stdout;
  const stderr = io.stderr ?? Deno.stderr;
  const args = io.args ?? [];
  if (args.length === 1 && (args[0] === "-h" || args[0] === "--help")) {
    await writeText(stdout, USAGE);
    return 0;
  }
  if (args.length > 0) {
    await writeText(stderr, `ftpgate hash-password: unexpected argument\n${USAGE}`);
    return 2;
  }
  let password: string;
  try {
    password = stdin.isTerminal() ? await askTwice(stdin, stderr) : decode(await readLine(stdin));
    if (password === "") throw new Stop(2, "The password is empty");
  } catch (error) {
    if (!(error instanceof Stop)) throw error;
    await writeText(stderr, `ftpgate hash-password: ${error.message}\n`);
    return error.code;
  }
  await using verifier = new PasswordVerifier({ workers: 1 });
  try {
    await writeText(stdout, `${await verifier.hash(password)}\n`);
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await writeText(stderr, `ftpgate hash-password: ${message}\n`);
    return 1;
  }
}

async function askTwice(stdin: HashPasswordInput, stderr: HashPasswordOutput): Promise<string> {
  const first = decode(await readHidden(stdin, stderr, "Password: "));
  if (first === "") throw new Stop(2, "The password is empty");
  const second = decode(await readHidden(stdin, stderr, "Repeat the password: "));
  if (first !== second) throw new Stop(2, "The passwords do not match");
  return first;
}

/**
 * One line from a terminal in raw mode: no echo, Enter ends it, Backspace and Ctrl-U edit it,
 * Ctrl-C and Ctrl-D (on an empty line) cancel. The terminal mode is restored on every path.
 */
async function readHidden(
  stdin: HashPasswordInput,
  stderr: HashPasswordOutput,
  prompt: string,
): Promise<Uint8Array> {
  // Raw before the prompt: what is typed once the prompt shows must never be echoed.
  stdin.setRaw(true);
  const line: number[] = [];
  try {
    await writeText(stderr, prompt);
    const buffer = new Uint8Array(256);
    for (;;) {
      const n = await stdin.read(buffer);
      if (n === null) throw new Stop(130, "Cancelled");
      for (const byte of buffer.subarray(0, n)) {
        if (byte === 0x0d || byte === 0x0a) return new Uint8Array(line);
        if (byte === 0x03) throw new Stop(130, "Cancelled");
        if (byte === 0x04 && line.length === 0) throw new Stop(130, "Cancelled");
        if (byte === 0x15) line.length = 0; // Ctrl-U
        else if (byte === 0x7f || byte === 0x08) dropLastCharacter(line);
        else if (byte >= 0x20 || byte === 0x09) line.push(byte);
        // Other control bytes (escape sequences of arrow keys…) are not password characters.
        if (line.length > MAX_PASSWORD_BYTES) throw new Stop(2, tooLong());
      }
    }
  } finally {
    stdin.setRaw(false);
    await writeText(stderr, "\n");
  }
}

/** Backspace removes a character, not a byte: every continuation byte of UTF-8 goes too. */
function dropLastCharacter(line: number[]): void {
  while (line.length > 0 && (line[line.length - 1] & 0xc0) === 0x80) line.pop();
  line.pop();
}

/** The first line of a non-terminal input, without its LF or CRLF. */
async function readLine(stdin: HashPasswordInput): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  const buffer = new Uint8Array(4096);
  for (;;) {
    const n = await stdin.read(buffer);
    if (n === null) break;
    const chunk = buffer.slice(0, n);
    const newline = chunk.indexOf(0x0a);
    chunks.push(newline < 0 ? chunk : chunk.subarray(0, newline));
    length += newline < 0 ? n : newline;
    if (newline >= 0) break;
    if (length > MAX_PASSWORD_BYTES + 1) break;
  }
  let line = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    line.set(chunk, offset);
    offset += chunk.length;
  }
  if (line.at(-1) === 0x0d) line = line.subarray(0, -1);
  if (line.length > MAX_PASSWORD_BYTES) throw new Stop(2, tooLong());
  return line;
}

function decode(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new Stop(2, "The password is not valid UTF-8");
  }
}

function tooLong(): string {
  return `The password is longer than ${MAX_PASSWORD_BYTES} bytes`;
}

function writeText(output: HashPasswordOutput, text: string): Promise<void> {
  return writeAll(output, new TextEncoder().encode(text));
}
