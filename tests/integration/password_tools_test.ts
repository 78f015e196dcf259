/**
 * Password hashing against the real tools, live: SHA-crypt against `openssl passwd` for every
 * password length around the digest sizes, fresh htpasswd and crypt(3) hashes, our argon2id
 * against the argon2 reference CLI and argon2-cffi, and the hash-password command as a process
 * (piped stdin, and a pseudo-terminal for the no-echo path). Tests that need a missing tool are
 * skipped, and say so.
 */

import { equal, match, ok } from "node:assert/strict";
import {
  closePasswordVerifier,
  hashPassword,
  PasswordVerifier,
  verifyPassword,
} from "../../src/identity/passwords/mod.ts";
import { shaCryptChecksum } from "../../src/identity/passwords/sha_crypt.ts";
import { type CommandOutput, hasCommand, needs, runCommand } from "../helpers/tools.ts";

const encoder = new TextEncoder();
const CRYPT64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join("");

function randomString(length: number, alphabet: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (byte) => alphabet[byte % alphabet.length]).join("");
}

/** Debian's python3 has the argon2 module (python3-argon2) and the deprecated crypt module. */
const PYTHON = "/usr/bin/python3";

function pythonHas(module: string): boolean {
  if (!hasCommand(PYTHON)) return false;
  return new Deno.Command(PYTHON, {
    args: ["-W", "ignore", "-c", `import ${module}`],
    stdout: "null",
    stderr: "null",
  }).outputSync().success;
}

function needsPython(module: string, debianPackage: string): boolean {
  const missing = !pythonHas(module);
  if (missing) {
    // deno-lint-ignore no-console
    console.warn(`SKIPPING tests that need Python's ${module}: install ${debianPackage}`);
  }
  return missing;
}

Deno.test({
  name: "SHA-crypt matches openssl passwd -5/-6 for every length around the digest sizes",
  ignore: needs("openssl"),
  async fn() {
    const lengths = [1, 2, 15, 16, 31, 32, 33, 47, 63, 64, 65, 95, 96, 97, 127, 128, 129, 200];
    for (const flag of ["-5", "-6"] as const) {
      for (const length of lengths) {
        const password = randomString(length, PRINTABLE).replace(/^ /, "x");
        const salt = randomString(1 + (length % 16), CRYPT64);
        const rounds = 1000 + (length * 37) % 4000;
        const setting = length % 3 === 0 ? salt : `rounds=${rounds}$${salt}`;
        const out = await runCommand("openssl", ["passwd", flag, "-salt", setting, "-stdin"], {
          stdin: password + "\n",
        });
        equal(out.code, 0, out.stderr);
        const expected = out.stdout.trim();
        const variant = flag === "-6" ? "sha512-crypt" : "sha256-crypt";
        const checksum = shaCryptChecksum(
          variant,
          encoder.encode(password),
          salt,
          length % 3 === 0 ? 5000 : rounds,
        );
        equal(checksum, expected.slice(expected.lastIndexOf("$") + 1), `${flag} length ${length}`);
      }
    }
  },
});

Deno.test({
  name: "verifyPassword() accepts hashes htpasswd -B makes now, at costs 4 to 6",
  ignore: needs("htpasswd"),
  async fn() {
    await using verifier = new PasswordVerifier({ workers: 1 });
    for (const cost of [4, 5, 6]) {
      const password = randomString(8 + cost * 5, PRINTABLE);
      const out = await runCommand("htpasswd", ["-niB", "-C", String(cost), "user"], {
        stdin: password,
      });
      equal(out.code, 0, out.stderr);
      const hash = out.stdout.trim().split(":")[1];
      match(hash, new RegExp(`^\\$2y\\$0${cost}\\$`));
      equal(await verifier.verify(hash, password), true, `cost ${cost}`);
      equal(await verifier.verify(hash, password.slice(1)), false, `cost ${cost}`);
    }
  },
});

Deno.test({
  name: "verifyPassword() accepts hashes crypt(3) makes now ($6$, $5$, $2b$)",
  ignore: needsPython("crypt", "python3 (Debian's, 3.11 or 3.12)"),
  async fn() {
    await using verifier = new PasswordVerifier({ workers: 1 });
    const password = randomString(40, PRINTABLE) + "ü✓";
    const script = `import crypt, json, sys
pw = sys.stdin.read()
print(json.dumps([crypt.crypt(pw, crypt.mksalt(m)) for m in
  (crypt.METHOD_SHA512, crypt.METHOD_SHA256, crypt.METHOD_BLOWFISH)]))`;
    const out = await runCommand(PYTHON, ["-W", "ignore", "-c", script], { stdin: password });
    equal(out.code, 0, out.stderr);
    const hashes: string[] = JSON.parse(out.stdout);
    equal(hashes.length, 3);
    for (const hash of hashes) {
      equal(await verifier.verify(hash, password), true, hash.slice(0, 4));
      equal(await verifier.verify(hash, password.slice(0, -1)), false, hash.slice(0, 4));
    }
  },
});

Deno.test({
  name: "hashPassword() gives what the argon2 reference CLI computes, for several parameters",
  ignore: needs("argon2"),
  async fn() {
    await using verifier = new PasswordVerifier({ workers: 1 });
    const cases = [
      { memoryKiB: 19456, iterations: 2, parallelism: 1, hashLength: 32 }, // the defaults
      { memoryKiB: 8192, iterations: 3, parallelism: 2, hashLength: 16 },
      { memoryKiB: 65536, iterations: 1, parallelism: 4, hashLength: 64 },
    ];
    for (const params of cases) {
      // The CLI takes the salt as a command-line string: a printable one, then.
      const salt = randomString(16, CRYPT64);
      const password = randomString(20, PRINTABLE) + "ß密";
      const ours = params.memoryKiB === 19456
        ? await verifier.hash(password, { salt: encoder.encode(salt) })
        : await verifier.hash(password, { ...params, salt: encoder.encode(salt) });
      const out = await runCommand("argon2", [
        salt,
        "-id",
        "-t",
        String(params.iterations),
        "-k",
        String(params.memoryKiB),
        "-p",
        String(params.parallelism),
        "-l",
        String(params.hashLength),
        "-e",
      ], { stdin: password });
      equal(out.code, 0, out.stderr);
      equal(ours, out.stdout.trim(), JSON.stringify(params));
    }
  },
});

Deno.test({
  name: "hashPassword() output, random salt and all, is accepted by argon2-cffi",
  ignore: needsPython("argon2", "python3-argon2"),
  async fn() {
    try {
      const password = randomString(24, PRINTABLE) + "✓";
      const hash = await hashPassword(password);
      const script = `import argon2, sys
hash, pw = sys.stdin.read().split("\\n", 1)
ph = argon2.PasswordHasher()
ok = ph.verify(hash, pw)
try:
    ph.verify(hash, pw + "x")
    wrong = True
except argon2.exceptions.VerifyMismatchError:
    wrong = False
print(ok, wrong, ph.check_needs_rehash(hash))`;
      const out = await runCommand(PYTHON, ["-c", script], { stdin: `${hash}\n${password}` });
      equal(out.code, 0, out.stderr);
      // argon2-cffi's own defaults are stronger (m=65536, t=3, p=4): it would rehash, fine.
      match(out.stdout.trim(), /^True False (True|False)$/);
      equal(await verifyPassword(hash, password), true);
    } finally {
      await closePasswordVerifier();
    }
  },
});

// ---------------------------------------------------------------------------------------------
// ftpgate hash-password, as a process
// ---------------------------------------------------------------------------------------------

const ENTRY = new URL("../fixtures/passwords/hash_password_main.ts", import.meta.url).pathname;
/** Read access only: for the worker's module when run from source (a binary embeds it). */
const DENO_ARGS = ["run", "--allow-read", ENTRY];

/** Runs the hash-password entry point with `stdin` piped in. */
function hashCommand(stdin: string | Uint8Array, args: string[] = []): Promise<CommandOutput> {
  return runCommand(Deno.execPath(), [...DENO_ARGS, ...args], { stdin, env: { NO_COLOR: "1" } });
}

const HASH_LINE = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}\n$/;

Deno.test("hash-password reads one line from piped stdin and prints its argon2id hash", async () => {
  try {
    const cases: [stdin: string, password: string][] = [
      ["s3cret\n", "s3cret"],
      ["s3cret\r\n", "s3cret"], // CRLF from a Windows pipe
      ["  spaced pass  \n", "  spaced pass  "], // spaces are part of a password
      ["no newline at the end", "no newline at the end"],
      ["first line\nsecond line\n", "first line"],
      ["pässwörd ✓ 密码\n", "pässwörd ✓ 密码"],
    ];
    const results = await Promise.all(cases.map(([stdin]) => hashCommand(stdin)));
    for (const [index, [stdin, password]] of cases.entries()) {
      const result = results[index];
      equal(result.code, 0, `${JSON.stringify(stdin)}: ${result.stderr}`);
      match(result.stdout, HASH_LINE);
      equal(result.stderr, "", "nothing but the hash is printed");
      const hash = result.stdout.trim();
      equal(await verifyPassword(hash, password), true, JSON.stringify(stdin));
      if (password !== stdin) {
        equal(await verifyPassword(hash, stdin), false, "the line ending was stripped");
      }
    }
  } finally {
    await closePasswordVerifier();
  }
});

Deno.test("hash-password exits 2 for an empty, over-long or non-UTF-8 password", async () => {
  const cases: [stdin: string | Uint8Array, message: RegExp][] = [
    ["", /empty/],
    ["\n", /empty/],
    ["\r\n", /empty/],
    [new Uint8Array([0x70, 0xff, 0xfe, 0x0a]), /not valid UTF-8/],
    ["x".repeat(5000) + "\n", /longer than 4096 bytes/],
  ];
  const results = await Promise.all(cases.map(([stdin]) => hashCommand(stdin)));
  for (const [index, [, message]] of cases.entries()) {
    equal(results[index].code, 2, results[index].stderr);
    equal(results[index].stdout, "");
    match(results[index].stderr, message);
  }
});

Deno.test("hash-password --help prints usage; other arguments exit 2", async () => {
  const [help, extra] = await Promise.all([
    hashCommand("", ["--help"]),
    hashCommand("s3cret\n", ["s3cret"]),
  ]);
  equal(help.code, 0);
  match(help.stdout, /^Usage: ftpgate hash-password/);
  equal(extra.code, 2);
  equal(extra.stdout, "");
  match(extra.stderr, /unexpected argument/);
  ok(!extra.stderr.includes("s3cret"), "an argument is not echoed (it may be a password)");
});

Deno.test("without read access to its modules, the worker fails with a clear error, no crash", async () => {
  // From source, a worker needs read access to src/identity/passwords/ (the main module graph
  // does not): what the launcher must grant.
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ENTRY],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(encoder.encode("s3cret\n"));
  await writer.close();
  const output = await child.output();
  const stderr = new TextDecoder().decode(output.stderr);
  equal(output.code, 1, stderr);
  match(stderr, /ftpgate hash-password: The password worker failed: Requires read access/);
  equal(output.stdout.length, 0);
});

/**
 * Runs the command under a pseudo-terminal (Python's pty) and types `keys` after each prompt.
 * Returns everything the terminal showed, and the exit code.
 */
async function hashCommandOnTerminal(
  keys: string[],
): Promise<{ code: number; screen: string }> {
  const script = `import json, os, pty, select, sys, time
argv, keys = json.loads(sys.argv[1]), json.loads(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
screen = b""
def read(timeout):
    global screen
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return False
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        return None
    if not chunk:
        return None
    screen += chunk
    return True
prompts = 0
for key in keys:
    deadline = time.time() + 30
    while screen.count(b": ") <= prompts and time.time() < deadline:
        if read(0.5) is None:
            break
    prompts += 1
    os.write(fd, key.encode())
while read(30):
    pass
_, status = os.waitpid(pid, 0)
print(json.dumps({"code": os.waitstatus_to_exitcode(status), "screen": screen.decode(errors="replace")}))
`;
  const argv = [Deno.execPath(), ...DENO_ARGS];
  const out = await runCommand(PYTHON, ["-c", script, JSON.stringify(argv), JSON.stringify(keys)], {
    env: { NO_COLOR: "1", PATH: Deno.env.get("PATH") ?? "" },
    timeoutMs: 60_000,
  });
  equal(out.code, 0, out.stderr);
  return JSON.parse(out.stdout);
}

Deno.test({
  name: "hash-password on a terminal asks twice without echo and prints the hash",
  ignore: needs(PYTHON),
  async fn() {
    try {
      const { code, screen } = await hashCommandOnTerminal(["tty s3cret ✓\r", "tty s3cret ✓\r"]);
      equal(code, 0, screen);
      match(screen, /Password: [\s\S]*Repeat the password: /);
      ok(!screen.includes("s3cret"), `the password was echoed: ${JSON.stringify(screen)}`);
      ok(!screen.includes("*"), "not even as stars");
      const hash = /\$argon2id\$[^\s]+/.exec(screen)?.[0];
      ok(hash, screen);
      equal(await verifyPassword(hash, "tty s3cret ✓"), true);
    } finally {
      await closePasswordVerifier();
    }
  },
});

Deno.test({
  name: "hash-password on a terminal: Backspace and Ctrl-U edit, a mismatch exits 2, Ctrl-C 130",
  ignore: needs(PYTHON),
  async fn() {
    try {
      // "abcX⌫d" is "abcd"; "zzz^U" then "abcd" is "abcd"; ✓⌫ removes all three UTF-8 bytes.
      const edited = await hashCommandOnTerminal(["abcX\x7fd✓\x7f\r", "zzz\x15abcd\r"]);
      equal(edited.code, 0, edited.screen);
      const hash = /\$argon2id\$[^\s]+/.exec(edited.screen)?.[0];
      ok(hash, edited.screen);
      equal(await verifyPassword(hash, "abcd"), true);

      const mismatch = await hashCommandOnTerminal(["one\r", "two\r"]);
      equal(mismatch.code, 2);
      match(mismatch.screen, /do not match/);
      ok(!mismatch.screen.includes("$argon2id$"));

      const cancelled = await hashCommandOnTerminal(["abc\x03"]);
      equal(cancelled.code, 130);
      match(cancelled.screen, /Cancelled/);

      const empty = await hashCommandOnTerminal(["\r"]);
      equal(empty.code, 2);
      match(empty.screen, /empty/);
    } finally {
      await closePasswordVerifier();
    }
  },
});
