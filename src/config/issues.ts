/**
 * zod's issues → ftpgate's error lines: one line per problem, `JSON.path: message`, an unknown
 * key named with the key itself (and the key meant when it is a near miss such as
 * `passwordHash` for `password_hash`), an inline secret pointed at its `_env`/`_file` form.
 * Values are never echoed: the value at fault could be a password or a hash.
 *
 * @module
 */

import { z } from "npm:zod@4.6.7";
import { type ConfigIssue, formatPath } from "./errors.ts";
import { INLINE_SECRETS } from "./schema.ts";

/**
 * The issues of a failed `safeParse` as config issues. `schema` is the schema parsed with (to
 * find the keys an unknown key may have been meant as); `prefix` goes in front of every path;
 * `lineOf` adds lines.
 *
 * @example
 * ```ts
 * import { z } from "npm:zod@4.6.7";
 * import { toConfigIssues } from "./issues.ts";
 * const schema = z.strictObject({ password_hash: z.string() });
 * const result = schema.safeParse({ passwordHash: "x", password_hash: "y" });
 * if (!result.success) toConfigIssues(result.error, schema)[0].message;
 * // 'unknown key (did you mean "password_hash"?)'
 * ```
 */
export function toConfigIssues(
  error: z.ZodError,
  schema: z.ZodType,
  options: {
    prefix?: readonly PropertyKey[];
    lineOf?: (path: readonly PropertyKey[]) => number | undefined;
  } = {},
): ConfigIssue[] {
  const prefix = options.prefix ?? [];
  const out: ConfigIssue[] = [];
  const push = (path: readonly PropertyKey[], message: string) => {
    const line = options.lineOf?.(path);
    out.push({ path: formatPath([...prefix, ...path]), message, ...(line ? { line } : {}) });
  };
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      const known = keysAt(schema, issue.path);
      for (const key of issue.keys) {
        const secret = Object.hasOwn(INLINE_SECRETS, key) ? INLINE_SECRETS[key] : undefined;
        const meant = secret === undefined ? suggest(key, known) : undefined;
        push(
          [...issue.path, key],
          secret !== undefined
            ? `secrets are not allowed inline: use ${secret}`
            : meant !== undefined
            ? `unknown key (did you mean "${meant}"?)`
            : "unknown key",
        );
      }
      continue;
    }
    push(issue.path, plain(issue.message));
  }
  return out;
}

/** zod's stock wording → ours ("Invalid input: expected string, received number"). */
function plain(message: string): string {
  const match = /^Invalid input: expected (\w+), received (\w+)$/.exec(message);
  if (match) return `expected ${article(match[1])}, got ${article(match[2])}`;
  if (/^Invalid input: expected \w+$/.test(message)) {
    return `expected ${message.slice("Invalid input: expected ".length)}`;
  }
  return message;
}

function article(type: string): string {
  if (type === "undefined") return "nothing";
  if (type === "null") return "null";
  if (type === "array" || type === "object" || type === "int") {
    return type === "int" ? "a whole number" : `an ${type}`;
  }
  return `a ${type}`;
}

/** The keys of the object schema at `path`, walking arrays, optionals and unions of objects. */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: z.ZodType[] = [schema];
  for (const part of [...path, null]) {
    const next: z.ZodType[] = [];
    for (let node of current) {
      while (node instanceof z.ZodOptional) node = node.unwrap() as z.ZodType;
      if (node instanceof z.ZodUnion) {
        current.push(...(node.options as z.ZodType[]));
        continue;
      }
      if (part === null) {
        if (node instanceof z.ZodObject) return Object.keys(node.shape);
        continue;
      }
      if (node instanceof z.ZodObject && typeof part === "string" && part in node.shape) {
        next.push(node.shape[part] as z.ZodType);
      } else if (node instanceof z.ZodArray && typeof part === "number") {
        next.push(node.element as z.ZodType);
      } else if (node instanceof z.ZodTuple && typeof part === "number") {
        const item = (node.def.items as z.ZodType[])[part];
        if (item) next.push(item);
      }
    }
    if (part === null) return [];
    current = next;
  }
  return [];
}

/** The known key a mistyped one was probably meant as: same letters, or one or two edits away. */
function suggest(key: string, known: readonly string[]): string | undefined {
  const squash = (s: string) => s.toLowerCase().replace(/[_\-\s]/g, "");
  const exact = known.find((candidate) => squash(candidate) === squash(key));
  if (exact !== undefined) return exact;
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return bestDistance <= Math.min(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions, transpositions. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}
