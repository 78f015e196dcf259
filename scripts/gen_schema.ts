/**
 * Writes `ftpgate.schema.json`, the JSON Schema of the config file, from the zod schema in
 * `src/config/schema.ts`. Run it after changing the schema, and commit the result (a test
 * fails while the committed file is stale):
 *
 *   deno run --allow-read --allow-write scripts/gen_schema.ts          # write
 *   deno run --allow-read scripts/gen_schema.ts --check               # exit 1 when stale
 *
 * @module
 */

import { configJsonSchema } from "../src/config/schema.ts";

/** Where the schema is committed: the repository's root. */
export const SCHEMA_PATH = new URL("../ftpgate.schema.json", import.meta.url);

/** The schema file's text, as committed. */
export function schemaText(): string {
  return JSON.stringify(configJsonSchema(), null, 2) + "\n";
}

if (import.meta.main) {
  const text = schemaText();
  if (Deno.args.includes("--check")) {
    const committed = await Deno.readTextFile(SCHEMA_PATH).catch(() => "");
    if (committed !== text) {
      // deno-lint-ignore no-console
      console.error("ftpgate.schema.json is stale: run deno run -RW scripts/gen_schema.ts");
      Deno.exit(1);
    }
  } else {
    await Deno.writeTextFile(SCHEMA_PATH, text);
    // deno-lint-ignore no-console
    console.log(`wrote ${SCHEMA_PATH.pathname}`);
  }
}
