/**
 * SIGHUP with a config file, through the real command line and with sessions open: a session
 * logged in before stays logged in, a user added to the file can log in, a removed one cannot,
 * limits and passive addresses change for new sessions, and a bad file changes nothing (its
 * problems are logged one per line).
 */

import { equal, match, ok } from "node:assert/strict";
import { type CliProcess, downloadTextAs, startCli, stopCli } from "../helpers/cli_helpers.ts";
import { localDir } from "../helpers/clients.ts";
import { parsePasv, waitFor } from "../helpers/protocol_helpers.ts";
import { json, startAuthHook } from "../helpers/auth_hook.ts";
import { loginAs, RawClient } from "../helpers/raw_client.ts";

interface User {
  name: string;
  password: string;
  root: string;
}

function configText(users: User[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify(
    {
      allow_plaintext: true,
      users: users.map(({ name, password, root }) => ({ name, password, root })),
      limits: { login_failure_delay: 0 },
      ...extra,
    },
    null,
    2,
  );
}

/** Rewrites the file (atomically, as editors and config managers do) and sends SIGHUP. */
async function reload(cli: CliProcess, path: string, text: string, expect: RegExp): Promise<void> {
  const before = cli.stderr().length;
  Deno.writeTextFileSync(`${path}.new`, text);
  Deno.renameSync(`${path}.new`, path);
  cli.kill("SIGHUP");
  await waitFor(() => expect.test(cli.stderr().slice(before)), `the reload (${expect})`, 10_000);
}

async function loginCode(port: number, user: string, password: string): Promise<number> {
  await using raw = await RawClient.connect(port);
  await raw.expect(`USER ${user}`, 331);
  return (await raw.command(`PASS ${password}`)).code;
}

Deno.test("SIGHUP reloads users, limits and passive addresses without dropping a session", async () => {
  await using dir = localDir();
  for (const name of ["alice", "bob", "carol"]) {
    Deno.mkdirSync(`${dir.path}/${name}`);
    Deno.writeTextFileSync(`${dir.path}/${name}/home.txt`, `${name}'s file`);
  }
  const alice = { name: "alice", password: "a-pw", root: "alice" };
  const bob = { name: "bob", password: "b-pw", root: "bob" };
  const carol = { name: "carol", password: "c-pw", root: "carol" };
  const config = `${dir.path}/ftpgate.jsonc`;
  Deno.writeTextFileSync(config, configText([alice, bob], { passive: { address: "localhost" } }));
  await using cli = startCli(["--config", config, "--port", "0", "--ready-file", "-"]);
  const line = await cli.ready();

  // A session that lives through every reload.
  await using kept = await RawClient.connect(line.port);
  await kept.login("alice", "a-pw");
  equal(parsePasv(await kept.expect("PASV", 227)).host, "127.0.0.1", "localhost, resolved");
  equal(await loginCode(line.port, "bob", "b-pw"), 230);
  equal(await loginCode(line.port, "carol", "c-pw"), 530, "not yet a user");

  await reload(
    cli,
    config,
    configText([alice, carol], { passive: { address: "127.0.0.9" } }),
    /SIGHUP: configuration reloaded from /,
  );
  await kept.expect("NOOP", 200);
  equal(
    (await kept.listing("NLST")).trim(),
    "home.txt",
    "alice's session goes on, in her tree",
  );
  equal(parsePasv(await kept.expect("PASV", 227)).host, "127.0.0.9", "the new passive address");
  equal(await loginCode(line.port, "carol", "c-pw"), 230, "the added user logs in");
  equal(await loginCode(line.port, "bob", "b-pw"), 530, "the removed user cannot");
  equal(await downloadTextAs(line.port, "carol", "c-pw", "home.txt"), "carol's file");

  // A bad file: nothing changes, and each problem is logged on its own line.
  const before = cli.stderr().length;
  await reload(
    cli,
    config,
    `{\n  "users": [{ "name": "dave", "password": "d", "colour": 1 }],\n  "limits": { "max_sessions": 0 }\n}\n`,
    /not reloaded \(2 problem\(s\)\); the old configuration stays/,
  );
  const logged = cli.stderr().slice(before);
  // One record per problem (the text quoted, as every logged value is).
  match(logged, new RegExp(`SIGHUP: "${config}:2: users\\[0\\]\\.colour: unknown key"\n`));
  match(logged, new RegExp(`SIGHUP: "${config}:3: limits\\.max_sessions: must be at least 1"\n`));
  ok(!/SIGHUP: configuration reloaded/.test(logged), logged);
  equal(await loginCode(line.port, "carol", "c-pw"), 230, "the old configuration stays");
  equal(await loginCode(line.port, "dave", "d"), 530);
  await kept.expect("NOOP", 200);

  // A change that needs a restart is said, and the rest applies. (The port is --port's: a
  // file's port under it would change nothing.)
  await reload(
    cli,
    config,
    configText([alice, bob], { listen: { host: "127.0.0.2" }, limits: { max_sessions: 3 } }),
    /SIGHUP: configuration reloaded from /,
  );
  match(cli.stderr(), /SIGHUP: "?hostname"? changed; it takes a restart \(not applied\)/);
  equal(await loginCode(line.port, "bob", "b-pw"), 230);
  await kept.expect("NOOP", 200);
  // The new limit: with alice's session, two more make three; the fourth is refused.
  await using second = await RawClient.connect(line.port);
  await using third = await RawClient.connect(line.port);
  equal(second.banner.code, 220);
  equal(third.banner.code, 220);
  await using fourth = await RawClient.connect(line.port);
  equal(fourth.banner.code, 421, "limits.max_sessions 3 applies to new connections");
  kept.close();
  await stopCli(cli);
});

Deno.test("SIGHUP without a config file re-resolves a PASV host name and keeps sessions", async () => {
  await using cli = startCli([
    "--root",
    "memory:",
    "--port",
    "0",
    "--pasv-address",
    "localhost",
    "--ready-file",
    "-",
  ]);
  const line = await cli.ready();
  await using raw = await RawClient.connect(line.port);
  await raw.login("anonymous", "a@b.c");
  cli.kill("SIGHUP");
  await waitFor(
    () => cli.stderr().includes("SIGHUP: no TLS certificate to reload"),
    "SIGHUP",
    10_000,
  );
  equal(parsePasv(await raw.expect("PASV", 227)).host, "127.0.0.1");
  await raw.expect("NOOP", 200);
  raw.close();
  await stopCli(cli);
});

Deno.test("auth.http through the command line: the hook decides logins; SIGHUP forgets its cache", async () => {
  await using dir = localDir();
  Deno.mkdirSync(`${dir.path}/users/erin`, { recursive: true });
  Deno.writeTextFileSync(`${dir.path}/users/erin/hi.txt`, "from the hook's tree");
  await using hook = startAuthHook(({ body }) =>
    body.user === "erin" && body.password === "e-pw"
      ? json({ root: `${dir.path}/users/erin` })
      : new Response(null, { status: 401 })
  );
  const config = `${dir.path}/ftpgate.jsonc`;
  Deno.writeTextFileSync(
    config,
    JSON.stringify({
      auth: { http: { url: hook.url, allowed_roots: ["users"], cache_s: 60 } },
      limits: { login_failure_delay: 0 },
    }),
  );
  await using cli = startCli(["--config", config, "--port", "0", "--ready-file", "-"]);
  const line = await cli.ready();
  equal(await downloadTextAs(line.port, "erin", "e-pw", "hi.txt"), "from the hook's tree");
  equal(await loginCode(line.port, "erin", "e-pw"), 230);
  equal(hook.calls.length, 1, "the second login came from the cache");
  equal(await loginCode(line.port, "erin", "wrong"), 530);
  equal(hook.calls.length, 2);
  cli.kill("SIGHUP");
  await waitFor(() => cli.stderr().includes("configuration reloaded"), "the reload", 10_000);
  equal(await loginCode(line.port, "erin", "e-pw"), 230);
  equal(hook.calls.length, 3, "after SIGHUP the hook is asked again");
  await stopCli(cli);
});

Deno.test("SIGHUP during a hook login: the answer it was waiting for is not cached past the reload", async () => {
  // The operator removes erin from the user store and sends SIGHUP so that ftpgate forgets
  // the cached logins. A login whose hook request was already in flight gets the store's old
  // answer after the reload has cleared the cache: it may serve that login, but must not be
  // cached (it was, and erin logged in for cache_s more without the hook being asked).
  await using dir = localDir();
  Deno.mkdirSync(`${dir.path}/users/erin`, { recursive: true });
  let release!: () => void;
  const slow = new Promise<void>((resolve) => release = resolve);
  await using hook = startAuthHook(async ({ body }) => {
    await slow; // the store's answer of before the change, still on its way
    return body.password === "e-pw" ? json({ root: `${dir.path}/users/erin` }) : json({}, 401);
  });
  const config = `${dir.path}/ftpgate.jsonc`;
  const text = JSON.stringify({
    auth: { http: { url: hook.url, allowed_roots: ["users"], cache_s: 60 } },
    limits: { login_failure_delay: 0 },
  });
  Deno.writeTextFileSync(config, text);
  await using cli = startCli(["--config", config, "--port", "0", "--ready-file", "-"]);
  const line = await cli.ready();
  await using first = await RawClient.connect(line.port);
  await first.expect("USER erin", 331);
  await first.send("PASS e-pw");
  await waitFor(() => hook.calls.length === 1, "the first hook request");
  // erin is removed from the store; then the reload that must make ftpgate ask again.
  hook.answer(() => new Response(null, { status: 401 }));
  await reload(cli, config, text, /configuration reloaded/);
  release();
  equal((await first.read()).code, 230, "the login in flight is answered as the store said then");
  equal(
    await loginCode(line.port, "erin", "e-pw"),
    530,
    "a login after the reload must ask the hook",
  );
  equal(hook.calls.length, 2);
  await stopCli(cli);
});

Deno.test("SIGHUP that turns atomic_uploads on warns that it takes a restart", async () => {
  // The roots are opened at start with the value of then (users added later too): a reload
  // that took atomic_uploads silently left uploads writing in place, an interrupted one still
  // truncating the old file. It takes a restart, and the reload says so (docs/configuration.md).
  await using dir = localDir();
  Deno.mkdirSync(`${dir.path}/tree`);
  Deno.writeTextFileSync(`${dir.path}/tree/report.csv`, "OLD");
  const config = `${dir.path}/ftpgate.jsonc`;
  const text = (atomic: boolean) =>
    JSON.stringify({
      allow_plaintext: true,
      atomic_uploads: atomic,
      users: [{ name: "alice", password: "a-pw", root: "tree" }],
      limits: { login_failure_delay: 0 },
    });
  Deno.writeTextFileSync(config, text(false));
  await using cli = startCli(["--config", config, "--port", "0", "--ready-file", "-"]);
  const line = await cli.ready();
  const before = cli.stderr().length;
  await reload(cli, config, text(true), /configuration reloaded/);
  const warned = /atomic.{0,40}restart/i.test(cli.stderr().slice(before));
  {
    await using c = await loginAs(line.port, "alice", "a-pw");
    const data = await c.epsv();
    await c.expect("STOR report.csv", 150);
    await data.write(new TextEncoder().encode("NEW, partial"));
    // Either the target changes (in place) or a hidden temporary file appears (atomic).
    const target = `${dir.path}/tree/report.csv`;
    await waitFor(
      () =>
        Deno.readTextFileSync(target) !== "OLD" ||
        [...Deno.readDirSync(`${dir.path}/tree`)].some((entry) => entry.name.startsWith(".")),
      "the upload's first bytes on disk",
    );
    const during = Deno.readTextFileSync(target);
    data.close();
    await c.read();
    ok(warned, `no restart was asked for (the upload wrote "${during}" in place)`);
  }
  await stopCli(cli);
});

Deno.test("SIGHUP that changes logging.level applies it at once", async () => {
  // The level applies at once: info records after a reload to "info" (the change was dropped
  // without a word).
  await using dir = localDir();
  Deno.mkdirSync(`${dir.path}/tree`);
  const config = `${dir.path}/ftpgate.jsonc`;
  const text = (level: string) =>
    JSON.stringify({
      allow_plaintext: true,
      users: [{ name: "alice", password: "a-pw", root: "tree" }],
      limits: { login_failure_delay: 0 },
      logging: { level },
    });
  Deno.writeTextFileSync(config, text("warning"));
  await using cli = startCli(["--config", config, "--port", "0", "--ready-file", "-"]);
  const line = await cli.ready();
  const before = cli.stderr().length;
  Deno.writeTextFileSync(`${config}.new`, text("info"));
  Deno.renameSync(`${config}.new`, config);
  cli.kill("SIGHUP");
  // A reload at level warning logs nothing when it succeeds: give it time, then log in.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  equal(await loginCode(line.port, "alice", "a-pw"), 230);
  await waitFor(
    () => /logged in/i.test(cli.stderr().slice(before)),
    "an info record after the reload",
    3_000,
  );
  await stopCli(cli);
});

Deno.test("a SIGHUP while the server is still starting does not kill it", async () => {
  // logrotate's postrotate (deploy/ftpgate.logrotate) and `systemctl reload` (Type=exec: the
  // unit is active as soon as the process runs) send SIGHUP whenever they like, while a start
  // may take long (an S3 bucket probe with retries). Until the signal handlers were installed
  // SIGHUP had its default action: the process died. The start goes on, or fails for its own
  // reason.
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 }); // an S3 endpoint that never answers
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of silent) held.push(conn);
    } catch { /* closed */ }
  })();
  try {
    await using cli = startCli([
      "--root",
      "s3://bucket/prefix",
      "--port",
      "0",
      "--user",
      "u:pw",
      "--ready-file",
      "-",
    ], {
      env: {
        AWS_ACCESS_KEY_ID: "id",
        AWS_SECRET_ACCESS_KEY: "secret",
        AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${silent.addr.port}`,
      },
    });
    await waitFor(() => held.length > 0, "the bucket probe", 15_000);
    cli.kill("SIGHUP");
    const died = await Promise.race([
      cli.exited,
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 1_500)),
    ]);
    ok(died === null || died.signal !== "SIGHUP", "the starting server was killed by SIGHUP");
  } finally {
    silent.close();
    for (const conn of held) conn.close();
    await accepting;
  }
});
