/**
 * Testing your own FTP client code with ftpgate, in Deno.
 *
 * `startTestServer()` starts a real FTP server on 127.0.0.1 on a free port, with one user
 * (`test`/`test`) and a fresh temporary directory; `await using` stops it and removes the
 * directory at the end of the test. Run:
 *
 *     deno test -A examples/deno_test.ts
 *
 * (In your own project, import from `jsr:@ftpgate/ftpgate/testing`.)
 */

import { equal } from "node:assert/strict";
import { Readable } from "node:stream";
import { Client } from "basic-ftp";
import { startTestServer } from "@ftpgate/ftpgate/testing";

/** The code under test: uploads a CSV report to an FTP server given by URL. */
async function uploadReport(url: string, rows: string[][]): Promise<void> {
  const { hostname, port, username, password } = new URL(url);
  const client = new Client(10_000);
  try {
    await client.access({
      host: hostname,
      port: Number(port),
      user: decodeURIComponent(username),
      password: decodeURIComponent(password),
    });
    await client.ensureDir("/reports");
    const csv = rows.map((row) => row.join(",")).join("\n") + "\n";
    await client.uploadFrom(Readable.from([csv]), "daily.csv");
  } finally {
    client.close();
  }
}

Deno.test("uploadReport() puts the CSV in /reports", async () => {
  await using ftp = startTestServer({ files: { "reports/README": "drop reports here" } });

  await uploadReport(ftp.url, [["id", "total"], ["1", "42"]]);

  equal(await ftp.readText("/reports/daily.csv"), "id,total\n1,42\n");
  equal(await ftp.exists("/reports/README"), true);
});
