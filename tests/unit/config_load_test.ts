/**
 * loadConfigFile(): good files map onto the library's options; every kind of mistake is one
 * line naming its JSON path; secrets never appear in an error; mergeConfig() applies
 * file < environment < flags.
 */
import { deepEqual, equal, fail, match, ok } from "node:assert/strict";
import { Readable } from "node:stream";
import { ConfigError, loadConfigFile, mergeConfig } from "../../src/config/load.ts";
import { closePasswordVerifier, hashPassword } from "../../src/identity/passwords/mod.ts";
import { PERMISSIONS, serve } from "../../src/mod.ts";
import { connectFtp, downloadText } from "../helpers/cli_helpers.ts";

const ARGON2 =
  "$argon2id$v=19$m=19456,t=2,p=1$vXI9kpdU/22stp17uGdsGg$v/fuwHtAQ0/WkPxHjGGDhcPovZ8HTv8pUk5ut5q3nbA";

/** A directory holding a config file and whatever directories a test names. */
function scratch(dirs: string[] = []) {
  const dir = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "ftpgate-config-" }));
  for (const sub of dirs) Deno.mkdirSync(`${dir}/${sub}`, { recursive: true });
  return {
    dir,
    /** Writes `text` as ftpgate.jsonc (or `name`) and returns its path. */
    write(text: string, name = "ftpgate.jsonc"): string {
      Deno.writeTextFileSync(`${dir}/${name}`, text);
      return `${dir}/${name}`;
    },
    [Symbol.dispose]() {
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

const noEnv = () => undefined;

/** The issues of a file that must fail, as `path: message` lines. */
async function problems(
  path: string,
  env: (name: string) => string | undefined = noEnv,
): Promise<string[]> {
  try {
    await loadConfigFile(path, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split("\n");
    throw error;
  }
  fail("the config loaded, expected errors");
}

/** Asserts `lines` has one line for each pattern, in any order, and nothing else. */
function assertProblems(lines: string[], patterns: RegExp[]): void {
  const left = [...lines];
  for (const pattern of patterns) {
    const i = left.findIndex((line) => pattern.test(line));
    if (i === -1) fail(`no line matches ${pattern}; got:\n${lines.join("\n")}`);
    left.splice(i, 1);
  }
  if (left.length > 0) fail(`unexpected lines:\n${left.join("\n")}\nall:\n${lines.join("\n")}`);
}

Deno.test("loadConfigFile() maps the issue's example onto serve options", async () => {
  using s = scratch(["srv/alice", "srv/bob", "srv/archive"]);
  const path = s.write(`{
    "$schema": "../ftpgate.schema.json", // or a relative path to the committed schema
    "listen": { "host": "0.0.0.0", "port": 2121 },
    "passive": { "ports": "50000-50100", "address": "203.0.113.10" },
    "users": [
      { "name": "alice", "password_hash": "${ARGON2.replaceAll("$", "$")}", "root": "srv/alice",
        "rules": [ { "path": "/", "allow": ["list", "download", "upload", "overwrite", "delete", "rename", "mkdir"] },
                   { "path": "/inbox", "allow": ["upload"] } ],           // a drop box
        "quota": { "bytes": 1073741824, "files": 10000 },
        "bandwidth": { "upload": 1048576, "download": 2097152, "session_download": 524288 }, // bytes per second
        "max_sessions": 4 },
      { "name": "bob", "password_env": "BOB_PASSWORD",
        "mounts": [ { "path": "/", "root": "srv/bob" },
                    { "path": "/archive", "root": "${s.dir}/srv/archive", "read_only": true } ] }
    ],
    "anonymous": false
  }`);
  const config = await loadConfigFile(
    path,
    (name) => name === "BOB_PASSWORD" ? "bob pw" : undefined,
  );
  equal(config.file, path);
  deepEqual(config.serve, {
    hostname: "0.0.0.0",
    port: 2121,
    passivePorts: { from: 50000, to: 50100 },
    passiveAddress: "203.0.113.10",
    users: [
      {
        name: "alice",
        passwordHash: ARGON2,
        root: `${s.dir}/srv/alice`,
        rules: [
          {
            path: "/",
            allow: ["list", "download", "upload", "overwrite", "delete", "rename", "mkdir"],
          },
          { path: "/inbox", allow: ["upload"] },
        ],
        limits: {
          uploadBytesPerSecond: 1048576,
          downloadBytesPerSecond: 2097152,
          sessionDownloadBytesPerSecond: 524288,
          maxSessions: 4,
          quotaBytes: 1073741824,
          quotaFiles: 10000,
        },
      },
      {
        name: "bob",
        password: "bob pw",
        mounts: [
          { path: "/", root: `${s.dir}/srv/bob` },
          { path: "/archive", root: `${s.dir}/srv/archive`, readOnly: true },
        ],
      },
    ],
    anonymous: false,
  });
  deepEqual(config.ops, {});
  deepEqual(config.logging, {});
  deepEqual(config.run, {});
  equal(config.s3, undefined);
  equal(config.authHttp, undefined);
});

Deno.test("loadConfigFile() maps every section", async () => {
  using s = scratch(["root", "pub", "hook-users", "logs", "tls", "work"]);
  s.write("CERT", "tls/cert.pem");
  s.write("KEY", "tls/key.pem");
  s.write("token\n", "http.token");
  s.write("  hook token \n\n", "hook.token");
  const path = s.write(`{
    "root": "root",
    "banner": "Welcome; see https://example.org//ftp /* not a comment */",
    "passive": {
      "ports": [50000, 50010],
      "address": "ftp.example.org",
      "addresses": [{ "networks": ["10.0.0.0/8", "fd00::/8"], "address": "10.0.0.5" }],
    },
    "anonymous": { "root": "pub", "rules": [{ "path": "/", "allow": ["*"] }] },
    "allow_fxp": true,
    "allow_active": false,
    "atomic_uploads": true,
    "tls": {
      "cert": "tls/cert.pem", "key": "tls/key.pem", "implicit_port": 990, "sniff": 0.1,
      "require": true, "require_data": true, "require_session_reuse": true, "allow_truncation": true,
    },
    "limits": {
      "max_sessions": 50, "max_sessions_per_ip": 5, "idle_timeout": 60, "data_timeout": 10.5,
      "stall_timeout": 30, "max_line_length": 1024, "max_pipelined": 256, "max_login_attempts": 2,
      "login_failure_delay": 0.25, "ban_after": 3, "ban_duration": 120, "shutdown_grace": 5,
    },
    "logging": { "format": "json", "level": "debug", "transcript": "logs/transcript.jsonl" },
    "run": { "ready_file": "logs/ready.json", "exit_after": 3600, "exit_when_idle": 300, "stdin_lifeline": true, "parent_lifeline": false },
    "faults": ["delay=5", "fail-stor=100:552"],
    "http": { "port": 9100, "host": "127.0.0.1", "token_file": "http.token", "metrics": false,
              "status_page": false, "insecure": false, "ready_timeout": 2 },
    "transfer_log": { "path": "logs/xferlog", "format": "json", "utc": true },
    "on_upload": { "command": ["/usr/bin/scan", "--quiet"], "timeout": 30, "concurrency": 2,
                   "max_queue": 10, "cwd": "work" },
    "webhook": { "url": "https://hooks.example.org/ftp//events", "secret_env": "WEBHOOK_SECRET",
                 "types": ["login", "upload.completed"], "max_queue": 100, "timeout": 3,
                 "max_attempts": 4, "backoff": 0.5, "max_backoff": 10 },
    "s3": { "endpoint": "http://127.0.0.1:7480", "region": "eu-west-1", "path_style": true,
            "part_size": 8388608, "max_parts_in_flight": 2, "max_rename_keys": 500,
            "rename_concurrency": 4, "timeout": 20, "max_attempts": 3,
            "access_key_id_env": "S3_KEY", "secret_access_key_env": "S3_SECRET" },
  }`);
  const env: Record<string, string> = {
    WEBHOOK_SECRET: "hmac key",
    S3_KEY: "AKIDEXAMPLE",
    S3_SECRET: "s3 secret",
  };
  const config = await loadConfigFile(path, (name) => env[name]);
  deepEqual(config.serve, {
    root: `${s.dir}/root`,
    banner: "Welcome; see https://example.org//ftp /* not a comment */",
    passivePorts: { from: 50000, to: 50010 },
    passiveAddress: "ftp.example.org",
    passiveAddresses: [{ networks: ["10.0.0.0/8", "fd00::/8"], address: "10.0.0.5" }],
    anonymous: { root: `${s.dir}/pub`, rules: [{ path: "/", allow: PERMISSIONS }] },
    allowFxp: true,
    allowActive: false,
    atomicUploads: true,
    tls: { certFile: `${s.dir}/tls/cert.pem`, keyFile: `${s.dir}/tls/key.pem` },
    implicitTlsPort: 990,
    tlsSniffMs: 100,
    requireTls: true,
    requireTlsData: true,
    requireTlsSessionReuse: true,
    tlsAllowTruncatedUploads: true,
    maxSessions: 50,
    maxSessionsPerIp: 5,
    idleTimeoutMs: 60_000,
    dataTimeoutMs: 10_500,
    stallTimeoutMs: 30_000,
    maxLineLength: 1024,
    maxPipelinedBytes: 256,
    maxLoginAttempts: 2,
    loginFailureDelayMs: 250,
    banAfterFailures: 3,
    banDurationMs: 120_000,
    shutdownGraceMs: 5000,
    faults: { replyDelayMs: 5, failStorAfter: { bytes: 100, code: 552 } },
    transcript: `${s.dir}/logs/transcript.jsonl`,
  });
  deepEqual(config.logging, { format: "json", level: "debug" });
  deepEqual(config.run, {
    readyFile: `${s.dir}/logs/ready.json`,
    exitAfterMs: 3_600_000,
    exitWhenIdleMs: 300_000,
    stdinLifeline: true,
    parentLifeline: false,
  });
  deepEqual(config.ops, {
    http: {
      port: 9100,
      hostname: "127.0.0.1",
      tokenFile: `${s.dir}/http.token`,
      insecure: false,
      metrics: false,
      statusPage: false,
      readyTimeoutMs: 2000,
    },
    transferLog: { path: `${s.dir}/logs/xferlog`, format: "json", utc: true },
    onUpload: {
      command: ["/usr/bin/scan", "--quiet"],
      timeoutMs: 30_000,
      concurrency: 2,
      maxQueue: 10,
      cwd: `${s.dir}/work`,
    },
    webhook: {
      url: "https://hooks.example.org/ftp//events",
      secret: "hmac key",
      types: ["login", "upload.completed"],
      maxQueue: 100,
      timeoutMs: 3000,
      maxAttempts: 4,
      backoffMs: 500,
      maxBackoffMs: 10_000,
    },
  });
  deepEqual(config.s3, {
    endpoint: "http://127.0.0.1:7480",
    region: "eu-west-1",
    pathStyle: true,
    partSize: 8388608,
    maxPartsInFlight: 2,
    maxRenameKeys: 500,
    renameConcurrency: 4,
    timeoutMs: 20_000,
    maxAttempts: 3,
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "s3 secret" },
  });

  const hooked = s.write(
    `{ "auth": { "http": { "url": "http://127.0.0.1:8080/login", "allowed_roots": ["hook-users"],
       "timeout_s": 2.5, "concurrency": 8, "cache_s": 60, "token_file": "hook.token" } } }`,
    "hooked.jsonc",
  );
  deepEqual((await loadConfigFile(hooked, noEnv)).authHttp, {
    url: "http://127.0.0.1:8080/login",
    allowedRoots: [`${s.dir}/hook-users`],
    timeoutMs: 2500,
    concurrency: 8,
    cacheMs: 60_000,
    token: "  hook token",
  });
});

Deno.test("loadConfigFile() reads JSONC: comments, trailing commas, // and /* inside strings", async () => {
  using s = scratch();
  const path = s.write(`// leading comment
  /* block
     comment */ {
    "banner": "a // b /* c */ \\" // d", // trailing comment
    "listen": { "port": 21, }, /* after */
  }`);
  const config = await loadConfigFile(path, noEnv);
  equal(config.serve.banner, 'a // b /* c */ " // d');
  equal(config.serve.port, 21);
});

Deno.test("loadConfigFile() names the line and column of a syntax error", async () => {
  using s = scratch();
  assertProblems(await problems(s.write(`{\n  "listen": { "port": 21 }\n  "banner": "x"\n}`)), [
    /^\(file\): line 3, column 3: a comma was expected$/,
  ]);
  assertProblems(await problems(s.write(`{ "banner": "never closed }`)), [
    /^\(file\): line 1, column 13: unterminated string$/,
    /^\(file\): line 1, column 28: a closing brace was expected$/,
  ]);
  assertProblems(await problems(s.write("  \n")), [/^\(file\): is empty$/]);
  assertProblems(await problems(s.write("[1, 2]")), [/^\(file\): expected a JSON object$/]);
  assertProblems(await problems(`${s.dir}/missing.jsonc`), [
    /^\(file\): cannot read it \(not found\)$/,
  ]);
});

Deno.test("loadConfigFile() refuses unknown keys everywhere, with the key meant", async () => {
  using s = scratch(["a"]);
  const lines = await problems(s.write(`{
    "lisen": { "port": 21 },
    "listen": { "port": 21, "hots": "::" },
    "users": [{ "name": "a", "passwordHash": "${ARGON2}", "root": "a", "quota": { "byte": 1 } }],
    "tls": { "self_signed": true, "ciphers": "ALL" },
    "__proto__": { "allow_plaintext": true },
    "http": { "port": 9100, "token": "inline" },
    "s3": { "secret_access_key": "inline" },
  }`));
  assertProblems(lines, [
    /^lisen: unknown key \(did you mean "listen"\?\)$/,
    /^listen\.hots: unknown key \(did you mean "host"\?\)$/,
    /^users\[0\]\.passwordHash: unknown key \(did you mean "password_hash"\?\)$/,
    /^users\[0\]\.quota\.byte: unknown key \(did you mean "bytes"\?\)$/,
    /^tls\.ciphers: unknown key$/,
    /^__proto__: unknown key$/,
    /^http\.token: secrets are not allowed inline: use token_env or token_file$/,
    /^s3\.secret_access_key: secrets are not allowed inline: use secret_access_key_env$/,
  ]);
  ok(!lines.join("\n").includes('inline"'), "no value echoed");
  ok(!lines.join("\n").includes(ARGON2), "no hash echoed");
});

Deno.test("loadConfigFile() reports wrong types and ranges with their paths", async () => {
  using s = scratch();
  const lines = await problems(s.write(`{
    "listen": { "host": "not a host!", "port": 70000 },
    "passive": { "ports": "50000:50100", "address": "2001:db8::1" },
    "anonymous": "reed",
    "allow_fxp": "yes",
    "limits": { "max_sessions": 0, "idle_timeout": -1, "max_line_length": 1.5, "ban_after": "10" },
    "logging": { "format": "xml", "level": "verbose" },
    "tls": { "sniff": "fast" },
    "users": { "name": "alice" },
    "banner": "two\\nlines",
    "webhook": { "url": "ftp://example.org/" },
    "faults": "delay=5",
  }`));
  assertProblems(lines, [
    /^listen\.host: expected a host name or an IP address$/,
    /^listen\.port: must be at most 65535$/,
    /^passive\.ports: expected a port range: "50000-50100" or \[50000, 50100\]$/,
    /^passive\.address: expected an IPv4 address or a host name \(PASV replies carry IPv4 only\)$/,
    /^anonymous: expected true, false, "read", "write" or \{ root, rules \}$/,
    /^allow_fxp: expected true or false$/,
    /^limits\.max_sessions: must be at least 1$/,
    /^limits\.idle_timeout: must not be negative$/,
    /^limits\.max_line_length: expected a whole number$/,
    /^limits\.ban_after: expected a whole number$/,
    /^logging\.format: expected "text" or "json"$/,
    /^logging\.level: expected "debug", "info", "warning" or "error"$/,
    /^tls\.sniff: expected a number of seconds$/,
    /^users: expected a list of users$/,
    /^banner: must be one line$/,
    /^webhook\.url: expected an http:\/\/ or https:\/\/ URL$/,
    /^faults: expected a list of fault specs$/,
  ]);
});

Deno.test("loadConfigFile() refuses bad networks with the reason", async () => {
  using s = scratch();
  const lines = await problems(s.write(`{
    "users": [{ "name": "a", "password_hash": "${ARGON2}",
      "allowed_networks": ["10.0.0.5/8", "300.1.2.3/8", "10.0.0.1", "10.0.0.0/33", "2001:db8::/129", "10.0.0.0/8", "2001:db8::/32"] }],
    "passive": { "addresses": [{ "networks": ["everything"], "address": "10.0.0.5" }, { "networks": [], "address": "10.0.0.6" }] },
  }`));
  assertProblems(lines, [
    /^users\[0\]\.allowed_networks\[0\]: has host bits set \(the network is "10\.0\.0\.0\/8"\)$/,
    /^users\[0\]\.allowed_networks\[1\]: "300\.1\.2\.3" is not an IP address$/,
    /^users\[0\]\.allowed_networks\[2\]: is an address, not a network: write "10\.0\.0\.1\/32"$/,
    /^users\[0\]\.allowed_networks\[3\]: the prefix length must be a number from 0 to 32$/,
    /^users\[0\]\.allowed_networks\[4\]: the prefix length must be a number from 0 to 128$/,
    /^passive\.addresses\[0\]\.networks\[0\]: expected a network like 10\.0\.0\.0\/8 or 2001:db8::\/32$/,
    /^passive\.addresses\[1\]\.networks: must not be empty$/,
  ]);
});

Deno.test("loadConfigFile() checks password hashes without showing them", async () => {
  using s = scratch();
  const md5 = "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/";
  const truncated = ARGON2.replace("m=19456", "m=lots");
  const lines = await problems(s.write(`{ "users": [
    { "name": "a", "password_hash": "${md5}" },
    { "name": "b", "password_hash": "${truncated}" },
    { "name": "c", "password_hash": "plain-text-by-mistake" },
    { "name": "d", "password_hash": "${ARGON2}" },
  ] }`));
  equal(lines.length, 3, lines.join("\n"));
  match(lines[0], /^users\[0\]\.password_hash: .*MD5-crypt/);
  match(lines[1], /^users\[1\]\.password_hash: /);
  match(lines[2], /^users\[2\]\.password_hash: /);
  const text = lines.join("\n");
  for (const secret of [md5, truncated, "plain-text-by-mistake", "saltsalt"]) {
    ok(!text.includes(secret), `the error shows ${secret}`);
  }
});

Deno.test("loadConfigFile() resolves password_env and password_file, and says what is missing", async () => {
  using s = scratch();
  s.write("file pw \n", "bob.password");
  s.write("\n\n", "empty.password");
  const path = s.write(`{ "users": [
    { "name": "a", "password_env": "A_PASSWORD" },
    { "name": "b", "password_file": "bob.password" },
  ] }`);
  const config = await loadConfigFile(path, (name) => name === "A_PASSWORD" ? "env pw" : undefined);
  deepEqual(config.serve.users?.map((user) => user.password), ["env pw", "file pw"]);

  const bad = s.write(`{ "users": [
    { "name": "a", "password_env": "A_PASSWORD" },
    { "name": "b", "password_env": "EMPTY" },
    { "name": "c", "password_file": "missing.password" },
    { "name": "d", "password_file": "empty.password" },
    { "name": "e", "password_env": "not a name" },
    { "name": "f" },
    { "name": "g", "password_hash": "${ARGON2}", "password_env": "G" },
  ] }`);
  const envLines = await problems(bad, (name) => name === "EMPTY" ? "" : undefined);
  assertProblems(envLines, [
    /^users\[4\]\.password_env: expected the name of an environment variable$/,
  ]);
  const fixed = s.write(
    Deno.readTextFileSync(bad).replace('"not a name"', '"E_PASSWORD"'),
    "fixed.jsonc",
  );
  const lines = await problems(fixed, (name) => name === "EMPTY" ? "" : undefined);
  assertProblems(lines, [
    /^users\[0\]\.password_env: environment variable A_PASSWORD is not set$/,
    /^users\[1\]\.password_env: environment variable EMPTY is empty$/,
    /^users\[2\]\.password_file: cannot read .*missing\.password \(not found\)$/,
    /^users\[3\]\.password_file: .*empty\.password is empty$/,
    /^users\[4\]\.password_env: environment variable E_PASSWORD is not set$/,
    /^users\[5\]: needs password_hash, password_env or password_file$/,
    /^users\[6\]\.password_env: give only one of password_hash, password_env, password_file and password \(password_hash is set\)$/,
  ]);
});

Deno.test("loadConfigFile() refuses a clear password without allow_plaintext, and never shows it", async () => {
  using s = scratch();
  const text = `{ "users": [{ "name": "a", "password": "hunter2-clear" }] }`;
  const lines = await problems(s.write(text));
  assertProblems(lines, [
    /^users\[0\]\.password: a password in clear needs "allow_plaintext": true; use password_hash \(ftpgate hash-password\), password_env or password_file$/,
  ]);
  ok(!lines.join("\n").includes("hunter2"));
  const allowed = s.write(`{ "allow_plaintext": true, ${text.slice(1)}`, "allowed.jsonc");
  equal((await loadConfigFile(allowed, noEnv)).serve.users?.[0].password, "hunter2-clear");
});

Deno.test("loadConfigFile() checks that roots exist and are directories", async () => {
  using s = scratch(["alice", "bob"]);
  s.write("not a directory", "file.txt");
  const lines = await problems(s.write(`{
    "root": "server-root",
    "users": [
      { "name": "alice", "password_hash": "${ARGON2}", "root": "alice" },
      { "name": "bob", "password_hash": "${ARGON2}",
        "mounts": [{ "path": "/", "root": "bob" }, { "path": "/archive", "root": "/nonexistent/archive" }] },
      { "name": "carol", "password_hash": "${ARGON2}", "root": "carol" },
      { "name": "dave", "password_hash": "${ARGON2}", "root": "file.txt" },
      { "name": "erin", "password_hash": "${ARGON2}", "root": "memory:" },
      { "name": "frank", "password_hash": "${ARGON2}", "root": "s3://bucket/frank" },
      { "name": "grace", "password_hash": "${ARGON2}", "root": "s3://key:secret@bucket/grace" },
    ],
    "anonymous": { "root": "../elsewhere" },
  }`));
  assertProblems(lines, [
    new RegExp(`^root: directory does not exist \\(${s.dir}/server-root\\)$`),
    /^users\[1\]\.mounts\[1\]\.root: directory does not exist \(\/nonexistent\/archive\)$/,
    new RegExp(`^users\\[2\\]\\.root: directory does not exist \\(${s.dir}/carol\\)$`),
    /^users\[3\]\.root: is not a directory \(.*file\.txt\)$/,
    /^users\[6\]\.root: credentials in an s3:\/\/ URL are not allowed: use s3\.access_key_id_env$/,
    /^anonymous\.root: directory does not exist \(.*\/elsewhere\)$/,
  ]);
  ok(lines.every((line) => !line.includes("secret@")), "no credentials echoed");
});

Deno.test("loadConfigFile() resolves relative paths against the config file, not the working directory", async () => {
  using s = scratch(["conf/alice", "conf/tls"]);
  s.write("C", "conf/tls/c.pem");
  s.write("K", "conf/tls/k.pem");
  const path = s.write(
    `{ "root": ".", "users": [{ "name": "a", "password_hash": "${ARGON2}", "root": "./alice/../alice/" }],
       "tls": { "cert": "tls/c.pem", "key": "tls//k.pem" } }`,
    "conf/ftpgate.jsonc",
  );
  const config = await loadConfigFile(path.replace(s.dir, `${s.dir}/conf/..`), noEnv);
  equal(config.file, path);
  equal(config.serve.root, `${s.dir}/conf`);
  equal(config.serve.users?.[0].root, `${s.dir}/conf/alice`);
  deepEqual(config.serve.tls, {
    certFile: `${s.dir}/conf/tls/c.pem`,
    keyFile: `${s.dir}/conf/tls/k.pem`,
  });
});

Deno.test("loadConfigFile() refuses duplicate names, mounts and keys, and root with mounts", async () => {
  using s = scratch(["a", "b"]);
  const lines = await problems(s.write(`{ "users": [
    { "name": "alice", "password_hash": "${ARGON2}", "root": "a" },
    { "name": "alice", "password_hash": "${ARGON2}", "root": "b" },
    { "name": "bob", "password_hash": "${ARGON2}", "mounts": [{ "path": "/x", "root": "a" }, { "path": "/x/", "root": "b" }] },
  ] }`));
  assertProblems(lines, [
    /^users\[1\]\.name: "alice" is already the name of users\[0\]$/,
    /^users\[2\]\.mounts\[1\]\.path: "\/x" is mounted twice$/,
  ]);
  assertProblems(await problems(s.write(`{ "listen": { "port": 21, "port": 22 } }`)), [
    /^listen\.port: key given twice$/,
  ]);
  assertProblems(
    await problems(
      s.write(
        `{ "users": [{ "name": "x y", "password_hash": "${ARGON2}", "root": "a", "mounts": [{ "path": "/", "root": "b" }] },
      { "name": "ok", "password_hash": "${ARGON2}", "root": "a", "mounts": [{ "path": "/", "root": "b" }],
        "rules": [{ "path": "inbox", "allow": ["upload", "fly"] }] }] }`,
      ),
    ),
    [
      /^users\[0\]\.name: must be 1 to 256 characters without white space or colons$/,
      /^users\[0\]\.mounts: root and mounts exclude each other$/,
      /^users\[1\]\.rules\[0\]\.path: must be a path starting with "\/"$/,
      /^users\[1\]\.rules\[0\]\.allow\[1\]: expected one of "list", .*"mtime", "\*"$/,
    ],
  );
  assertProblems(
    await problems(
      s.write(
        `{ "users": [{ "name": "ok", "password_hash": "${ARGON2}", "root": "a", "mounts": [{ "path": "/", "root": "b" }] }] }`,
      ),
    ),
    [/^users\[0\]\.mounts: root and mounts exclude each other$/],
  );
});

Deno.test("loadConfigFile() refuses '.' and '..' segments in a home, a rule path or a mount path", async () => {
  using s = scratch(["a"]);
  const lines = await problems(s.write(`{ "users": [
    { "name": "alice", "password_hash": "${ARGON2}", "root": "a", "home": "/../bob" },
    { "name": "bob", "password_hash": "${ARGON2}", "root": "a", "home": "/pub/.",
      "rules": [{ "path": "/inbox/..", "allow": ["*"] }] },
    { "name": "carol", "password_hash": "${ARGON2}", "mounts": [{ "path": "/x/../y", "root": "a" }] },
    { "name": "dave", "password_hash": "${ARGON2}", "root": "a", "home": "/..a/b.." },
  ] }`));
  assertProblems(lines, [
    /^users\[0\]\.home: must not have "\." or "\.\." segments$/,
    /^users\[1\]\.home: must not have "\." or "\.\." segments$/,
    /^users\[1\]\.rules\[0\]\.path: must not have "\." or "\.\." segments$/,
    /^users\[2\]\.mounts\[0\]\.path: must not have "\." or "\.\." segments$/,
  ]);
});

Deno.test("loadConfigFile() checks TLS settings together", async () => {
  using s = scratch(["a"]);
  s.write("C", "cert.pem");
  assertProblems(
    await problems(s.write(`{ "tls": { "cert": "cert.pem", "require": true } }`)),
    [
      /^tls\.key: tls\.cert and tls\.key go together$/,
      /^tls\.require: needs a certificate: set tls\.cert and tls\.key, or tls\.self_signed$/,
    ],
  );
  assertProblems(
    await problems(
      s.write(`{ "tls": { "cert": "cert.pem", "key": "key.pem", "self_signed": true } }`),
    ),
    [
      /^tls\.self_signed: excludes tls\.cert and tls\.key$/,
      /^tls\.key: file does not exist \(.*key\.pem\)$/,
    ],
  );
  assertProblems(
    await problems(s.write(`{ "tls": { "implicit_port": 990, "require_data": true, "sniff": 11 },
      "users": [{ "name": "a", "password_hash": "${ARGON2}", "root": "a", "require_tls": true }] }`)),
    [
      /^tls\.implicit_port: needs a certificate/,
      /^tls\.require_data: needs a certificate/,
      /^tls\.sniff: must be at most 10 seconds$/,
      /^users\[0\]\.require_tls: needs TLS: set tls\.cert and tls\.key, or tls\.self_signed$/,
    ],
  );
  const ok1 = await loadConfigFile(
    s.write(`{ "tls": { "self_signed": true, "require": true },
      "users": [{ "name": "a", "password_hash": "${ARGON2}", "require_tls": true }] }`),
    noEnv,
  );
  deepEqual(ok1.serve.tls, { selfSigned: true });
  equal(ok1.serve.users?.[0].requireTls, true);
});

Deno.test("loadConfigFile() checks passive ports and fault specs", async () => {
  using s = scratch();
  assertProblems(await problems(s.write(`{ "passive": { "ports": "50100-50000" } }`)), [
    /^passive\.ports: 50100 is above 50000$/,
  ]);
  assertProblems(await problems(s.write(`{ "passive": { "ports": "21-22" } }`)), [
    /^passive\.ports: expected an integer from 1024 to 65535, got 21$/,
  ]);
  assertProblems(await problems(s.write(`{ "passive": { "ports": [80, 90] } }`)), [
    /^passive\.ports\[0\]: must be at least 1024$/,
    /^passive\.ports\[1\]: must be at least 1024$/,
  ]);
  assertProblems(
    await problems(s.write(`{ "faults": ["delay=5", "explode", "stall-retr=lots"] }`)),
    [/^faults\[1\]: /, /^faults\[2\]: stall-retr: expected a byte count, got "lots"$/],
  );
});

Deno.test("loadConfigFile() checks auth.http: allowed roots, clear-text URLs, secrets", async () => {
  using s = scratch(["users"]);
  assertProblems(
    await problems(s.write(`{ "auth": { "http": { "url": "http://auth.example.org/login",
      "allowed_roots": ["users", "missing"] } },
      "users": [{ "name": "a", "password_hash": "${ARGON2}" }] }`)),
    [
      /^auth\.http: cannot be combined with users or anonymous: the hook decides every login$/,
      /^auth\.http\.url: http:\/\/ would send passwords in clear: use https:\/\/, a loopback address, or "insecure": true$/,
      /^auth\.http\.allowed_roots\[1\]: directory does not exist/,
    ],
  );
  assertProblems(
    await problems(s.write(`{ "auth": { "http": { "url": "https://user:pw@auth.example.org/",
      "allowed_roots": [], "token_env": "HOOK_TOKEN" } } }`)),
    [/^auth\.http\.allowed_roots: must name at least one directory$/],
  );
  assertProblems(
    await problems(s.write(`{ "auth": { "http": { "url": "https://user:pw@auth.example.org/",
      "allowed_roots": ["users"], "token_env": "HOOK_TOKEN" } } }`)),
    [
      /^auth\.http\.url: credentials in the URL would show in logs: use token_env or token_file$/,
      /^auth\.http\.token_env: environment variable HOOK_TOKEN is not set$/,
    ],
  );
  assertProblems(
    await problems(s.write(`{ "auth": { "http": { "url": "https://a.example/" } } }`)),
    [
      /^auth\.http\.allowed_roots: /,
    ],
  );
  const insecure = await loadConfigFile(
    s.write(
      `{ "auth": { "http": { "url": "http://10.1.2.3/login", "allowed_roots": ["users"], "insecure": true } } }`,
    ),
    noEnv,
  );
  equal(insecure.authHttp?.url, "http://10.1.2.3/login");
  for (const url of ["http://localhost:1/", "http://127.0.0.9/", "http://[::1]:8/"]) {
    const loopback = await loadConfigFile(
      s.write(`{ "auth": { "http": { "url": "${url}", "allowed_roots": ["${s.dir}/users"] } } }`),
      noEnv,
    );
    deepEqual(loopback.authHttp, { url, allowedRoots: [`${s.dir}/users`] });
  }
});

Deno.test("loadConfigFile() takes S3 credentials only from the environment", async () => {
  using s = scratch();
  assertProblems(
    await problems(
      s.write(`{ "s3": { "access_key_id_env": "K", "endpoint": "http://k:s@127.0.0.1:7480" } }`),
    ),
    [
      /^s3\.access_key_id_env: access_key_id_env and secret_access_key_env go together$/,
      /^s3\.endpoint: credentials in the URL would show in logs: use access_key_id_env$/,
    ],
  );
  assertProblems(
    await problems(
      s.write(
        `{ "s3": { "access_key_id_env": "K", "secret_access_key_env": "S", "session_token_env": "T", "part_size": 1024 } }`,
      ),
    ),
    [/^s3\.part_size: must be at least 5242880$/],
  );
  const env: Record<string, string> = { K: "key id", S: "secret key", T: "token" };
  const config = await loadConfigFile(
    s.write(
      `{ "s3": { "access_key_id_env": "K", "secret_access_key_env": "S", "session_token_env": "T" } }`,
    ),
    (name) => env[name],
  );
  deepEqual(config.s3, {
    credentials: { accessKeyId: "key id", secretAccessKey: "secret key", sessionToken: "token" },
  });
  assertProblems(
    await problems(
      s.write(`{ "s3": { "access_key_id_env": "K", "secret_access_key_env": "S" } }`),
      () => undefined,
    ),
    [
      /^s3\.access_key_id_env: environment variable K is not set$/,
      /^s3\.secret_access_key_env: environment variable S is not set$/,
    ],
  );
});

Deno.test("ConfigError.format() prefixes every line with file and line", async () => {
  using s = scratch();
  const path = s.write(`{\n  "listen": {\n    "port": "21"\n  },\n  "bogus": 1\n}`);
  try {
    await loadConfigFile(path, noEnv);
    fail("expected a ConfigError");
  } catch (error) {
    ok(error instanceof ConfigError);
    equal(error.file, path);
    deepEqual(error.issues.map((issue) => [issue.path, issue.line]), [
      ["listen.port", 3],
      ["bogus", 5],
    ]);
    equal(
      error.format(),
      `${path}:3: listen.port: expected a whole number\n${path}:5: bogus: unknown key`,
    );
  }
});

Deno.test("mergeConfig() applies file < FTPGATE_* environment < flags", async () => {
  using s = scratch(["a"]);
  const file = await loadConfigFile(
    s.write(`{
      "listen": { "host": "0.0.0.0", "port": 2121 },
      "limits": { "max_sessions": 50, "idle_timeout": 60 },
      "users": [{ "name": "a", "password_hash": "${ARGON2}", "root": "a" }],
      "http": { "port": 9100, "token_file": "${s.write("t", "token")}" },
      "logging": { "format": "json", "level": "info" },
      "run": { "exit_when_idle": 300 },
    }`),
    noEnv,
  );
  const merged = mergeConfig(
    file,
    // FTPGATE_PORT=21 FTPGATE_MAX_SESSIONS=20 FTPGATE_LOG_LEVEL=debug FTPGATE_HTTP_PORT=9200
    {
      serve: { port: 21, maxSessions: 20 },
      logging: { level: "debug" },
      ops: { http: { port: 9200 } },
    },
    // --max-sessions 10 --user x:y --idle-timeout (not given: undefined)
    { serve: { maxSessions: 10, users: [{ name: "x", password: "y" }], idleTimeoutMs: undefined } },
  );
  equal(merged.serve.hostname, "0.0.0.0", "file only");
  equal(merged.serve.port, 21, "environment over file");
  equal(merged.serve.maxSessions, 10, "flag over environment over file");
  equal(merged.serve.idleTimeoutMs, 60_000, "an undefined flag does not erase the file's value");
  deepEqual(merged.serve.users, [{ name: "x", password: "y" }], "lists are replaced, not mixed");
  deepEqual(merged.logging, { format: "json", level: "debug" });
  deepEqual(merged.ops.http, { port: 9200, tokenFile: `${s.dir}/token` }, "ops merged by field");
  deepEqual(merged.run, { exitWhenIdleMs: 300_000 });
  equal(merged.file, file.file);
  equal(file.serve.port, 2121, "the layers are not modified");
});

Deno.test("a loaded config serves: users from password_env and a hash, mounts, anonymous", async () => {
  using s = scratch(["alice", "bob", "archive", "pub"]);
  Deno.writeTextFileSync(`${s.dir}/alice/a.txt`, "alice's");
  Deno.writeTextFileSync(`${s.dir}/archive/old.txt`, "archived");
  Deno.writeTextFileSync(`${s.dir}/pub/readme.txt`, "public");
  const hash = await hashPassword("alice pw");
  await closePasswordVerifier();
  const config = await loadConfigFile(
    s.write(`{
      "listen": { "host": "127.0.0.1", "port": 0 },
      "users": [
        { "name": "alice", "password_hash": "${hash}", "root": "alice" },
        { "name": "bob", "password_env": "BOB_PASSWORD",
          "mounts": [{ "path": "/", "root": "bob" }, { "path": "/archive", "root": "archive", "read_only": true }] },
      ],
      "anonymous": { "root": "pub" },
      "limits": { "login_failure_delay": 0 },
    }`),
    (name) => name === "BOB_PASSWORD" ? "bob pw" : undefined,
  );
  const { passiveAddresses: _unused, ...options } = config.serve;
  await using server = serve(options);
  const target = (user: string, password: string) => ({
    host: "127.0.0.1",
    port: server.addr.port,
    user,
    password,
  });
  {
    await using alice = await connectFtp(target("alice", "alice pw"));
    equal(await downloadText(alice, "a.txt"), "alice's");
  }
  {
    await using bob = await connectFtp(target("bob", "bob pw"));
    equal(await downloadText(bob, "archive/old.txt"), "archived");
    let refused = "";
    try {
      await bob.uploadFrom(Readable.from([new TextEncoder().encode("x")]), "archive/new.txt");
    } catch (error) {
      refused = String(error);
    }
    match(refused, /550/);
  }
  {
    await using anonymous = await connectFtp(target("anonymous", "guest@example.org"));
    equal(await downloadText(anonymous, "readme.txt"), "public");
  }
  let wrong = "";
  try {
    await connectFtp(target("bob", "alice pw"));
  } catch (error) {
    wrong = String(error);
  }
  match(wrong, /530/);
  await closePasswordVerifier();
});

Deno.test("loadConfigFile() maps transfers (MODE Z, restart markers, EBCDIC) and keeps s3-* faults for the S3 layer", async () => {
  using s = scratch();
  const loaded = await loadConfigFile(
    s.write(`{
      "transfers": { "mode_z": true, "restart_marker_interval": 65536, "ebcdic_code_page": "1047" },
      "faults": ["delay=5", "s3-slowdown=3/50", "s3-fail-part=2"]
    }`),
    noEnv,
  );
  equal(loaded.serve.modeZ, true);
  equal(loaded.serve.restartMarkerIntervalBytes, 65536);
  equal(loaded.serve.ebcdicCodePage, "1047");
  deepEqual(loaded.serve.faults, { replyDelayMs: 5 });
  deepEqual(loaded.s3Faults, ["s3-slowdown=3/50", "s3-fail-part=2"]);
  assertProblems(
    await problems(
      s.write(`{ "transfers": { "ebcdic_code_page": "500", "restart_marker_interval": -1 } }`),
    ),
    [
      /^transfers\.ebcdic_code_page: expected "037" or "1047"/,
      /^transfers\.restart_marker_interval: /,
    ],
  );
});
