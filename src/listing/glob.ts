/**
 * Shell-style patterns for LIST/NLST/STAT arguments (`*.txt`, `report-??.csv`, `[a-c]*`),
 * matched in O(pattern × name) time without regular expressions: a regex built from a client's
 * pattern can backtrack exponentially (`********x`) and freeze every session.
 *
 * @module
 */

type Token =
  | { kind: "star" }
  | { kind: "any" }
  | { kind: "char"; char: string }
  | { kind: "set"; negate: boolean; ranges: [string, string][] };

/** A compiled pattern. */
export interface Glob {
  /** True when the whole name matches. */
  matches(name: string): boolean;
}

/**
 * Compiles a pattern; null when it has no wildcard (then it names a file literally).
 *
 * @example
 * ```ts
 * import { compileGlob } from "./glob.ts";
 * compileGlob("*.txt")?.matches("notes.txt"); // true
 * compileGlob("plain.txt"); // null
 * ```
 */
export function compileGlob(pattern: string): Glob | null {
  if (!/[*?[]/.test(pattern)) return null;
  const tokens = tokenize(Array.from(pattern));
  return { matches: (name) => match(tokens, Array.from(name)) };
}

function tokenize(chars: string[]): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i];
    if (char === "*") {
      if (tokens.at(-1)?.kind !== "star") tokens.push({ kind: "star" }); // ** is *
    } else if (char === "?") {
      tokens.push({ kind: "any" });
    } else if (char === "[") {
      const set = parseSet(chars, i);
      if (set === null) tokens.push({ kind: "char", char });
      else {
        tokens.push(set.token);
        i = set.end;
      }
    } else {
      tokens.push({ kind: "char", char });
    }
  }
  return tokens;
}

/** `[abc]`, `[a-z]`, `[!x]`, `[^x]`, `[]x]` (a leading `]` is literal); null if unclosed. */
function parseSet(chars: string[], open: number): { token: Token; end: number } | null {
  let i = open + 1;
  const negate = chars[i] === "!" || chars[i] === "^";
  if (negate) i++;
  const ranges: [string, string][] = [];
  const first = i;
  for (; i < chars.length; i++) {
    const char = chars[i];
    if (char === "]" && i > first) return { token: { kind: "set", negate, ranges }, end: i };
    if (chars[i + 1] === "-" && i + 2 < chars.length && chars[i + 2] !== "]") {
      ranges.push([char, chars[i + 2]]);
      i += 2;
    } else {
      ranges.push([char, char]);
    }
  }
  return null;
}

function matchesOne(token: Token, char: string): boolean {
  switch (token.kind) {
    case "any":
      return true;
    case "char":
      return token.char === char;
    case "set": {
      const inside = token.ranges.some(([low, high]) => char >= low && char <= high);
      return inside !== token.negate;
    }
    default:
      return false;
  }
}

/**
 * The classic wildcard walk: on a mismatch, go back to the last `*` and let it eat one more
 * character. Each `*` only ever moves forward, so the work is bounded by tokens × characters.
 */
function match(tokens: Token[], name: string[]): boolean {
  let t = 0;
  let n = 0;
  let starToken = -1;
  let starName = 0;
  while (n < name.length) {
    if (t < tokens.length && tokens[t].kind === "star") {
      starToken = t++;
      starName = n;
    } else if (t < tokens.length && matchesOne(tokens[t], name[n])) {
      t++;
      n++;
    } else if (starToken !== -1) {
      t = starToken + 1;
      n = ++starName;
    } else {
      return false;
    }
  }
  while (t < tokens.length && tokens[t].kind === "star") t++;
  return t === tokens.length;
}
