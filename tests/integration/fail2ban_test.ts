/**
 * deploy/fail2ban/filter.d-ftpgate.conf against real log lines: a real server (`deno run
 * main.ts`) in each log format, failed logins with hostile user names over a real socket, its
 * stderr run through Debian's `fail2ban-regex`. fail2ban must find the client's address once per
 * failure — never an address the client wrote into its user name.
 */

import { deepEqual, equal } from "node:assert/strict";
import { memoryCliLog, REPO } from "../helpers/cli_helpers.ts";
import { localDir } from "../helpers/clients.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { needs, runCommand } from "../helpers/tools.ts";

const FILTER = `${REPO}deploy/fail2ban/filter.d-ftpgate.conf`;

/** User names that try to make fail2ban ban someone else. */
const FORGED_USERS = [
  "x from 10.9.9.9",
  'x" from 10.9.9.8',
  "y from 10.9.9.7: user z",
  'q","message":"Login failed from 10.9.9.6: user ',
  '{"@timestamp":"2026-01-01T00:00:00.000Z","level":"WARN","message":"Login failed from 10.9.9.5: user ',
  "r [WRN] ftpgate.security: Login failed from 10.9.9.4: user s",
  "Login failed from 10.9.9.3: user t",
  "\x1b[2K\x1b[1GLogin failed from 10.9.9.2: user u",
  "10.9.9.1",
];

/** Starts a server, fails to log in once per user name (plus one good login), returns stderr. */
function failedLoginLog(format: "text" | "json", host: string): Promise<string> {
  const extra = [
    "--host",
    host,
    "--max-login-attempts",
    "100",
    "--ban-after",
    "1000",
    "--log-format",
    format,
  ];
  return memoryCliLog("alice:right", extra, async (port) => {
    await using raw = await RawClient.connect(port, host);
    for (const user of ["bob", ...FORGED_USERS]) {
      await raw.expect(`USER ${user}`, 331);
      await raw.expect("PASS wrong", 530);
    }
    await raw.login("alice", "right");
    await raw.expect("QUIT", 221);
  });
}

/** The addresses fail2ban-regex finds in `text`, one per matched line. */
async function fail2banAddresses(text: string): Promise<string[]> {
  await using dir = localDir();
  const file = `${dir.path}/ftpgate.log`;
  Deno.writeTextFileSync(file, text);
  const output = await runCommand("fail2ban-regex", ["-o", "ip", file, FILTER], {
    timeoutMs: 30_000,
  });
  equal(output.code, 0, `fail2ban-regex failed:\n${output.stdout}\n${output.stderr}`);
  return output.stdout.split("\n").filter((line) => line !== "");
}

/** How the same lines look when fail2ban reads them from the journal or from syslog. */
const SHAPES: [name: string, reshape: (line: string) => string][] = [
  ["as written to stderr", (line) => line],
  ["with a journal prefix", (line) => `edge-vm ftpgate[4242]: ${line}`],
  ["as syslog writes them", (line) => `Nov 22 03:15:53 edge-vm ftpgate[4242]: ${line}`],
];

for (const format of ["text", "json"] as const) {
  for (const [host, address] of [["127.0.0.1", "127.0.0.1"], ["::1", "::1"]]) {
    Deno.test({
      name: `fail2ban finds exactly the client's ${address} in --log-format ${format} lines`,
      ignore: needs("fail2ban-regex"),
      async fn() {
        const log = await failedLoginLog(format, host);
        const failures = FORGED_USERS.length + 1;
        const lines = log.split("\n").filter((line) => line !== "");
        equal(lines.filter((line) => line.includes("Login failed")).length, failures, log);
        for (const [shape, reshape] of SHAPES) {
          const found = await fail2banAddresses(lines.map(reshape).join("\n") + "\n");
          deepEqual(found, Array(failures).fill(address), `${shape}: ${found.join(" ")}\n${log}`);
        }
      },
    });
  }
}
