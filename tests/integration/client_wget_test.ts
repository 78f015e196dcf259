/**
 * Interoperability with GNU wget (subprocess): single downloads, recursive downloads (wget parses
 * the LIST output, dates included), active mode and resume. `-d` traces are asserted where the
 * protocol path matters.
 */

import { deepEqual, equal, ok } from "node:assert/strict";
import {
  assertBytes,
  assertExit,
  assertSameTree,
  COMMAND_TIMEOUT_MS,
  ftpUrl,
  localDir,
  readTree,
  wget,
  writeTree,
} from "../helpers/clients.ts";
import { randomBytes, startServer } from "../helpers/server.ts";
import { needs, runCommand } from "../helpers/tools.ts";

const ignore = needs("wget");
const FIVE_MIB = randomBytes(5 << 20, 55);

/** The commands wget sent, from its `-d` output (`--> VERB args`). */
function sent(output: string): string[] {
  return output.split("\n").filter((line) => line.startsWith("--> ")).map((line) =>
    line.slice(4).trimEnd()
  );
}

Deno.test({
  name: "wget: ftp://user:pass@host/file downloads byte-exact (0 B, 1 B, 5 MiB)",
  ignore,
  async fn() {
    const files = {
      "zero.bin": new Uint8Array(0),
      "one.bin": new Uint8Array([1]),
      "five.bin": FIVE_MIB,
      "ü 日本.txt": new TextEncoder().encode("utf-8\n"),
    };
    await using t = startServer({ files });
    await using local = localDir();
    for (const [name, data] of Object.entries(files)) {
      // Credentials only in the URL; the password's space is %20.
      const run = await runCommand("wget", [
        "--no-config",
        "--tries=1",
        "--timeout=20",
        "--no-verbose",
        ftpUrl(t, name, true),
      ], { cwd: local.path, timeoutMs: COMMAND_TIMEOUT_MS, env: { LC_ALL: "C.UTF-8" } });
      assertExit(run, `wget ${name}`);
      assertBytes(await Deno.readFile(`${local.path}/${name}`), data, `wget ${name}`);
    }
    // A missing file: wget's "server issued an error response" (exit 8), nothing written.
    const missing = await wget(t, [ftpUrl(t, "missing.bin")], { cwd: local.path });
    equal(missing.code, 8, missing.stderr);
    ok(![...Deno.readDirSync(local.path)].some((entry) => entry.name === "missing.bin"));
  },
});

Deno.test({
  name: "wget: -r downloads a tree by parsing LIST, keeping names and listing dates",
  ignore,
  async fn() {
    const tree = {
      "top.txt": "top\n",
      "with space.txt": "space\n",
      "ü 日本.txt": "utf-8\n",
      "big.bin": randomBytes(300_000, 8),
      "a/one.txt": "1",
      "a/b/two.bin": randomBytes(70_000, 9),
    };
    await using t = startServer();
    writeTree(`${t.root}/pub`, tree);
    await using local = localDir();
    // LIST shows a year for old files and HH:MM for recent ones; wget reads both.
    const old = new Date("2020-01-02T03:04:05Z");
    Deno.utimeSync(`${t.root}/pub/a/one.txt`, old, old);
    const recent = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 7_200_000 + 42_000);
    Deno.utimeSync(`${t.root}/pub/top.txt`, recent, recent);

    const run = await wget(t, ["-r", "-nH", ftpUrl(t, "pub/")], { cwd: local.path });
    assertExit(run, "wget -r");
    assertSameTree(await readTree(`${local.path}/pub`), await readTree(`${t.root}/pub`), "tree");
    // wget removes its .listing files after use.
    ok(!(await readTree(local.path)).has("pub/.listing"));
    // Dates come from the LIST lines (minute or day precision; UTC as the server sends it).
    equal(
      Deno.statSync(`${local.path}/pub/a/one.txt`).mtime?.toISOString(),
      "2020-01-02T00:00:00.000Z",
    );
    equal(
      Deno.statSync(`${local.path}/pub/top.txt`).mtime?.toISOString(),
      new Date(recent.getTime() - 42_000).toISOString(),
    );
  },
});

Deno.test({
  name: "wget: --no-passive-ftp downloads in active mode (PORT)",
  ignore,
  async fn() {
    await using t = startServer({ files: { "d.bin": FIVE_MIB, "tree/x.txt": "x" } });
    await using local = localDir();
    const run = await wget(t, ["-d", "--no-passive-ftp", ftpUrl(t, "d.bin")], {
      cwd: local.path,
    });
    assertExit(run, "wget active");
    const commands = sent(run.stderr);
    ok(commands.some((c) => c.startsWith("PORT 127,0,0,1,")), commands.join(" | "));
    ok(!commands.some((c) => /^(PASV|EPSV)/.test(c)), commands.join(" | "));
    assertBytes(await Deno.readFile(`${local.path}/d.bin`), FIVE_MIB, "active download");
    // A recursive fetch in active mode (LIST over an active data connection too).
    const tree = await wget(t, ["-r", "-nH", "--no-passive-ftp", ftpUrl(t, "tree/")], {
      cwd: local.path,
    });
    assertExit(tree, "wget -r active");
    equal(Deno.readTextFileSync(`${local.path}/tree/x.txt`), "x");
  },
});

Deno.test({
  name: "wget: -c resumes a partial download with REST",
  ignore,
  async fn() {
    await using t = startServer({ files: { "d.bin": FIVE_MIB } });
    await using local = localDir();
    Deno.writeFileSync(`${local.path}/d.bin`, FIVE_MIB.subarray(0, 3_333_333));
    const run = await wget(t, ["-d", "-c", ftpUrl(t, "d.bin")], { cwd: local.path });
    assertExit(run, "wget -c");
    const commands = sent(run.stderr);
    ok(commands.includes("REST 3333333"), commands.join(" | "));
    assertBytes(await Deno.readFile(`${local.path}/d.bin`), FIVE_MIB, "resumed download");
    // Already complete: wget checks SIZE and transfers nothing.
    const again = await wget(t, ["-d", "-c", ftpUrl(t, "d.bin")], { cwd: local.path });
    assertExit(again, "wget -c of a complete file");
    deepEqual(sent(again.stderr).filter((c) => c.startsWith("RETR")), []);
    assertBytes(await Deno.readFile(`${local.path}/d.bin`), FIVE_MIB, "unchanged");
  },
});
