import { equal, ok } from "node:assert/strict";
import { Admissions } from "../../src/identity/admission.ts";
import type { Identity } from "../../src/identity/identity.ts";
import { AccessRules, PERMISSIONS } from "../../src/identity/rules.ts";
import { QuotaStorage } from "../../src/storage/quota.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { LocalStorage } from "../../src/storage/local.ts";

const SESSION = { remoteHost: "127.0.0.1", secure: false };

function admitted(admissions: Admissions, identity: Identity): Identity {
  const admission = admissions.admit(identity, SESSION);
  if (!("identity" in admission)) throw new Error(`refused: ${admission.refusal.text}`);
  return admission.identity;
}

Deno.test("Admissions.admit() gives every session of a quota user the same storage", async () => {
  const identity: Identity = {
    name: "q",
    anonymous: false,
    storage: new MemoryStorage(),
    rules: AccessRules.FULL,
    limits: { quotaBytes: 1000 },
  };
  const admissions = new Admissions(() => 0);
  const first = admitted(admissions, identity);
  ok(first.storage instanceof QuotaStorage);
  const second = admitted(admissions, identity);
  equal(second, first);
  equal(second.storage, first.storage);
  await (first.storage as QuotaStorage).usage.counted();
  // Another identity (a reload's) gets wrappers of its own.
  const reloaded = admitted(admissions, { ...identity });
  ok(reloaded.storage !== first.storage);
  await (reloaded.storage as QuotaStorage).usage.counted();
});

Deno.test("Admissions.admit() shares the real-path rules of a user with a drop box", () => {
  const root = Deno.makeTempDirSync();
  try {
    const identity: Identity = {
      name: "d",
      anonymous: false,
      storage: new LocalStorage(root),
      rules: new AccessRules([
        { path: "/", allow: PERMISSIONS },
        { path: "/inbox", allow: ["upload"] },
      ]),
    };
    const admissions = new Admissions(() => 0);
    const first = admitted(admissions, identity);
    ok(first.storage !== identity.storage);
    equal(admitted(admissions, identity).storage, first.storage);
    // A user without quota or varying rules works with the identity as it is.
    const plain = { ...identity, rules: AccessRules.FULL };
    equal(admitted(admissions, plain), plain);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
