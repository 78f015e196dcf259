/** parseJsonc(): comments and trailing commas as editors write them; hostile inputs. */
import { deepEqual, equal, ok } from "node:assert/strict";
import { parseJsonc } from "../../src/config/jsonc.ts";

function value(text: string): unknown {
  const parsed = parseJsonc(text);
  if ("issues" in parsed) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

function issues(text: string): string[] {
  const parsed = parseJsonc(text);
  return "issues" in parsed ? parsed.issues.map((issue) => `${issue.path}: ${issue.message}`) : [];
}

Deno.test("parseJsonc() keeps // and /* */ inside strings and drops real comments", () => {
  deepEqual(
    value(`{
      // line comment with "quotes" and a /* fake block
      "url": "https://example.org//path", /* block with // inside */
      "glob": "/* not a comment */",
      "escaped": "a \\" // still inside",
      "slash": "\\/\\/",
      "list": [1, 2, /* three */ 3,],
    } // end`),
    {
      url: "https://example.org//path",
      glob: "/* not a comment */",
      escaped: 'a " // still inside',
      slash: "//",
      list: [1, 2, 3],
    },
  );
});

Deno.test("parseJsonc() refuses duplicate keys and treats __proto__ as a plain key", () => {
  deepEqual(issues(`{ "a": 1, "b": { "c": 1, "c": 2 } }`), ["b.c: key given twice"]);
  const parsed = value(`{ "__proto__": { "polluted": true }, "constructor": 1 }`) as Record<
    string,
    unknown
  >;
  equal(Object.getPrototypeOf(parsed), Object.prototype);
  ok(Object.hasOwn(parsed, "__proto__"), "an own key");
  equal(({} as Record<string, unknown>).polluted, undefined);
  equal((parsed as { polluted?: boolean }).polluted, undefined);
});

Deno.test("parseJsonc() reports syntax errors by line and column", () => {
  deepEqual(issues(`{\n  "a": 1\n  "b": 2\n}`), ["(file): line 3, column 3: a comma was expected"]);
  deepEqual(issues(`{ "a": tru }`), [
    "(file): line 1, column 8: invalid symbol",
    "(file): line 1, column 12: a value was expected",
  ]);
  deepEqual(issues(`{ "a": 1 } 2`), ["(file): line 1, column 12: end of file was expected"]);
  deepEqual(issues(`{ "a": "\\q" }`), ["(file): line 1, column 8: invalid escape character"]);
  ok(issues("{ /* open").includes("(file): line 1, column 3: unterminated comment"));
});

Deno.test("lineOf() finds the line of a value, or of the nearest ancestor", () => {
  const parsed = parseJsonc(
    `{\n  "users": [\n    {\n      "name": "a",\n      "root": "x"\n    }\n  ]\n}`,
  );
  ok("lineOf" in parsed);
  equal(parsed.lineOf(["users", 0, "root"]), 5);
  equal(parsed.lineOf(["users", 0]), 3);
  equal(parsed.lineOf(["users", 0, "missing"]), 3);
  equal(parsed.lineOf([]), 1);
});
