import { deepEqual, equal, ok } from "node:assert/strict";
import { constantTimeEqual } from "../../src/identity/constant_time.ts";
import type { Identity } from "../../src/identity/identity.ts";
import { PERMISSIONS } from "../../src/identity/rules.ts";
import {
  type AnonymousAccess,
  StaticIdentityProvider,
  type UserConfig,
} from "../../src/identity/static.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";

const USERS: UserConfig[] = [
  { name: "alice", password: "s3cret" },
  { name: "reader", password: "look", write: false },
  { name: "writer", password: "", write: true },
];
const CONTEXT = { remoteAddress: "127.0.0.1", secure: false };

function provider(users: readonly UserConfig[], anonymous: AnonymousAccess = false) {
  return new StaticIdentityProvider({ users, anonymous, storage: new MemoryStorage() });
}

/** The permissions an identity has at the root, as a sorted list. */
function rights(identity: Identity | null): string[] {
  ok(identity !== null, "expected a login");
  return [...identity.rules.at("/x")].sort();
}

const ALL = [...PERMISSIONS].sort();

Deno.test("StaticIdentityProvider.authenticate() accepts the right password", async () => {
  const auth = provider(USERS);
  const alice = await auth.authenticate("alice", "s3cret", CONTEXT);
  equal(alice?.name, "alice");
  equal(alice?.anonymous, false);
  deepEqual(rights(alice), ALL);
  deepEqual(rights(await auth.authenticate("reader", "look", CONTEXT)), ["download", "list"]);
  deepEqual(rights(await auth.authenticate("writer", "", CONTEXT)), ALL);
});

Deno.test("StaticIdentityProvider.authenticate() refuses wrong passwords and unknown users", async () => {
  const auth = provider(USERS);
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
    equal(await auth.authenticate(name, password, CONTEXT), null, `${name}/${password}`);
  }
});

Deno.test("StaticIdentityProvider refuses anonymous names when anonymous access is off", async () => {
  const auth = provider(USERS, false);
  for (const name of ["anonymous", "ftp", "ANONYMOUS", "Ftp"]) {
    equal(auth.isAnonymous(name), false, name);
    equal(await auth.authenticate(name, "guest@example.com", CONTEXT), null, name);
  }
});

Deno.test("StaticIdentityProvider lets anonymous and ftp in, any case, any password, when on", async () => {
  const cases: [access: AnonymousAccess, rights: string[]][] = [
    ["read", ["download", "list"]],
    // Upload-only, as vsftpd's anon_upload_enable: nothing may be overwritten, deleted or renamed.
    ["write", ["download", "list", "upload"]],
  ];
  for (const [access, expected] of cases) {
    const auth = provider(USERS, access);
    for (const name of ["anonymous", "ftp", "ANONYMOUS", "Ftp"]) {
      equal(auth.isAnonymous(name), true, name);
      for (const password of ["", "guest@example.com", "s3cret"]) {
        const identity = await auth.authenticate(name, password, CONTEXT);
        equal(identity?.name, "anonymous");
        equal(identity?.anonymous, true);
        deepEqual(rights(identity), expected);
      }
    }
    for (const name of ["alice", "anon", "anonymous ", "guest", ""]) {
      equal(auth.isAnonymous(name), false, name);
    }
    // Real users still need their own password.
    equal(await auth.authenticate("alice", "guest@example.com", CONTEXT), null);
    equal((await auth.authenticate("alice", "s3cret", CONTEXT))?.name, "alice");
  }
});

Deno.test("StaticIdentityProvider lets a configured user named ftp log in as themselves", async () => {
  const auth = provider([{ name: "ftp", password: "pw", write: false }], "write");
  equal(auth.isAnonymous("ftp"), false);
  const ftp = await auth.authenticate("ftp", "pw", CONTEXT);
  equal(ftp?.anonymous, false);
  deepEqual(rights(ftp), ["download", "list"]);
  equal(await auth.authenticate("ftp", "guest@example.com", CONTEXT), null);
  // "anonymous" is still the anonymous account.
  equal((await auth.authenticate("anonymous", "x", CONTEXT))?.anonymous, true);
});

Deno.test("StaticIdentityProvider gives each user their own root and rules", async () => {
  const shared = new MemoryStorage();
  const own = new MemoryStorage();
  const auth = new StaticIdentityProvider({
    users: [
      { name: "a", password: "1" },
      {
        name: "b",
        password: "2",
        root: own,
        home: "/in",
        rules: [{ path: "/", allow: ["list"] }, { path: "/in", allow: ["upload"] }],
      },
    ],
    anonymous: { root: own, rules: [{ path: "/pub", allow: ["list", "download"] }] },
    storage: shared,
  });
  const a = await auth.authenticate("a", "1", CONTEXT);
  const b = await auth.authenticate("b", "2", CONTEXT);
  const anonymous = await auth.authenticate("anonymous", "", CONTEXT);
  equal(a?.storage, shared);
  equal(b?.storage, own);
  equal(b?.home, "/in");
  equal(b?.rules.allows("upload", "/in/x"), true);
  equal(b?.rules.allows("list", "/in"), false);
  equal(b?.rules.allows("list", "/"), true);
  equal(anonymous?.storage, own);
  equal(anonymous?.rules.allows("download", "/pub/x"), true);
  equal(anonymous?.rules.allows("list", "/"), false);
});

Deno.test("StaticIdentityProvider: write: false caps the user's rules to read-only", async () => {
  const auth = provider([{
    name: "r",
    password: "1",
    write: false,
    rules: [
      { path: "/", allow: PERMISSIONS },
      { path: "/inbox", allow: ["upload"] },
      { path: "/hidden", allow: [] },
    ],
  }]);
  const r = await auth.authenticate("r", "1", CONTEXT);
  deepEqual(rights(r), ["download", "list"]);
  deepEqual([...r!.rules.at("/inbox/x")], []);
  deepEqual([...r!.rules.at("/hidden/x")], []);
});

Deno.test("StaticIdentityProvider compares long and unusual passwords exactly", async () => {
  const long = "p".repeat(10_000);
  const unicode = "pässwörd 🔑";
  const auth = provider([
    { name: "long", password: long },
    { name: "uni", password: unicode },
  ]);
  equal((await auth.authenticate("long", long, CONTEXT))?.name, "long");
  equal(await auth.authenticate("long", long + "p", CONTEXT), null);
  equal(await auth.authenticate("long", long.slice(1), CONTEXT), null);
  equal((await auth.authenticate("uni", unicode, CONTEXT))?.name, "uni");
  equal(await auth.authenticate("uni", unicode.normalize("NFD"), CONTEXT), null);
});

Deno.test("StaticIdentityProvider keeps the last entry when a name is configured twice", async () => {
  const auth = provider([
    { name: "dup", password: "old" },
    { name: "dup", password: "new", write: false },
  ]);
  equal(await auth.authenticate("dup", "old", CONTEXT), null);
  deepEqual(rights(await auth.authenticate("dup", "new", CONTEXT)), ["download", "list"]);
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
