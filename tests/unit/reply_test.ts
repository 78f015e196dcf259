import { deepEqual, equal, ok } from "node:assert/strict";
import { encodeReply, formatReply, quotePath, singleLine } from "../../src/protocol/reply.ts";

Deno.test("formatReply() formats a one-line reply", () => {
  equal(formatReply(200, "Command okay."), "200 Command okay.\r\n");
  equal(formatReply(226, ["Transfer complete."]), "226 Transfer complete.\r\n");
  equal(formatReply(200, ""), "200 \r\n");
  equal(formatReply(200, []), "200 \r\n");
});

Deno.test("formatReply() formats a multi-line reply from a string or an array", () => {
  const expected = "211-Features:\r\n MDTM\r\n SIZE\r\n211 End\r\n";
  equal(formatReply(211, "Features:\n MDTM\n SIZE\nEnd"), expected);
  equal(formatReply(211, ["Features:", " MDTM", " SIZE", "End"]), expected);
  equal(formatReply(214, ["first", "last"]), "214-first\r\n214 last\r\n");
});

Deno.test("formatReply() indents middle lines that start with a digit", () => {
  // Without the space, "213 bytes" would end the reply early for a client.
  equal(
    formatReply(213, ["Status:", "213 bytes", "9 files", "x 1", "End"]),
    "213-Status:\r\n 213 bytes\r\n 9 files\r\nx 1\r\n213 End\r\n",
  );
  // The first and last lines carry the code and are never indented.
  equal(formatReply(211, ["1 first", "2 last"]), "211-1 first\r\n211 2 last\r\n");
});

Deno.test("formatReply() keeps CR and LF inside a line from ending the reply", () => {
  const reply = formatReply(550, ['"/a\r550 forged" not found.']);
  equal(reply, '550 "/a\x00550 forged" not found.\r\n');
  const lines = formatReply(211, ["a", "b\rc", "end"]);
  equal(lines, "211-a\r\nb\x00c\r\n211 end\r\n");
  // An array element is one line, whatever it contains.
  equal(formatReply(257, ['"/x\ny"']), '257 "/x\x00y"\r\n');
});

Deno.test("formatReply() produces CRLF line ends and the code on the first and last line", () => {
  const reply = formatReply(250, ["start", "250 fake end", "250-fake", "end"]);
  const lines = reply.split("\r\n");
  equal(lines.pop(), "");
  ok(lines.every((line) => !line.includes("\n") && !line.includes("\r")));
  ok(lines[0].startsWith("250-"));
  ok(lines[lines.length - 1].startsWith("250 "));
  ok(lines.slice(1, -1).every((line) => !/^\d{3}[ -]/.test(line)));
});

Deno.test("encodeReply() encodes the formatted reply as UTF-8", () => {
  deepEqual(encodeReply(257, '"/é"'), new TextEncoder().encode('257 "/é"\r\n'));
  deepEqual(encodeReply(211, ["a", "b"]), new TextEncoder().encode("211-a\r\n211 b\r\n"));
});

Deno.test("quotePath() wraps a path in quotes and doubles inner quotes (RFC 959 appendix II)", () => {
  const cases: [string, string][] = [
    ["/", '"/"'],
    ["/pub/a b", '"/pub/a b"'],
    ['/a"b', '"/a""b"'],
    ['/"', '"/"""'],
    ['/""x""', '"/""""x"""""'],
    ["/a\nb", '"/a\x00b"'],
    ["/a\r\nb", '"/a\x00\x00b"'],
  ];
  for (const [path, expected] of cases) equal(quotePath(path), expected, JSON.stringify(path));
});

Deno.test("singleLine() maps CR and LF to NUL and leaves other text alone", () => {
  equal(singleLine("plain"), "plain");
  equal(singleLine("a\nb"), "a\x00b");
  equal(singleLine("a\rb"), "a\x00b");
  equal(singleLine("\r\n\r\n"), "\x00\x00\x00\x00");
  equal(singleLine("tab\there"), "tab\there");
  equal(singleLine(""), "");
});
