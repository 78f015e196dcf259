/**
 * `deno task compile` builds a working single binary. Compiling needs `denort`, the runtime the
 * binary is built around; Deno downloads it unless DENORT_BIN points at one, and it cannot be
 * downloaded here, so the build test runs only when DENORT_BIN is set and says so loudly
 * otherwise. What can be tested without it is: the command line the build would run (its
 * permission list, the modules it must include), and the smoke test the binary would pass, run
 * with `deno run` under exactly the binary's permissions.
 */

import { deepEqual, equal, ok } from "node:assert/strict";
import {
  downloadTextAs,
  hashPassword,
  launchPlan,
  REPO,
  startCli,
  stopCli,
} from "../helpers/cli_helpers.ts";
import { localDir } from "../helpers/clients.ts";
import { LIBC_PATHS } from "../../src/storage/libc.ts";
import { needs, runCommand } from "../helpers/tools.ts";

const denort = Deno.env.get("DENORT_BIN");
if (!denort) {
  // deno-lint-ignore no-console
  console.warn(
    "SKIPPING the compile test: DENORT_BIN is not set, and denort cannot be downloaded here " +
      "(set DENORT_BIN=/path/to/denort to run it)",
  );
}

/**
 * The fixture's server on `port` serves hello.txt to curl (anonymous) and to alice, whose
 * hashed password needs the password worker to load under the server's grants.
 */
async function assertServesFixture(port: number): Promise<void> {
  const download = await runCommand("curl", [
    "--silent",
    "--show-error",
    "--max-time",
    "20",
    `ftp://127.0.0.1:${port}/hello.txt`,
  ], { timeoutMs: 30_000 });
  equal(download.code, 0, download.stderr);
  equal(download.stdout, "hello from the binary\n");
  equal(await downloadTextAs(port, "alice", "compiled-pw", "hello.txt"), "hello from the binary\n");
}

/** The `--allow-*` flags of a command line. */
function permissionFlags(argv: string[]): string[] {
  return argv.filter((arg) => arg.startsWith("--allow-"));
}

/** A root with a file, a config file with a hashed user (made by the real command). */
async function fixture(dir: string): Promise<{ root: string; config: string }> {
  const root = `${dir}/root`;
  Deno.mkdirSync(root);
  Deno.writeTextFileSync(`${root}/hello.txt`, "hello from the binary\n");
  const hash = await hashPassword("compiled-pw");
  const config = `${dir}/ftpgate.jsonc`;
  Deno.writeTextFileSync(
    config,
    JSON.stringify({
      listen: { port: 0 },
      users: [{ name: "alice", password_hash: hash, root: "root" }],
      anonymous: { root: "root" },
    }),
  );
  return { root, config };
}

Deno.test("deno task compile's command line: the grants of the flags and config, and the includes", async () => {
  await using dir = localDir();
  const { root, config } = await fixture(dir.path);
  const args = (await launchPlan(["--config", config, "--no-active"], dir.path)).compile;
  deepEqual(permissionFlags(args).filter((flag) => !flag.startsWith("--allow-env")), [
    "--allow-net=127.0.0.1",
    `--allow-read=${root},${Deno.build.os === "linux" ? "/proc/self/fd," : ""}${config}`,
    `--allow-write=${root}`,
    // The listing cache's inotify, through glibc only (src/storage/libc.ts).
    ...(Deno.build.os === "linux" ? [`--allow-ffi=${LIBC_PATHS.join(",")}`] : []),
  ]);
  ok(args.includes("--unstable-net"), "--workers can be used with the binary");
  const env = permissionFlags(args).find((flag) => flag.startsWith("--allow-env="))!;
  ok(env.slice("--allow-env=".length).split(",").every((name) => name.startsWith("FTPGATE_")));
  ok(
    !args.some((arg) => arg.includes(`${REPO}src,`) || arg.endsWith(`${REPO}src`)),
    "src/ is embedded",
  );
  const includes = args.flatMap((arg, i) => args[i - 1] === "--include" ? [arg] : []);
  ok(includes.includes(`${REPO}src/identity/passwords/worker.ts`), "the password worker");
  ok(includes.includes(`${REPO}src/config/load.ts`), "the config loader (loaded by URL)");
  ok(includes.includes(`${REPO}src/workers/worker.ts`), "the session worker of --workers");
  deepEqual(args.slice(-3), ["--output", `${REPO}dist/ftpgate`, `${REPO}main.ts`]);
  // Without flags: the default root of deploy/ftpgate.service.
  const plain = (await launchPlan([], dir.path)).compile;
  ok(
    plain.includes("--allow-read=/srv/ftp" + (Deno.build.os === "linux" ? ",/proc/self/fd" : "")),
    plain.join(" "),
  );
});

Deno.test({
  name: "the binary's smoke test, run with deno run under the binary's permissions (plus src/)",
  ignore: needs("curl"),
  async fn() {
    await using dir = localDir();
    const { config } = await fixture(dir.path);
    // The binary's grants, plus read on src/: deno run loads from there what a binary embeds
    // (the config loader, the password worker).
    const { compile } = await launchPlan(["--config", config], dir.path);
    const grants = permissionFlags(compile).map((flag) =>
      flag.startsWith("--allow-read=") ? `${flag},${REPO}src` : flag
    );
    await using server = startCli(["--config", config, "--ready-file", "-"], {
      permissions: grants,
      cwd: dir.path,
    });
    const line = await server.ready(30_000);
    await assertServesFixture(line.port);
    const exit = await stopCli(server);
    ok(!/NotCapable|Requires .* access/.test(exit.stderr), exit.stderr);
  },
});

Deno.test({
  name:
    "deno task compile builds a binary that serves files, hashes passwords and stops on SIGTERM",
  ignore: !denort || needs("curl"),
  async fn() {
    await using dir = localDir();
    const { config } = await fixture(dir.path);
    const binary = `${dir.path}/ftpgate`;
    const build = await runCommand(Deno.execPath(), ["task", "compile", "--config", config], {
      cwd: REPO,
      env: { FTPGATE_OUTPUT: binary, DENORT_BIN: denort!, NO_COLOR: "1" },
      timeoutMs: 240_000,
    });
    equal(build.code, 0, `deno task compile failed\n${build.stdout}\n${build.stderr}`);
    ok(Deno.statSync(binary).isFile, "the binary exists");

    const checked = await runCommand(binary, ["check-config", config], { timeoutMs: 30_000 });
    equal(checked.code, 0, checked.stderr);
    await using server = startCli(["--config", config, "--ready-file", "-"], {
      executable: binary,
      cwd: dir.path,
    });
    const line = await server.ready(30_000);
    equal(line.event, "ready");
    await assertServesFixture(line.port);
    const exit = await stopCli(server);
    equal(exit.signal, null);
  },
});
