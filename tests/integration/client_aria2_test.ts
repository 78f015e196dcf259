/**
 * aria2c (1.36) reads the final reply only on a new read event: when the 150 and the 226 of a
 * small RETR arrive in one read it waits out its timeout (60 s by default). ftpgate sends the
 * 226 after the client has closed the data connection, so it always arrives on its own.
 */
import { equal, ok } from "node:assert/strict";
import { assertExit, ftpUrl, localDir } from "../helpers/clients.ts";
import { randomBytes, startServer } from "../helpers/server.ts";
import { needs, runCommand } from "../helpers/tools.ts";

Deno.test({
  name: "aria2c downloads 1-byte and 4 KiB files in well under a second each",
  ignore: needs("aria2c"),
  async fn() {
    const files = { "one.bin": randomBytes(1, 3), "four.bin": randomBytes(4096, 4) };
    await using t = startServer({ files });
    await using local = localDir();
    for (let round = 0; round < 30; round++) {
      for (const [name, bytes] of Object.entries(files)) {
        const started = performance.now();
        const output = await runCommand("aria2c", [
          "--quiet=true",
          "--timeout=10",
          "--max-tries=1",
          "--allow-overwrite=true",
          "--auto-file-renaming=false",
          `--ftp-user=${t.user}`,
          `--ftp-passwd=${t.password}`,
          "-d",
          local.path,
          "-o",
          name,
          ftpUrl(t, name),
        ], { timeoutMs: 30_000 });
        const ms = performance.now() - started;
        assertExit(output, `aria2c ${name}`);
        equal(Deno.readFileSync(`${local.path}/${name}`).length, bytes.length, name);
        ok(ms < 1_000, `aria2c took ${Math.round(ms)} ms for ${name} (round ${round})`);
      }
    }
  },
});
