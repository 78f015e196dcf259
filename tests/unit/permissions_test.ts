import { deepEqual, equal, ok, throws } from "node:assert/strict";
import type { CliConfig } from "../../src/cli.ts";
import { LIBC_PATHS } from "../../src/storage/libc.ts";
import {
  type ExtraPaths,
  needsSource,
  permissionFlags as flagsFor,
  type PermissionInput,
} from "../../src/permissions.ts";
import { addressesOf } from "../../src/app/plan.ts";

/** The flags for a non-Linux target unless the test says otherwise: exact lists stay short. */
function permissionFlags(
  config: CliConfig | PermissionInput,
  env: readonly string[],
  extra: ExtraPaths = {},
): string[] {
  return flagsFor(config, env, { linux: false, ...extra });
}

function config(serve: Partial<CliConfig["serve"]> = {}): CliConfig {
  return {
    serve: { root: "/srv/ftp", hostname: "127.0.0.1", port: 2121, allowActive: true, ...serve },
    logFormat: "text",
    logLevel: "info",
    help: false,
    version: false,
    readyFile: undefined,
    exitAfterMs: undefined,
    stdinLifeline: false,
  };
}

const ENV = ["FTPGATE_ROOT", "FTPGATE_PORT"];

Deno.test("permissionFlags() grants the root, all of the net for active mode, and the env names", () => {
  deepEqual(permissionFlags(config(), ENV), [
    "--allow-net",
    "--allow-read=/srv/ftp",
    "--allow-write=/srv/ftp",
    "--allow-env=FTPGATE_ROOT,FTPGATE_PORT",
  ]);
});

Deno.test("permissionFlags() limits the net to the listen address without active mode", () => {
  const cases: [hostname: string, net: string][] = [
    ["127.0.0.1", "--allow-net=127.0.0.1"],
    ["192.0.2.10", "--allow-net=192.0.2.10"],
    ["::1", "--allow-net=[::1]"],
    ["fe80::1", "--allow-net=[fe80::1]"],
    ["localhost", "--allow-net=localhost"],
    // Wildcards: passive listeners bind wherever the client connected.
    ["0.0.0.0", "--allow-net"],
    ["::", "--allow-net"],
    ["", "--allow-net"],
  ];
  for (const [hostname, net] of cases) {
    deepEqual(permissionFlags(config({ hostname, allowActive: false }), [])[0], net, hostname);
  }
});

Deno.test("permissionFlags() treats an unset allowActive as active mode on", () => {
  deepEqual(permissionFlags(config({ allowActive: undefined }), [])[0], "--allow-net");
});

Deno.test("permissionFlags() grants no file access for an in-memory root", () => {
  deepEqual(permissionFlags(config({ root: "memory:" }), []), ["--allow-net"]);
  deepEqual(permissionFlags(config({ root: "memory:demo", allowActive: false }), ENV), [
    "--allow-net=127.0.0.1",
    "--allow-env=FTPGATE_ROOT,FTPGATE_PORT",
  ]);
});

Deno.test("permissionFlags() adds the extra paths after the root", () => {
  deepEqual(
    permissionFlags(config(), [], {
      read: ["/etc/ftpgate/cert.pem", "/etc/ftpgate/key.pem"],
      write: ["/run/ftpgate.ready"],
    }),
    [
      "--allow-net",
      "--allow-read=/srv/ftp,/etc/ftpgate/cert.pem,/etc/ftpgate/key.pem",
      "--allow-write=/srv/ftp,/run/ftpgate.ready",
    ],
  );
  deepEqual(permissionFlags(config({ root: "memory:" }), [], { read: ["/etc/cert.pem"] }), [
    "--allow-net",
    "--allow-read=/etc/cert.pem",
  ]);
});

Deno.test("permissionFlags() refuses a path containing a comma", () => {
  throws(() => permissionFlags(config({ root: "/srv/a,b" }), []), RangeError);
  throws(() => permissionFlags(config(), [], { read: ["/etc/x,y.pem"] }), RangeError);
  throws(() => permissionFlags(config(), [], { write: ["/run/a,b"] }), RangeError);
});

Deno.test("permissionFlags() leaves out --allow-env when no variable is read", () => {
  deepEqual(permissionFlags(config(), []), [
    "--allow-net",
    "--allow-read=/srv/ftp",
    "--allow-write=/srv/ftp",
  ]);
});

Deno.test("permissionFlags() grants read access to TLS certificate and key files", () => {
  deepEqual(
    permissionFlags(
      config({ tls: { certFile: "/etc/tls/cert.pem", keyFile: "/etc/tls/key.pem" } }),
      [],
      { read: ["/etc/extra"] },
    ),
    [
      "--allow-net",
      "--allow-read=/srv/ftp,/etc/tls/cert.pem,/etc/tls/key.pem,/etc/extra",
      "--allow-write=/srv/ftp",
    ],
  );
  // Generated or inline credentials need no file.
  for (const tls of [{ selfSigned: true as const }, { cert: "PEM", key: "PEM" }]) {
    deepEqual(permissionFlags(config({ root: "memory:", tls }), []), ["--allow-net"]);
  }
  throws(
    () => permissionFlags(config({ tls: { certFile: "/a,b.pem", keyFile: "/k.pem" } }), []),
    RangeError,
  );
});

Deno.test("permissionFlags() on Linux also grants read on /proc/self/fd (listing by open handle) and FFI to glibc only (the listing cache)", () => {
  deepEqual(permissionFlags(config(), [], { linux: true }), [
    "--allow-net",
    "--allow-read=/srv/ftp,/proc/self/fd",
    "--allow-write=/srv/ftp",
    `--allow-ffi=${LIBC_PATHS.join(",")}`,
  ]);
  // No local root: nothing to list through inotify. No cache: no FFI at all.
  deepEqual(permissionFlags(config({ root: "memory:" }), [], { linux: true }), ["--allow-net"]);
  deepEqual(permissionFlags(config({ listCache: false }), [], { linux: true }), [
    "--allow-net",
    "--allow-read=/srv/ftp,/proc/self/fd",
    "--allow-write=/srv/ftp",
  ]);
  for (const path of LIBC_PATHS) ok(path.startsWith("/") && path.endsWith("/libc.so.6"));
});

Deno.test("permissionFlags() grants the ready file and its temporary file, not their directory", () => {
  const ready = { ...config(), readyFile: "/run/ftpgate/ready.json" };
  deepEqual(permissionFlags(ready, []), [
    "--allow-net",
    "--allow-read=/srv/ftp,/run/ftpgate/ready.json,/run/ftpgate/ready.json.tmp",
    "--allow-write=/srv/ftp,/run/ftpgate/ready.json,/run/ftpgate/ready.json.tmp",
  ]);
  // "-" prints the ready line only: no file.
  deepEqual(permissionFlags({ ...config({ root: "memory:" }), readyFile: "-" }, []), [
    "--allow-net",
  ]);
});

Deno.test("permissionFlags() grants appending to the transcript file only", () => {
  deepEqual(permissionFlags(config({ root: "memory:", transcript: "/tmp/t/x.jsonl" }), []), [
    "--allow-net",
    "--allow-write=/tmp/t/x.jsonl",
  ]);
  deepEqual(permissionFlags(config({ root: "memory:", transcript: true }), []), ["--allow-net"]);
});

Deno.test("permissionFlags() grants what main.ts does with the ready file and transcript", async () => {
  // The real thing: a Deno process with exactly these flags writes, renames, reads and removes
  // the ready file as main.ts does, and appends to the transcript.
  const dir = Deno.realPathSync(Deno.makeTempDirSync());
  try {
    const ready = `${dir}/ready.json`;
    const transcript = `${dir}/t.jsonl`;
    const flags = permissionFlags(
      { ...config({ root: "memory:", transcript }), readyFile: ready },
      [],
    );
    const script = [
      `Deno.writeTextFileSync(${JSON.stringify(ready + ".tmp")}, "x", { createNew: true });`,
      `Deno.renameSync(${JSON.stringify(ready + ".tmp")}, ${JSON.stringify(ready)});`,
      `Deno.readTextFileSync(${JSON.stringify(ready)});`,
      `Deno.removeSync(${JSON.stringify(ready)});`,
      `Deno.openSync(${JSON.stringify(transcript)}, { append: true, create: true }).close();`,
      `try { Deno.writeTextFileSync(${JSON.stringify(dir + "/other")}, "no"); } catch (e) {`,
      `  if (!(e instanceof Deno.errors.NotCapable)) throw e; console.log("refused"); }`,
    ].join("\n");
    Deno.writeTextFileSync(`${dir}/script.ts`, script);
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", ...flags, `${dir}/script.ts`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    equal(output.code, 0, stderr);
    equal(new TextDecoder().decode(output.stdout), "refused\n", "nothing else is writable");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("permissionFlags() grants every user's root and mount, a read-only mount for reading only", () => {
  const flags = permissionFlags({
    serve: {
      root: "memory:",
      hostname: "127.0.0.1",
      users: [
        { root: "/srv/ftp/alice" },
        {
          mounts: [
            { root: "/srv/ftp/bob" },
            { root: "/srv/archive", readOnly: true },
            { root: "memory:" },
          ],
        },
        { root: "s3://media/carol" },
        { root: "/srv/ftp/alice" }, // twice: granted once
      ],
      anonymous: { root: "/srv/pub" },
    },
    authHttp: { url: "http://127.0.0.1:8080/auth", allowedRoots: ["/srv/hooked"] },
  }, []);
  deepEqual(flags, [
    "--allow-net",
    "--allow-read=/srv/ftp/alice,/srv/ftp/bob,/srv/archive,/srv/pub,/srv/hooked",
    "--allow-write=/srv/ftp/alice,/srv/ftp/bob,/srv/pub,/srv/hooked",
  ]);
});

Deno.test("permissionFlags() grants an S3 root no files, its endpoint and the other hosts the net", () => {
  const flags = permissionFlags(
    {
      serve: { root: "s3://media/ftp", hostname: "127.0.0.1", allowActive: false },
      ops: {
        http: { port: 9100, hostname: "127.0.0.2", tokenFile: "/etc/ftpgate/token" },
        webhook: { url: "https://hooks.example.org/ftp", secretFile: "/etc/ftpgate/hook.key" },
        transferLog: { path: "/var/log/ftpgate/xferlog" },
        onUpload: { command: "/usr/local/bin/scan" },
      },
      authHttp: { url: "http://[::1]:8080/auth", allowedRoots: ["/srv/hooked"] },
      configFile: "/etc/ftpgate/ftpgate.jsonc",
    },
    ["FTPGATE_ROOT", "AWS_ACCESS_KEY_ID", "FTPGATE_ROOT"],
    {
      s3Hosts: ["s3.example.org:9000"],
      nameservers: ["192.0.2.53:53"],
      sourceDir: "/opt/ftpgate/src",
      program: "/usr/local/bin/scan",
    },
  );
  deepEqual(flags, [
    "--allow-net=127.0.0.1,127.0.0.2,s3.example.org:9000,hooks.example.org:443,[::1]:8080,192.0.2.53:53",
    "--allow-read=/srv/hooked,/etc/ftpgate/token,/etc/ftpgate/hook.key,/etc/ftpgate/ftpgate.jsonc,/opt/ftpgate/src",
    "--allow-write=/srv/hooked,/var/log/ftpgate/xferlog",
    "--allow-env=FTPGATE_ROOT,AWS_ACCESS_KEY_ID",
    "--allow-run=/usr/local/bin/scan",
  ]);
});

Deno.test("needsSource() is true exactly when a part loads from src/ at run time", () => {
  const base = { serve: { root: "/srv/ftp", hostname: "127.0.0.1" } };
  equal(needsSource(base), false, "a plain start loads nothing by URL");
  equal(needsSource({ ...base, configFile: "/etc/f.jsonc" }), true);
  equal(needsSource({ serve: { ...base.serve, tls: { selfSigned: true } } }), true);
  equal(needsSource({ ...base, ops: { transferLog: { path: "/x" } } }), true);
  equal(needsSource({ serve: { ...base.serve, root: "s3://b" } }), true);
  equal(needsSource({ serve: { ...base.serve, users: [{ passwordHash: "$2b$..." }] } }), true);
  equal(needsSource({ serve: { ...base.serve, users: [{ root: "/a" }] } }), false);
  // Only then is the source directory granted; otherwise only what a client's MODE B, TYPE E
  // or HASH loads (src/app/lazy.ts).
  deepEqual(
    permissionFlags(base, [], { linux: false, sourceDir: "/opt/ftpgate/src" }),
    [
      "--allow-net",
      "--allow-read=/srv/ftp,/opt/ftpgate/src/data,/opt/ftpgate/src/commands/hash_digest.ts",
      "--allow-write=/srv/ftp",
    ],
  );
  // A binary embeds them: no source directory, no grant.
  deepEqual(
    permissionFlags(base, [], { linux: false }),
    ["--allow-net", "--allow-read=/srv/ftp", "--allow-write=/srv/ftp"],
  );
});

Deno.test("permissionFlags() grants a root's real path, the hook's cwd and a listen name's addresses", () => {
  const flags = permissionFlags(
    {
      serve: { root: "/srv/ftp", hostname: "localhost", allowActive: false },
      ops: { onUpload: { command: "/bin/true", cwd: "/var/lib/hook" } },
    },
    [],
    {
      linux: false,
      realPath: (path) => path === "/srv/ftp" ? "/data/ftp" : path,
      listenAddresses: ["127.0.0.1", "::1"],
      program: "/bin/true",
    },
  );
  deepEqual(flags.slice(0, 3), [
    "--allow-net=localhost,127.0.0.1,[::1]",
    "--allow-read=/srv/ftp,/data/ftp,/var/lib/hook",
    "--allow-write=/srv/ftp,/data/ftp",
  ]);
});

Deno.test("addressesOf() is loopback for localhost, the hosts file's lines for a name", async () => {
  const hosts = Deno.makeTempFileSync();
  try {
    Deno.writeTextFileSync(hosts, "127.0.1.1 box box.example # me\n192.0.2.7\tfiles\n");
    deepEqual(await addressesOf("localhost", hosts), ["127.0.0.1", "::1"]);
    deepEqual(await addressesOf("BOX", hosts), ["127.0.1.1"]);
    deepEqual(await addressesOf("files", hosts), ["192.0.2.7"]);
    deepEqual(await addressesOf("unknown", hosts), []);
    deepEqual(await addressesOf("127.0.0.1", hosts), []);
  } finally {
    Deno.removeSync(hosts);
  }
});
