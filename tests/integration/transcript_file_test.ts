/**
 * The --transcript file never holds a password (PASS and ACCT are recorded as `****`), and it is
 * readable by the server's user only (it holds user names and paths): created 0600, and an
 * existing one narrowed to 0600 before the first line.
 */
import { equal, ok } from "node:assert/strict";
import { startCli } from "../helpers/cli_helpers.ts";
import { RawClient } from "../helpers/raw_client.ts";

async function loginWithTranscript(file: string, root: string): Promise<string> {
  await using cli = startCli([
    "--root",
    root,
    "--port",
    "0",
    "--user",
    "bob:pw-of-bob",
    "--transcript",
    file,
    "--ready-file",
    "-",
  ]);
  const ready = await cli.ready();
  await using c = await RawClient.connect(ready.port);
  await c.login("bob", "pw-of-bob");
  await c.expect("QUIT", 221);
  await new Promise((resolve) => setTimeout(resolve, 100));
  return Deno.readTextFileSync(file);
}

Deno.test("--transcript FILE holds no password and is not readable by other local users", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "ftpgate-transcript-" });
  try {
    const file = `${dir}/transcript.jsonl`;
    const text = await loginWithTranscript(file, dir);
    ok(!text.includes("pw-of-bob"), "no password in the transcript");
    ok(text.includes('"PASS ****"'), text);
    const mode = Deno.statSync(file).mode! & 0o777;
    equal(mode & 0o077, 0, `the transcript with passwords is mode 0${mode.toString(8)}`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("--transcript FILE that exists readable by others is made private before it is written", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "ftpgate-transcript-" });
  try {
    const file = `${dir}/transcript.jsonl`;
    Deno.writeTextFileSync(file, '{"earlier":"run"}\n');
    Deno.chmodSync(file, 0o644);
    const text = await loginWithTranscript(file, dir);
    ok(text.startsWith('{"earlier":"run"}\n'), "appended to, as before");
    ok(!text.includes("pw-of-bob"));
    equal(Deno.statSync(file).mode! & 0o777, 0o600);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
