/**
 * `deno task start` and `deno task compile`: run or build ftpgate with the least Deno
 * permissions its flags need (see src/permissions.ts), instead of `--allow-all`.
 *
 *   deno task start --root ./pub --user alice:secret
 *   deno task compile --root /srv/ftp            # permissions are baked into the binary
 *
 * `deno task` runs in the repository directory; relative paths are resolved against the
 * directory the task was started from (INIT_CWD), as a user expects.
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { CliError, envNames, parseCli } from "../src/cli.ts";
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

let config;
try {
  config = parseCli(args, (name) => Deno.env.get(name));
} catch (error) {
  if (error instanceof CliError) fail(`${error.message}\nTry --help.`);
  throw error;
}

const tls = config.serve.tls;
if (tls && "certFile" in tls) {
  tls.certFile = absolute(tls.certFile);
  tls.keyFile = absolute(tls.keyFile);
}

if (mode === "run") {
  if (!config.serve.root.startsWith("memory:")) config.serve.root = absolute(config.serve.root);
  const flags = permissionFlags(config, envNames());
  const rootArgs = config.serve.root.startsWith("memory:") ? [] : ["--root", config.serve.root];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...V8_FLAGS, ...flags, main, ...args, ...rootArgs],
    cwd: callerCwd,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      try {
        child.kill(signal);
      } catch { /* exited */ }
    });
  }
  const status = await child.status;
  Deno.exit(status.code);
} else if (mode === "compile") {
  // A compiled binary cannot take permission flags at run time: they are fixed here, for the
  // root given now (default /srv/ftp, the root of deploy/ftpgate.service).
  const root = args.includes("--root") || Deno.env.get("FTPGATE_ROOT")
    ? absolute(config.serve.root)
    : "/srv/ftp";
  config.serve.root = root;
  const output = absolute(Deno.env.get("FTPGATE_OUTPUT") ?? resolve(repo, "dist/ftpgate"));
  const flags = permissionFlags(config, envNames());
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
