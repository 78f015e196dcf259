/**
 * What a download in a converting representation costs the server in memory: TYPE A C (ASA
 * carriage control) writes a run of empty lines as it goes, so a file of nothing but empty
 * lines costs no more than the same file in plain TYPE A. The server runs as its own process,
 * so that its peak memory (VmHWM) can be read from /proc.
 */
import { equal, ok } from "node:assert/strict";
import { MiB, processPeakRss, startServerProcess } from "../helpers/hardening_helpers.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { PASSWORD, USER } from "../helpers/server.ts";

/** RETR over EPSV, counting the bytes without keeping them. */
async function retrCount(c: RawClient, command: string): Promise<number> {
  const data = await c.epsv();
  await c.expect(command, 150);
  const buffer = new Uint8Array(256 * 1024);
  let total = 0;
  try {
    for (;;) {
      const n = await data.read(buffer);
      if (n === null) break;
      total += n;
    }
  } finally {
    data.close();
  }
  equal((await c.read()).code, 226);
  return total;
}

Deno.test({
  name: "TYPE A C: a RETR of 32 MiB of empty lines needs no more memory than in plain TYPE A",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "ftpgate-asa-memory-" });
    try {
      Deno.writeFileSync(`${dir}/blank.txt`, new Uint8Array(32 * MiB).fill(0x0a));
      await using server = await startServerProcess(dir);
      await using c = await RawClient.connect(server.port);
      await c.login(USER, PASSWORD);
      // The plain conversion first: whatever any TYPE A download of this file costs (buffers,
      // garbage before the collector runs) is in the baseline.
      await c.expect("TYPE A N", 200);
      equal(await retrCount(c, "RETR blank.txt"), 64 * MiB); // LF → CRLF
      await c.expect("TYPE A C", 200);
      const before = processPeakRss(server.pid);
      // Every empty line becomes a record of a space control: " " CR LF.
      equal(await retrCount(c, "RETR blank.txt"), 96 * MiB);
      const grown = (processPeakRss(server.pid) - before) / MiB;
      // Holding the run of empty lines grew the server by 100 MiB and more.
      ok(grown < 16, `the ASA download took ${Math.round(grown)} MiB more than plain TYPE A`);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
