/**
 * `deno task start`, `deno task compile` and `deno task compile:all`: run or build ftpgate with
 * the least Deno permissions its flags and config file need (see src/permissions.ts and
 * src/app/plan.ts), instead of `--allow-all`.
 *
 *   deno task start --root ./pub --user alice:secret
 *   deno task start --config /etc/ftpgate/ftpgate.jsonc
 *   deno task compile --root /srv/ftp            # permissions are baked into the binary
 *   deno task compile --config /etc/ftpgate/ftpgate.jsonc
 *   deno task compile:all --root /srv/ftp        # linux x64/arm64, macOS x64/arm64, Windows x64
 *   deno task start check-config ftpgate.jsonc   # the subcommands, with what they need
 *   deno task start hash-password
 *   deno run -A scripts/launch.ts plan [flags]   # print the deno run/compile command lines (JSON)
 *
 * `deno task` runs in the repository directory; relative paths given as flags or variables
 * (root, TLS files, ready file, transcript, config file, token and secret files, transfer log)
 * are resolved against the directory the task was started from (INIT_CWD), as a user expects,
 * and handed to the server absolute, so that each grant names the right file. Paths inside a
 * config file are relative to the file, as the server reads them.
 *
 * `start` then *becomes* the server: it calls execv(3) through FFI, so that no launcher process
 * stays behind (one Deno runtime fewer: ~40 MB), and `deno task` is the server's parent. The
 * task forwards SIGINT, SIGTERM and SIGHUP to its child, so a signal for the task reaches the
 * server itself; a terminal hang-up reaches it directly. Where exec is not possible (Windows, no
 * libc found, `--allow-ffi` not granted) the launcher spawns the server instead, forwards the
 * same signals and exits with its code. Either way the server runs with `--parent-lifeline`: if
 * its parent is killed outright, it shuts down instead of living on with PPID 1.
 *
 * A compiled binary's permissions are those of the build: run it with the same config file
 * path (`--config FILE` or `FTPGATE_CONFIG`) and roots. A SIGHUP reload that names new roots
 * or files needs a rebuild (or a restart under `deno task start`) to be granted them.
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { type CliConfig, CliError, givenFlags, parseCli } from "../src/cli.ts";
import { lazyModules } from "../src/app/lazy.ts";
import { permissionsFor } from "../src/app/plan.ts";
import { type AppSettings, loadSettings } from "../src/app/settings.ts";
import { UNSTABLE_FLAGS, V8_FLAGS } from "./v8_flags.ts";

const [mode, ...args] = Deno.args;
const callerCwd = Deno.env.get("INIT_CWD") ?? Deno.cwd();
const repo = new URL("..", import.meta.url).pathname;
const main = resolve(repo, "main.ts");
const env = (name: string) => Deno.env.get(name);

/** `deno compile --target` values of `compile:all`, and the suffix of each binary. */
const TARGETS: readonly [target: string, suffix: string][] = [
  ["x86_64-unknown-linux-gnu", "linux-x64"],
  ["aarch64-unknown-linux-gnu", "linux-arm64"],
  ["x86_64-apple-darwin", "macos-x64"],
  ["aarch64-apple-darwin", "macos-arm64"],
  ["x86_64-pc-windows-msvc", "windows-x64.exe"],
];

function absolute(path: string): string {
  return isAbsolute(path) ? path : resolve(callerCwd, path);
}

function fail(message: string, code = 2): never {
  // deno-lint-ignore no-console
  console.error(`ftpgate: ${message}`);
  Deno.exit(code);
}

/**
 * Flags that make the relative paths given (as flags or variables) absolute; given after the
 * caller's own, they win. The config file's paths are its own business (relative to it).
 */
function absolutePaths(config: CliConfig, given: Set<string>): string[] {
  const paths: [flag: string, value: string | undefined][] = [
    ["root", /^(memory|s3):/i.test(config.serve.root) ? undefined : config.serve.root],
    [
      "tls-cert",
      config.serve.tls && "certFile" in config.serve.tls ? config.serve.tls.certFile : undefined,
    ],
    [
      "tls-key",
      config.serve.tls && "keyFile" in config.serve.tls ? config.serve.tls.keyFile : undefined,
    ],
    ["ready-file", config.readyFile === "-" ? undefined : config.readyFile],
    [
      "transcript",
      typeof config.serve.transcript === "string" ? config.serve.transcript : undefined,
    ],
    ["config", config.configFile],
    ["http-token-file", config.ops?.http?.tokenFile],
    ["transfer-log", config.ops?.transferLog?.path],
    ["webhook-secret-file", config.ops?.webhook?.secretFile],
  ];
  const overrides: string[] = [];
  for (const [flag, value] of paths) {
    if (value !== undefined && given.has(flag) && !isAbsolute(value)) {
      overrides.push(`--${flag}`, absolute(value));
    }
  }
  return overrides;
}

/** The settings the server will run with (config file loaded), or the exit for a mistake. */
async function settingsOf(all: string[]): Promise<AppSettings> {
  try {
    return await loadSettings(parseCli(all, env), env);
  } catch (error) {
    if (error instanceof CliError) fail(`${error.message}\nTry --help.`);
    const format = (error as { format?: () => string }).format;
    if ((error as Error).name === "ConfigError" && typeof format === "function") {
      // deno-lint-ignore no-console
      console.error(format.call(error));
      Deno.exit(2);
    }
    throw error;
  }
}

/**
 * The permission flags, or a clear exit for a path that no Deno flag can name. A binary embeds
 * the modules that `deno run` loads from src/ by URL, so it is not granted src/.
 */
async function permissions(
  settings: AppSettings,
  options: { linux?: boolean; binary?: boolean } = {},
): Promise<string[]> {
  // The server resolves a relative root against its working directory: the caller's.
  const serve = {
    ...settings.serve,
    root: /^(memory|s3):/i.test(settings.serve.root)
      ? settings.serve.root
      : absolute(settings.serve.root),
  };
  try {
    return await permissionsFor({ ...settings, serve }, {
      ...(options.binary ? {} : { sourceDir: resolve(repo, "src") }),
      ...(options.linux === undefined ? {} : { linux: options.linux }),
    });
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

/** `deno compile` arguments for one target (undefined: this machine's). */
async function compileArgs(
  settings: AppSettings,
  output: string,
  target?: string,
): Promise<string[]> {
  const linux = target === undefined ? undefined : target.includes("linux");
  const flags = await permissions(settings, {
    binary: true,
    ...(linux === undefined ? {} : { linux }),
  });
  // Modules loaded by computed URL (src/app/lazy.ts) and the workers (password hashing, the
  // sessions of --workers) are not found by deno compile on its own.
  const includes = [...lazyModules(), "src/identity/passwords/worker.ts", "src/workers/worker.ts"]
    .flatMap((path) => ["--include", resolve(repo, path)]);
  return [
    "compile",
    "--no-prompt",
    ...V8_FLAGS,
    ...UNSTABLE_FLAGS,
    ...flags,
    ...includes,
    ...(target === undefined ? [] : ["--target", target]),
    "--output",
    output,
    main,
  ];
}

/** Builds with `deno compile`; exits with its code when it fails. */
async function compile(compileArgs: string[]): Promise<void> {
  // deno-lint-ignore no-console
  console.error(`deno ${compileArgs.join(" ")}`);
  const status = await new Deno.Command(Deno.execPath(), {
    args: compileArgs,
    cwd: repo,
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  if (!status.success) Deno.exit(status.code);
}

/**
 * A compiled binary cannot take permission flags at run time: they are fixed at the build, for
 * the root given then (default /srv/ftp, the root of deploy/ftpgate.service).
 */
function forBinary(settings: AppSettings): AppSettings {
  if (given.has("root") || settings.serve.root !== ".") return settings;
  return { ...settings, serve: { ...settings.serve, root: "/srv/ftp" } };
}

/** Where the binary goes: FTPGATE_OUTPUT, or dist/ftpgate. */
function outputPath(): string {
  return absolute(Deno.env.get("FTPGATE_OUTPUT") ?? resolve(repo, "dist/ftpgate"));
}

/**
 * `deno task start check-config FILE` and `deno task start hash-password`: the subcommands
 * start no server. check-config reads whatever the file names (it checks that roots exist and
 * secrets resolve) and writes nothing; hash-password reads only its worker's module.
 */
const SUBCOMMANDS: Record<string, string[]> = {
  "check-config": ["--allow-read", "--allow-env"],
  "hash-password": [`--allow-read=${resolve(repo, "src/identity/passwords")}`],
};
if (mode === "run" && args[0] !== undefined && Object.hasOwn(SUBCOMMANDS, args[0])) {
  const [name, ...rest] = args;
  const file = name === "check-config" && rest.length === 1 ? [absolute(rest[0])] : rest;
  await spawn([Deno.execPath(), "run", "--no-prompt", ...SUBCOMMANDS[name], main, name, ...file]);
}

let given: Set<string>;
let first: CliConfig;
try {
  given = givenFlags(args, env);
  first = parseCli(args, env);
} catch (error) {
  if (error instanceof CliError) fail(`${error.message}\nTry --help.`);
  throw error;
}
const all = [...args, ...absolutePaths(first, given)];

if (mode === "run" || mode === "plan") {
  const settings = await settingsOf(all);
  const argv = [
    Deno.execPath(),
    "run",
    "--no-prompt",
    ...V8_FLAGS,
    ...UNSTABLE_FLAGS,
    ...(await permissions(settings)),
    main,
    ...all,
    "--parent-lifeline",
  ];
  if (mode === "plan") {
    const plan = {
      run: argv.slice(1),
      compile: await compileArgs(forBinary(settings), outputPath()),
    };
    // deno-lint-ignore no-console
    console.log(JSON.stringify(plan));
    Deno.exit(0);
  }
  Deno.chdir(callerCwd);
  exec(argv);
  await spawn(argv);
} else if (mode === "compile" || mode === "compile-all") {
  const settings = forBinary(await settingsOf(all));
  const output = outputPath();
  if (mode === "compile") {
    await compile(await compileArgs(settings, output));
  } else {
    for (const [target, suffix] of TARGETS) {
      await compile(await compileArgs(settings, `${output}-${suffix}`, target));
    }
  }
  Deno.exit(0);
} else {
  fail(`usage: launch.ts run|plan|compile|compile-all [ftpgate options]`);
}
