/**
 * loadSettings(): a config file with the environment and the flags over it (file < FTPGATE_* <
 * flags), value by value; what only the merged result can get wrong; the command line alone
 * exactly as before.
 */

import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { CliError, parseCli } from "../../src/cli.ts";
import { loadSettings, settingsFromCli } from "../../src/app/settings.ts";

function envOf(vars: Record<string, string>): (name: string) => string | undefined {
  return (name) => vars[name];
}

/** A config file in a fresh directory, with `alice/` and `bob/` beside it. */
async function configFile(text: string): Promise<{ path: string; dir: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "ftpgate-settings-" });
  await Deno.mkdir(`${dir}/alice`);
  await Deno.mkdir(`${dir}/bob`);
  await Deno.writeTextFile(`${dir}/token`, "t0ken\n");
  const path = `${dir}/ftpgate.jsonc`;
  await Deno.writeTextFile(path, text);
  return { path, dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

async function settings(args: string[], env: Record<string, string> = {}) {
  return await loadSettings(parseCli(args, envOf(env)), envOf(env));
}

const FILE = `{
  // every layer sets some of these
  "listen": { "port": 2100 },
  "root": "alice",
  "limits": { "max_sessions": 50, "idle_timeout": 60 },
  "http": { "port": 9100, "token_file": "token" },
  "logging": { "level": "warning", "format": "json" },
  "s3": { "region": "eu-west-3", "part_size": 16777216 },
  "allow_fxp": true,
  "anonymous": true,
}`;

Deno.test("loadSettings() puts FTPGATE_* over the config file and flags over both", async () => {
  await using file = await configFile(FILE);
  const onlyFile = await settings(["--config", file.path]);
  equal(onlyFile.configFile, file.path);
  equal(onlyFile.serve.port, 2100);
  equal(onlyFile.serve.root, `${file.dir}/alice`);
  equal(onlyFile.serve.maxSessions, 50);
  equal(onlyFile.serve.idleTimeoutMs, 60_000);
  equal(onlyFile.logging.level, "warning");
  equal(onlyFile.logging.format, "json");
  equal(onlyFile.serve.hostname, "127.0.0.1", "the command line's default under the file");

  const env = { FTPGATE_PORT: "2200", FTPGATE_LOG_LEVEL: "error", FTPGATE_IDLE_TIMEOUT: "5" };
  const withEnv = await settings(["--config", file.path], env);
  equal(withEnv.serve.port, 2200);
  equal(withEnv.logging.level, "error");
  equal(withEnv.serve.idleTimeoutMs, 5000);
  equal(withEnv.serve.maxSessions, 50, "what the environment does not set stays the file's");
  equal(withEnv.logging.format, "json");

  const withFlags = await settings(
    ["--config", file.path, "--port", "2300", "--max-sessions", "7", "--log-format", "text"],
    env,
  );
  equal(withFlags.serve.port, 2300, "a flag beats its variable and the file");
  equal(withFlags.serve.maxSessions, 7);
  equal(withFlags.serve.idleTimeoutMs, 5000, "the variable still beats the file");
  equal(withFlags.logging.format, "text");
  equal(withFlags.logging.level, "error");
});

Deno.test("loadSettings() merges the ops parts field by field", async () => {
  await using file = await configFile(FILE);
  const moved = await settings(["--config", file.path, "--http-port", "9200"]);
  deepEqual(moved.ops.http, { port: 9200, tokenFile: `${file.dir}/token` });
  const viaEnv = await settings(["--config", file.path], { FTPGATE_HTTP_HOST: "127.0.0.2" });
  deepEqual(viaEnv.ops.http, { port: 9100, tokenFile: `${file.dir}/token`, hostname: "127.0.0.2" });
});

Deno.test("loadSettings() lets a boolean from the environment turn off what the file turned on", async () => {
  await using file = await configFile(FILE);
  const on = await settings(["--config", file.path]);
  equal(on.serve.allowFxp, true);
  equal(on.serve.anonymous, true);
  const off = await settings(["--config", file.path], {
    FTPGATE_ALLOW_FXP: "false",
    FTPGATE_ANONYMOUS: "no",
  });
  equal(off.serve.allowFxp, false);
  equal(off.serve.anonymous, false);
  // An unset variable changes nothing.
  equal((await settings(["--config", file.path], { FTPGATE_ALLOW_FXP: "" })).serve.allowFxp, true);
});

Deno.test("loadSettings() puts S3 flags over the file's s3 block", async () => {
  await using file = await configFile(FILE);
  const fromFile = await settings(["--config", file.path]);
  deepEqual(fromFile.s3, { region: "eu-west-3", partSize: 16 * 1024 * 1024 });
  const flags = await settings([
    "--config",
    file.path,
    "--s3-region",
    "us-east-2",
    "--s3-path-style",
    "--s3-max-rename-keys",
    "50",
  ], { FTPGATE_S3_PART_SIZE: "32" });
  deepEqual(flags.s3, {
    region: "us-east-2",
    partSize: 32 * 1024 * 1024,
    pathStyle: true,
    maxRenameKeys: 50,
  });
});

Deno.test("loadSettings() replaces the file's users with --user, whole", async () => {
  await using file = await configFile(`{
    "users": [
      { "name": "alice", "password_env": "ALICE_PW", "root": "alice" },
      { "name": "bob", "password_env": "BOB_PW", "root": "bob" },
    ],
  }`);
  const env = { ALICE_PW: "a-secret", BOB_PW: "b-secret" };
  const fromFile = await settings(["--config", file.path], env);
  deepEqual(fromFile.serve.users?.map((user) => user.name), ["alice", "bob"]);
  deepEqual(fromFile.envRead.sort(), ["ALICE_PW", "BOB_PW"]);
  equal(fromFile.readyUser, undefined, "a config file's password is never announced");
  equal(
    fromFile.serve.root,
    "memory:",
    "every user has a tree: the current directory is not served",
  );
  const flagged = await settings(["--config", file.path, "--user", "carol:c"], env);
  deepEqual(flagged.serve.users, [{ name: "carol", password: "c" }]);
  deepEqual(flagged.readyUser, { name: "carol", password: "c" });
  equal(flagged.serve.root, ".", "carol has no root of her own: the server's root it is");
});

Deno.test("loadSettings() checks what only the merged layers can get wrong", async () => {
  await using tlsFile = await configFile(`{ "tls": { "self_signed": true } }`);
  const ok1 = await settings(["--config", tlsFile.path, "--require-tls"]);
  equal(ok1.serve.requireTls, true, "the certificate comes from the file");
  await using plain = await configFile(`{ "listen": { "port": 0 } }`);
  await rejects(
    settings(["--config", plain.path, "--require-tls"]),
    (error: unknown) =>
      error instanceof CliError && /TLS options need a certificate/.test(error.message),
  );
  await rejects(
    settings(["--config", plain.path, "--http-token-file", "x"]),
    (error: unknown) =>
      error instanceof CliError &&
      error.message ===
        `--http-port (or http.port in ${plain.path}) is needed by the other --http-port options`,
  );
  await rejects(
    settings(["--config", plain.path, "--max-line-length", "10"]),
    (error: unknown) =>
      error instanceof CliError &&
      error.message === "--max-line-length: expected an integer from 64 to 1048576, got 10",
  );
});

Deno.test("settingsFromCli() is the command line as it always was", () => {
  const config = parseCli(["--root", "/srv/ftp", "--user", "alice:pw", "--exit-after", "2"]);
  const settings = settingsFromCli(config);
  equal(settings.serve, config.serve);
  deepEqual(settings.run, { exitAfterMs: 2000, stdinLifeline: false, parentLifeline: false });
  deepEqual(settings.readyUser, { name: "alice", password: "pw" });
  deepEqual(settings.ops, {});
  ok(settings.configFile === undefined);
});
