/**
 * `passive.addresses` through the real command line and over the wire: the 227 reply's address
 * depends on the client's network (issue 11, NAT). The server listens on `::` (dual stack), so
 * that one loopback machine offers three client networks: IPv4 loopback from 127.0.0.1, IPv4
 * loopback from a bound 127.0.0.3 (Python's ftplib, as Deno cannot choose a source address), and
 * IPv6 loopback (::1), which no rule names and so gets `passive.address`.
 */

import { equal } from "node:assert/strict";
import { startCli, stopCli } from "../helpers/cli_helpers.ts";
import { localDir } from "../helpers/clients.ts";
import { parsePasv } from "../helpers/protocol_helpers.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { canListenOn, hasPython } from "../helpers/hardening_helpers.ts";

/** The PASV reply a client bound to `source` gets, through Python's ftplib. */
async function pasvFrom(source: string, host: string, port: number): Promise<string> {
  const script = `import ftplib, sys
ftp = ftplib.FTP(source_address=(sys.argv[1], 0), timeout=10)
ftp.connect(sys.argv[2], int(sys.argv[3]))
ftp.login("alice", "a-pw")
print(ftp.sendcmd("PASV"))
ftp.quit()
`;
  const out = await new Deno.Command("python3", {
    args: ["-c", script, source, host, String(port)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

/** The host of a 227 reply text ("227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)."). */
function pasvHost(text: string): string {
  const groups = /\((\d+),(\d+),(\d+),(\d+),\d+,\d+\)/.exec(text);
  if (groups === null) throw new Error(`not a 227 reply: ${text}`);
  return groups.slice(1, 5).join(".");
}

/** One raw session from the local default source; the PASV host it is given. */
async function pasvOver(port: number, host: string): Promise<string> {
  await using client = await RawClient.connect(port, host);
  await client.login("alice", "a-pw");
  return parsePasv(await client.expect("PASV", 227)).host;
}

Deno.test({
  name: "passive.addresses: each client network gets its own 227 address, others passive.address",
  ignore: !hasPython() || !canListenOn("::"),
  async fn() {
    await using dir = localDir();
    const config = `${dir.path}/ftpgate.jsonc`;
    Deno.writeTextFileSync(
      config,
      JSON.stringify({
        allow_plaintext: true,
        users: [{ name: "alice", password: "a-pw", root: dir.path }],
        limits: { login_failure_delay: 0 },
        passive: {
          address: "203.0.113.10",
          addresses: [
            // First match wins: 127.0.0.3 is in 127.0.0.0/8 too, but this rule comes first.
            { networks: ["127.0.0.3/32"], address: "198.51.100.7" },
            { networks: ["127.0.0.0/8"], address: "local" },
          ],
        },
      }),
    );
    await using cli = startCli([
      "--config",
      config,
      "--host",
      "::",
      "--port",
      "0",
      "--ready-file",
      "-",
    ]);
    const { port } = await cli.ready();

    // "local" is the address the client reached, not the client's: connecting to 127.0.0.2
    // from 127.0.0.1 (Linux picks 127.0.0.1 as the source on lo) must advertise 127.0.0.2.
    equal(await pasvOver(port, "127.0.0.1"), "127.0.0.1", "127.0.0.0/8 → local");
    equal(await pasvOver(port, "127.0.0.2"), "127.0.0.2", "local = the address reached");
    // A client from 127.0.0.3: the first rule.
    equal(pasvHost(await pasvFrom("127.0.0.3", "127.0.0.1", port)), "198.51.100.7");
    // From 127.0.0.4: the second rule again.
    equal(pasvHost(await pasvFrom("127.0.0.4", "127.0.0.5", port)), "127.0.0.5");
    // IPv6 loopback is in neither network: the public address (IPv4, so PASV can carry it).
    equal(await pasvOver(port, "::1"), "203.0.113.10", "no rule → passive.address");
    await stopCli(cli);
  },
});
