/**
 * deploy/: what can be checked on a machine without a Docker engine, a Fly account or a running
 * systemd.
 *
 * - Dockerfile: linted (dockerfile-utils, the checks of VS Code's Dockerfile support), its stages
 *   and compile command compared with `deno task compile`, and the server run with exactly its
 *   permission flags (paths moved under a temporary directory), through real clients; with
 *   DENORT_BIN set, compiled with its command and run. Building the image needs an engine.
 * - The image's health check script against a real HTTP side port.
 * - fly.toml: parsed as TOML and its ports checked against the Dockerfile and the Fly config.
 * - ftpgate.service: `systemd-analyze verify` and `systemd-analyze security --offline`, and
 *   the capability it relies on tried for real with setpriv (an unprivileged process binding
 *   port 21 with CAP_NET_BIND_SERVICE alone, and failing without it).
 * - ftpgate.logrotate: real logrotate runs against a real server's transfer log (reopened on
 *   SIGHUP) and an append-mode JSON log.
 */

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { validate } from "dockerfile-utils";
import { parse as parseToml } from "smol-toml";
import { loadConfigFile } from "../../src/config/load.ts";
import { closePasswordVerifier, hashPassword } from "../../src/identity/passwords/mod.ts";
import { lazyModules } from "../../src/app/lazy.ts";
import { attachOps } from "../../src/ops/mod.ts";
import { startTestServer } from "../../src/testing.ts";
import { V8_FLAGS } from "../../scripts/v8_flags.ts";
import { freePort, REPO, startCli } from "../helpers/cli_helpers.ts";
import { assertExit, localDir } from "../helpers/clients.ts";
import {
  compileCommand,
  covers,
  coversEnv,
  DEPLOY,
  grantsOf,
  portsOf,
  readDockerfile,
  type Stage,
} from "../helpers/deploy_files.ts";
import { needs, runCommand } from "../helpers/tools.ts";
import { TestHost } from "../ops/helpers.ts";

const dockerfile = readDockerfile();
const [buildStage, runtimeStage] = [dockerfile.stages[0], dockerfile.stages.at(-1)!];

function instructions(stage: Stage, keyword: string) {
  return stage.instructions.filter((i) => i.keyword === keyword);
}

/** The EXPOSEd ports of the runtime stage, ranges expanded. */
function exposed(): number[] {
  return instructions(runtimeStage, "EXPOSE").flatMap((i) =>
    i.args.flatMap((arg) =>
      portsOf(arg.replace(/\/tcp$/, "").includes("-") ? arg : `${arg}-${arg}`)
    )
  );
}

/** The ENTRYPOINT's words (exec form). */
function entrypoint(): string[] {
  const [instruction] = instructions(runtimeStage, "ENTRYPOINT");
  return JSON.parse(instruction.text);
}

// deno-lint-ignore no-explicit-any
type Json = any;

/** A config file of deploy/ as JSON (comments and trailing commas removed by jsonc-parser). */
async function readJsonc(path: string): Promise<Json> {
  const { parseJsonc } = await import("../../src/config/jsonc.ts");
  const parsed = parseJsonc(await Deno.readTextFile(path));
  if ("issues" in parsed) throw new Error(`${path}: ${JSON.stringify(parsed.issues)}`);
  return parsed.value;
}

// ---------------------------------------------------------------------------------------------
// Dockerfile

Deno.test("deploy/Dockerfile lints clean (dockerfile-utils)", () => {
  const problems = validate(dockerfile.text).map((d) =>
    `line ${d.range.start.line + 1}: ${d.message}`
  );
  deepEqual(problems, []);
});

Deno.test("deploy/Dockerfile builds with the official Deno image of .ci/run's version and runs on glibc", async () => {
  equal(dockerfile.stages.length, 2, "two stages: build, runtime");
  equal(buildStage.image, "denoland/deno");
  equal(buildStage.name, "build");
  const ci = await Deno.readTextFile(`${REPO}.ci/run`);
  const ciVersion = /^DENO_VERSION=(\S+)$/m.exec(ci)?.[1];
  equal(buildStage.tag, ciVersion, "the image's Deno is the one CI tests with");
  equal(buildStage.tag, Deno.version.deno, "and the one these tests run on");
  // The Deno runtime links against glibc: musl (Alpine), static distroless and scratch images
  // cannot run it.
  const reference = `${runtimeStage.image}:${runtimeStage.tag}`;
  ok(
    /^(debian:\d+(-slim)?|ubuntu:[\w.]+|gcr\.io\/distroless\/cc-debian\d+(:[\w-]+)?)$/.test(
      reference,
    ),
    `${reference} is a glibc base`,
  );
  ok(!/alpine|musl|static|scratch|busybox/.test(reference));
});

Deno.test("deploy/Dockerfile compiles as deno task compile does, with the hash worker included", async () => {
  const words = compileCommand(buildStage);
  equal(words[0], "deno");
  equal(words[1], "compile");
  for (const flag of ["--no-prompt", "--frozen", ...V8_FLAGS]) {
    ok(words.includes(flag), `${flag} in the Dockerfile's deno compile`);
  }
  equal(words.at(-1), "main.ts", "the entry point");
  const output = words[words.indexOf("--output") + 1];
  const [copy] = instructions(runtimeStage, "COPY").filter((i) => i.flags.from === "build");
  equal(copy.args[0], `/src/${output}`, "the runtime stage copies what was compiled");
  equal(copy.args[1], "/usr/local/bin/ftpgate");
  equal(entrypoint()[0], "/usr/local/bin/ftpgate");

  // The worker is loaded with `new Worker(new URL("./worker.ts", import.meta.url))`, and the
  // optional parts by computed URL (src/app/lazy.ts): deno compile follows neither, so without
  // --include the binary could not verify a hash, read its config file or start TLS.
  const includes = words.flatMap((word, i) => words[i - 1] === "--include" ? [word] : []);
  for (
    const module of ["src/identity/passwords/worker.ts", "src/workers/worker.ts", ...lazyModules()]
  ) {
    ok(includes.includes(module), `--include ${module}`);
    ok((await Deno.stat(`${REPO}${module}`)).isFile);
  }
  match(
    await Deno.readTextFile(`${REPO}src/identity/passwords/verifier.ts`),
    /new Worker\(new URL\("\.\/worker\.ts", import\.meta\.url\)/,
  );

  // The task: deno.json's compile runs scripts/launch.ts, which prints its deno compile command
  // before running it. Run it for the image's root (it stops at the missing denort) and check
  // that the Dockerfile passes every flag the task does, and grants at least what it grants.
  const deno = JSON.parse(await Deno.readTextFile(`${REPO}deno.json`));
  match(deno.tasks.compile.command, /scripts\/launch\.ts compile/);
  await using dir = localDir();
  const task = await runCommand(
    Deno.execPath(),
    ["task", "compile", "--root", "/srv/ftp", "--host", "0.0.0.0", "--port", "21"],
    {
      cwd: REPO,
      env: {
        NO_COLOR: "1",
        DENORT_BIN: `${dir.path}/no-denort`,
        FTPGATE_OUTPUT: `${dir.path}/ftpgate`,
      },
      timeoutMs: 120_000,
    },
  );
  const printed = task.stderr.split("\n").find((line) => line.startsWith("deno compile "));
  ok(printed, `deno task compile printed its command\n${task.stderr}`);
  const taskWords = printed.split(/\s+/);
  const other = (list: string[]) =>
    list.filter((w) => w.startsWith("--") && !w.startsWith("--allow-") && w !== "--output");
  for (const flag of other(taskWords)) ok(words.includes(flag), `the task's ${flag}`);
  const mine = grantsOf(words);
  const theirs = grantsOf(taskWords);
  for (const path of theirs.read) ok(covers(mine.read, path), `read ${path}`);
  for (const path of theirs.write) ok(covers(mine.write, path), `write ${path}`);
  for (const name of theirs.env) ok(coversEnv(mine.env, name), `env ${name}`);
  equal(mine.net, "all", "passive listeners bind where clients reach us; S3; hooks");
  equal(mine.run, undefined, "the image runs no programs");
  deepEqual(mine.ffi, theirs.ffi, "FFI to glibc only (the listing cache), as the task grants");
});

Deno.test("deploy/Dockerfile runs as a fixed non-root user, exposes 21 and the passive range, checks /healthz", async () => {
  const [user] = instructions(runtimeStage, "USER");
  match(user.args[0], /^[1-9]\d*:[1-9]\d*$/, "numeric uid:gid, not root");
  const ports = exposed();
  ok(ports.includes(21));
  const config = await readJsonc(`${DEPLOY}docker/ftpgate.jsonc`);
  equal(config.listen.port, 21, "the baked config listens where EXPOSE says");
  deepEqual(ports.filter((p) => p !== 21), portsOf(config.passive.ports));
  deepEqual(entrypoint(), ["/usr/local/bin/ftpgate", "--config", "/etc/ftpgate/ftpgate.jsonc"]);
  const copies = instructions(runtimeStage, "COPY").map((i) => i.args.slice(-2).join(" "));
  ok(copies.includes("deploy/docker/ftpgate.jsonc /etc/ftpgate/ftpgate.jsonc"));
  const [check] = instructions(runtimeStage, "HEALTHCHECK");
  match(check.text, /CMD \["\/usr\/local\/bin\/ftpgate-healthcheck"\]/);
  ok(copies.includes("deploy/docker/healthcheck.sh /usr/local/bin/ftpgate-healthcheck"));
  const script = await Deno.readTextFile(`${DEPLOY}docker/healthcheck.sh`);
  equal(/FTPGATE_HTTP_PORT:-(\d+)/.exec(script)?.[1], String(config.http.port));
  equal(instructions(runtimeStage, "STOPSIGNAL")[0].args[0], "SIGTERM");
  // The build context is cut down to what the build reads (BuildKit: <Dockerfile>.dockerignore).
  const ignore = await Deno.readTextFile(`${DEPLOY}Dockerfile.dockerignore`);
  for (const copied of ["deploy/docker/", "main.ts", "src/", "deno.json", "deno.lock"]) {
    ok(ignore.includes(`!${copied}`), copied);
  }
});

Deno.test("deploy/docker/ftpgate.jsonc loads, and every path and variable in it is one the image's binary may use", async () => {
  const config = await readJsonc(`${DEPLOY}docker/ftpgate.jsonc`);
  const grants = grantsOf(compileCommand(buildStage));
  const paths: string[] = [];
  const visit = (value: Json, key: string) => {
    if (typeof value === "string" && value.startsWith("/") && key !== "path") paths.push(value);
    else if (Array.isArray(value)) value.forEach((v) => visit(v, key));
    else if (typeof value === "object" && value !== null) {
      for (const [k, v] of Object.entries(value)) visit(v, k);
    }
  };
  visit(config, "");
  ok(paths.length >= 5, paths.join(" "));
  for (const path of paths) ok(covers(grants.read, path), `the binary may read ${path}`);
  for (const user of config.users) {
    for (const root of [user.root, ...(user.mounts ?? []).map((m: Json) => m.root)]) {
      if (root === undefined) continue;
      ok(covers(grants.write, root), `${user.name}: the binary may write ${root}`);
      // A fresh named volume starts with the image's /srv/ftp: the roots must be made there.
      ok(instructions(runtimeStage, "RUN").some((i) => i.args.includes(root)), `${root} made`);
    }
    if (user.password_env) ok(coversEnv(grants.env, user.password_env), user.password_env);
  }
  ok(covers(grants.write, config.transfer_log.path));

  // And it loads, paths moved under a temporary directory.
  await using dir = localDir();
  const moved = moveConfig(await Deno.readTextFile(`${DEPLOY}docker/ftpgate.jsonc`), dir.path);
  makeImageTree(dir.path);
  Deno.writeTextFileSync(`${dir.path}/run/secrets/carol_password`, "carol's password\n");
  Deno.writeTextFileSync(`${dir.path}/etc/ftpgate/ftpgate.jsonc`, moved);
  const loaded = await loadConfigFile(
    `${dir.path}/etc/ftpgate/ftpgate.jsonc`,
    (name) => name === "FTPGATE_BOB_PASSWORD" ? "bob's password" : undefined,
  );
  deepEqual(loaded.serve.users?.map((u) => u.name), ["alice", "bob", "carol"]);
  equal(loaded.serve.users?.[2].password, "carol's password");
  deepEqual(loaded.serve.passivePorts, { from: 50000, to: 50019 });
});

/** The directories of the image (deploy/Dockerfile's RUN install -d), under `base`. */
function makeImageTree(base: string): void {
  for (
    const dir of [
      "etc/ftpgate",
      "run/secrets",
      "srv/ftp/alice/inbox",
      "srv/ftp/bob",
      "srv/ftp/carol",
      "srv/ftp/archive",
      "var/log/ftpgate",
    ]
  ) Deno.mkdirSync(`${base}/${dir}`, { recursive: true });
}

/** A config's absolute paths moved under `base`. */
function moveConfig(text: string, base: string): string {
  return text.replaceAll(/"\/(srv|etc|var|run)\//g, `"${base}/$1/`);
}

/** The Dockerfile's permission flags with their paths moved under `base`. */
function movedPermissions(base: string): string[] {
  return compileCommand(buildStage)
    .filter((word) => word.startsWith("--allow-"))
    .map((word) => {
      const [flag, list] = word.split("=");
      if (list === undefined || flag === "--allow-env") return word;
      const moved = list.split(",").map((p) => p.startsWith("/proc/") ? p : `${base}${p}`);
      return `${flag}=${moved.join(",")}`;
    });
}

/** Whether this CLI already has `name` in its --help. */
async function cliHas(name: string): Promise<boolean> {
  const help = await runCommand(Deno.execPath(), ["run", "-A", `${REPO}main.ts`, "--help"]);
  return help.stdout.includes(name);
}

const HAS_CONFIG = await cliHas("--config");
if (!HAS_CONFIG) {
  // deno-lint-ignore no-console
  console.warn(
    "SKIPPING the deploy smoke test with deploy/docker/ftpgate.jsonc: this CLI has no --config " +
      "yet (the server is still run with the image's permissions, from flags)",
  );
}

/**
 * Starts the server as the image would (its permission flags, `deploy/docker/ftpgate.jsonc`
 * where the CLI reads config files), paths moved under `base`, and drives it with curl.
 */
async function smoke(
  base: string,
  run: (args: string[], env: Record<string, string>) => {
    ready(timeoutMs?: number): Promise<{ port: number }>;
    kill(signal?: Deno.Signal): boolean;
    wait(timeoutMs?: number): Promise<{ code: number; stderr: string }>;
    stderr(): string;
  },
): Promise<void> {
  makeImageTree(base);
  const pasv = 40000 + Math.floor(Math.random() * 9000);
  const common = ["--host", "127.0.0.1", "--port", "0", "--ready-file", "-"];
  const curl = (args: string[]) =>
    runCommand("curl", ["--silent", "--show-error", "--max-time", "20", ...args]);
  if (!HAS_CONFIG) {
    const server = run(["--root", `${base}/srv/ftp`, "--user", "alice:pw", ...common], {});
    const { port } = await server.ready(30_000);
    Deno.writeTextFileSync(`${base}/upload.txt`, "through the image's permissions\n");
    assertExit(
      await curl(["-T", `${base}/upload.txt`, `ftp://alice:pw@127.0.0.1:${port}/up.txt`]),
      "upload",
    );
    equal(
      Deno.readTextFileSync(`${base}/srv/ftp/up.txt`),
      "through the image's permissions\n",
    );
    const listing = await curl([`ftp://alice:pw@127.0.0.1:${port}/`]);
    assertExit(listing, "list");
    match(listing.stdout, /up\.txt/);
    server.kill("SIGTERM");
    equal((await server.wait(15_000)).code, 0);
    return;
  }
  const config = moveConfig(await Deno.readTextFile(`${DEPLOY}docker/ftpgate.jsonc`), base)
    .replace(/"\$argon2id\$[^"]+"/, JSON.stringify(await hashPassword("alice's password")));
  await closePasswordVerifier(); // its worker would outlive the test
  Deno.writeTextFileSync(`${base}/etc/ftpgate/ftpgate.jsonc`, config);
  Deno.writeTextFileSync(`${base}/run/secrets/carol_password`, "carol's password\n");
  Deno.writeTextFileSync(`${base}/srv/ftp/carol/shared.txt`, "for carol\n");
  Deno.writeTextFileSync(`${base}/srv/ftp/archive/2025.txt`, "old\n");
  const httpPort = freePort();
  const env = {
    FTPGATE_BOB_PASSWORD: "bob's password",
    FTPGATE_HTTP_PORT: String(httpPort),
    FTPGATE_PASV_ADDRESS: "127.0.0.1",
  };
  const server = run([
    "--config",
    `${base}/etc/ftpgate/ftpgate.jsonc`,
    "--pasv-ports",
    `${pasv}-${pasv + 19}`,
    ...common,
  ], env);
  const { port } = await server.ready(30_000);
  const at = (user: string, password: string, path: string) =>
    `ftp://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}${path}`;
  Deno.writeTextFileSync(`${base}/report.csv`, "a,b\n1,2\n");
  // alice: TLS required (argon2id hash, verified by the worker), a drop box at /inbox.
  assertExit(
    await curl([
      "--ssl-reqd",
      "--insecure",
      "-T",
      `${base}/report.csv`,
      at("alice", "alice's password", "/inbox/report.csv"),
    ]),
    "alice's upload to her drop box",
  );
  equal(Deno.readTextFileSync(`${base}/srv/ftp/alice/inbox/report.csv`), "a,b\n1,2\n");
  const plain = await curl(["-T", `${base}/report.csv`, at("alice", "alice's password", "/x.csv")]);
  ok(plain.code !== 0, "alice without TLS is refused");
  // bob: password from the environment, a read-only archive mount.
  const archive = await curl([at("bob", "bob's password", "/archive/")]);
  assertExit(archive, "bob lists the archive");
  match(archive.stdout, /2025\.txt/);
  const refused = await curl([
    "-T",
    `${base}/report.csv`,
    at("bob", "bob's password", "/archive/r.csv"),
  ]);
  ok(refused.code !== 0, "the archive is read-only");
  // carol: password from a secret file, read-only rules.
  const got = await curl([at("carol", "carol's password", "/shared.txt")]);
  assertExit(got, "carol downloads");
  equal(got.stdout, "for carol\n");
  // The image's health check against the side port of this config.
  const health = await runCommand("bash", [`${DEPLOY}docker/healthcheck.sh`], {
    env: { FTPGATE_HTTP_PORT: String(httpPort) },
  });
  assertExit(health, "the health check");
  // The transfer log is where the image's permissions allow it.
  ok(Deno.readTextFileSync(`${base}/var/log/ftpgate/xferlog`).includes("/inbox/report.csv"));
  server.kill("SIGTERM");
  equal((await server.wait(30_000)).code, 0, server.stderr());
}

Deno.test({
  name: "the server runs with exactly the Dockerfile's permissions (deno run), through curl",
  ignore: needs("curl"),
  async fn() {
    await using dir = localDir();
    // deno run must read the worker's and the optional parts' source to load them; the
    // compiled binary carries them (--include).
    const permissions = movedPermissions(dir.path).map((flag) =>
      flag.startsWith("--allow-read=") ? `${flag},${REPO}src` : flag
    );
    await smoke(
      dir.path,
      (args, env) =>
        startCli(args, { permissions: [...V8_FLAGS, ...permissions], env, cwd: dir.path }),
    );
  },
});

const denort = Deno.env.get("DENORT_BIN");
Deno.test({
  name: "the Dockerfile's compile command builds a binary that serves the image's config",
  ignore: !denort || needs("curl"),
  async fn() {
    await using dir = localDir();
    const words = compileCommand(buildStage);
    const args = words.slice(2).map((word) =>
      word.startsWith("--allow-") ? word : word === "dist/ftpgate" ? `${dir.path}/ftpgate` : word
    ).filter((word) => !word.startsWith("--allow-"));
    const build = await runCommand(
      Deno.execPath(),
      ["compile", ...movedPermissions(dir.path), ...args],
      { cwd: REPO, env: { DENORT_BIN: denort!, NO_COLOR: "1" }, timeoutMs: 240_000 },
    );
    assertExit(build, "deno compile");
    await smoke(
      dir.path,
      (args, env) => startCli(args, { executable: `${dir.path}/ftpgate`, env, cwd: dir.path }),
    );
  },
});
if (!denort) {
  // deno-lint-ignore no-console
  console.warn(
    "SKIPPING the compile of deploy/Dockerfile's command: DENORT_BIN is not set and denort " +
      "cannot be downloaded here (the image itself needs a Docker engine, which is not here)",
  );
}

// ---------------------------------------------------------------------------------------------
// The health check script

Deno.test({
  name:
    "deploy/docker/healthcheck.sh: 200 is healthy; nothing listening, draining and a missing token are not",
  ignore: needs("bash"),
  async fn() {
    const script = `${DEPLOY}docker/healthcheck.sh`;
    const check = (env: Record<string, string>) => runCommand("bash", [script], { env });
    const host = new TestHost();
    {
      await using ops = await attachOps(host, { http: { port: 0 } });
      const port = String(ops.http!.addr.port);
      assertExit(await check({ FTPGATE_HTTP_PORT: port }), "healthy");
      host.draining = true;
      const draining = await check({ FTPGATE_HTTP_PORT: port });
      equal(draining.code, 1);
      match(draining.stderr, / 503 /);
    }
    const gone = freePort();
    const refused = await check({ FTPGATE_HTTP_PORT: String(gone) });
    equal(refused.code, 1);
    match(refused.stderr, /nothing listens/);
    equal((await check({ FTPGATE_HTTP_PORT: "9100; rm -rf /" })).code, 1);

    await using dir = localDir();
    Deno.writeTextFileSync(`${dir.path}/token`, "s3cret-token\n");
    host.draining = false;
    await using ops = await attachOps(host, { http: { port: 0, tokenFile: `${dir.path}/token` } });
    const port = String(ops.http!.addr.port);
    const without = await check({ FTPGATE_HTTP_PORT: port });
    equal(without.code, 1);
    match(without.stderr, / 401 /);
    assertExit(
      await check({ FTPGATE_HTTP_PORT: port, FTPGATE_HTTP_TOKEN_FILE: `${dir.path}/token` }),
      "healthy with the token",
    );
    const output = await check({
      FTPGATE_HTTP_PORT: port,
      FTPGATE_HTTP_TOKEN_FILE: `${dir.path}/token`,
    });
    ok(!output.stdout.includes("s3cret") && !output.stderr.includes("s3cret"));
  },
});

// ---------------------------------------------------------------------------------------------
// Fly.io

Deno.test("deploy/fly.toml: raw TCP services for 21 and each passive port, as the Dockerfile and the Fly config say", async () => {
  const fly: Json = parseToml(await Deno.readTextFile(`${DEPLOY}fly.toml`));
  const config = await readJsonc(`${DEPLOY}fly/ftpgate.jsonc`);
  equal(fly.kill_signal, "SIGTERM");
  const killTimeout = Number(/^(\d+)s$/.exec(fly.kill_timeout)?.[1]);
  ok(killTimeout > config.limits.shutdown_grace, "transfers get their grace before the kill");
  ok(killTimeout <= 300, "Fly's maximum");

  const services: Json[] = fly.services;
  for (const service of services) {
    equal(service.protocol, "tcp");
    equal(service.auto_stop_machines, "stop");
    equal(service.auto_start_machines, true);
    equal(service.min_machines_running, 0);
    for (const port of service.ports) equal(port.handlers, undefined, "raw TCP: ftpgate does TLS");
  }
  const byPort = new Map<number, Json>();
  for (const service of services) for (const port of service.ports) byPort.set(port.port, service);
  equal(byPort.get(21)?.internal_port, config.listen.port, "public 21 to the config's port");
  ok(exposed().includes(21), "the image exposes 21 too");
  const passive = portsOf(config.passive.ports);
  deepEqual([...byPort.keys()].filter((p) => p !== 21).sort(), passive);
  for (const port of passive) {
    equal(byPort.get(port)!.internal_port, port, `passive port ${port} maps one to one`);
  }
  deepEqual(exposed().filter((p) => p !== 21), passive, "the Dockerfile's EXPOSE range");
  equal(services.filter((s) => s.ports.some((p: Json) => p.start_port)).length, 0);

  // The machine: its image, its config file, scale to zero, health and metrics.
  ok((await Deno.stat(`${REPO}${fly.build.dockerfile}`)).isFile);
  const [file] = fly.files;
  equal(file.guest_path, entrypoint()[2], "the config goes where the image reads it");
  ok((await Deno.stat(`${REPO}${file.local_path}`)).isFile);
  ok(config.run.exit_when_idle > 0, "--exit-when-idle");
  deepEqual(fly.restart, [{ policy: "on-failure", retries: 5 }], "exit 0 stays stopped");
  equal(fly.checks.healthz.port, config.http.port);
  equal(fly.checks.healthz.path, "/healthz");
  equal(fly.metrics.port, config.http.port);
  ok(!byPort.has(config.http.port), "the side port is not public");
  match(fly.env.FTPGATE_PASV_ADDRESS, /^\d+\.\d+\.\d+\.\d+$|[a-z]/);

  // Stateless: every root in the bucket; no per-network passive address (the proxy's address
  // is private, a rule for private networks would match every client).
  for (const user of config.users) match(user.root, /^s3:\/\//, user.name);
  equal(config.root, undefined);
  equal(config.passive.addresses, undefined);
  equal(config.passive.address, undefined, "from FTPGATE_PASV_ADDRESS");
  ok(config.limits.max_sessions_per_ip >= 1000 && config.limits.ban_after >= 1000);
  const env: Record<string, string> = {
    FTPGATE_BOB_PASSWORD: "bob's password",
    FTPGATE_CAROL_PASSWORD: "carol's password",
  };
  const loaded = await loadConfigFile(`${DEPLOY}fly/ftpgate.jsonc`, (name) => env[name]);
  equal(loaded.run.exitWhenIdleMs, 300_000);
  const grants = grantsOf(compileCommand(buildStage));
  for (const name of Object.keys(env)) ok(coversEnv(grants.env, name), name);
  ok(coversEnv(grants.env, "AWS_SECRET_ACCESS_KEY"), "S3 credentials reach the binary");
});

// ---------------------------------------------------------------------------------------------
// systemd

/** The unit's settings: key → every value given. */
function unitSettings(text: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (match) settings.set(match[1], [...(settings.get(match[1]) ?? []), match[2]]);
  }
  return settings;
}

const UNIT = await Deno.readTextFile(`${DEPLOY}ftpgate.service`);

Deno.test("deploy/ftpgate.service: one capability, a dynamic user, check-config before SIGHUP", async () => {
  const unit = unitSettings(UNIT);
  const one = (key: string) => {
    const values = unit.get(key) ?? [];
    equal(values.length, 1, `${key}= once`);
    return values[0];
  };
  equal(one("ExecStart"), "/usr/local/bin/ftpgate --config /etc/ftpgate/ftpgate.jsonc");
  deepEqual(unit.get("ExecReload"), [
    "/usr/local/bin/ftpgate check-config /etc/ftpgate/ftpgate.jsonc",
    "/bin/kill -HUP $MAINPID",
  ]);
  equal(one("DynamicUser"), "yes");
  equal(one("StateDirectory"), "ftpgate");
  equal(one("ProtectSystem"), "strict");
  equal(one("NoNewPrivileges"), "yes");
  equal(one("CapabilityBoundingSet"), "CAP_NET_BIND_SERVICE");
  equal(one("AmbientCapabilities"), "CAP_NET_BIND_SERVICE");
  equal(one("Restart"), "on-failure");
  equal(one("KillSignal"), "SIGTERM");
  equal(unit.get("MemoryDenyWriteExecute"), undefined, "V8 needs W+X memory");
  equal(unit.get("PrivateUsers"), undefined, "the capability must count on the host");
  // The roots and log of the example config are writable, nothing else.
  const config = await readJsonc(`${DEPLOY}ftpgate.jsonc`);
  const writable = [...one("ReadWritePaths").split(/\s+/), `/var/log/${one("LogsDirectory")}`];
  for (const user of config.users) {
    for (const root of [user.root, ...(user.mounts ?? []).map((m: Json) => m.root)]) {
      if (root !== undefined) ok(covers(writable, root), `${user.name}: ${root} is writable`);
    }
  }
  ok(covers(writable, config.anonymous.root));
  ok(covers(writable, config.transfer_log.path));
  ok(Number(one("TimeoutStopSec")) > 10, "longer than the default shutdown grace");
});

Deno.test({
  name: "deploy/ftpgate.service passes systemd-analyze verify, and its exposure stays low",
  ignore: needs("systemd-analyze"),
  async fn() {
    await using dir = localDir();
    // verify checks that ExecStart's program exists and is executable: a stand-in.
    Deno.writeTextFileSync(`${dir.path}/ftpgate`, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    const unit = `${dir.path}/ftpgate.service`;
    Deno.writeTextFileSync(unit, UNIT.replaceAll("/usr/local/bin/ftpgate", `${dir.path}/ftpgate`));
    const verify = await runCommand("systemd-analyze", ["verify", unit], { timeoutMs: 60_000 });
    assertExit(verify, "systemd-analyze verify");
    equal(verify.stderr.trim(), "", "no warning either");
    const security = await runCommand(
      "systemd-analyze",
      ["security", "--offline=yes", "--no-pager", unit],
      { timeoutMs: 60_000 },
    );
    const level = Number(
      /Overall exposure level for ftpgate\.service: ([\d.]+)/.exec(
        security.stdout,
      )?.[1],
    );
    // 1.8 when written (the previous unit: 4.1); 10 is "UNSAFE".
    ok(level <= 2.0, `exposure ${level}\n${security.stdout}`);
  },
});
if (!(await runCommand("sh", ["-c", "command -v systemd-analyze"])).stdout) {
  // deno-lint-ignore no-console
  console.warn("SKIPPING systemd-analyze verify: apt-get install systemd");
}

const ROOT = Deno.uid() === 0;
Deno.test({
  name:
    "CAP_NET_BIND_SERVICE alone lets an unprivileged Deno bind port 21, and without it it cannot",
  ignore: !ROOT || needs("setpriv"),
  async fn() {
    // What ftpgate.service sets up: another user, NoNewPrivileges, the capability as ambient
    // (and nothing else in the bounding set). A loopback address of its own: port 21 of
    // 127.0.0.1 may be someone else's.
    const denoDir = await Deno.makeTempDir({ prefix: "ftpgate-cap-" });
    await Deno.chmod(denoDir, 0o777);
    try {
      const code =
        'try { const l = Deno.listen({ hostname: "127.84.0.21", port: 21 }); console.log("bound", l.addr.port); l.close() } catch (e) { console.log(e.name) }';
      const run = (caps: string[]) =>
        runCommand("setpriv", [
          "--reuid=65534",
          "--regid=65534",
          "--clear-groups",
          ...caps,
          "--no-new-privs",
          "env",
          `DENO_DIR=${denoDir}`,
          `HOME=${denoDir}`,
          Deno.execPath(),
          "eval",
          code,
        ], { timeoutMs: 60_000 });
      const granted = await run([
        "--inh-caps=+net_bind_service",
        "--ambient-caps=+net_bind_service",
        "--bounding-set=-all,+net_bind_service",
      ]);
      assertExit(granted, "with the capability");
      equal(granted.stdout.trim(), "bound 21");
      const denied = await run(["--inh-caps=-all", "--bounding-set=-all"]);
      assertExit(denied, "without it");
      equal(denied.stdout.trim(), "PermissionDenied");
    } finally {
      await Deno.remove(denoDir, { recursive: true });
    }
  },
});
if (!ROOT) {
  // deno-lint-ignore no-console
  console.warn("SKIPPING the CAP_NET_BIND_SERVICE test: it needs root to drop to another user");
}

// ---------------------------------------------------------------------------------------------
// logrotate

Deno.test({
  name:
    "deploy/ftpgate.logrotate: the transfer log is moved and reopened on SIGHUP, the JSON log copied and truncated",
  ignore: !ROOT || needs("logrotate") || needs("curl"),
  async fn() {
    await using dir = localDir();
    const logs = `${dir.path}/log`;
    Deno.mkdirSync(logs);
    // The installed file, with its paths and its signal aimed at this test.
    const original = await Deno.readTextFile(`${DEPLOY}ftpgate.logrotate`);
    match(original, /systemctl kill --kill-whom=main --signal=HUP ftpgate\.service/);
    const config = original.replaceAll("/var/log/ftpgate/", `${logs}/`)
      .replace(/systemctl kill [^\n]*/, `kill -HUP ${Deno.pid}`);
    Deno.writeTextFileSync(`${dir.path}/ftpgate.logrotate`, config, { mode: 0o644 });
    const dry = await runCommand("logrotate", ["--debug", `${DEPLOY}ftpgate.logrotate`]);
    ok(!/^error:/m.test(dry.stderr + dry.stdout), dry.stderr);

    await using ftp = startTestServer({ storage: "memory" });
    await using ops = await attachOps(ftp.server, { transferLog: { path: `${logs}/xferlog` } });
    let hups = 0;
    let reopened: Promise<void> = Promise.resolve();
    const onHup = () => {
      hups++;
      reopened = ops.reopen();
    };
    Deno.addSignalListener("SIGHUP", onHup);
    // The JSON log as systemd's StandardError=append: keeps it: one descriptor, append mode.
    const json = await Deno.open(`${logs}/ftpgate.json`, { create: true, append: true });
    const encoder = new TextEncoder();
    try {
      const upload = async (name: string) => {
        Deno.writeTextFileSync(`${dir.path}/${name}`, name);
        assertExit(
          await runCommand("curl", [
            "-sS",
            "--max-time",
            "20",
            "-T",
            `${dir.path}/${name}`,
            `${ftp.url}${name}`,
          ]),
          `upload ${name}`,
        );
      };
      const logged = async (path: string, name: string) => {
        for (let i = 0; i < 100; i++) {
          try {
            if (Deno.readTextFileSync(path).includes(name)) return;
          } catch { /* not yet created */ }
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        throw new Error(`${name} never reached ${path}`);
      };
      await upload("before.txt");
      await logged(`${logs}/xferlog`, "/before.txt");
      await json.write(encoder.encode('{"message":"before"}\n'));

      const rotate = await runCommand("logrotate", [
        "--force",
        "--state",
        `${dir.path}/state`,
        `${dir.path}/ftpgate.logrotate`,
      ], { timeoutMs: 30_000 });
      assertExit(rotate, "logrotate");
      for (let i = 0; i < 100 && hups === 0; i++) await new Promise((r) => setTimeout(r, 20));
      equal(hups, 1, "postrotate signalled once (sharedscripts)");
      await reopened;

      await upload("after.txt");
      await logged(`${logs}/xferlog`, "/after.txt");
      await json.write(encoder.encode('{"message":"after"}\n'));
      const rotated = Deno.readTextFileSync(`${logs}/xferlog.1`);
      ok(rotated.includes("/before.txt") && !rotated.includes("/after.txt"), rotated);
      ok(!Deno.readTextFileSync(`${logs}/xferlog`).includes("/before.txt"));
      equal(Deno.readTextFileSync(`${logs}/ftpgate.json.1`), '{"message":"before"}\n');
      equal(
        Deno.readTextFileSync(`${logs}/ftpgate.json`),
        '{"message":"after"}\n',
        "the emptied file continues at its start: no hole of zero bytes",
      );
    } finally {
      Deno.removeSignalListener("SIGHUP", onHup);
      json.close();
    }
  },
});
if (!ROOT) {
  // deno-lint-ignore no-console
  console.warn("SKIPPING the logrotate test: logrotate refuses files it does not own as root");
}

// ---------------------------------------------------------------------------------------------
// deploy/README.md

Deno.test("deploy/README.md names only files that exist, and the image reads every S3 variable", async () => {
  const readme = await Deno.readTextFile(`${DEPLOY}README.md`);
  const named = new Set(
    [...readme.matchAll(/(?<![\w/-])deploy\/[\w./-]*\w/g)].map((m) => m[0]),
  );
  ok(named.size >= 6, [...named].join(" "));
  for (const path of named) ok(await exists(`${REPO}${path}`), path);
  for (const [, link] of readme.matchAll(/\]\(((?:\.\.\/)?[\w./-]+?)(?:#[\w-]+)?\)/g)) {
    ok(await exists(`${DEPLOY}${link}`), link);
  }
  const { S3_ENV_NAMES } = await import("../../src/storage/s3/settings.ts");
  const grants = grantsOf(compileCommand(buildStage));
  for (const name of S3_ENV_NAMES) ok(coversEnv(grants.env, name), name);
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("deploy/README.md's config file passes the schema", async () => {
  const readme = await Deno.readTextFile(`${DEPLOY}README.md`);
  const blocks = [...readme.matchAll(/```jsonc\n([\s\S]*?)```/g)].map((m) => m[1]);
  ok(blocks.length >= 1);
  const { parseJsonc } = await import("../../src/config/jsonc.ts");
  const { ConfigSchema } = await import("../../src/config/schema.ts");
  for (const block of blocks) {
    const parsed = parseJsonc(block);
    ok("value" in parsed, block);
    const result = ConfigSchema.safeParse(parsed.value);
    ok(result.success, JSON.stringify(result.error?.issues));
  }
});
