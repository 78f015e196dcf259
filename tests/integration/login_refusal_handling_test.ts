/**
 * A login refused by the user's own conditions (allowed networks, TLS only) is handled like a
 * wrong password in every way a client or an operator can see: the same delay, the same count
 * towards the session's attempts, and a `login` event with `ok: false`.
 */
import { equal, ok } from "node:assert/strict";
import type { FtpEvent } from "../../src/mod.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { startServer } from "../helpers/server.ts";

Deno.test("a login refused by the user's conditions is not reported as a successful login", async () => {
  await using t = startServer({
    loginFailureDelayMs: 0,
    users: [{ name: "dave", password: "pw", allowedNetworks: ["10.0.0.0/8"] }],
  });
  const events: FtpEvent[] = [];
  const off = t.server.events.on((event) => void events.push(event));
  try {
    await using c = await RawClient.connect(t.port);
    await c.expect("USER dave", 331);
    equal((await c.command("PASS pw")).code, 530);
    await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    off();
  }
  const logins = events.filter((event) => event.type === "login") as {
    user: string;
    ok: boolean;
  }[];
  // Metrics (ftpgate_logins_total{result="ok"}) and webhooks (login) counted it as a success.
  equal(logins.map((login) => `${login.user}:${login.ok}`).join(","), "dave:false");
});

Deno.test("a login refused by the user's conditions is delayed and counted like a wrong password", async () => {
  await using t = startServer({
    loginFailureDelayMs: 200,
    maxLoginAttempts: 2,
    users: [{ name: "erin", password: "right", allowedNetworks: ["10.0.0.0/8"] }],
  });
  await using c = await RawClient.connect(t.port);
  await c.expect("USER erin", 331);
  let started = performance.now();
  equal((await c.command("PASS wrong")).code, 530);
  const wrong = performance.now() - started;
  await c.expect("USER erin", 331);
  started = performance.now();
  // The second failed attempt of two: the session closes, whichever password it was.
  const right = await c.command("PASS right");
  const rightMs = performance.now() - started;
  equal(right.code, 421, right.text);
  ok(
    wrong >= 180 && rightMs >= 180,
    `wrong ${Math.round(wrong)} ms, right ${Math.round(rightMs)} ms`,
  );
  ok(await c.closedByServer(2_000));
});
