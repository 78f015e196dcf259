/**
 * Every log record of a session carries the session id, the client's address and the user
 * (issue 13), in both log formats, through the real command line: a session that logs in, lists,
 * downloads, uploads and deletes, a failed login, an unknown user, and a command that fails.
 * JSON lines have the three under `properties`; text lines show the session number.
 */

import { equal, match, ok } from "node:assert/strict";
import { memoryCliLog } from "../helpers/cli_helpers.ts";
import { RawClient } from "../helpers/raw_client.ts";

/** The sessions' work; returns the session numbers the server gave them, in order. */
async function work(port: number): Promise<void> {
  {
    await using raw = await RawClient.connect(port);
    await raw.login("alice", "right");
    await raw.expect("TYPE I", 200);
    equal((await raw.upload("STOR a.txt", new TextEncoder().encode("hello"))).code, 226);
    ok((await raw.listing("LIST")).includes("a.txt"));
    equal(new TextDecoder().decode(await raw.download("RETR a.txt")), "hello");
    await raw.expect("DELE a.txt", 250);
    await raw.expect("DELE a.txt", 550); // a failed file action
    await raw.expect("QUIT", 221);
  }
  {
    await using raw = await RawClient.connect(port);
    await raw.expect("USER alice", 331);
    await raw.expect("PASS wrong", 530);
    await raw.expect("USER nobody", 331);
    await raw.expect("PASS nothing", 530);
    await raw.expect("QUIT", 221);
  }
}

function sessionLog(format: "text" | "json"): Promise<string> {
  return memoryCliLog("alice:right", ["--log-level", "debug", "--log-format", format], work);
}

interface JsonRecord {
  message: string;
  logger: string;
  properties: Record<string, unknown>;
}

/** The records about sessions: every record of these categories, none left out. */
const SESSION_LOGGERS = ["ftpgate.session", "ftpgate.transfer", "ftpgate.security"];

Deno.test("--log-format json: every session record has session, remote and user", async () => {
  const records: JsonRecord[] = (await sessionLog("json")).trimEnd().split("\n").map((line) =>
    JSON.parse(line)
  );
  const about = records.filter((record) => SESSION_LOGGERS.includes(record.logger));
  // Opened ×2, logged in, STOR, LIST, RETR, DELE ok, DELE failed, closed ×2, failed logins ×2.
  ok(about.length >= 12, about.map((record) => record.message).join("\n"));
  for (const { message, properties } of about) {
    equal(typeof properties.session, "number", message);
    equal(properties.remote, "127.0.0.1", message);
    ok("user" in properties, `no user: ${message}`);
  }
  const first = about.find((record) => record.message.includes("logged in"))!;
  const second = about.find((record) => record.message.startsWith("Login failed"))!;
  ok(first.properties.session !== second.properties.session, "two sessions, two numbers");
  for (const verb of ["STOR", "LIST", "RETR"]) {
    const record = about.find((record) => record.properties.command === verb);
    equal(record?.properties.user, "alice", verb);
    equal(record?.properties.session, first.properties.session, verb);
  }
  const deleted = about.filter((record) => record.properties.action === "delete");
  equal(deleted.length, 2);
  for (const record of deleted) equal(record.properties.user, "alice");
  // The failed logins: the user name tried, and the session that tried it.
  const failed = about.filter((record) => record.message.startsWith("Login failed"));
  equal(failed.map((record) => record.properties.user).join(" "), "alice nobody");
  for (const record of failed) {
    equal(record.properties.session, second.properties.session);
    // The fixed start the fail2ban filter reads the address from; the context comes after.
    match(record.message, /^Login failed from 127\.0\.0\.1: user \w+ \[session=\d+\]$/);
  }
  // The session opened before anyone logged in: user null, not made up.
  const opened = about.find((record) => record.message.includes("opened from"))!;
  equal(opened.properties.user, null);
});

Deno.test("--log-format text: every session line shows its session number", async () => {
  const lines = (await sessionLog("text")).trimEnd().split("\n").filter((line) =>
    / ftpgate\.(session|transfer|security): /.test(line)
  );
  ok(lines.length >= 12, lines.join("\n"));
  for (const line of lines) match(line, /\b[Ss]ession[ =]\d+\b/);
  const transfer = lines.filter((line) => / ftpgate\.transfer: /.test(line));
  equal(transfer.length, 3, transfer.join("\n"));
  for (const line of transfer) {
    match(line, /: Session \d+: (STOR|LIST|RETR) .* by alice from 127\.0\.0\.1: /);
  }
  const failed = lines.filter((line) => line.includes("Login failed"));
  equal(failed.length, 2);
  for (const line of failed) {
    match(
      line,
      /\[WRN\] ftpgate\.security: Login failed from 127\.0\.0\.1: user \w+ \[session=\d+\]$/,
    );
  }
});
