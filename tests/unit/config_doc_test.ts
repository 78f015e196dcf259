/**
 * docs/configuration.md is the reference of the config file: every key of ftpgate.schema.json
 * has a row there with the schema's type, and the defaults it states are the server's.
 * docs/identity.md names every permission of src/identity/rules.ts.
 */

import { deepEqual, equal, ok } from "node:assert/strict";
import { PERMISSIONS } from "../../src/identity/rules.ts";
import { DEFAULTS } from "../../src/options.ts";
import { S3_DEFAULTS } from "../../src/storage/s3/settings.ts";

const repo = new URL("../../", import.meta.url);
const schema = JSON.parse(await Deno.readTextFile(new URL("ftpgate.schema.json", repo)));
const reference = await Deno.readTextFile(new URL("docs/configuration.md", repo));
const identity = await Deno.readTextFile(new URL("docs/identity.md", repo));

interface JsonSchema {
  type?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  items?: JsonSchema | JsonSchema[];
  prefixItems?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
}

/** The type as the reference writes it: `string`, `integer[]`, `string \| [integer, integer]`. */
function typeOf(node: JsonSchema): string {
  if (node.anyOf) {
    return [...new Set(node.anyOf.map(typeOf))].join(" | ");
  }
  if (node.enum !== undefined || node.const !== undefined) {
    const values = node.enum ?? [node.const];
    return [...new Set(values.map((value) => typeof value))].join(" | ");
  }
  if (node.type === "array") {
    const tuple = node.prefixItems ?? (Array.isArray(node.items) ? node.items : undefined);
    if (tuple) return `[${tuple.map(typeOf).join(", ")}]`;
    return `${typeOf(node.items as JsonSchema)}[]`;
  }
  return node.type ?? "unknown";
}

/** Every key of the schema: `users[].rules[].allow` → its type. */
function schemaKeys(): Map<string, string> {
  const keys = new Map<string, string>();
  const visit = (node: JsonSchema, path: string) => {
    if (path !== "") keys.set(path, typeOf(node));
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      visit(child, path === "" ? name : `${path}.${name}`);
    }
    const items = node.type === "array" && !Array.isArray(node.items) ? node.items : undefined;
    if (items?.properties) visit(items, `${path}[]`);
    for (const alternative of node.anyOf ?? []) {
      for (const [name, child] of Object.entries(alternative.properties ?? {})) {
        visit(child, `${path}.${name}`);
      }
    }
  };
  visit(schema, "");
  return keys;
}

interface Row {
  key: string;
  type: string;
  default: string;
}

/** The rows of the reference's tables whose first cell is a key in backticks. */
function documentedRows(): Row[] {
  const rows: Row[] = [];
  for (const line of reference.split("\n")) {
    if (!line.startsWith("| `")) continue;
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((cell) => cell.trim());
    const clean = (cell: string) => cell.replaceAll("`", "").replaceAll("\\|", "|").trim();
    rows.push({ key: clean(cells[0]), type: clean(cells[1]), default: clean(cells[2]) });
  }
  return rows;
}

Deno.test("docs/configuration.md documents every key of ftpgate.schema.json, with its type", () => {
  const keys = schemaKeys();
  ok(keys.size > 100, `${keys.size} keys`);
  const rows = documentedRows();
  const documented = new Set(rows.map((row) => row.key));
  deepEqual([...keys.keys()].filter((key) => !documented.has(key)), [], "keys without a row");
  deepEqual([...documented].filter((key) => !keys.has(key)), [], "rows for no key");
  for (const row of rows) equal(row.type, keys.get(row.key), `the type of ${row.key}`);
});

Deno.test("docs/configuration.md states the server's defaults", () => {
  const rows = new Map(documentedRows().filter((r) => r.default !== "").map((r) => [r.key, r]));
  const stated = (key: string) => rows.get(key)?.default;
  const seconds = (ms: number) => String(ms / 1000);
  const expected: Record<string, string> = {
    "listen.host": DEFAULTS.hostname,
    "banner": DEFAULTS.banner,
    "limits.max_sessions": String(DEFAULTS.maxSessions),
    "limits.max_sessions_per_ip": String(DEFAULTS.maxSessionsPerIp),
    "limits.idle_timeout": seconds(DEFAULTS.idleTimeoutMs),
    "limits.data_timeout": seconds(DEFAULTS.dataTimeoutMs),
    "limits.stall_timeout": seconds(DEFAULTS.stallTimeoutMs),
    "limits.max_line_length": String(DEFAULTS.maxLineLength),
    "limits.max_pipelined": String(DEFAULTS.maxPipelinedBytes),
    "limits.max_login_attempts": String(DEFAULTS.maxLoginAttempts),
    "limits.login_failure_delay": seconds(DEFAULTS.loginFailureDelayMs),
    "limits.ban_after": String(DEFAULTS.banAfterFailures),
    "limits.ban_duration": seconds(DEFAULTS.banDurationMs),
    "limits.shutdown_grace": seconds(DEFAULTS.shutdownGraceMs),
    "tls.sniff": seconds(DEFAULTS.tlsSniffMs),
    "s3.part_size": String(S3_DEFAULTS.partSize),
    "s3.max_parts_in_flight": String(S3_DEFAULTS.maxPartsInFlight),
    "s3.max_rename_keys": String(S3_DEFAULTS.maxRenameKeys),
    "s3.rename_concurrency": String(S3_DEFAULTS.renameConcurrency),
    "s3.timeout": seconds(S3_DEFAULTS.timeoutMs),
    "s3.max_attempts": String(S3_DEFAULTS.maxAttempts),
  };
  for (const [key, value] of Object.entries(expected)) equal(stated(key), value, key);
});

Deno.test("docs/identity.md names every permission, once in its table", () => {
  const lines = identity.split("\n");
  const start = lines.findIndex((line) => /^\| permission +\| commands/.test(line));
  ok(start >= 0, "the permission table");
  const table = lines.slice(start + 2);
  const named = table.slice(0, table.findIndex((line) => !line.startsWith("|")))
    .map((line) => /^\| `([a-z]+)`/.exec(line)![1]);
  deepEqual(named, [...PERMISSIONS]);
});
