import { equal, ok } from "node:assert/strict";
import { FtpError, StorageError, type StorageErrorKind, toReply } from "../../src/errors.ts";
import { quotePath as quote } from "../../src/protocol/reply.ts";

Deno.test("toReply() passes an FtpError's code and message through", () => {
  const cases: [code: number, message: string][] = [
    [501, "Path contains a forbidden character."],
    [530, "Not logged in."],
    [553, "File name too long."],
    [421, "Too many connections."],
  ];
  for (const [code, message] of cases) {
    const reply = toReply(new FtpError(code, message));
    equal(reply.code, code);
    equal(reply.text, message);
    equal(reply.unexpected, false);
  }
});

Deno.test("toReply() maps every StorageErrorKind to its reply code", () => {
  const cases: [kind: StorageErrorKind, code: number, text: string][] = [
    ["not-found", 550, "No such file or directory"],
    ["exists", 550, "File exists"],
    ["not-a-directory", 550, "Not a directory"],
    ["is-a-directory", 550, "Is a directory"],
    ["not-empty", 550, "Directory not empty"],
    ["permission", 550, "Permission denied"],
    ["invalid-name", 553, "File name not allowed"],
    ["no-space", 452, "Insufficient storage space"],
    ["busy", 450, "File busy, try again later"],
    ["io", 451, "Local error in processing"],
  ];
  for (const [kind, code, text] of cases) {
    const reply = toReply(new StorageError(kind, "/pub/a.txt"));
    equal(reply.code, code, kind);
    equal(reply.text, `"/pub/a.txt": ${text}.`, kind);
    // Only an I/O failure is worth logging as unexpected.
    equal(reply.unexpected, kind === "io", kind);
  }
});

Deno.test("toReply() turns unknown errors into 451 and flags them as unexpected", () => {
  const cases: unknown[] = [
    new Error("boom"),
    new TypeError("x is undefined"),
    new RangeError("out of range"),
    new Deno.errors.NotFound("No such file or directory (os error 2): stat '/srv/ftp/pub'"),
    new Deno.errors.PermissionDenied("Permission denied (os error 13): open '/srv/ftp/x'"),
    Object.assign(new Error("ENOTEMPTY: directory not empty, rmdir '/srv/ftp/d'"), {
      code: "ENOTEMPTY",
    }),
    "a string",
    42,
    null,
    undefined,
    { code: 550, message: "looks like FtpError but is not" },
  ];
  for (const error of cases) {
    const reply = toReply(error);
    equal(reply.code, 451, String(error));
    equal(reply.text, "Local error in processing.", String(error));
    equal(reply.unexpected, true, String(error));
  }
});

Deno.test("toReply() never puts a real filesystem path or OS message in the reply", () => {
  const realPath = "/srv/ftp/home/alice/secret.txt";
  const osMessage = `No such file or directory (os error 2): open '${realPath}'`;
  const errors: unknown[] = [
    new Deno.errors.NotFound(osMessage),
    new Error(osMessage),
    new StorageError("not-found", "/secret.txt", { cause: new Deno.errors.NotFound(osMessage) }),
    new StorageError("io", "/secret.txt", { cause: new Error(osMessage) }),
    new StorageError("permission", "/secret.txt", { cause: new Error(osMessage) }),
  ];
  for (const error of errors) {
    const { text } = toReply(error);
    ok(!text.includes("/srv/ftp"), text);
    ok(!text.includes("os error"), text);
    ok(!text.includes(realPath), text);
  }
  equal(
    toReply(new StorageError("not-found", "/secret.txt", { cause: new Error(osMessage) })).text,
    '"/secret.txt": No such file or directory.',
  );
});

Deno.test("StorageError carries its kind, virtual path and cause", () => {
  const cause = new Error("os");
  const error = new StorageError("busy", "/a b", { cause });
  ok(error instanceof Error);
  equal(error.name, "StorageError");
  equal(error.kind, "busy");
  equal(error.path, "/a b");
  equal(error.cause, cause);
  equal(error.message, "busy: /a b");
});

Deno.test("FtpError carries its code", () => {
  const error = new FtpError(504, "Not implemented for that parameter.");
  ok(error instanceof Error);
  equal(error.name, "FtpError");
  equal(error.code, 504);
  equal(error.message, "Not implemented for that parameter.");
});

Deno.test("quotePath(), used by toReply(), wraps a virtual path in double quotes", () => {
  equal(quote("/"), '"/"');
  equal(quote("/a b/c"), '"/a b/c"');
});
