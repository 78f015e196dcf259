/**
 * A login refused by the user's own conditions (allowed networks, TLS only) is answered exactly
 * like a wrong password: the conditions are checked once the password is found right, so any
 * other answer would confirm the password to whoever guesses from the wrong place. The reason
 * is in the server's log.
 */
import { equal, ok } from "node:assert/strict";
import { RawClient } from "../helpers/raw_client.ts";
import { startServer } from "../helpers/server.ts";
import { captureLogs, logMessage } from "../helpers/tls_helpers.ts";

/** The replies to a wrong and to the right password of `user`, in one session. */
async function wrongAndRight(port: number, user: string): Promise<[string, string]> {
  await using c = await RawClient.connect(port);
  await c.expect(`USER ${user}`, 331);
  const wrong = await c.command("PASS wrong");
  await c.expect(`USER ${user}`, 331);
  const right = await c.command("PASS right");
  return [wrong.lines.join(" | "), right.lines.join(" | ")];
}

Deno.test("allowed networks: from elsewhere, a right password is answered like a wrong one", async () => {
  using logs = captureLogs();
  await using t = startServer({
    loginFailureDelayMs: 0,
    maxLoginAttempts: 10,
    users: [{ name: "carol", password: "right", allowedNetworks: ["10.0.0.0/8"] }],
  });
  const [wrong, right] = await wrongAndRight(t.port, "carol");
  // Otherwise anyone anywhere can confirm carol's password (and try it on her other services).
  equal(right, wrong, "the reply tells a right password");
  equal(right, "530 Login incorrect.");
  ok(
    logs.records.some((record) => /carol.*allowed networks/.test(logMessage(record))),
    "the log says why",
  );
});

Deno.test("a TLS-only user's right password over clear text is answered like a wrong one", async () => {
  using logs = captureLogs();
  await using t = startServer({
    loginFailureDelayMs: 0,
    maxLoginAttempts: 10,
    tls: { selfSigned: true },
    users: [{ name: "dora", password: "right", requireTls: true }],
  });
  const [wrong, right] = await wrongAndRight(t.port, "dora");
  equal(right, wrong, "the reply tells a right password");
  equal(right, "530 Login incorrect.");
  ok(
    logs.records.some((record) => /dora.*over TLS/.test(logMessage(record))),
    "the log says why",
  );
});
