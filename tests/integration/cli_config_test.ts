/**
 * The command line with a config file, as a subprocess (`deno run main.ts --config ...`): the
 * precedence file < FTPGATE_* < flags as a client sees it, `check-config` exit codes and
 * messages, `hash-password` through main.ts and its hash logging in, and no secret of the file
 * in `ps`, the logs or the ready line.
 */

import { deepEqual, equal, match, ok } from "node:assert/strict";
import {
  connectFtp,
  downloadText,
  downloadTextAs,
  freePort,
  MAIN,
  startCli,
  stopCli,
} from "../helpers/cli_helpers.ts";
import { localDir } from "../helpers/clients.ts";
import { waitFor } from "../helpers/protocol_helpers.ts";
import { loginAs, RawClient, writeAllAndClose } from "../helpers/raw_client.ts";
import { type CommandOutput, runCommand } from "../helpers/tools.ts";

/** A temporary directory with `a/`, `b/` and `c/`, each holding `which.txt` naming it. */
function trees(): ReturnType<typeof localDir> {
  const dir = localDir();
  for (const name of ["a", "b", "c"]) {
    Deno.mkdirSync(`${dir.path}/${name}`);
    Deno.writeTextFileSync(`${dir.path}/${name}/which.txt`, `tree ${name}`);
  }
  return dir;
}

/** Runs `deno run -A main.ts ARGS` to its end with `stdin` (an empty pipe without it). */
function runMain(
  args: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<CommandOutput> {
  return runCommand(Deno.execPath(), ["run", "--no-prompt", "-A", MAIN, ...args], {
    stdin: options.stdin ?? "",
    env: { NO_COLOR: "1", ...options.env },
  });
}

Deno.test("--config: the file's root and port, FTPGATE_* over them, flags over both", async () => {
  await using dir = trees();
  const [filePort, envPort, flagPort] = [freePort(), freePort(), freePort()];
  const config = `${dir.path}/ftpgate.jsonc`;
  Deno.writeTextFileSync(
    config,
    `{ "root": "a", "listen": { "port": ${filePort} }, "anonymous": true }`,
  );
  const cases: [args: string[], env: Record<string, string>, port: number, tree: string][] = [
    [[], {}, filePort, "a"],
    [[], { FTPGATE_ROOT: `${dir.path}/b`, FTPGATE_PORT: String(envPort) }, envPort, "b"],
    [
      ["--root", `${dir.path}/c`, "--port", String(flagPort)],
      { FTPGATE_ROOT: `${dir.path}/b`, FTPGATE_PORT: String(envPort) },
      flagPort,
      "c",
    ],
  ];
  for (const [args, env, port, tree] of cases) {
    await using cli = startCli(["--config", config, "--ready-file", "-", ...args], { env });
    const line = await cli.ready();
    equal(line.port, port, JSON.stringify({ args, env }));
    {
      await using client = await connectFtp({ host: "127.0.0.1", port, user: "anonymous" });
      equal(await downloadText(client, "which.txt"), `tree ${tree}`);
    }
    await stopCli(cli);
  }
});

Deno.test("--config with a bad file exits 2 with file:line: path: message lines", async () => {
  await using dir = localDir();
  const config = `${dir.path}/bad.jsonc`;
  Deno.writeTextFileSync(
    config,
    [
      "{",
      '  "listen": { "port": 99999 },',
      '  "users": [{ "name": "x", "password": "hunter2-clear" }],',
      '  "no_such_key": 1',
      "}",
    ].join("\n"),
  );
  await using cli = startCli(["--config", config]);
  const exit = await cli.wait(10_000);
  equal(exit.code, 2, exit.stderr);
  equal(exit.stdout, "", "nothing started");
  const lines = exit.stderr.trimEnd().split("\n");
  ok(lines.length >= 2, exit.stderr);
  for (const line of lines) match(line, new RegExp(`^${config}:\\d+: \\S+: .+$`), line);
  ok(lines.some((line) => line.startsWith(`${config}:2: listen.port: `)), exit.stderr);
  ok(!exit.stderr.includes("hunter2-clear"), "a password is never quoted");
});

Deno.test("check-config exits 0 for a valid file, 2 with one line per problem, 2 for usage", async () => {
  await using dir = trees();
  const good = `${dir.path}/good.jsonc`;
  Deno.writeTextFileSync(
    good,
    `{ "users": [{ "name": "bob", "password_env": "BOB_PW", "root": "a" }] }`,
  );
  const valid = await runMain(["check-config", good], { env: { BOB_PW: "s3cr3t-bob" } });
  equal(valid.code, 0, valid.stderr);
  equal(valid.stdout, `${good}: OK\n`);
  equal(valid.stderr, "");

  const bad = `${dir.path}/bad.jsonc`;
  Deno.writeTextFileSync(
    bad,
    [
      "{",
      '  "users": [',
      '    { "name": "bob", "password_env": "BOB_PW", "root": "missing" },',
      '    { "name": "eve", "password": "hunter2-clear" }',
      "  ]",
      "}",
    ].join("\n"),
  );
  const invalid = await runMain(["check-config", bad], { env: { BOB_PW: "s3cr3t-bob" } });
  equal(invalid.code, 2);
  equal(invalid.stdout, "");
  deepEqual(invalid.stderr.trimEnd().split("\n"), [
    `${bad}:3: users[0].root: directory does not exist (${dir.path}/missing)`,
    `${bad}:4: users[1].password: a password in clear needs "allow_plaintext": true; use ` +
    "password_hash (ftpgate hash-password), password_env or password_file",
  ]);
  ok(!invalid.stderr.includes("hunter2-clear") && !invalid.stderr.includes("s3cr3t-bob"));

  for (const args of [["check-config"], ["check-config", good, "extra"]]) {
    const usage = await runMain(args);
    equal(usage.code, 2, args.join(" "));
    match(usage.stderr, /^Usage: ftpgate check-config FILE/);
  }
  const missing = await runMain(["check-config", `${dir.path}/none.jsonc`]);
  equal(missing.code, 2);
  equal(missing.stderr, `${dir.path}/none.jsonc: (file): cannot read it (not found)\n`);
});

Deno.test("hash-password through main.ts: its hash logs in from a config file", async () => {
  const hashed = await runMain(["hash-password"], { stdin: "pässwörd 1\n" });
  equal(hashed.code, 0, hashed.stderr);
  match(hashed.stdout, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$\S+\n$/);
  equal(hashed.stderr, "");
  const usage = await runMain(["hash-password", "--help"]);
  equal(usage.code, 0);
  match(usage.stdout, /^Usage: ftpgate hash-password/);

  await using dir = trees();
  const config = `${dir.path}/ftpgate.jsonc`;
  Deno.writeTextFileSync(
    config,
    JSON.stringify({
      users: [{ name: "alice", password_hash: hashed.stdout.trim(), root: "a" }],
      limits: { login_failure_delay: 0 },
    }),
  );
  await using cli = startCli(["--config", config, "--port", "0", "--ready-file", "-"]);
  const line = await cli.ready();
  equal(line.user, undefined, "a hashed user's password is not known, nor announced");
  equal(line.url, `ftp://127.0.0.1:${line.port}/`);
  equal(await downloadTextAs(line.port, "alice", "pässwörd 1", "which.txt"), "tree a");
  await using raw = await RawClient.connect(line.port);
  await raw.expect("USER alice", 331);
  equal((await raw.command("PASS pässwörd 2")).code, 530);
  await stopCli(cli);
});

Deno.test({
  name: "no secret of the config file in ps, the logs or the ready line",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using dir = trees();
    const secrets = {
      password: "Pw-from-env-7f3a",
      filePassword: "Pw-from-file-91c2",
      token: "Http-token-5d1e",
      hook: "Webhook-key-0b8f",
    };
    Deno.writeTextFileSync(`${dir.path}/carol.pw`, secrets.filePassword + "\n");
    Deno.writeTextFileSync(`${dir.path}/token`, secrets.token);
    Deno.writeTextFileSync(`${dir.path}/hook.key`, secrets.hook);
    const config = `${dir.path}/ftpgate.jsonc`;
    Deno.writeTextFileSync(
      config,
      JSON.stringify({
        users: [
          { name: "bob", password_env: "BOB_PW", root: "a" },
          { name: "carol", password_file: "carol.pw", root: "b" },
        ],
        http: { port: 0, token_file: "token" },
        webhook: { url: "http://127.0.0.1:9/unused", secret_file: "hook.key" },
        limits: { login_failure_delay: 0 },
        logging: { level: "debug" },
      }),
    );
    await using cli = startCli(["--config", config, "--port", "0", "--ready-file", "-"], {
      env: { BOB_PW: secrets.password },
    });
    const line = await cli.ready();
    const cmdline = Deno.readTextFileSync(`/proc/${line.pid}/cmdline`).replaceAll("\0", " ");
    equal(await downloadTextAs(line.port, "bob", secrets.password, "which.txt"), "tree a");
    equal(await downloadTextAs(line.port, "carol", secrets.filePassword, "which.txt"), "tree b");
    // Wrong guesses, one of them another user's password.
    await using raw = await RawClient.connect(line.port);
    await raw.expect("USER carol", 331);
    equal((await raw.command(`PASS ${secrets.password}`)).code, 530);
    const { stderr } = await stopCli(cli);
    ok(stderr.includes("Login failed"), "the logs did record something");
    for (const [what, secret] of Object.entries(secrets)) {
      ok(!cmdline.includes(secret), `${what} in the command line`);
      ok(!stderr.includes(secret), `${what} in the logs:\n${stderr}`);
      ok(!cli.stdout().includes(secret), `${what} in the ready line`);
    }
  },
});

/** Files the server refuses at start with exit 2 (a mistake in the settings). */
const REFUSED_AT_START: Record<string, unknown>[] = [
  { limits: { data_timeout: 0 } }, // "dataTimeoutMs: expected an integer from 1"
  { limits: { stall_timeout: 0.0001 } }, // rounds to 0 ms
  { transfers: { restart_marker_interval: 2 ** 41 } }, // beyond resolveOptions' 2^40
  { http: { port: 0, host: "0.0.0.0" } }, // reachable from other machines without a token
  { on_upload: { command: 'scan "unbalanced' } }, // the command line cannot be split
  { faults: ["s3-slowdown=3"] }, // an S3 fault without an s3:// root
];

Deno.test("check-config exits 2 for every file that the server refuses to start with (exit 2)", async () => {
  // docs/configuration.md: "`ftpgate check-config FILE` validates without starting (exit 0
  // valid, 2 invalid) ... The server refuses to start on the same problems (exit 2)". It ran
  // only the loader, so these files printed "FILE: OK" and the server exited 2: a CI or an
  // ExecReload that checks first was misled.
  await using dir = localDir();
  const failures: string[] = [];
  for (const [i, content] of REFUSED_AT_START.entries()) {
    const file = `${dir.path}/case${i}.jsonc`;
    Deno.writeTextFileSync(file, JSON.stringify(content));
    const start = await runMain(["--config", file, "--port", "0", "--exit-after", "1"]);
    equal(start.code, 2, `start with ${JSON.stringify(content)}: ${start.stderr}`);
    const check = await runMain(["check-config", file]);
    if (check.code !== 2) {
      failures.push(
        `${JSON.stringify(content)}: check-config exit ${check.code} (${check.stdout.trim()})`,
      );
    }
  }
  equal(
    failures.length,
    0,
    `check-config passed files the server refuses:\n${failures.join("\n")}`,
  );
});

Deno.test("a start refused for a limit names the file's key and line, not the library's option", async () => {
  // docs/configuration.md: problems are "reported one line each, with their JSON path and
  // line" (`file:line: path: message`). limits.data_timeout = 0 (the schema accepts seconds
  // from 0) was refused as "dataTimeoutMs: expected an integer from 1 to 2147483647, got 0": an
  // option name that appears nowhere in the file or the docs, in milliseconds, without a line.
  await using dir = localDir();
  const file = `${dir.path}/ftpgate.jsonc`;
  Deno.writeTextFileSync(file, `{\n  "limits": {\n    "data_timeout": 0\n  }\n}\n`);
  const start = await runMain(["--config", file, "--port", "0", "--exit-after", "1"]);
  equal(start.code, 2, start.stderr);
  ok(!/dataTimeoutMs/.test(start.stderr), start.stderr);
  match(
    start.stderr,
    new RegExp(`${file}:3: limits\\.data_timeout: expected seconds from 0\\.001`),
  );
});

Deno.test("on_upload.command: a relative program is found beside the config file, as every other path", async () => {
  // docs/configuration.md, "Paths": "relative paths are relative to the config file's
  // directory, not to the working directory". The hook's program was spawned as written, so a
  // hook kept beside the config ("hooks/scan.sh") ran only if the server happened to start in
  // that directory — under systemd (cwd /) never: "Upload hook could not start ... NotFound".
  await using dir = localDir();
  Deno.mkdirSync(`${dir.path}/tree`);
  Deno.mkdirSync(`${dir.path}/hooks`);
  Deno.writeTextFileSync(
    `${dir.path}/hooks/mark.sh`,
    `#!/bin/sh\necho "$FTPGATE_PATH" > "${dir.path}/seen"\n`,
  );
  Deno.chmodSync(`${dir.path}/hooks/mark.sh`, 0o755);
  const config = `${dir.path}/ftpgate.jsonc`;
  Deno.writeTextFileSync(
    config,
    JSON.stringify({
      allow_plaintext: true,
      users: [{ name: "alice", password: "a-pw", root: "tree" }],
      on_upload: { command: "hooks/mark.sh" },
      limits: { login_failure_delay: 0 },
    }),
  );
  // Started from another directory (startCli runs in the repository), as a service is.
  await using cli = startCli(["--config", config, "--port", "0", "--ready-file", "-"]);
  const line = await cli.ready();
  {
    await using c = await loginAs(line.port, "alice", "a-pw");
    const data = await c.epsv();
    await c.expect("STOR in.txt", 150);
    await writeAllAndClose(data, new TextEncoder().encode("payload"));
    equal((await c.read()).code, 226);
  }
  const seen = `${dir.path}/seen`;
  await waitFor(
    () => {
      try {
        return Deno.readTextFileSync(seen).includes("/in.txt");
      } catch {
        return /Upload hook could not start/.test(cli.stderr());
      }
    },
    "the upload hook",
    10_000,
  );
  ok(!/Upload hook could not start/.test(cli.stderr()), cli.stderr());
  equal(Deno.readTextFileSync(seen).trim(), "/in.txt");
  await stopCli(cli);
});
