/**
 * The examples in examples/ run, each with its own test runner, as a user would run them.
 */

import { equal, match, ok } from "node:assert/strict";
import { REPO } from "../helpers/cli_helpers.ts";
import { assertExit } from "../helpers/clients.ts";
import { needs, runCommand } from "../helpers/tools.ts";

/** Debian's python3 with Debian's python3-pytest (PyPI is unreachable here). */
const SYSTEM_PYTHON = "/usr/bin/python3";

function hasPytest(): boolean {
  try {
    const ok = new Deno.Command(SYSTEM_PYTHON, {
      args: ["-m", "pytest", "--version"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
    if (ok) return true;
  } catch { /* no /usr/bin/python3 */ }
  // deno-lint-ignore no-console
  console.warn(
    `SKIPPING the pytest example: ${SYSTEM_PYTHON} -m pytest does not work ` +
      "(apt-get install python3-pytest)",
  );
  return false;
}

Deno.test("examples/deno_test.ts passes under deno test", async () => {
  const output = await runCommand(Deno.execPath(), ["test", "-A", "examples/deno_test.ts"], {
    cwd: REPO,
    env: { NO_COLOR: "1" },
    timeoutMs: 60_000,
  });
  assertExit(output, "deno test examples/deno_test.ts");
  match(output.stdout, /^ok \| 1 passed \| 0 failed/m);
});

Deno.test("examples/node_test.mjs passes under node --test", {
  ignore: needs("node"),
}, async () => {
  const output = await runCommand("node", ["--test", "examples/node_test.mjs"], {
    cwd: REPO,
    timeoutMs: 60_000,
  });
  assertExit(output, "node --test examples/node_test.mjs");
  match(output.stdout, /^# pass 1$/m);
  match(output.stdout, /^# fail 0$/m);
  ok(output.stdout.includes("stdin closed: shutting down"), "the server was stopped by stdin");
});

Deno.test("examples/ passes under pytest", { ignore: !hasPytest() }, async () => {
  const output = await runCommand(
    SYSTEM_PYTHON,
    ["-m", "pytest", "examples/", "-q", "-p", "no:cacheprovider"],
    { cwd: REPO, env: { PYTHONDONTWRITEBYTECODE: "1" }, timeoutMs: 60_000 },
  );
  assertExit(output, "python3 -m pytest examples/");
  match(output.stdout, /\b2 passed\b/);
  equal(/\bfailed\b|\berror\b/.test(output.stdout), false, output.stdout);
});
