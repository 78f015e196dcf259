/**
 * Splits a command line into program and arguments without a shell: no variables, no globs, no
 * pipes, no redirections, so nothing a client names (a file called `$(rm -rf ~)`) can reach a
 * shell. The upload's facts reach the program as environment variables, never as text spliced
 * into the command.
 *
 * Rules (a subset of POSIX shell quoting):
 * - words are separated by spaces, tabs or line feeds;
 * - `'...'` is literal, up to the next `'`;
 * - `"..."` is literal except `\"` and `\\`;
 * - outside quotes, `\` makes the next character literal;
 * - quoted and unquoted parts next to each other form one word (`a"b c"` is `ab c`);
 * - `''` is an empty word.
 *
 * A value that starts with `[` is read as a JSON array of strings instead.
 *
 * @module
 */

/**
 * The words of a command line; throws `TypeError` for unbalanced quotes, a trailing `\`, an
 * empty command or a bad JSON array.
 *
 * @example
 * ```ts
 * import { splitCommand } from "./argv.ts";
 * splitCommand(`/usr/local/bin/scan --queue "new files" 'a b'`);
 * // ["/usr/local/bin/scan", "--queue", "new files", "a b"]
 * splitCommand(`["/usr/bin/env", "a b"]`); // ["/usr/bin/env", "a b"]
 * ```
 */
export function splitCommand(line: string): string[] {
  const trimmed = line.trim();
  const words = trimmed.startsWith("[") ? jsonWords(trimmed) : shellWords(trimmed);
  if (words.length === 0 || words[0] === "") throw new TypeError("empty command");
  return words;
}

function jsonWords(text: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new TypeError("command: not a valid JSON array");
  }
  if (!Array.isArray(parsed) || !parsed.every((word) => typeof word === "string")) {
    throw new TypeError("command: the JSON array must hold strings only");
  }
  return parsed;
}

function shellWords(text: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === " " || c === "\t" || c === "\n") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new TypeError("command: unbalanced single quote");
      word += text.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      inWord = true;
      for (i++;; i++) {
        if (i >= text.length) throw new TypeError("command: unbalanced double quote");
        const d = text[i];
        if (d === '"') break;
        if (d === "\\" && (text[i + 1] === '"' || text[i + 1] === "\\")) {
          word += text[++i];
        } else word += d;
      }
    } else if (c === "\\") {
      if (i + 1 >= text.length) throw new TypeError("command: trailing backslash");
      word += text[++i];
      inWord = true;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}
