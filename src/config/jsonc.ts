/**
 * JSON with comments (JSONC), as editors write it: `//` and `/* *\/` comments and trailing
 * commas. Parsed with Microsoft's `jsonc-parser` — the scanner VS Code itself uses for
 * `settings.json` and `.jsonc` files — so that what the operator's editor accepts (and
 * completes from `$schema`) is exactly what ftpgate accepts: a `//` inside a string stays text,
 * and a syntax error comes with its offset. A hand-written comment stripper is easy to get
 * subtly wrong (escaped quotes, `/*` in a URL), and this one is maintained and small.
 *
 * On top of the parser: duplicate keys are errors (which of the two applies is not obvious to
 * a reader), and objects are built with own properties only, so that a `"__proto__"` key is a
 * key like any other (then refused as unknown) rather than a prototype.
 *
 * @module
 */

import { type Node, type ParseError, parseTree } from "npm:jsonc-parser@3.3.1";
import type { ConfigIssue } from "./errors.ts";
import { formatPath } from "./errors.ts";

/** A parsed document: its value and a way back from a JSON path to its line. */
export interface JsoncDocument {
  value: unknown;
  /** 1-based line of the value at `path`, or of the nearest ancestor present. */
  lineOf(path: readonly PropertyKey[]): number | undefined;
}

/** Readable texts for jsonc-parser's error codes (its `printParseErrorCode` gives enum names). */
const SYNTAX: Record<number, string> = {
  1: "invalid symbol",
  2: "invalid number format",
  3: "a property name was expected",
  4: "a value was expected",
  5: "a colon was expected",
  6: "a comma was expected",
  7: "a closing brace was expected",
  8: "a closing bracket was expected",
  9: "end of file was expected",
  10: "invalid comment",
  11: "unterminated comment",
  12: "unterminated string",
  13: "unexpected end of number",
  14: "invalid unicode escape",
  15: "invalid escape character",
  16: "invalid character",
};

/**
 * Parses JSONC text. Returns the document, or the syntax problems (with lines and columns) and
 * duplicate keys found.
 *
 * @example
 * ```ts
 * import { parseJsonc } from "./jsonc.ts";
 * const parsed = parseJsonc('{ "url": "http://x//y", // a comment\n "a": [1, 2,], }');
 * if ("value" in parsed) parsed.value; // { url: "http://x//y", a: [1, 2] }
 * ```
 */
export function parseJsonc(text: string): JsoncDocument | { issues: ConfigIssue[] } {
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, {
    allowTrailingComma: true,
    disallowComments: false,
    allowEmptyContent: false,
  });
  const lines = lineStarts(text);
  const lineAt = (offset: number) => lineIndex(lines, offset) + 1;
  if (errors.length > 0 || tree === undefined) {
    const issues = errors.map((error): ConfigIssue => {
      const line = lineAt(error.offset);
      const column = error.offset - lines[line - 1] + 1;
      return {
        path: "(file)",
        message: `line ${line}, column ${column}: ${SYNTAX[error.error] ?? "syntax error"}`,
        line,
      };
    });
    if (issues.length === 0) issues.push({ path: "(file)", message: "the file is empty" });
    return { issues };
  }
  const duplicates: ConfigIssue[] = [];
  const value = build(tree, [], duplicates, lineAt);
  if (duplicates.length > 0) return { issues: duplicates };
  return {
    value,
    lineOf(path) {
      let node: Node | undefined = tree;
      for (const part of path) {
        const next = child(node, part);
        if (next === undefined) break;
        node = next;
      }
      return node === undefined ? undefined : lineAt(node.offset);
    },
  };
}

function child(node: Node, part: PropertyKey): Node | undefined {
  if (node.type === "array" && typeof part === "number") return node.children?.[part];
  if (node.type !== "object") return undefined;
  // The last of duplicate keys would win; duplicates are refused anyway.
  const property = node.children?.findLast((p) => p.children?.[0]?.value === String(part));
  return property?.children?.[1];
}

function build(
  node: Node,
  path: PropertyKey[],
  duplicates: ConfigIssue[],
  lineAt: (offset: number) => number,
): unknown {
  switch (node.type) {
    case "object": {
      const out: Record<string, unknown> = {};
      for (const property of node.children ?? []) {
        const [key, value] = property.children ?? [];
        if (key === undefined || value === undefined) continue;
        const name = String(key.value);
        if (Object.hasOwn(out, name)) {
          duplicates.push({
            path: formatPath([...path, name]),
            message: "key given twice",
            line: lineAt(key.offset),
          });
        }
        Object.defineProperty(out, name, {
          value: build(value, [...path, name], duplicates, lineAt),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    case "array":
      return (node.children ?? []).map((item, i) => build(item, [...path, i], duplicates, lineAt));
    default:
      return node.value;
  }
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) === 10) starts.push(i + 1);
  }
  return starts;
}

function lineIndex(starts: readonly number[], offset: number): number {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (starts[mid] <= offset) low = mid;
    else high = mid - 1;
  }
  return low;
}
