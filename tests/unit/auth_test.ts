import { deepEqual, equal } from "node:assert/strict";
import {
  type AnonymousAccess,
  Authenticator,
  constantTimeEqual,
  type UserConfig,
} from "../../src/auth.ts";

const USERS: UserConfig[] = [
  { name: "alice", password: "s3cret" },
  { name: "reader", password: "look", write: false },
  { name: "writer", password: "", write: true },
];

Deno.test("Authenticator.verify() accepts the right password", () => {
  const auth = new Authenticator(USERS, false);
  deepEqual(auth.verify("alice", "s3cret"), { name: "alice", write: true, anonymous: false });
  deepEqual(auth.verify("reader", "look"), { name: "reader", write: false, anonymous: false });
  deepEqual(auth.verify("writer", ""), { name: "writer", write: true, anonymous: false });
});

Deno.test("Authenticator.verify() refuses wrong passwords and unknown users", () => {
  const auth = new Authenticator(USERS, false);
  const cases: [name: string, password: string][] = [
    ["alice", "wrong"],
    ["alice", ""],
    ["alice", "s3cre"], // a prefix
    ["alice", "s3cret "], // a suffix
    ["alice", "S3CRET"],
    ["Alice", "s3cret"], // names are case-sensitive
    ["alice ", "s3cret"],
    ["reader", "s3cret"], // another user's password
    ["writer", "x"],
    ["nobody", "s3cret"],
    ["nobody", ""],
    ["nobody", "\0unknown user\0"], // the dummy digest's input
    ["", ""],
  ];
  for (const [name, password] of cases) {
    equal(auth.verify(name, password), null, `${name}/${password}`);
  }
});

Deno.test("Authenticator refuses anonymous names when anonymous access is off", () => {
  const auth = new Authenticator(USERS, false);
  equal(auth.anonymous, false);
  for (const name of ["anonymous", "ftp", "ANONYMOUS", "Ftp"]) {
    equal(auth.isAnonymousName(name), false, name);
    equal(auth.verify(name, "guest@example.com"), null, name);
  }
});

Deno.test("Authenticator lets anonymous and ftp in, any case, any password, when on", () => {
  const cases: [access: AnonymousAccess, write: boolean][] = [["read", false], ["write", true]];
  for (const [access, write] of cases) {
    const auth = new Authenticator(USERS, access);
    equal(auth.anonymous, access);
    for (const name of ["anonymous", "ftp", "ANONYMOUS", "Ftp"]) {
      equal(auth.isAnonymousName(name), true, name);
      for (const password of ["", "guest@example.com", "s3cret"]) {
        deepEqual(auth.verify(name, password), { name: "anonymous", write, anonymous: true });
      }
    }
    for (const name of ["alice", "anon", "anonymous ", "guest", ""]) {
      equal(auth.isAnonymousName(name), false, name);
    }
    // Real users still need their own password.
    equal(auth.verify("alice", "guest@example.com"), null);
    deepEqual(auth.verify("alice", "s3cret"), { name: "alice", write: true, anonymous: false });
  }
});

Deno.test("Authenticator lets a configured user named ftp log in as themselves", () => {
  const auth = new Authenticator([{ name: "ftp", password: "pw", write: false }], "write");
  equal(auth.isAnonymousName("ftp"), false);
  deepEqual(auth.verify("ftp", "pw"), { name: "ftp", write: false, anonymous: false });
  equal(auth.verify("ftp", "guest@example.com"), null);
  // "anonymous" is still the anonymous account.
  deepEqual(auth.verify("anonymous", "x"), { name: "anonymous", write: true, anonymous: true });
});

Deno.test("Authenticator takes the write flag from the user, defaulting to true", () => {
  const auth = new Authenticator([
    { name: "a", password: "1" },
    { name: "b", password: "2", write: true },
    { name: "c", password: "3", write: false },
  ], false);
  equal(auth.verify("a", "1")?.write, true);
  equal(auth.verify("b", "2")?.write, true);
  equal(auth.verify("c", "3")?.write, false);
});

Deno.test("Authenticator compares long and unusual passwords exactly", () => {
  const long = "p".repeat(10_000);
  const unicode = "pässwörd 🔑";
  const auth = new Authenticator([
    { name: "long", password: long },
    { name: "uni", password: unicode },
  ], false);
  equal(auth.verify("long", long)?.name, "long");
  equal(auth.verify("long", long + "p"), null);
  equal(auth.verify("long", long.slice(1)), null);
  equal(auth.verify("uni", unicode)?.name, "uni");
  equal(auth.verify("uni", unicode.normalize("NFD")), null);
});

Deno.test("Authenticator keeps the last entry when a name is configured twice", () => {
  const auth = new Authenticator([
    { name: "dup", password: "old" },
    { name: "dup", password: "new", write: false },
  ], false);
  equal(auth.verify("dup", "old"), null);
  deepEqual(auth.verify("dup", "new"), { name: "dup", write: false, anonymous: false });
});

Deno.test("constantTimeEqual() compares bytes, including length and prefixes", () => {
  const bytes = (text: string) => new TextEncoder().encode(text);
  const cases: [string, string, boolean][] = [
    ["secret", "secret", true],
    ["secret", "secre", false],
    ["secret", "secrets", false],
    ["secret", "Secret", false],
    ["", "", true],
    ["", "x", false],
    ["x", "", false],
    ["\u00ff", "\u00ff", true],
  ];
  for (const [expected, given, result] of cases) {
    equal(constantTimeEqual(bytes(expected), bytes(given)), result, `${expected} vs ${given}`);
  }
});
