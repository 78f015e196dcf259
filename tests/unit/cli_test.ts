import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { CliError, envName, envNames, helpText, parseCli, VERSION } from "../../src/cli.ts";

/** An env lookup backed by a plain object. */
function envOf(vars: Record<string, string>): (name: string) => string | undefined {
  return (name) => vars[name];
}

function cliError(pattern?: RegExp): (error: unknown) => boolean {
  return (error) => error instanceof CliError && (!pattern || pattern.test(error.message));
}

/** Flags that exist today; more may be added, none may disappear silently. */
const FLAGS = [
  "root",
  "host",
  "port",
  "user",
  "anonymous",
  "anonymous-write",
  "pasv-ports",
  "pasv-address",
  "max-sessions",
  "max-sessions-per-ip",
  "idle-timeout",
  "data-timeout",
  "stall-timeout",
  "max-line-length",
  "max-pipelined",
  "max-login-attempts",
  "login-failure-delay",
  "ban-after",
  "ban-duration",
  "allow-fxp",
  "no-active",
  "atomic-uploads",
  "shutdown-grace",
  "tls-cert",
  "tls-key",
  "tls-self-signed",
  "implicit-tls-port",
  "tls-sniff",
  "require-tls",
  "require-tls-data",
  "require-tls-session-reuse",
  "stdin-lifeline",
  "parent-lifeline",
  "log-format",
  "log-level",
  "help",
  "version",
];

Deno.test("parseCli() returns the defaults for no arguments", () => {
  const config = parseCli([]);
  deepEqual(config.serve, {
    root: ".",
    hostname: "127.0.0.1",
    port: 2121,
    users: [],
    anonymous: "read",
    allowFxp: false,
    allowActive: true,
    listCache: true,
    atomicUploads: false,
  });
  equal(config.workers, undefined, "one isolate unless asked");
  equal(config.logFormat, "text");
  equal(config.logLevel, "info");
  equal(config.help, false);
  equal(config.version, false);
});

Deno.test("parseCli() reads every flag", () => {
  const config = parseCli([
    "--root=/srv/ftp",
    "--host",
    "::",
    "--port",
    "21",
    "--user",
    "alice:pw1",
    "--user=bob:p:w:2",
    "--anonymous",
    "--pasv-ports",
    "50000-50100",
    "--pasv-address",
    "203.0.113.7",
    "--max-sessions",
    "10",
    "--max-sessions-per-ip",
    "2",
    "--idle-timeout",
    "60",
    "--data-timeout",
    "1.5",
    "--stall-timeout",
    "0.25",
    "--max-line-length",
    "512",
    "--max-login-attempts",
    "5",
    "--login-failure-delay",
    "0.25",
    "--ban-after",
    "7",
    "--ban-duration",
    "3600",
    "--allow-fxp",
    "--no-active",
    "--no-list-cache",
    "--atomic-uploads",
    "--shutdown-grace",
    "2",
    "--log-format",
    "json",
    "--log-level",
    "debug",
  ]);
  deepEqual(config.serve, {
    root: "/srv/ftp",
    hostname: "::",
    port: 21,
    users: [{ name: "alice", password: "pw1" }, { name: "bob", password: "p:w:2" }],
    anonymous: "read",
    allowFxp: true,
    allowActive: false,
    listCache: false,
    atomicUploads: true,
    passivePorts: { from: 50000, to: 50100 },
    passiveAddress: "203.0.113.7",
    maxSessions: 10,
    maxSessionsPerIp: 2,
    idleTimeoutMs: 60_000,
    dataTimeoutMs: 1500,
    stallTimeoutMs: 250,
    maxLineLength: 512,
    maxLoginAttempts: 5,
    loginFailureDelayMs: 250,
    banAfterFailures: 7,
    banDurationMs: 3_600_000,
    shutdownGraceMs: 2000,
  });
  equal(config.logFormat, "json");
  equal(config.logLevel, "debug");
});

Deno.test("parseCli() decides anonymous access from --anonymous, --anonymous-write and users", () => {
  const cases: [args: string[], expected: false | "read" | "write"][] = [
    [[], "read"],
    [["--user", "a:b"], false],
    [["--user", "a:b", "--anonymous"], "read"],
    [["--anonymous-write"], "write"],
    [["--user", "a:b", "--anonymous-write"], "write"],
    [["--anonymous", "--anonymous-write"], "write"],
  ];
  for (const [args, expected] of cases) {
    equal(parseCli(args).serve.anonymous, expected, args.join(" "));
  }
});

Deno.test("parseCli() sets --help and --version", () => {
  equal(parseCli(["--help"]).help, true);
  equal(parseCli(["--version"]).version, true);
  equal(parseCli(["--help"]).version, false);
  ok(/^\d+\.\d+\.\d+/.test(VERSION));
});

Deno.test("parseCli() converts seconds to milliseconds", () => {
  const cases: [text: string, ms: number][] = [
    ["0", 0],
    ["1", 1000],
    ["2.5", 2500],
    ["0.001", 1],
    ["0.0004", 0],
    ["300", 300_000],
  ];
  for (const [text, ms] of cases) {
    equal(parseCli(["--idle-timeout", text]).serve.idleTimeoutMs, ms, text);
  }
});

Deno.test("parseCli() throws CliError for unknown flags and stray arguments", () => {
  throws(() => parseCli(["--nope"]), cliError());
  throws(() => parseCli(["-x"]), cliError());
  throws(() => parseCli(["positional"]), cliError());
  throws(() => parseCli(["--root"]), cliError()); // missing value
  throws(() => parseCli(["--anonymous=yes"]), cliError()); // booleans take no value
});

Deno.test("parseCli() throws CliError naming the flag for bad values", () => {
  const cases: [args: string[], pattern: RegExp][] = [
    [["--port", "abc"], /^--port:/],
    [["--port=-1"], /^--port:/],
    [["--port", "21.5"], /^--port:/],
    [["--port", ""], /^--port:/],
    [["--max-sessions", "1e3"], /^--max-sessions:/],
    [["--max-line-length", "0x100"], /^--max-line-length:/],
    [["--idle-timeout", "abc"], /^--idle-timeout:/],
    [["--idle-timeout", "-1"], /./],
    [["--idle-timeout=-1"], /^--idle-timeout:/],
    [["--data-timeout", "1."], /^--data-timeout:/],
    [["--ban-duration", "1h"], /^--ban-duration:/],
    [["--user", "nocolon"], /^--user:/],
    [["--user", ":password"], /^--user:/],
    [["--pasv-ports", "50000"], /^--pasv-ports:/],
    [["--pasv-ports", "2000-1999"], /^--pasv-ports:/],
    [["--pasv-ports", "80-90"], /^--pasv-ports:/],
    [["--pasv-address", "example..com"], /^--pasv-address:/],
    [["--pasv-address", "::1"], /^--pasv-address:/],
    [["--pasv-address", "1.2.3"], /^--pasv-address:/],
    [["--log-format", "xml"], /^--log-format:/],
    [["--log-level", "verbose"], /^--log-level:/],
    [["--log-level", "INFO"], /^--log-level:/],
  ];
  for (const [args, pattern] of cases) {
    throws(() => parseCli(args), cliError(pattern), args.join(" "));
  }
});

Deno.test({
  name: "parseCli() rejects a --pasv-address that is not an IPv4 address",
  fn: () => {
    for (const address of ["999.1.1.1", "256.0.0.1", "1.2.3.300"]) {
      throws(() => parseCli(["--pasv-address", address]), cliError(/^--pasv-address:/), address);
    }
  },
});

Deno.test("parseCli() reads FTPGATE_* environment variables", () => {
  const config = parseCli(
    [],
    envOf({
      FTPGATE_ROOT: "/data",
      FTPGATE_HOST: "0.0.0.0",
      FTPGATE_PORT: "2100",
      FTPGATE_PASV_PORTS: "6000-6010",
      FTPGATE_PASV_ADDRESS: "198.51.100.1",
      FTPGATE_IDLE_TIMEOUT: "10",
      FTPGATE_MAX_SESSIONS: "3",
      FTPGATE_ALLOW_FXP: "true",
      FTPGATE_NO_ACTIVE: "1",
      FTPGATE_ATOMIC_UPLOADS: "yes",
      FTPGATE_LOG_FORMAT: "json",
      FTPGATE_LOG_LEVEL: "warning",
    }),
  );
  equal(config.serve.root, "/data");
  equal(config.serve.hostname, "0.0.0.0");
  equal(config.serve.port, 2100);
  deepEqual(config.serve.passivePorts, { from: 6000, to: 6010 });
  equal(config.serve.passiveAddress, "198.51.100.1");
  equal(config.serve.idleTimeoutMs, 10_000);
  equal(config.serve.maxSessions, 3);
  equal(config.serve.allowFxp, true);
  equal(config.serve.allowActive, false);
  equal(config.serve.atomicUploads, true);
  equal(config.logFormat, "json");
  equal(config.logLevel, "warning");
});

Deno.test("parseCli() reads users from FTPGATE_USERS or FTPGATE_USER as a comma list", () => {
  const expected = [{ name: "alice", password: "one" }, { name: "bob", password: "t:wo" }];
  deepEqual(parseCli([], envOf({ FTPGATE_USERS: "alice:one,bob:t:wo" })).serve.users, expected);
  deepEqual(
    parseCli([], envOf({ FTPGATE_USERS: " alice:one , bob:t:wo ," })).serve.users,
    expected,
  );
  deepEqual(parseCli([], envOf({ FTPGATE_USER: "alice:one,bob:t:wo" })).serve.users, expected);
  // --user wins over the variables.
  deepEqual(
    parseCli(["--user", "c:3"], envOf({ FTPGATE_USERS: "b:2" })).serve.users,
    [{ name: "c", password: "3" }],
  );
  equal(parseCli([], envOf({ FTPGATE_USERS: "alice:one" })).serve.anonymous, false);
  throws(
    () => parseCli([], envOf({ FTPGATE_USERS: "alice" })),
    cliError(/^--user \(from FTPGATE_USERS\): expected NAME:PASSWORD/),
  );
});

Deno.test("parseCli() refuses FTPGATE_USER and FTPGATE_USERS together", () => {
  throws(
    () => parseCli([], envOf({ FTPGATE_USER: "a:1", FTPGATE_USERS: "b:2" })),
    cliError(/^FTPGATE_USER and FTPGATE_USERS are both set/),
  );
  // A flag makes both irrelevant; an empty variable counts as unset.
  deepEqual(
    parseCli(["--user", "c:3"], envOf({ FTPGATE_USER: "a:1", FTPGATE_USERS: "b:2" })).serve.users,
    [{ name: "c", password: "3" }],
  );
  deepEqual(
    parseCli([], envOf({ FTPGATE_USER: "", FTPGATE_USERS: "b:2" })).serve.users,
    [{ name: "b", password: "2" }],
  );
});

Deno.test("parseCli() refuses duplicate user names, empty passwords and two random users", () => {
  const cases: [args: string[], env: Record<string, string>, pattern: RegExp][] = [
    [["--user", "a:1", "--user", "a:2"], {}, /^--user: user "a" is given twice$/],
    [[], { FTPGATE_USERS: "a:1,b:2,a:3" }, /^--user \(from FTPGATE_USERS\): user "a" is given/],
    [["--user", "alice:"], {}, /^--user: user "alice" has an empty password$/],
    [[], { FTPGATE_USER: "alice:" }, /^--user \(from FTPGATE_USER\): user "alice" has an empty/],
    [["--user", "random", "--user", "random"], {}, /^--user: random can be given only once$/],
  ];
  for (const [args, env, pattern] of cases) {
    throws(() => parseCli(args, envOf(env)), cliError(pattern), args.join(" ") || String(env));
  }
  // Different names with the same password are fine.
  equal(parseCli(["--user", "a:1", "--user", "b:1"]).serve.users?.length, 2);
});

Deno.test("parseCli() never echoes a password in a --user or FTPGATE_USERS error", () => {
  const secrets = ["s3cr3t-tail", "hunter2"];
  const attempts: [string[], Record<string, string>][] = [
    [[], { FTPGATE_USERS: "alice:pa,s3cr3t-tail" }],
    [[], { FTPGATE_USER: "s3cr3t-tail" }],
    [["--user", "hunter2"], {}],
    [["--user", "alice:ok", "--user", "hunter2"], {}],
  ];
  for (const [args, env] of attempts) {
    try {
      parseCli(args, envOf(env));
      ok(false, "should throw");
    } catch (error) {
      ok(error instanceof CliError, String(error));
      for (const secret of secrets) ok(!error.message.includes(secret), error.message);
    }
  }
  throws(
    () => parseCli([], envOf({ FTPGATE_USERS: "alice:pa,s3cr3t-tail" })),
    cliError(/\(item 2\): expected NAME:PASSWORD or random; items are separated by commas/),
  );
});

Deno.test("parseCli() marks the user made up by --user random", () => {
  const config = parseCli(["--user", "alice:pw", "--user", "random"]);
  const random = config.randomUser!;
  deepEqual(config.serve.users?.[1], random);
  match(random.name, /^u[0-9a-f]{8}$/);
  match(random.password, /^[A-Za-z0-9]{16}$/);
  equal(parseCli(["--user", "alice:pw"]).randomUser, undefined);
});

Deno.test("parseCli() names the flag, not the library's option, in range errors", () => {
  const cases: [args: string[], env: Record<string, string>, message: string][] = [
    [
      ["--max-line-length", "10"],
      {},
      "--max-line-length: expected an integer from 64 to 1048576, got 10",
    ],
    [
      [],
      { FTPGATE_MAX_LINE_LENGTH: "10" },
      "--max-line-length (from FTPGATE_MAX_LINE_LENGTH): expected an integer from 64 to 1048576, got 10",
    ],
    [["--port", "70000"], {}, "--port: expected an integer from 0 to 65535, got 70000"],
    [
      ["--idle-timeout", "99999999"],
      {},
      "--idle-timeout: expected seconds from 0 to 2147483.647, got 99999999",
    ],
    [
      ["--tls-self-signed", "--tls-sniff", "20"],
      {},
      "--tls-sniff: expected seconds from 0 to 10, got 20",
    ],
    [
      ["--max-sessions", "0"],
      {},
      "--max-sessions: expected an integer from 1 to 9007199254740991, got 0",
    ],
    [["--pasv-ports", "1-2"], {}, "--pasv-ports: expected an integer from 1024 to 65535, got 1"],
    [
      ["--tls-self-signed", "--implicit-tls-port", "70000"],
      {},
      "--implicit-tls-port: expected an integer from 0 to 65535, got 70000",
    ],
    [["--user", "a b:c"], {}, '--user: invalid user name "a b"'],
    [
      ["--tls-self-signed", "--port", "2121", "--implicit-tls-port", "2121"],
      {},
      "--implicit-tls-port: 2121 is already --port",
    ],
  ];
  for (const [args, env, message] of cases) {
    throws(() => parseCli(args, envOf(env)), (error: unknown) => {
      ok(error instanceof CliError, String(error));
      equal(error.message, message);
      return true;
    });
  }
});

Deno.test("parseCli() lets a command-line flag win over its environment variable", () => {
  const env = envOf({ FTPGATE_PORT: "2100", FTPGATE_ROOT: "/env", FTPGATE_LOG_LEVEL: "error" });
  const config = parseCli(["--port", "21", "--root", "/flag", "--log-level", "debug"], env);
  equal(config.serve.port, 21);
  equal(config.serve.root, "/flag");
  equal(config.logLevel, "debug");
});

Deno.test("parseCli() reads boolean variables as 1/true/yes/on or 0/false/no/off only", () => {
  const cases: [value: string, expected: boolean][] = [
    ["1", true],
    ["true", true],
    ["TRUE", true],
    ["yes", true],
    ["On", true],
    ["0", false],
    ["false", false],
    ["no", false],
    ["off", false],
    ["", false],
  ];
  for (const [value, expected] of cases) {
    equal(parseCli([], envOf({ FTPGATE_ALLOW_FXP: value })).serve.allowFxp, expected, value);
  }
  for (const value of ["2", "maybe", "y", "enabled"]) {
    throws(
      () => parseCli([], envOf({ FTPGATE_ANONYMOUS: value })),
      cliError(/^FTPGATE_ANONYMOUS: expected 1, true, yes, on or 0, false, no, off, got "/),
      value,
    );
  }
});

Deno.test("parseCli() ignores empty variables and validates the others like flags", () => {
  equal(parseCli([], envOf({ FTPGATE_PORT: "", FTPGATE_ROOT: "" })).serve.port, 2121);
  equal(parseCli([], envOf({ FTPGATE_ROOT: "" })).serve.root, ".");
  const cases: [Record<string, string>, RegExp][] = [
    [{ FTPGATE_PORT: "abc" }, /^--port \(from FTPGATE_PORT\): expected a whole number/],
    [{ FTPGATE_IDLE_TIMEOUT: "5m" }, /^--idle-timeout \(from FTPGATE_IDLE_TIMEOUT\):/],
    [{ FTPGATE_PASV_PORTS: "x" }, /^--pasv-ports \(from FTPGATE_PASV_PORTS\): expected a port/],
    [{ FTPGATE_LOG_FORMAT: "xml" }, /^--log-format \(from FTPGATE_LOG_FORMAT\):/],
  ];
  for (const [env, pattern] of cases) throws(() => parseCli([], envOf(env)), cliError(pattern));
});

Deno.test("envName() maps a flag to its variable", () => {
  equal(envName("pasv-ports"), "FTPGATE_PASV_PORTS");
  equal(envName("root"), "FTPGATE_ROOT");
  equal(envName("max-sessions-per-ip"), "FTPGATE_MAX_SESSIONS_PER_IP");
});

Deno.test("envNames() lists the variable of every flag, and FTPGATE_USERS", () => {
  const names = envNames();
  for (const flag of FLAGS) ok(names.includes(envName(flag)), flag);
  ok(names.includes("FTPGATE_USERS"));
  equal(new Set(names).size, names.length);
  ok(names.every((name) => /^FTPGATE_[A-Z0-9_]+$/.test(name)), names.join(" "));
});

Deno.test("helpText() mentions every flag", () => {
  const text = helpText();
  const flags = envNames()
    .filter((name) => name !== "FTPGATE_USERS")
    .map((name) => "--" + name.slice("FTPGATE_".length).toLowerCase().replaceAll("_", "-"));
  ok(flags.length >= FLAGS.length);
  for (const flag of [...flags, ...FLAGS.map((name) => `--${name}`)]) {
    ok(new RegExp(`^  ${flag}\\b(?!-)`, "m").test(text), flag);
  }
  // Every flag the help mentions is accepted.
  for (const [, flag] of text.matchAll(/^ {2}--([a-z0-9-]+)/gm)) {
    ok(flags.includes(`--${flag}`), flag);
  }
});

Deno.test("helpText() shows the version, defaults and the environment rule", () => {
  const text = helpText();
  ok(text.includes(VERSION));
  ok(/--port N\s.*\[2121\]/.test(text));
  ok(/--idle-timeout S\s.*\[300\]/.test(text));
  ok(/--max-line-length BYTES\s.*\[4096\]/.test(text));
  ok(/--host ADDR\s.*\[127\.0\.0\.1\]/.test(text));
  ok(text.includes("FTPGATE_"));
});

Deno.test("parseCli() reads the TLS flags", () => {
  const files = parseCli([
    "--tls-cert",
    "/etc/tls/cert.pem",
    "--tls-key",
    "/etc/tls/key.pem",
    "--implicit-tls-port",
    "990",
    "--tls-sniff",
    "0.1",
    "--require-tls",
    "--require-tls-data",
    "--require-tls-session-reuse",
  ]).serve;
  deepEqual(files.tls, { certFile: "/etc/tls/cert.pem", keyFile: "/etc/tls/key.pem" });
  equal(files.implicitTlsPort, 990);
  equal(files.tlsSniffMs, 100);
  equal(files.requireTls, true);
  equal(files.requireTlsData, true);
  equal(files.requireTlsSessionReuse, true);
  deepEqual(parseCli(["--tls-self-signed"]).serve.tls, { selfSigned: true });
  const plain = parseCli([]).serve;
  equal(plain.tls, undefined);
  equal(plain.requireTls, undefined);
  equal(plain.implicitTlsPort, undefined);
});

Deno.test("parseCli() reads the TLS flags from the environment", () => {
  const serve = parseCli(
    [],
    envOf({
      FTPGATE_TLS_CERT: "/c.pem",
      FTPGATE_TLS_KEY: "/k.pem",
      FTPGATE_REQUIRE_TLS: "on",
      FTPGATE_IMPLICIT_TLS_PORT: "990",
    }),
  ).serve;
  deepEqual(serve.tls, { certFile: "/c.pem", keyFile: "/k.pem" });
  equal(serve.requireTls, true);
  equal(serve.implicitTlsPort, 990);
});

Deno.test("parseCli() throws CliError for inconsistent TLS flags", () => {
  const cases: string[][] = [
    ["--tls-cert", "/c.pem"],
    ["--tls-key", "/k.pem"],
    ["--tls-cert", "/c.pem", "--tls-key", "/k.pem", "--tls-self-signed"],
    ["--require-tls"],
    ["--require-tls-data"],
    ["--implicit-tls-port", "990"],
    ["--tls-self-signed", "--implicit-tls-port", "x"],
    ["--tls-self-signed", "--tls-sniff", "fast"],
  ];
  for (const args of cases) throws(() => parseCli(args), cliError(), args.join(" "));
});

Deno.test({
  name: "parseCli() refuses --require-tls-session-reuse without a certificate",
  fn: () => {
    throws(() => parseCli(["--require-tls-session-reuse"]), cliError());
  },
});

Deno.test("parseCli() reads the S3, operations, representation and process flags", () => {
  const config = parseCli([
    "--root",
    "s3://bucket/prefix",
    "--s3-endpoint",
    "http://127.0.0.1:7480",
    "--s3-region",
    "eu-west-3",
    "--s3-path-style",
    "--s3-part-size",
    "16",
    "--s3-max-rename-keys",
    "500",
    "--http-port",
    "9100",
    "--http-host",
    "0.0.0.0",
    "--http-token-file",
    "/etc/ftpgate/token",
    "--http-insecure",
    "--transfer-log",
    "/var/log/ftpgate/xferlog",
    "--transfer-log-format",
    "json",
    "--on-upload",
    "/usr/local/bin/scan --fast",
    "--on-upload-timeout",
    "2.5",
    "--on-upload-concurrency",
    "2",
    "--webhook",
    "https://hooks.example.org/ftp",
    "--webhook-secret-file",
    "/etc/ftpgate/hook.key",
    "--webhook-events",
    "upload.completed, login.failed",
    "--webhook-queue",
    "50",
    "--mode-z",
    "--restart-marker-interval",
    "4096",
    "--ebcdic-code-page",
    "1047",
    "--exit-when-idle",
    "30",
    "--fault",
    "s3-slowdown=2/10",
    "--fault",
    "delay=5",
  ]);
  equal(config.serve.root, "s3://bucket/prefix");
  deepEqual(config.s3, {
    endpoint: "http://127.0.0.1:7480",
    region: "eu-west-3",
    pathStyle: true,
    partSize: 16 * 1024 * 1024,
    maxRenameKeys: 500,
  });
  deepEqual(config.ops, {
    http: { port: 9100, hostname: "0.0.0.0", tokenFile: "/etc/ftpgate/token", insecure: true },
    transferLog: { path: "/var/log/ftpgate/xferlog", format: "json" },
    onUpload: { command: "/usr/local/bin/scan --fast", timeoutMs: 2500, concurrency: 2 },
    webhook: {
      url: "https://hooks.example.org/ftp",
      secretFile: "/etc/ftpgate/hook.key",
      types: ["upload.completed", "login.failed"],
      maxQueue: 50,
    },
  });
  equal(config.serve.modeZ, true);
  equal(config.serve.restartMarkerIntervalBytes, 4096);
  equal(config.serve.ebcdicCodePage, "1047");
  equal(config.exitWhenIdleMs, 30_000);
  deepEqual(config.serve.faults, { replyDelayMs: 5 }, "the core's faults");
  deepEqual(config.s3Faults, ["s3-slowdown=2/10"], "the S3 layer's, parsed when S3 opens");
  // None of it is set unless given.
  const plain = parseCli([]);
  equal(plain.ops, undefined);
  equal(plain.s3, undefined);
  equal(plain.exitWhenIdleMs, undefined);
  equal(plain.given, undefined, "the layers are built only over a config file");
});

Deno.test("parseCli() reads the new flags from FTPGATE_* variables", () => {
  const config = parseCli(
    [],
    envOf({
      FTPGATE_HTTP_PORT: "0",
      FTPGATE_MODE_Z: "yes",
      FTPGATE_S3_PATH_STYLE: "false",
      FTPGATE_TRANSFER_LOG: "/tmp/x.log",
      FTPGATE_EXIT_WHEN_IDLE: "0.5",
    }),
  );
  deepEqual(config.ops, { http: { port: 0 }, transferLog: { path: "/tmp/x.log" } });
  equal(config.serve.modeZ, true);
  deepEqual(config.s3, { pathStyle: false });
  equal(config.exitWhenIdleMs, 500);
});

Deno.test("parseCli() accepts a host name for --pasv-address, resolved at start", () => {
  for (const name of ["ftp.example.org", "localhost", "nat-gw"]) {
    equal(parseCli(["--pasv-address", name]).serve.passiveAddress, name);
  }
  for (const bad of ["1.2.3", "999.1.1.1", "-host", "a..b", "::1"]) {
    throws(() => parseCli(["--pasv-address", bad]), cliError(/^--pasv-address: expected an IPv4/));
  }
});

Deno.test("parseCli() refuses bad values of the new flags, naming the flag", () => {
  const cases: [args: string[], env: Record<string, string>, message: string][] = [
    [["--s3-part-size", "4"], {}, "--s3-part-size: expected MiB from 5 to 5120, got 4"],
    [["--s3-endpoint", "ftp://x"], {}, "--s3-endpoint: expected an http:// or https:// URL"],
    [
      ["--webhook", "https://user:pw@hooks.example.org/"],
      {},
      "--webhook: credentials in the URL would show in ps and logs",
    ],
    [["--http-port", "70000"], {}, "--http-port: expected an integer from 0 to 65535"],
    [["--http-token-file", "/t"], {}, "--http-token-file needs --http-port"],
    [
      [],
      { FTPGATE_HTTP_INSECURE: "1" },
      "--http-insecure (from FTPGATE_HTTP_INSECURE) needs --http-port",
    ],
    [["--transfer-log-format", "json"], {}, "--transfer-log-format needs --transfer-log"],
    [
      ["--transfer-log", "/x", "--transfer-log-format", "csv"],
      {},
      '--transfer-log-format: expected xferlog or json, got "csv"',
    ],
    [["--on-upload-timeout", "5"], {}, "--on-upload-timeout needs --on-upload"],
    [["--webhook-events", "login"], {}, "--webhook-events needs --webhook"],
    [["--ebcdic-code-page", "500"], {}, '--ebcdic-code-page: expected 037 or 1047, got "500"'],
    [
      ["--restart-marker-interval", "x"],
      {},
      '--restart-marker-interval: expected a whole number, got "x"',
    ],
    [["--exit-when-idle", "soon"], {}, '--exit-when-idle: expected seconds, got "soon"'],
    [["--fault", "nope=1"], {}, '--fault: unknown --fault "nope"'],
  ];
  for (const [args, env, message] of cases) {
    throws(() => parseCli(args, envOf(env)), (error: unknown) => {
      ok(error instanceof CliError, String(error));
      equal(error.message, message, args.join(" "));
      return true;
    });
  }
  // A boolean given false is no mistake.
  equal(parseCli([], envOf({ FTPGATE_HTTP_INSECURE: "0" })).ops, undefined);
});

Deno.test("parseCli() with --config keeps apart what the environment and the flags set", () => {
  const config = parseCli(
    ["--config", "/etc/ftpgate.jsonc", "--port", "21", "--http-port", "9200", "--no-active"],
    envOf({
      FTPGATE_PORT: "2100",
      FTPGATE_MAX_SESSIONS: "9",
      FTPGATE_ALLOW_FXP: "false",
      FTPGATE_HTTP_TOKEN_FILE: "/t",
    }),
  );
  equal(config.configFile, "/etc/ftpgate.jsonc");
  deepEqual(config.given?.flags, {
    serve: { port: 21, allowActive: false },
    ops: { http: { port: 9200 } },
  });
  deepEqual(config.given?.env, {
    serve: { maxSessions: 9, allowFxp: false },
    ops: { http: { tokenFile: "/t" } },
  });
  // With a config file the certificate may be the file's: checked after merging.
  equal(parseCli(["--config", "/c.jsonc", "--require-tls"]).serve.requireTls, true);
  throws(() => parseCli(["--require-tls"]), cliError(/TLS options need/));
});

Deno.test("parseCli() reads --workers as a count from 1 to 64 or auto", () => {
  equal(parseCli(["--workers", "2"]).workers, 2);
  equal(parseCli(["--workers=auto"]).workers, "auto");
  equal(parseCli([], (name) => name === "FTPGATE_WORKERS" ? "4" : undefined).workers, 4);
  for (const bad of ["0", "65", "two", "-1", "1.5"]) {
    throws(() => parseCli(["--workers", bad]), CliError, "expected 1 to 64 or auto");
  }
});
