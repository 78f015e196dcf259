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
import { RawClient } from "../helpers/raw_client.ts";

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
