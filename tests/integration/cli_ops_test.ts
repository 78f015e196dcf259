/**
 * The new flags reaching the running server, each through the real command line: the HTTP side
 * port, the transfer log (and its reopening on SIGHUP), the upload hook, webhooks, MODE Z,
 * restart markers, --exit-when-idle, PASV host names, and the checks that refuse bad values
 * before anything starts.
 */

import { equal, match, ok } from "node:assert/strict";
import {
  type CliProcess,
  connectFtp,
  downloadText,
  startCli,
  stopCli,
  uploadBytes,
} from "../helpers/cli_helpers.ts";
import { localDir } from "../helpers/clients.ts";
import { exists } from "../helpers/files.ts";
import { parsePasv, waitFor } from "../helpers/protocol_helpers.ts";
import { loginAs, RawClient, writeAllAndClose } from "../helpers/raw_client.ts";

Deno.test("--http-port serves /healthz and /metrics; the ready line names the port", async () => {
  await using cli = startCli([
    "--root",
    "memory:",
    "--port",
    "0",
    "--http-port",
    "0",
    "--ready-file",
    "-",
  ]);
  const line = await cli.ready() as Awaited<ReturnType<CliProcess["ready"]>> & {
    httpUrl: string;
    httpPort: number;
  };
  ok(line.httpPort > 0);
  equal(line.httpUrl, `http://127.0.0.1:${line.httpPort}/`);
  const health = await fetch(`${line.httpUrl}healthz`);
  equal(health.status, 200);
  const body = await health.json();
  equal(body.status, "ok");
  equal(body.sessions, 0);
  {
    await using raw = await RawClient.connect(line.port);
    await raw.login("anonymous", "a@b.c");
    const metrics = await (await fetch(`${line.httpUrl}metrics`)).text();
    match(metrics, /^ftpgate_sessions_open 1$/m);
  }
  await stopCli(cli);
});

Deno.test("--http-host off loopback without a token is refused before anything listens (exit 2)", async () => {
  await using cli = startCli([
    "--root",
    "memory:",
    "--port",
    "0",
    "--http-port",
    "0",
    "--http-host",
    "0.0.0.0",
  ]);
  const exit = await cli.wait(10_000);
  equal(exit.code, 2, exit.stderr);
  match(exit.stderr, /^ftpgate: --http-host 0\.0\.0\.0 .*--http-token-file.*\n$/);
});

Deno.test("--transfer-log writes an xferlog line per transfer and is reopened on SIGHUP", async () => {
  await using dir = localDir();
  Deno.mkdirSync(`${dir.path}/root`);
  Deno.writeTextFileSync(`${dir.path}/root/report.txt`, "0123456789");
  const log = `${dir.path}/xferlog`;
  await using cli = startCli([
    "--root",
    `${dir.path}/root`,
    "--port",
    "0",
    "--user",
    "alice:pw",
    "--transfer-log",
    log,
    "--ready-file",
    "-",
  ]);
  const line = await cli.ready();
  {
    await using client = await connectFtp(line.url);
    equal(await downloadText(client, "report.txt"), "0123456789");
  }
  await waitFor(() => exists(log) && Deno.readTextFileSync(log).includes("\n"), "the line", 5_000);
  const fields = Deno.readTextFileSync(log).trimEnd().split(" ").filter(Boolean);
  // ctime (5 fields), seconds, host, size, name, type, action, direction, mode, user, service,
  // authentication, user id, status.
  equal(fields.length, 18, fields.join(" "));
  equal(fields[6], "127.0.0.1");
  equal(fields[7], "10");
  equal(fields[8], "/report.txt");
  equal(fields.slice(9).join(" "), "b _ o r alice ftp 0 * c");
  // logrotate: move the file away, signal, and the next line goes to a new file.
  Deno.renameSync(log, `${log}.1`);
  cli.kill("SIGHUP");
  await waitFor(() => exists(log), "the reopened log", 5_000);
  {
    await using client = await connectFtp(line.url);
    await uploadBytes(client, "up.bin", "12345");
  }
  await waitFor(() => Deno.readTextFileSync(log).includes("/up.bin"), "the line", 5_000);
  match(Deno.readTextFileSync(log), / 5 \/up\.bin b _ i r alice ftp 0 \* c\n$/);
  equal(Deno.readTextFileSync(`${log}.1`).split("\n").length, 2, "the old file keeps its line");
  await stopCli(cli);
});

/** The count of the block header at `at` (0 until the header is complete). */
function count(bytes: Uint8Array, at: number): number {
  return bytes.length < at + 3 ? 0 : (bytes[at + 1] << 8) | bytes[at + 2];
}

Deno.test("--on-upload runs the program once per completed upload with the upload's facts", async () => {
  await using dir = localDir();
  Deno.mkdirSync(`${dir.path}/root`);
  const out = `${dir.path}/hook.out`;
  // No shell involved: a JSON array of words, the facts in the environment.
  const hook = JSON.stringify([
    "/bin/sh",
    "-c",
    `printf '%s %s %s\\n' "$FTPGATE_PATH" "$FTPGATE_USER" "$FTPGATE_SIZE" >> '${out}'`,
  ]);
  await using cli = startCli([
    "--root",
    `${dir.path}/root`,
    "--port",
    "0",
    "--user",
    "bob:pw",
    "--on-upload",
    hook,
    "--on-upload-timeout",
    "5",
    "--ready-file",
    "-",
  ]);
  const line = await cli.ready();
  {
    await using client = await connectFtp(line.url);
    await uploadBytes(client, "first.txt", "abc");
    await uploadBytes(client, "second.txt", "defgh");
  }
  await waitFor(
    () => exists(out) && Deno.readTextFileSync(out).split("\n").length === 3,
    "two runs",
    10_000,
  );
  equal(Deno.readTextFileSync(out), "/first.txt bob 3\n/second.txt bob 5\n");
  await stopCli(cli);
});

Deno.test("--webhook posts signed events to a receiver", async () => {
  await using dir = localDir();
  const secret = "webhook-key-for-test";
  Deno.writeTextFileSync(`${dir.path}/hook.key`, secret + "\n");
  const received: { type: string; signature: string | null; body: string }[] = [];
  await using receiver = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      const body = await request.text();
      received.push({
        type: request.headers.get("x-ftpgate-event") ?? "",
        signature: request.headers.get("x-ftpgate-signature"),
        body,
      });
      return new Response(null, { status: 204 });
    },
  );
  await using cli = startCli([
    "--root",
    "memory:",
    "--port",
    "0",
    "--user",
    "carol:pw",
    "--webhook",
    `http://127.0.0.1:${receiver.addr.port}/events`,
    "--webhook-secret-file",
    `${dir.path}/hook.key`,
    "--webhook-events",
    "login,upload.completed",
    "--ready-file",
    "-",
  ]);
  const line = await cli.ready();
  {
    await using client = await connectFtp(line.url);
    await uploadBytes(client, "in.txt", "hello");
  }
  await waitFor(() => received.length >= 2, "two events", 10_000);
  equal(received.map((event) => event.type).join(" "), "login upload.completed");
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  for (const event of received) {
    const mac = new Uint8Array(
      await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(event.body)),
    );
    const hex = [...mac].map((byte) => byte.toString(16).padStart(2, "0")).join("");
    equal(event.signature, `sha256=${hex}`);
  }
  const upload = JSON.parse(received[1].body);
  equal(upload.path, "/in.txt");
  equal(upload.user, "carol");
  equal(upload.size, 5);
  await stopCli(cli);
});

Deno.test("--mode-z makes FEAT list MODE Z and MODE Z accepted; without it neither", async () => {
  for (const modeZ of [true, false]) {
    await using cli = startCli(
      ["--root", "memory:", "--port", "0", "--ready-file", "-", ...(modeZ ? ["--mode-z"] : [])],
    );
    const line = await cli.ready();
    {
      await using raw = await RawClient.connect(line.port);
      const feat = await raw.expect("FEAT", 211);
      equal(feat.lines.some((text) => /^ MODE Z$/.test(text)), modeZ, feat.lines.join("\n"));
      await raw.login("anonymous", "a@b.c");
      equal((await raw.command("MODE Z")).code, modeZ ? 200 : 504);
    }
    await stopCli(cli);
  }
});

Deno.test("--restart-marker-interval and --ebcdic-code-page reach the session", async () => {
  await using dir = localDir();
  Deno.mkdirSync(`${dir.path}/root`);
  Deno.writeFileSync(`${dir.path}/root/blob.bin`, new Uint8Array(10_000).fill(7));
  Deno.writeTextFileSync(`${dir.path}/root/text.txt`, "[x]\n");
  await using cli = startCli([
    "--root",
    `${dir.path}/root`,
    "--port",
    "0",
    "--restart-marker-interval",
    "4096",
    "--ebcdic-code-page",
    "1047",
    "--ready-file",
    "-",
  ]);
  const line = await cli.ready();
  await using raw = await RawClient.connect(line.port);
  await raw.login("anonymous", "a@b.c");
  await raw.expect("TYPE I", 200);
  await raw.expect("MODE B", 200);
  // Block mode keeps the data connection open: read blocks up to the one marked EOF (64).
  // Each header is a descriptor and a 16-bit count; restart markers have descriptor 16.
  const data = await raw.epsv();
  await raw.expect("RETR blob.bin", 150);
  const markers: string[] = [];
  let buffered = new Uint8Array(0);
  const chunk = new Uint8Array(65536);
  for (let at = 0, eof = false; !eof;) {
    while (buffered.length < at + 3 || buffered.length < at + 3 + count(buffered, at)) {
      const n = await data.read(chunk);
      if (n === null) throw new Error("the data connection closed before the EOF block");
      buffered = new Uint8Array([...buffered, ...chunk.subarray(0, n)]);
    }
    const size = count(buffered, at);
    if (buffered[at] & 16) {
      markers.push(new TextDecoder().decode(buffered.subarray(at + 3, at + 3 + size)));
    }
    eof = (buffered[at] & 64) !== 0;
    at += 3 + size;
  }
  equal((await raw.read()).code, 250, "the data connection stays open");
  data.close();
  equal(markers.join(","), "4096,8192");
  await raw.expect("MODE S", 200);
  await raw.expect("TYPE E", 200);
  const ebcdic = await raw.download("RETR text.txt");
  // Code page 1047 puts [ and ] at 0xAD and 0xBD (037: 0xBA and 0xBB); NL is 0x15.
  equal([...ebcdic].map((byte) => byte.toString(16)).join(" "), "ad a7 bd 15");
  raw.close();
  await stopCli(cli);
});

Deno.test("--exit-when-idle exits 0 after that long without a session, not during one", async () => {
  await using cli = startCli(
    ["--root", "memory:", "--port", "0", "--exit-when-idle", "0.6", "--ready-file", "-"],
  );
  const line = await cli.ready();
  const raw = await RawClient.connect(line.port);
  await raw.login("anonymous", "a@b.c");
  // Busy for longer than the idle time: the server stays.
  for (let i = 0; i < 6; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    await raw.expect("NOOP", 200);
  }
  const closedAt = performance.now();
  await raw.expect("QUIT", 221);
  raw.close();
  const exit = await cli.wait(10_000);
  const after = performance.now() - closedAt;
  equal(exit.code, 0, exit.stderr);
  equal(exit.signal, null);
  ok(after >= 500 && after < 5_000, `exited ${after.toFixed(0)} ms after the last session`);
  match(exit.stderr, /No session for 0\.6 s \(--exit-when-idle\): shutting down/);
});

Deno.test("--pasv-address takes a host name, resolved to IPv4 for the 227 reply", async () => {
  // The control connection is on 127.0.0.2; "localhost" (from /etc/hosts) is 127.0.0.1.
  await using cli = startCli([
    "--root",
    "memory:",
    "--host",
    "127.0.0.2",
    "--port",
    "0",
    "--pasv-address",
    "localhost",
    "--ready-file",
    "-",
  ]);
  const line = await cli.ready();
  await using raw = await RawClient.connect(line.port, "127.0.0.2");
  await raw.login("anonymous", "a@b.c");
  const reply = await raw.expect("PASV", 227);
  equal(parsePasv(reply).host, "127.0.0.1");
  raw.close();
  await stopCli(cli);
});

Deno.test("a PASV host name that does not resolve fails the start with exit 1", async () => {
  await using cli = startCli(
    ["--root", "memory:", "--port", "0", "--pasv-address", "no-such-host.invalid"],
  );
  const exit = await cli.wait(15_000);
  equal(exit.code, 1, exit.stderr);
  match(exit.stderr, /^ftpgate: cannot resolve PASV address "no-such-host\.invalid" \(\w+\)\n$/);
});

Deno.test("settings that cannot work exit 2 before anything listens", async () => {
  const cases: [args: string[], message: RegExp][] = [
    [["--fault", "s3-slowdown=2"], /^ftpgate: --fault s3-slowdown=2: needs an s3:\/\/ root\n$/],
    [
      ["--webhook", "http://127.0.0.1:9/", "--webhook-events", "login,uploaded"],
      /^ftpgate: --webhook-events: unknown event "uploaded"; known: /,
    ],
    [["--on-upload", "'unbalanced"], /^ftpgate: --on-upload: /],
    [["--root", "s3://bucket", "--fault", "s3-slowdown=x"], /^ftpgate: --fault s3-slowdown: /],
  ];
  for (const [args, message] of cases) {
    await using cli = startCli(["--root", "memory:", "--port", "0", ...args]);
    const exit = await cli.wait(10_000);
    equal(exit.code, 2, `${args.join(" ")}: ${exit.stderr}`);
    match(exit.stderr, message);
    equal(exit.stdout, "");
  }
});

Deno.test("a busy --http-port is named in the error, exit 1", async () => {
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await using cli = startCli(
    ["--root", "memory:", "--port", "0", "--http-port", String(busy.addr.port)],
  );
  const exit = await cli.wait(10_000);
  equal(exit.code, 1, exit.stderr);
  equal(exit.stderr, `ftpgate: --http-port ${busy.addr.port} on 127.0.0.1 is already in use\n`);
});

Deno.test("an optional part that Deno may not read says which permission to add, exit 1", async () => {
  for (const args of [["--tls-self-signed"], ["--http-port", "0"]]) {
    await using cli = startCli(["--root", "memory:", "--port", "0", ...args], {
      permissions: ["--allow-net", "--allow-env"],
    });
    const exit = await cli.wait(10_000);
    equal(exit.code, 1, exit.stderr);
    match(
      exit.stderr,
      /^ftpgate: Deno may not read ftpgate's source to load the \w+ module: run deno with --allow-read=\S+\/src\/ \(deno task start grants it\)\n$/,
    );
  }
});

Deno.test("the upload hook does not inherit the server's FTPGATE_* settings (FTPGATE_USERS holds passwords)", async () => {
  // The server is configured through FTPGATE_* variables (src/cli.ts fromEnv),
  // FTPGATE_USERS=name:password among them (the Docker and Fly examples set it): a hook that
  // logs its environment, or hands it on to a scanner, would leak every password. The hook sees
  // the FTPGATE_* variables of the upload and no other, and the rest of the environment.
  await using dir = localDir();
  Deno.mkdirSync(`${dir.path}/tree`);
  const dump = `${dir.path}/hook.env`;
  await using cli = startCli([
    "--root",
    `${dir.path}/tree`,
    "--port",
    "0",
    "--on-upload",
    `/bin/sh -c 'env > ${dump}'`,
    "--ready-file",
    "-",
  ], { env: { FTPGATE_USERS: "alice:alice-secret-pw,bob:bob-secret-pw" } });
  const line = await cli.ready();
  {
    await using c = await loginAs(line.port, "alice", "alice-secret-pw");
    const data = await c.epsv();
    await c.expect("STOR in.txt", 150);
    await writeAllAndClose(data, new TextEncoder().encode("payload"));
    equal((await c.read()).code, 226);
  }
  await waitFor(
    () => {
      try {
        return Deno.readTextFileSync(dump).includes("FTPGATE_PATH=");
      } catch {
        return false;
      }
    },
    "the hook's run",
    10_000,
  );
  const env = Deno.readTextFileSync(dump);
  ok(!env.includes("secret-pw"), `the hook's environment holds passwords:\n${env}`);
  const facts = new Set([
    "FTPGATE_EVENT",
    "FTPGATE_PATH",
    "FTPGATE_REAL_PATH",
    "FTPGATE_USER",
    "FTPGATE_ANONYMOUS",
    "FTPGATE_SIZE",
    "FTPGATE_BYTES",
    "FTPGATE_OFFSET",
    "FTPGATE_COMMAND",
    "FTPGATE_REMOTE_ADDRESS",
    "FTPGATE_SESSION",
    "FTPGATE_SECURE",
    "FTPGATE_SHA256",
    "FTPGATE_TIME",
  ]);
  const others = [...env.matchAll(/^(FTPGATE_\w+)=/gm)].map((m) => m[1]).filter((name) =>
    !facts.has(name)
  );
  equal(others.join(","), "", "FTPGATE_* variables that are not facts of this upload");
  ok(/^PATH=/m.test(env), "the rest of the environment is inherited");
  await stopCli(cli);
});
