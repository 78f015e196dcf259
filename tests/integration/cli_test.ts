/**
 * The command line as a subprocess (`deno run main.ts ...`): the ready line and file, random
 * users, environment variables, memory roots without file permissions, the ways it stops
 * (--exit-after, --stdin-lifeline, SIGTERM), --transcript, exit codes for mistakes, --help and
 * --version; and how long it takes to start and to stop.
 */

import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { FTPError } from "basic-ftp";
import { envNames, VERSION } from "../../src/cli.ts";
import type { TranscriptEntry } from "../../src/transcript.ts";
import {
  type CliProcess,
  connectFtp,
  downloadText,
  freePort,
  median,
  type ReadyLine,
  startCli,
  uploadBytes,
} from "../helpers/cli_helpers.ts";
import { localDir } from "../helpers/clients.ts";
import { waitFor } from "../helpers/protocol_helpers.ts";
import { RawClient } from "../helpers/raw_client.ts";

/** Stops a CLI with SIGTERM; asserts it exits 0 and returns how long that took (ms). */
async function terminate(cli: CliProcess): Promise<number> {
  const start = performance.now();
  cli.kill("SIGTERM");
  const exit = await cli.wait(10_000);
  const elapsed = performance.now() - start;
  equal(exit.code, 0, `exit code ${exit.code}\n${exit.stderr}`);
  return elapsed;
}

/** The keys every ready line has. */
function checkReadyLine(line: ReadyLine, pid: number): void {
  equal(line.event, "ready");
  equal(line.host, "127.0.0.1");
  ok(Number.isInteger(line.port) && line.port > 0, `port ${line.port}`);
  equal(line.pid, pid);
  const url = new URL(line.url);
  equal(url.protocol, "ftp:");
  equal(Number(url.port), line.port);
}

Deno.test("--port 0 --ready-file F writes exactly one JSON ready line, also on stdout without the password", async () => {
  await using dir = localDir();
  Deno.writeTextFileSync(`${dir.path}/hello.txt`, "hello from disk");
  const file = `${dir.path}/ready.json`;
  await using cli = startCli([
    "--root",
    dir.path,
    "--port",
    "0",
    "--user",
    "alice:pw",
    "--ready-file",
    file,
  ]);
  const printed = await cli.ready();
  const text = Deno.readTextFileSync(file);
  ok(text.endsWith("\n"), "the line ends with a newline");
  equal(text.split("\n").length, 2, `exactly one line: ${JSON.stringify(text)}`);
  const line = JSON.parse(text);
  checkReadyLine(line, cli.child.pid);
  equal(line.url, `ftp://alice:pw@127.0.0.1:${line.port}/`);
  equal(line.user, "alice");
  equal(line.password, "pw");
  // stdout goes to the journal or `docker logs`: the same line, but the secret stays in the
  // 0600 file.
  const { password: _, ...withoutPassword } = line;
  deepEqual(printed, { ...withoutPassword, url: `ftp://alice@127.0.0.1:${line.port}/` });
  equal(cli.stdout().trim(), JSON.stringify(printed), "stdout has that line and nothing else");
  deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name).sort(), [
    "hello.txt",
    "ready.json",
  ], "no temporary file is left beside it");
  {
    await using client = await connectFtp(line.url);
    equal(await downloadText(client, "hello.txt"), "hello from disk");
  }
  await terminate(cli);
});

Deno.test("--ready-file - prints the ready line only", async () => {
  await using cli = startCli(["--root", "memory:", "--port", "0", "--ready-file", "-"]);
  const line = await cli.ready();
  checkReadyLine(line, cli.child.pid);
  equal(line.user, undefined, "no user: anonymous");
  equal(line.url, `ftp://127.0.0.1:${line.port}/`);
  await using raw = await RawClient.connect(line.port);
  await raw.login("anonymous", "a@b.c");
  await terminate(cli);
});

Deno.test("--user random puts working credentials in the ready line", async () => {
  await using cli = startCli([
    "--root",
    "memory:",
    "--port",
    "0",
    "--user",
    "random",
    "--ready-file",
    "-",
    "--login-failure-delay",
    "0",
  ]);
  const line = await cli.ready();
  ok(line.user && line.user.length >= 4, `user ${line.user}`);
  ok(line.password && line.password.length >= 12, "a long password");
  match(line.password!, /^[A-Za-z0-9]+$/, "URL-safe");
  equal(line.url, `ftp://${line.user}:${line.password}@127.0.0.1:${line.port}/`);
  {
    await using client = await connectFtp({ ...line });
    await uploadBytes(client, "r.txt", "random user was here");
    equal(await downloadText(client, "r.txt"), "random user was here");
  }
  await rejects(
    connectFtp({ host: line.host, port: line.port, user: line.user, password: "wrong" }),
    (e: unknown) => e instanceof FTPError && e.code === 530,
  );
  // Anonymous is off once a user is configured.
  await using raw = await RawClient.connect(line.port);
  await raw.expect("USER anonymous", 331);
  equal((await raw.command("PASS a@b.c")).code, 530);
  await terminate(cli);
});

Deno.test("--user random differs from run to run", async () => {
  const lines = [];
  for (let i = 0; i < 2; i++) {
    await using cli = startCli(["--root", "memory:", "--port", "0", "--user", "random"].concat(
      ["--ready-file", "-", "--exit-after", "0"],
    ));
    lines.push(await cli.ready());
    equal((await cli.wait()).code, 0);
  }
  ok(lines[0].user !== lines[1].user && lines[0].password !== lines[1].password);
});

Deno.test("FTPGATE_ROOT, FTPGATE_PORT and FTPGATE_USERS configure the server", async () => {
  await using dir = localDir();
  Deno.writeTextFileSync(`${dir.path}/env.txt`, "from env root");
  const port = freePort();
  await using cli = startCli(["--ready-file", "-"], {
    env: { FTPGATE_ROOT: dir.path, FTPGATE_PORT: String(port), FTPGATE_USERS: "ann:a1, bob:b2" },
  });
  const line = await cli.ready();
  equal(line.port, port);
  equal(line.user, "ann", "the first user of FTPGATE_USERS");
  for (const [user, password] of [["ann", "a1"], ["bob", "b2"]]) {
    await using client = await connectFtp({ host: "127.0.0.1", port, user, password });
    equal(await downloadText(client, "env.txt"), "from env root");
  }
  await terminate(cli);
});

Deno.test("a flag overrides its environment variable", async () => {
  await using dir = localDir();
  Deno.writeTextFileSync(`${dir.path}/flag.txt`, "from the flag's root");
  // If FTPGATE_PORT were used, the start would fail: that port is taken.
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await using cli = startCli(
    ["--root", dir.path, "--port", "0", "--user", "carol:c3", "--login-failure-delay", "0"].concat(
      ["--ready-file", "-"],
    ),
    {
      env: {
        FTPGATE_ROOT: "/nonexistent/ftpgate-root",
        FTPGATE_PORT: String(busy.addr.port),
        FTPGATE_USERS: "ann:a1",
      },
    },
  );
  const line = await cli.ready();
  ok(line.port !== busy.addr.port);
  equal(line.user, "carol");
  {
    await using client = await connectFtp(line.url);
    equal(await downloadText(client, "flag.txt"), "from the flag's root");
  }
  await rejects(
    connectFtp({ host: "127.0.0.1", port: line.port, user: "ann", password: "a1" }),
    (e: unknown) => e instanceof FTPError && e.code === 530,
  );
  await terminate(cli);
});

Deno.test("FTPGATE_FAULT and boolean env vars are read too", async () => {
  await using cli = startCli(["--root", "memory:", "--port", "0", "--ready-file", "-"], {
    env: { FTPGATE_FAULT: "reject-login=1", FTPGATE_ANONYMOUS_WRITE: "true" },
  });
  const line = await cli.ready();
  await using raw = await RawClient.connect(line.port);
  await raw.expect("USER anonymous", 331);
  equal((await raw.command("PASS a@b.c")).code, 421, "the fault from FTPGATE_FAULT");
  await using second = await RawClient.connect(line.port);
  await second.login("anonymous", "a@b.c");
  await second.expect("TYPE I", 200);
  await second.upload("STOR w.txt", new TextEncoder().encode("w"));
  await terminate(cli);
});

Deno.test("--root memory: runs with only --allow-net --allow-env", async () => {
  await using cli = startCli(
    ["--root", "memory:", "--port", "0", "--user", "m:m", "--ready-file", "-"],
    { permissions: ["--allow-net", "--allow-env"] },
  );
  const line = await cli.ready();
  {
    await using client = await connectFtp(line.url);
    await client.ensureDir("/in");
    await uploadBytes(client, "/in/mem.txt", "kept in memory");
    equal(await downloadText(client, "/in/mem.txt"), "kept in memory");
    deepEqual((await client.list("/in")).map((f) => [f.name, f.size]), [["mem.txt", 14]]);
  }
  await terminate(cli);
  ok(!/NotCapable|permission/i.test(cli.stderr()), cli.stderr());
});

Deno.test("--exit-after 1 exits 0 by itself", async () => {
  await using cli = startCli(["--root", "memory:", "--port", "0", "--exit-after", "1"].concat(
    ["--ready-file", "-"],
  ));
  await cli.ready();
  const readyAt = performance.now();
  const exit = await cli.wait(10_000);
  const after = performance.now() - readyAt;
  equal(exit.code, 0, exit.stderr);
  equal(exit.signal, null);
  ok(after >= 800 && after < 5_000, `exited ${after.toFixed(0)} ms after ready`);
});

Deno.test("--exit-after closes logged-in sessions with 421", async () => {
  await using cli = startCli(["--root", "memory:", "--port", "0", "--exit-after", "0.5"].concat(
    ["--ready-file", "-"],
  ));
  const line = await cli.ready();
  await using raw = await RawClient.connect(line.port);
  await raw.login("anonymous", "x@y.z");
  equal((await raw.read(5_000)).code, 421);
  equal((await cli.wait(10_000)).code, 0);
});

Deno.test("--stdin-lifeline exits 0 when stdin closes", async () => {
  await using cli = startCli(
    ["--root", "memory:", "--port", "0", "--stdin-lifeline", "--ready-file", "-"],
    { stdin: true },
  );
  const line = await cli.ready();
  await using raw = await RawClient.connect(line.port);
  await raw.login("anonymous", "x@y.z");
  // Input on stdin is ignored; only its end counts.
  const writer = cli.child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("ignored\n"));
  writer.releaseLock();
  await raw.expect("NOOP", 200);
  const start = performance.now();
  await cli.closeStdin();
  const exit = await cli.wait(10_000);
  equal(exit.code, 0, exit.stderr);
  ok(performance.now() - start < 5_000);
  equal((await raw.read(2_000)).code, 421, "sessions are told");
});

Deno.test("--transcript FILE appends every command and reply as JSON lines", async () => {
  await using dir = localDir();
  const file = `${dir.path}/transcript.jsonl`;
  await using cli = startCli([
    "--root",
    "memory:",
    "--port",
    "0",
    "--user",
    "t:secret pass",
    "--transcript",
    file,
    "--ready-file",
    "-",
  ]);
  const line = await cli.ready();
  {
    await using raw = await RawClient.connect(line.port);
    await raw.login("t", "secret pass");
    await raw.expect("MKD box", 257);
    await raw.expect("QUIT", 221);
  }
  await terminate(cli);
  const lines = Deno.readTextFileSync(file).trimEnd().split("\n");
  const entries = lines.map((l) => JSON.parse(l) as TranscriptEntry);
  for (const entry of entries) {
    deepEqual(Object.keys(entry).sort(), ["direction", "session", "text", "time"]);
  }
  deepEqual(entries.map((e) => `${e.direction[0]} ${e.text.slice(0, 11)}`), [
    "r 220 ftpgate",
    "c USER t",
    "r 331 Please ",
    "c PASS ****",
    "r 230 Login s",
    "c MKD box",
    'r 257 "/box" ',
    "c QUIT",
    "r 221 Goodbye",
  ]);
  equal(entries[3].text, "PASS ****", "never the password");
  equal(new Set(entries.map((e) => e.session)).size, 1);
});

Deno.test("an unknown flag exits 2 with a message on stderr", async () => {
  for (
    const args of [
      ["--no-such-flag"],
      ["--port", "lots"],
      ["--user", "nocolon"],
      ["--log-format", "xml"],
      ["positional"],
    ]
  ) {
    await using cli = startCli(["--root", "memory:", ...args]);
    const exit = await cli.wait(10_000);
    equal(exit.code, 2, `${args.join(" ")}: exit ${exit.code}\n${exit.stderr}`);
    match(exit.stderr, /^ftpgate: .+\nTry --help\.\n$/, exit.stderr);
    equal(exit.stdout, "");
  }
});

Deno.test("a busy port exits 1 with a clear message", async () => {
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await using cli = startCli(["--root", "memory:", "--port", String(busy.addr.port)]);
  const exit = await cli.wait(10_000);
  equal(exit.code, 1);
  ok(
    exit.stderr.includes(`ftpgate: port ${busy.addr.port} on 127.0.0.1 is already in use`),
    exit.stderr,
  );
  equal(exit.stdout, "", "no ready line");
});

Deno.test("a missing root exits 1 with a clear message", async () => {
  await using dir = localDir();
  const missing = `${dir.path}/not-here`;
  await using cli = startCli(["--root", missing, "--port", "0", "--ready-file", "-"]);
  const exit = await cli.wait(10_000);
  equal(exit.code, 1);
  ok(exit.stderr.includes(`ftpgate: root directory not found: ${missing}`), exit.stderr);
  equal(exit.stdout, "");
});

Deno.test("--help lists every flag", async () => {
  await using cli = startCli(["--help"]);
  const exit = await cli.wait(10_000);
  equal(exit.code, 0);
  ok(exit.stdout.startsWith(`ftpgate ${VERSION}`), exit.stdout);
  const flags = envNames()
    .filter((name) => name !== "FTPGATE_USERS")
    .map((name) => "--" + name.slice("FTPGATE_".length).toLowerCase().replaceAll("_", "-"));
  ok(flags.length >= 30, `${flags.length} flags`);
  for (const flag of flags) {
    ok(new RegExp(`^  ${flag}\\b`, "m").test(exit.stdout), `--help lacks ${flag}`);
  }
  for (const flag of ["--ready-file", "--exit-after", "--stdin-lifeline", "--fault"]) {
    ok(flags.includes(flag), flag);
  }
  ok(exit.stdout.includes("FTPGATE_"), "the environment variables are explained");
});

Deno.test("--version prints the version", async () => {
  await using cli = startCli(["--version"]);
  const exit = await cli.wait(10_000);
  equal(exit.code, 0);
  equal(exit.stdout, `ftpgate ${VERSION}\n`);
  match(VERSION, /^\d+\.\d+\.\d+/);
});

Deno.test("SIGTERM stops the CLI with exit 0 and tells idle sessions 421", async () => {
  await using cli = startCli(["--root", "memory:", "--port", "0", "--ready-file", "-"]);
  const line = await cli.ready();
  const clients: RawClient[] = [];
  try {
    for (let i = 0; i < 5; i++) {
      const raw = await RawClient.connect(line.port);
      clients.push(raw);
      await raw.login("anonymous", "x@y.z");
    }
    const elapsed = await terminate(cli);
    for (const raw of clients) equal((await raw.read(2_000)).code, 421);
    // deno-lint-ignore no-console
    console.log(`CLI SIGTERM → exit with 5 idle sessions: ${elapsed.toFixed(1)} ms`);
    ok(elapsed < 5_000);
  } finally {
    for (const raw of clients) raw.close();
  }
});

Deno.test("deno run startup to ready line and SIGTERM to exit: medians of 20 runs", async () => {
  const ready: number[] = [];
  const stop: number[] = [];
  for (let i = 0; i < 20; i++) {
    await using cli = startCli(["--root", "memory:", "--port", "0", "--ready-file", "-"]);
    await cli.ready();
    ready.push(cli.readyAt - cli.spawnedAt);
    stop.push(await terminate(cli));
  }
  const fmt = (values: number[]) =>
    `median ${median(values).toFixed(1)} ms (min ${Math.min(...values).toFixed(1)}, max ${
      Math.max(...values).toFixed(1)
    })`;
  // deno-lint-ignore no-console
  console.log(`deno run main.ts: spawn → ready line ${fmt(ready)}`);
  // deno-lint-ignore no-console
  console.log(`deno run main.ts: SIGTERM → exit ${fmt(stop)}`);
  ok(median(ready) < 10_000, "a very generous bound");
  ok(median(stop) < 5_000, "a very generous bound");
});

Deno.test("the ready file appears only once the server accepts connections", async () => {
  await using dir = localDir();
  const file = `${dir.path}/ready.json`;
  await using cli = startCli(["--root", "memory:", "--port", "0", "--ready-file", file]);
  // Poll for the file like a shell script would, then connect at once.
  await waitFor(
    () => {
      try {
        return Deno.statSync(file).isFile;
      } catch {
        return false;
      }
    },
    "the ready file",
    15_000,
  );
  const line = JSON.parse(Deno.readTextFileSync(file)) as ReadyLine;
  await using raw = await RawClient.connect(line.port);
  equal(raw.banner.code, 220);
  await terminate(cli);
});

Deno.test("--user random without --ready-file puts its credentials in the ready line's URL", async () => {
  await using cli = startCli(["--root", "memory:", "--port", "0", "--user", "random"]);
  await waitFor(() => cli.stdout().includes("\n"), "the ready line", 15_000);
  const url = new URL(cli.stdout().split(" ")[0]);
  equal(cli.stdout(), `${url.href}\n`, "one line, the URL alone");
  match(url.username, /^u[0-9a-f]{8}$/);
  match(url.password, /^[A-Za-z0-9]{16}$/);
  {
    await using client = await connectFtp(url.href);
    await uploadBytes(client, "r.txt", "random");
    equal(await downloadText(client, "r.txt"), "random");
  }
  await terminate(cli);
  ok(!cli.stderr().includes(url.password), "the password is not in the logs");
});

Deno.test("the ready file is readable by its owner only and removed at exit", async () => {
  await using dir = localDir();
  const file = `${dir.path}/ready.json`;
  // A ready file from an earlier run, readable by all, and a stale temporary file.
  Deno.writeTextFileSync(file, "old\n", { mode: 0o644 });
  Deno.chmodSync(file, 0o644);
  Deno.writeTextFileSync(`${file}.tmp`, "stale", { mode: 0o644 });
  for (const stop of ["SIGTERM", "--exit-after"] as const) {
    const args = ["--root", "memory:", "--port", "0", "--user", "random", "--ready-file", file];
    await using cli = startCli(stop === "SIGTERM" ? args : [...args, "--exit-after", "0.5"]);
    const line = await cli.ready();
    equal(Deno.statSync(file).mode! & 0o777, 0o600, "mode of the ready file");
    const written = JSON.parse(Deno.readTextFileSync(file));
    equal(written.user, line.user);
    ok(written.password.length >= 16, "the random password is in the file");
    equal(line.password, undefined, "and not on stdout");
    if (stop === "SIGTERM") await terminate(cli);
    else equal((await cli.wait(10_000)).code, 0);
    deepEqual([...Deno.readDirSync(dir.path)].map((entry) => entry.name), [], `after ${stop}`);
  }
});

Deno.test("a busy --implicit-tls-port is named in the error, exit 1", async () => {
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = busy.addr.port;
  await using cli = startCli(
    ["--root", "memory:", "--port", "0", "--tls-self-signed", "--implicit-tls-port", String(port)],
  );
  const exit = await cli.wait(10_000);
  equal(exit.code, 1, exit.stderr);
  equal(exit.stderr, `ftpgate: --implicit-tls-port ${port} on 127.0.0.1 is already in use\n`);
});

Deno.test("a root that is a file exits 1 (cannot start), not 2 (bad flag)", async () => {
  await using dir = localDir();
  const file = `${dir.path}/not-a-dir`;
  Deno.writeTextFileSync(file, "x");
  await using cli = startCli(["--root", file, "--port", "0"]);
  const exit = await cli.wait(10_000);
  equal(exit.code, 1, exit.stderr);
  equal(exit.stderr, `ftpgate: root is not a directory: ${file}\n`);
});

Deno.test("bad values exit 2, name the flag, end with Try --help and never echo a password", async () => {
  const cases: [args: string[], env: Record<string, string>, message: string][] = [
    [["--user", "a:1", "--user", "a:2"], {}, '--user: user "a" is given twice'],
    [["--user", "alice:"], {}, '--user: user "alice" has an empty password'],
    [
      [],
      { FTPGATE_ANONYMOUS: "maybe" },
      "FTPGATE_ANONYMOUS: expected 1, true, yes, on or " +
      '0, false, no, off, got "maybe"',
    ],
    [
      [],
      { FTPGATE_USER: "a:1", FTPGATE_USERS: "b:2" },
      "FTPGATE_USER and FTPGATE_USERS are " +
      "both set: set one of them",
    ],
    [
      ["--max-line-length", "10"],
      {},
      "--max-line-length: expected an integer from 64 to 1048576, got 10",
    ],
    [
      [],
      { FTPGATE_IDLE_TIMEOUT: "99999999" },
      "--idle-timeout (from FTPGATE_IDLE_TIMEOUT): " +
      "expected seconds from 0 to 2147483.647, got 99999999",
    ],
    [
      [],
      { FTPGATE_USERS: "alice:pa,s3cr3t9" },
      "--user (from FTPGATE_USERS) (item 2): " +
      "expected NAME:PASSWORD or random; items are separated by commas, so a password cannot " +
      "hold one",
    ],
  ];
  for (const [args, env, message] of cases) {
    await using cli = startCli(["--root", "memory:", "--port", "0", ...args], { env });
    const exit = await cli.wait(10_000);
    equal(exit.code, 2, `${args.join(" ")} ${JSON.stringify(env)}: ${exit.stderr}`);
    equal(exit.stderr, `ftpgate: ${message}\nTry --help.\n`);
    ok(!exit.stderr.includes("s3cr3t9"));
  }
});
