/**
 * The committed JSON Schema is the one the zod schema generates; the example config in
 * deploy/ loads; the schema library stays off the plain start path.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { loadConfigFile } from "../../src/config/load.ts";
import { configJsonSchema } from "../../src/config/schema.ts";
import { SCHEMA_PATH, schemaText } from "../../scripts/gen_schema.ts";

const repo = new URL("../../", import.meta.url);

Deno.test("ftpgate.schema.json is the schema scripts/gen_schema.ts generates", async () => {
  const committed = await Deno.readTextFile(SCHEMA_PATH);
  equal(
    committed,
    schemaText(),
    "ftpgate.schema.json is stale: run deno run -RW scripts/gen_schema.ts and commit it",
  );
});

Deno.test("configJsonSchema() refuses unknown keys and names every top-level section", () => {
  const schema = configJsonSchema() as {
    additionalProperties: boolean;
    properties: Record<string, { additionalProperties?: boolean }>;
    allowComments: boolean;
  };
  equal(schema.additionalProperties, false);
  equal(schema.allowComments, true);
  deepEqual(Object.keys(schema.properties).sort(), [
    "$schema",
    "allow_active",
    "allow_fxp",
    "allow_plaintext",
    "anonymous",
    "atomic_uploads",
    "auth",
    "banner",
    "faults",
    "http",
    "limits",
    "list_cache",
    "listen",
    "logging",
    "on_upload",
    "passive",
    "root",
    "run",
    "s3",
    "tls",
    "transfer_log",
    "transfers",
    "users",
    "webhook",
  ]);
  for (const [name, section] of Object.entries(schema.properties)) {
    if ("properties" in section) equal(section.additionalProperties, false, name);
  }
});

Deno.test("deploy/ftpgate.jsonc loads (its paths moved under a temporary directory)", async () => {
  const text = await Deno.readTextFile(new URL("deploy/ftpgate.jsonc", repo));
  ok(text.includes('"$schema": "../ftpgate.schema.json"'));
  const dir = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "ftpgate-example-" }));
  try {
    for (const sub of ["srv/ftp/alice", "srv/ftp/bob", "srv/ftp/archive", "srv/ftp/pub"]) {
      Deno.mkdirSync(`${dir}/${sub}`, { recursive: true });
    }
    Deno.mkdirSync(`${dir}/etc/ftpgate/tls`, { recursive: true });
    Deno.mkdirSync(`${dir}/var/log/ftpgate`, { recursive: true });
    Deno.writeTextFileSync(`${dir}/etc/ftpgate/tls/fullchain.pem`, "CERT");
    Deno.writeTextFileSync(`${dir}/etc/ftpgate/tls/privkey.pem`, "KEY");
    const moved = text.replaceAll('"/srv/', `"${dir}/srv/`)
      .replaceAll('"/etc/', `"${dir}/etc/`)
      .replaceAll('"/var/', `"${dir}/var/`);
    Deno.writeTextFileSync(`${dir}/etc/ftpgate/ftpgate.jsonc`, moved);
    const config = await loadConfigFile(
      `${dir}/etc/ftpgate/ftpgate.jsonc`,
      (name) => name === "BOB_PASSWORD" ? "bob's password" : undefined,
    );
    const [alice, bob] = config.serve.users ?? [];
    equal(config.serve.users?.length, 2);
    ok(alice.passwordHash?.startsWith("$argon2id$"));
    deepEqual(alice.rules?.map((rule) => [rule.path, rule.allow.length]), [["/", 7], [
      "/inbox",
      1,
    ]]);
    equal(alice.requireTls, true);
    equal(bob.password, "bob's password");
    deepEqual(bob.mounts, [
      { path: "/", root: `${dir}/srv/ftp/bob` },
      { path: "/archive", root: `${dir}/srv/ftp/archive`, readOnly: true },
    ]);
    deepEqual(config.serve.anonymous, {
      root: `${dir}/srv/ftp/pub`,
      rules: [{ path: "/", allow: ["list", "download"] }],
    });
    deepEqual(config.serve.passiveAddresses?.[0].address, "10.0.0.5");
    deepEqual(config.ops.transferLog, { path: `${dir}/var/log/ftpgate/xferlog` });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

/** Modules a module loads when it is imported: static imports only, types excluded. */
async function loadedAtImport(entry: string): Promise<string[]> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: repo,
    stdout: "piped",
    stderr: "piped",
  }).output();
  ok(output.success, new TextDecoder().decode(output.stderr));
  interface Dependency {
    code?: { specifier: string };
    isDynamic?: boolean;
  }
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    roots: string[];
    modules: { specifier: string; dependencies?: Dependency[] }[];
    redirects: Record<string, string>;
  };
  const bySpecifier = new Map(info.modules.map((module) => [module.specifier, module]));
  const seen = new Set<string>();
  const visit = (specifier: string) => {
    const resolved = info.redirects[specifier] ?? specifier;
    if (seen.has(resolved)) return;
    seen.add(resolved);
    for (const dependency of bySpecifier.get(resolved)?.dependencies ?? []) {
      if (dependency.code && !dependency.isDynamic) visit(dependency.code.specifier);
    }
  };
  info.roots.forEach(visit);
  return [...seen];
}

Deno.test("the plain start path and the library entry do not load zod or the config loader", async () => {
  for (const entry of ["main.ts", "src/mod.ts", "src/identity/http.ts"]) {
    const loaded = await loadedAtImport(entry);
    ok(loaded.length > 3, `${entry}: ${loaded.length} modules`);
    const heavy = loaded.filter((specifier) =>
      /zod|jsonc-parser|\/src\/config\/(schema|load|issues|jsonc)\.ts$/.test(specifier)
    );
    deepEqual(heavy, [], `${entry} loads ${heavy.join(", ")}`);
  }
  const config = await loadedAtImport("src/config/load.ts");
  ok(config.some((specifier) => specifier.includes("zod")), "the loader itself does load zod");
});
