/**
 * `deno task compile` builds a working single binary. Compiling needs `denort`, the runtime the
 * binary is built around; Deno downloads it unless DENORT_BIN points at one, and it cannot be
 * downloaded here, so the test runs only when DENORT_BIN is set and says so loudly otherwise.
 */

import { equal, ok } from "node:assert/strict";
import { REPO, startCli } from "../helpers/cli_helpers.ts";
import { localDir } from "../helpers/clients.ts";
import { needs, runCommand } from "../helpers/tools.ts";

const denort = Deno.env.get("DENORT_BIN");
if (!denort) {
  // deno-lint-ignore no-console
  console.warn(
    "SKIPPING the compile test: DENORT_BIN is not set, and denort cannot be downloaded here " +
      "(set DENORT_BIN=/path/to/denort to run it)",
  );
}

Deno.test({
  name: "deno task compile builds a binary that serves files and stops on SIGTERM",
  ignore: !denort || needs("curl"),
  async fn() {
    await using dir = localDir();
    const root = `${dir.path}/root`;
    Deno.mkdirSync(root);
    Deno.writeTextFileSync(`${root}/hello.txt`, "hello from the compiled binary\n");
    const binary = `${dir.path}/ftpgate`;
    const build = await runCommand(Deno.execPath(), ["task", "compile", "--root", root], {
      cwd: REPO,
      env: { FTPGATE_OUTPUT: binary, DENORT_BIN: denort!, NO_COLOR: "1" },
      timeoutMs: 240_000,
    });
    equal(build.code, 0, `deno task compile failed\n${build.stdout}\n${build.stderr}`);
    ok(Deno.statSync(binary).isFile, "the binary exists");

    await using server = startCli(["--root", root, "--port", "0", "--ready-file", "-"], {
      executable: binary,
      cwd: dir.path,
    });
    const line = await server.ready(30_000);
    equal(line.event, "ready");
    const download = await runCommand("curl", [
      "--silent",
      "--show-error",
      "--max-time",
      "20",
      `ftp://127.0.0.1:${line.port}/hello.txt`,
    ], { timeoutMs: 30_000 });
    equal(download.code, 0, download.stderr);
    equal(download.stdout, "hello from the compiled binary\n");
    server.kill("SIGTERM");
    const exit = await server.wait(10_000);
    equal(exit.code, 0, exit.stderr);
    equal(exit.signal, null);
  },
});
