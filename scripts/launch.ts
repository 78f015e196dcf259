/**
 * `deno task start` and `deno task compile`: run or build ftpgate with the least Deno
 * permissions its flags need (see src/permissions.ts), instead of `--allow-all`.
 *
 *   deno task start --root ./pub --user alice:secret
 *   deno task compile --root /srv/ftp            # permissions are baked into the binary
 *
 * `deno task` runs in the repository directory; relative paths (root, TLS files, ready file,
 * transcript) are resolved against the directory the task was started from (INIT_CWD), as a user
 * expects, and handed to the server absolute, so that each grant names the right file.
 *
 * `start` then *becomes* the server: it calls execv(3) through FFI, so that no launcher process
 * stays behind (one Deno runtime fewer: ~40 MB), and `deno task` is the server's parent. The
 * task forwards SIGINT, SIGTERM and SIGHUP to its child, so a signal for the task reaches the
 * server itself; a terminal hang-up reaches it directly. Where exec is not possible (Windows, no
 * libc found, `--allow-ffi` not granted) the launcher spawns the server instead, forwards the
 * same signals and exits with its code. Either way the server runs with `--parent-lifeline`: if
 * its parent is killed outright, it shuts down instead of living on with PPID 1.
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { type CliConfig, CliError, envNames, parseCli } from "../src/cli.ts";
import { permissionFlags } from "../src/permissions.ts";
import { V8_FLAGS } from "./v8_flags.ts";

const [mode, ...args] = Deno.args;
const callerCwd = Deno.env.get("INIT_CWD") ?? Deno.cwd();
const repo = new URL("..", import.meta.url).pathname;
const main = resolve(repo, "main.ts");

function absolute(path: string): string {
  return isAbsolute(path) ? path : resolve(callerCwd, path);
}

function fail(message: string, code = 2): never {
  // deno-lint-ignore no-console
  console.error(`ftpgate: ${message}`);
  Deno.exit(code);
}

/**
 * Makes every path of `config` absolute; returns the flags that tell the server those paths (a
 * flag given later wins, over an earlier one and over the environment).
 */
function absolutePaths(config: CliConfig): string[] {
  const overrides: string[] = [];
  const serve = config.serve;
  if (!serve.root.startsWith("memory:")) {
    serve.root = absolute(serve.root);
    overrides.push("--root", serve.root);
  }
  const tls = serve.tls;
  if (tls && "certFile" in tls) {
    tls.certFile = absolute(tls.certFile);
    tls.keyFile = absolute(tls.keyFile);
    overrides.push("--tls-cert", tls.certFile, "--tls-key", tls.keyFile);
  }
  if (config.readyFile !== undefined && config.readyFile !== "-") {
    config.readyFile = absolute(config.readyFile);
    overrides.push("--ready-file", config.readyFile);
  }
  if (typeof serve.transcript === "string") {
    serve.transcript = absolute(serve.transcript);
    overrides.push("--transcript", serve.transcript);
  }
  return overrides;
}

/** The permission flags, or a clear exit for a path that no Deno flag can name. */
function permissions(config: CliConfig): string[] {
  try {
    return permissionFlags(config, envNames());
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    fail(
      `${error.message}.\nRename it, or run main.ts with deno run and permission flags of ` +
        "your own (for example --allow-read and --allow-write on its parent directory).",
    );
  }
}

/** libc, where execv(3) lives, by operating system. */
const LIBC: Partial<Record<typeof Deno.build.os, string>> = {
  linux: "libc.so.6",
  darwin: "libSystem.B.dylib",
  freebsd: "libc.so.7",
};

/** Replaces this process with `argv[0]` run with `argv`; returns only if that cannot be done. */
function exec(argv: readonly string[]): void {
  const name = LIBC[Deno.build.os];
  if (name === undefined) return;
  let libc;
  try {
    libc = Deno.dlopen(name, { execv: { parameters: ["buffer", "buffer"], result: "i32" } });
  } catch {
    return; // no --allow-ffi, or another libc (musl): spawn instead
  }
  const encoder = new TextEncoder();
  const strings = argv.map((arg) => encoder.encode(`${arg}\0`));
  // A NULL-terminated array of pointers to the NUL-terminated strings (64-bit: Deno's targets).
  const pointers = new BigUint64Array(strings.length + 1);
  strings.forEach((bytes, i) => {
    pointers[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes)));
  });
  libc.symbols.execv(strings[0], pointers);
  libc.close(); // still here: execv failed
}

/** Runs the server as a child, forwarding signals; exits with its exit code. */
async function spawn(argv: readonly string[]): Promise<never> {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: callerCwd,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT"]
    : ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const signal of signals) {
    Deno.addSignalListener(signal, () => {
      try {
        child.kill(signal);
      } catch { /* exited */ }
    });
  }
  const status = await child.status;
  Deno.exit(status.code);
}

let config: CliConfig;
try {
  config = parseCli(args, (name) => Deno.env.get(name));
} catch (error) {
  if (error instanceof CliError) fail(`${error.message}\nTry --help.`);
  throw error;
}

if (mode === "run") {
  const overrides = absolutePaths(config);
  const argv = [
    Deno.execPath(),
    "run",
    "--no-prompt",
    ...V8_FLAGS,
    ...permissions(config),
    main,
    ...args,
    ...overrides,
    "--parent-lifeline",
  ];
  Deno.chdir(callerCwd);
  exec(argv);
  await spawn(argv);
} else if (mode === "compile") {
  // A compiled binary cannot take permission flags at run time: they are fixed here, for the
  // root given now (default /srv/ftp, the root of deploy/ftpgate.service).
  const rootGiven = args.includes("--root") || args.some((arg) => arg.startsWith("--root=")) ||
    Boolean(Deno.env.get("FTPGATE_ROOT"));
  absolutePaths(config);
  if (!rootGiven) config.serve.root = "/srv/ftp";
  const output = absolute(Deno.env.get("FTPGATE_OUTPUT") ?? resolve(repo, "dist/ftpgate"));
  const flags = permissions(config);
  const compileArgs = ["compile", "--no-prompt", ...V8_FLAGS, ...flags, "--output", output, main];
  // deno-lint-ignore no-console
  console.error(`deno ${compileArgs.join(" ")}`);
  const status = await new Deno.Command(Deno.execPath(), {
    args: compileArgs,
    cwd: repo,
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  Deno.exit(status.code);
} else {
  fail(`usage: launch.ts run|compile [ftpgate options]`);
}
