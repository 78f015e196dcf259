import { deepEqual, equal, throws } from "node:assert/strict";
import { DEFAULTS, parsePortRange, resolveOptions, type ServeOptions } from "../../src/options.ts";

Deno.test("resolveOptions() fills in every default", () => {
  const resolved = resolveOptions({});
  const expected: Record<string, unknown> = {
    root: ".",
    hostname: "127.0.0.1",
    port: 0,
    users: [],
    anonymous: "read",
    identity: undefined,
    passivePorts: undefined,
    passiveAddress: undefined,
    passiveAddresses: [],
    banner: "ftpgate ready.",
    maxSessions: 1000,
    maxSessionsPerIp: 100,
    idleTimeoutMs: 300_000,
    dataTimeoutMs: 30_000,
    stallTimeoutMs: 120_000,
    maxLineLength: 4096,
    maxPipelinedBytes: 512,
    maxLoginAttempts: 3,
    loginFailureDelayMs: 1000,
    banAfterFailures: 10,
    banDurationMs: 600_000,
    allowFxp: false,
    allowActive: true,
    atomicUploads: false,
    listCache: true,
    shutdownGraceMs: 10_000,
    tls: undefined,
    implicitTlsPort: undefined,
    tlsSniffMs: 0,
    requireTls: false,
    requireTlsData: false,
    requireTlsSessionReuse: false,
    tlsAllowTruncatedUploads: false,
    restartMarkerIntervalBytes: 1 << 20,
    modeZ: false,
    ebcdicCodePage: "037",
    faults: undefined,
    transcript: false,
  };
  for (const [key, value] of Object.entries(expected)) {
    deepEqual((resolved as unknown as Record<string, unknown>)[key], value, key);
  }
  // Every resolved field has a default checked above.
  deepEqual(Object.keys(resolved).sort(), Object.keys(expected).sort());
  equal(DEFAULTS.maxLineLength, 4096);
});

Deno.test("resolveOptions() sniffs for implicit TLS only when TLS is configured", () => {
  const tls = { cert: "CERT", key: "KEY" };
  equal(resolveOptions({ tls }).tlsSniffMs, 50);
  equal(resolveOptions({ tls, tlsSniffMs: 0 }).tlsSniffMs, 0);
  equal(resolveOptions({ tls, tlsSniffMs: 10_000 }).tlsSniffMs, 10_000);
  equal(resolveOptions({ tlsSniffMs: 200 }).tlsSniffMs, 0);
  deepEqual(resolveOptions({ tls }).tls, tls);
  equal(resolveOptions({ tls, implicitTlsPort: 990 }).implicitTlsPort, 990);
});

Deno.test("resolveOptions() refuses TLS requirements without a certificate", () => {
  const cases: ServeOptions[] = [
    { implicitTlsPort: 990 },
    { requireTls: true },
    { requireTlsData: true },
    { requireTlsSessionReuse: true },
  ];
  for (const options of cases) {
    throws(
      () => resolveOptions(options),
      (error) => error instanceof TypeError && /tls/i.test(error.message),
      JSON.stringify(options),
    );
    resolveOptions({ ...options, tls: { selfSigned: true } });
  }
});

Deno.test("resolveOptions() keeps the values it is given", () => {
  const users = [{ name: "alice", password: "pw", write: false }];
  const resolved = resolveOptions({
    root: "/srv/ftp",
    hostname: "::",
    port: 2121,
    users,
    anonymous: "write",
    passivePorts: [50000, 50100],
    passiveAddress: "203.0.113.7",
    banner: "hello",
    maxSessions: 5,
    maxSessionsPerIp: 2,
    idleTimeoutMs: 0,
    dataTimeoutMs: 1,
    stallTimeoutMs: 2,
    maxLineLength: 64,
    maxLoginAttempts: 1,
    loginFailureDelayMs: 0,
    banAfterFailures: 1,
    banDurationMs: 2 ** 31 - 1,
    allowFxp: true,
    allowActive: false,
    atomicUploads: true,
    shutdownGraceMs: 0,
  });
  equal(resolved.root, "/srv/ftp");
  equal(resolved.hostname, "::");
  equal(resolved.port, 2121);
  deepEqual(resolved.users, users);
  equal(resolved.anonymous, "write");
  deepEqual(resolved.passivePorts, { from: 50000, to: 50100 });
  equal(resolved.passiveAddress, "203.0.113.7");
  equal(resolved.banner, "hello");
  equal(resolved.maxSessions, 5);
  equal(resolved.maxSessionsPerIp, 2);
  equal(resolved.idleTimeoutMs, 0);
  equal(resolved.dataTimeoutMs, 1);
  equal(resolved.stallTimeoutMs, 2);
  equal(resolved.maxLineLength, 64);
  equal(resolved.maxLoginAttempts, 1);
  equal(resolved.loginFailureDelayMs, 0);
  equal(resolved.banAfterFailures, 1);
  equal(resolved.banDurationMs, 2 ** 31 - 1);
  equal(resolved.allowFxp, true);
  equal(resolved.allowActive, false);
  equal(resolved.atomicUploads, true);
  equal(resolved.shutdownGraceMs, 0);
});

Deno.test("resolveOptions() resolves anonymous access from the option and the user list", () => {
  const alice = [{ name: "alice", password: "pw" }];
  const cases: [options: ServeOptions, expected: false | "read" | "write"][] = [
    [{}, "read"],
    [{ users: alice }, false],
    [{ anonymous: true }, "read"],
    [{ anonymous: true, users: alice }, "read"],
    [{ anonymous: false }, false],
    [{ anonymous: "read", users: alice }, "read"],
    [{ anonymous: "write" }, "write"],
  ];
  for (const [options, expected] of cases) {
    equal(resolveOptions(options).anonymous, expected, JSON.stringify(options));
  }
  throws(
    () => resolveOptions({ anonymous: "yes" as unknown as boolean }),
    (error) => error instanceof TypeError && /anonymous/.test(error.message),
  );
});

Deno.test("resolveOptions() accepts passive ports as a tuple or an object", () => {
  deepEqual(resolveOptions({ passivePorts: [1024, 65535] }).passivePorts, {
    from: 1024,
    to: 65535,
  });
  deepEqual(resolveOptions({ passivePorts: { from: 6000, to: 6000 } }).passivePorts, {
    from: 6000,
    to: 6000,
  });
});

Deno.test("resolveOptions() rejects out-of-range numbers with a RangeError naming the option", () => {
  const cases: [options: ServeOptions, name: string][] = [
    [{ port: -1 }, "port"],
    [{ port: 65536 }, "port"],
    [{ port: 21.5 }, "port"],
    [{ port: NaN }, "port"],
    [{ maxSessions: 0 }, "maxSessions"],
    [{ maxSessions: Infinity }, "maxSessions"],
    [{ maxSessionsPerIp: 0 }, "maxSessionsPerIp"],
    [{ maxLoginAttempts: 0 }, "maxLoginAttempts"],
    [{ banAfterFailures: -3 }, "banAfterFailures"],
    [{ idleTimeoutMs: -1 }, "idleTimeoutMs"],
    [{ idleTimeoutMs: 2 ** 31 }, "idleTimeoutMs"],
    [{ dataTimeoutMs: 0.5 }, "dataTimeoutMs"],
    [{ stallTimeoutMs: -1 }, "stallTimeoutMs"],
    // Only the idle timeout can be off (0): a data connection or a transfer must not wait for ever.
    [{ dataTimeoutMs: 0 }, "dataTimeoutMs"],
    [{ stallTimeoutMs: 0 }, "stallTimeoutMs"],
    [{ loginFailureDelayMs: 2 ** 31 }, "loginFailureDelayMs"],
    [{ banDurationMs: -1 }, "banDurationMs"],
    [{ shutdownGraceMs: NaN }, "shutdownGraceMs"],
    [{ maxLineLength: 63 }, "maxLineLength"],
    [{ maxLineLength: (1 << 20) + 1 }, "maxLineLength"],
    [{ passivePorts: [1023, 2000] }, "passivePorts"],
    [{ passivePorts: [2000, 65536] }, "passivePorts"],
    [{ passivePorts: [2001, 2000] }, "passivePorts"],
    [{ passivePorts: { from: 5000.5, to: 6000 } }, "passivePorts"],
    [{ tls: { selfSigned: true }, implicitTlsPort: 65536 }, "implicitTlsPort"],
    [{ tls: { selfSigned: true }, implicitTlsPort: -1 }, "implicitTlsPort"],
    [{ tls: { selfSigned: true }, tlsSniffMs: 10_001 }, "tlsSniffMs"],
    [{ tls: { selfSigned: true }, tlsSniffMs: -1 }, "tlsSniffMs"],
  ];
  for (const [options, name] of cases) {
    throws(
      () => resolveOptions(options),
      (error) => error instanceof RangeError && error.message.startsWith(`${name}:`),
      JSON.stringify(options),
    );
  }
});

Deno.test("resolveOptions() accepts the limits at their bounds", () => {
  equal(resolveOptions({ port: 65535 }).port, 65535);
  equal(resolveOptions({ maxLineLength: 64 }).maxLineLength, 64);
  equal(resolveOptions({ maxLineLength: 1 << 20 }).maxLineLength, 1 << 20);
  equal(resolveOptions({ idleTimeoutMs: 2 ** 31 - 1 }).idleTimeoutMs, 2 ** 31 - 1);
  equal(resolveOptions({ maxSessions: Number.MAX_SAFE_INTEGER }).maxSessions, 2 ** 53 - 1);
});

Deno.test("resolveOptions() rejects bad users and a multi-line banner with a TypeError", () => {
  const cases: [options: ServeOptions, pattern: RegExp][] = [
    [{ users: [{ name: "", password: "x" }] }, /^users: invalid user name ""/],
    [{ users: [{ name: "a b", password: "x" }] }, /^users: invalid user name "a b"/],
    [{ users: [{ name: "a:b", password: "x" }] }, /^users: invalid user name/],
    [{ users: [{ name: "tab\t", password: "x" }] }, /^users: invalid user name/],
    [{ users: [{ name: "nl\n", password: "x" }] }, /^users: invalid user name/],
    [
      { users: [{ name: "bob", password: 123 as unknown as string }] },
      /^users: password of bob must be a string/,
    ],
    [{ banner: "two\nlines" }, /^banner:/],
    [{ banner: "cr\r" }, /^banner:/],
  ];
  for (const [options, pattern] of cases) {
    throws(
      () => resolveOptions(options),
      (error) => error instanceof TypeError && pattern.test(error.message),
      JSON.stringify(options),
    );
  }
});

Deno.test("parsePortRange() parses LO-HI", () => {
  deepEqual(parsePortRange("50000-50100"), { from: 50000, to: 50100 });
  deepEqual(parsePortRange(" 1024-1024 "), { from: 1024, to: 1024 });
  deepEqual(parsePortRange("1024-65535"), { from: 1024, to: 65535 });
});

Deno.test("parsePortRange() throws a RangeError for malformed or out-of-range text", () => {
  const cases = [
    "",
    "50000",
    "50000-",
    "-50100",
    "50000:50100",
    "50000 - 50100",
    "a-b",
    "50000-50100-50200",
    "123456-123457",
    "1000-2000", // below 1024
    "60000-70000", // above 65535
    "50100-50000", // reversed
    "+50000-50100",
  ];
  for (const text of cases) {
    throws(() => parsePortRange(text), RangeError, JSON.stringify(text));
  }
});
