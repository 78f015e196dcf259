import { deepEqual, throws } from "node:assert/strict";
import { splitCommand } from "../../src/ops/argv.ts";

Deno.test("splitCommand() splits words like a shell would, without expanding anything", () => {
  const cases: [string, string[]][] = [
    ["/bin/echo", ["/bin/echo"]],
    ["  /bin/echo   a\tb\nc  ", ["/bin/echo", "a", "b", "c"]],
    [`scan --queue "new files" 'a b'`, ["scan", "--queue", "new files", "a b"]],
    [`a"b c"d`, ["ab cd"]],
    [`x 'it''s'`, ["x", "its"]],
    [`x "say \\"hi\\" \\\\ \\n"`, ["x", 'say "hi" \\ \\n']],
    [`x a\\ b`, ["x", "a b"]],
    [`x '' ""`, ["x", "", ""]],
    [`x $HOME * ~ $(id) \`id\` ; rm -rf / | cat > f`, [
      "x",
      "$HOME",
      "*",
      "~",
      "$(id)",
      "`id`",
      ";",
      "rm",
      "-rf",
      "/",
      "|",
      "cat",
      ">",
      "f",
    ]],
    [`x '$(id)'`, ["x", "$(id)"]],
    [`["/usr/bin/env", "a b", "$X"]`, ["/usr/bin/env", "a b", "$X"]],
  ];
  for (const [line, words] of cases) deepEqual(splitCommand(line), words, line);
});

Deno.test("splitCommand() rejects what it cannot split", () => {
  for (const line of ["", "   ", `x 'open`, `x "open`, `x \\`, `[1, 2]`, `[`, `["", "a"]`, `[]`]) {
    throws(() => splitCommand(line), TypeError, line);
  }
});
