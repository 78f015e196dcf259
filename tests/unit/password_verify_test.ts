/**
 * verifyPassword against hashes made by other tools (tests/fixtures/passwords/vectors.json:
 * openssl passwd, Python's crypt, htpasswd -B, the argon2 CLI, passlib, hashlib): the right
 * password matches, wrong ones do not. And hashPassword's own output.
 */

import { deepEqual, equal, match, notEqual, ok, rejects } from "node:assert/strict";
import {
  closePasswordVerifier,
  type HashFormat,
  hashPassword,
  PasswordHashError,
  PasswordVerifier,
  UNKNOWN_USER_HASH,
  verifyPassword,
} from "../../src/identity/passwords/mod.ts";
import { parseHash } from "../../src/identity/passwords/format.ts";

interface Vector {
  source: string;
  format: HashFormat;
  password: string;
  hash: string;
}

const VECTORS: Vector[] = JSON.parse(
  Deno.readTextFileSync(new URL("../fixtures/passwords/vectors.json", import.meta.url)),
);

const encoder = new TextEncoder();

/**
 * Guesses that must not match. bcrypt reads only the first 72 bytes of a password (every bcrypt
 * does, htpasswd's too), so for bcrypt the guesses differ within those.
 */
function wrongGuesses(vector: Vector): string[] {
  const { password } = vector;
  if (password === "") return ["x", " "];
  const flipped = (index: number) =>
    password.slice(0, index) + (password[index] === "z" ? "y" : "z") + password.slice(index + 1);
  const guesses = [flipped(0), flipped(Math.min(password.length, 71) - 1), ""];
  const bytes = encoder.encode(password).length;
  if (vector.format !== "bcrypt" || bytes < 72) guesses.push(password + "x", password.slice(0, -1));
  if (password !== password.toUpperCase()) guesses.push(password.toUpperCase());
  return guesses;
}

for (const format of new Set(VECTORS.map((vector) => vector.format))) {
  Deno.test(`verifyPassword() accepts the right and refuses wrong passwords: ${format}`, async () => {
    await using verifier = new PasswordVerifier({ workers: 1 });
    for (const vector of VECTORS.filter((vector) => vector.format === format)) {
      const label = `${vector.source} (${encoder.encode(vector.password).length} bytes)`;
      equal(await verifier.verify(vector.hash, vector.password), true, label);
      for (const guess of wrongGuesses(vector)) {
        equal(
          await verifier.verify(vector.hash, guess),
          false,
          `${label}: ${JSON.stringify(guess)}`,
        );
      }
    }
  });
}

Deno.test("verifyPassword() follows bcrypt's 72-byte limit the way htpasswd does", async () => {
  await using verifier = new PasswordVerifier({ workers: 1 });
  const long = VECTORS.filter((vector) =>
    vector.format === "bcrypt" && encoder.encode(vector.password).length > 72
  );
  ok(long.length >= 2, "vectors with passwords over 72 bytes");
  for (const vector of long) {
    const first72 = vector.password.slice(0, 72);
    equal(await verifier.verify(vector.hash, first72), true, vector.source);
    equal(await verifier.verify(vector.hash, first72 + "anything"), true, vector.source);
    equal(await verifier.verify(vector.hash, first72.slice(0, 71)), false, vector.source);
  }
});

Deno.test("verifyPassword() with a one-bit change of the stored checksum is false", async () => {
  await using verifier = new PasswordVerifier({ workers: 1 });
  const seen = new Set<HashFormat>();
  for (const vector of VECTORS) {
    if (seen.has(vector.format) || vector.password === "") continue;
    seen.add(vector.format);
    // Change a character well inside the checksum (the last ones can carry unused bits) to
    // another one of the same alphabet.
    const at = vector.hash.length - 10;
    const changed = vector.hash.slice(0, at) + (vector.hash[at] === "A" ? "B" : "A") +
      vector.hash.slice(at + 1);
    notEqual(changed, vector.hash);
    equal(await verifier.verify(changed, vector.password), false, vector.source);
  }
});

Deno.test("verifyPassword() rejects a malformed hash with PasswordHashError, before any work", async () => {
  await using verifier = new PasswordVerifier({ workers: 1 });
  await rejects(verifier.verify("$1$abc$5gjS0W4dW1ruOnKDVa8kl.", "pw"), PasswordHashError);
  await rejects(verifier.verify("plain text", "plain text"), PasswordHashError);
  equal(verifier.stats.workers, 0, "no worker was started for it");
});

Deno.test("verifyPassword() with an empty guess against argon2 is false", async () => {
  await using verifier = new PasswordVerifier({ workers: 1 });
  const vector = VECTORS.find((vector) => vector.format === "argon2id")!;
  equal(await verifier.verify(vector.hash, ""), false);
});

Deno.test("hashPassword() makes OWASP argon2id hashes with a fresh salt that verify", async () => {
  try {
    const first = await hashPassword("correct horse battery staple");
    const second = await hashPassword("correct horse battery staple");
    match(first, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    notEqual(first, second, "a random salt each time");
    equal(await verifyPassword(first, "correct horse battery staple"), true);
    equal(await verifyPassword(second, "correct horse battery staple"), true);
    equal(await verifyPassword(first, "correct horse battery stapl"), false);
    equal(await verifyPassword(first, "Correct horse battery staple"), false);
    const unicode = await hashPassword("pässwörd ✓ 密码");
    equal(await verifyPassword(unicode, "pässwörd ✓ 密码"), true);
    equal(await verifyPassword(unicode, "passwort ✓ 密码"), false);
  } finally {
    await closePasswordVerifier();
  }
});

Deno.test("hashPassword() takes other parameters, and a salt for reproducible output", async () => {
  await using verifier = new PasswordVerifier({ workers: 1 });
  // The argon2 reference CLI's output for "pw" with salt "somesalt" (see the argon2 tool test).
  equal(
    await verifier.hash("pw", { salt: encoder.encode("somesalt") }),
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$KiUpkNXkW0iek3f66642bafVuX6jLM4L5GStYqwn32c",
  );
  const custom = await verifier.hash("pw", {
    memoryKiB: 8192,
    iterations: 3,
    parallelism: 2,
    hashLength: 16,
  });
  const parsed = parseHash(custom);
  ok(parsed.format === "argon2id");
  deepEqual(
    [parsed.memoryKiB, parsed.iterations, parsed.parallelism, parsed.digest.length],
    [8192, 3, 2, 16],
  );
  equal(await verifier.verify(custom, "pw"), true);
  await rejects(verifier.hash(""), RangeError);
  await rejects(verifier.hash("pw", { memoryKiB: 8, parallelism: 2 }), /memoryKiB must be within/);
  await rejects(verifier.hash("pw", { salt: new Uint8Array(4) }), /salt length/);
});

Deno.test("UNKNOWN_USER_HASH is an OWASP argon2id hash that no likely guess matches", async () => {
  await using verifier = new PasswordVerifier({ workers: 1 });
  const parsed = parseHash(UNKNOWN_USER_HASH);
  ok(parsed.format === "argon2id");
  deepEqual([parsed.memoryKiB, parsed.iterations, parsed.parallelism], [19456, 2, 1]);
  for (const guess of ["", "password", "admin", "anonymous", "\0unknown user\0"]) {
    equal(await verifier.verify(UNKNOWN_USER_HASH, guess), false, guess);
  }
});
