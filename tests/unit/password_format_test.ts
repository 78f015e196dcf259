/**
 * Reading stored password hashes without deriving anything: every scheme and layout of the
 * committed vectors is recognised, and malformed, unknown and unsupported hashes fail with a
 * PasswordHashError whose message says what is wrong and never repeats the hash.
 */

import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import {
  detectHashFormat,
  HASH_FORMATS,
  type HashFormat,
  PasswordHashError,
} from "../../src/identity/passwords/mod.ts";
import { parseHash } from "../../src/identity/passwords/format.ts";
import { constantTimeEqual, decodeB64, encodeB64 } from "../../src/identity/passwords/encoding.ts";

interface Vector {
  source: string;
  format: HashFormat;
  password: string;
  hash: string;
}

const VECTORS: Vector[] = JSON.parse(
  Deno.readTextFileSync(new URL("../fixtures/passwords/vectors.json", import.meta.url)),
);

Deno.test("detectHashFormat() names the scheme of every committed vector", () => {
  const seen = new Set<HashFormat>();
  for (const vector of VECTORS) {
    equal(detectHashFormat(vector.hash), vector.format, `${vector.source}: ${vector.hash}`);
    seen.add(vector.format);
  }
  deepEqual([...seen].sort(), [...HASH_FORMATS].sort(), "the vectors cover every scheme");
});

Deno.test("parseHash() reads parameters, salts and checksums", () => {
  const argon = parseHash(
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$KiUpkNXkW0iek3f66642bafVuX6jLM4L5GStYqwn32c",
  );
  ok(argon.format === "argon2id");
  deepEqual([argon.memoryKiB, argon.iterations, argon.parallelism], [19456, 2, 1]);
  equal(new TextDecoder().decode(argon.salt), "somesalt");
  equal(argon.digest.length, 32);

  const sha = parseHash(
    "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA",
  );
  deepEqual(sha, {
    format: "sha256-crypt",
    rounds: 10000,
    salt: "saltstringsaltst",
    checksum: "3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA",
  });
  const implicit = parseHash(
    "$6$abc$mJP3a6FyA8uCnzRtlnNypPwjnvpi5TP9qOrInzrfDmwxUQG38PkpCPdqfTb8JQfAngapMxeim4AZ..hSdRRzD.",
  );
  ok(implicit.format === "sha512-crypt" && implicit.rounds === 5000 && implicit.salt === "abc");

  const bcrypt = parseHash("$2y$04$yA15XV5tX5onOwmRyTntJezbHft7YQhbvBFNTdTH5al3/6GZVxdjK");
  deepEqual(bcrypt, {
    format: "bcrypt",
    cost: 4,
    setting: "$2y$04$yA15XV5tX5onOwmRyTntJe",
    checksum: "zbHft7YQhbvBFNTdTH5al3/6GZVxdjK",
  });

  // passlib's layout (bare rounds, "." for "+") and the PHC one (i=, l=) decode alike.
  const passlib = parseHash(
    "$pbkdf2-sha256$29000$.J8TAkDIWQvB2Nvb27uX0g$J4MuMfbLp2Hh1.tN78qkb6H/YQX2yExHlKFZQyw1lA4",
  );
  ok(passlib.format === "pbkdf2-sha256" && passlib.iterations === 29000);
  equal(passlib.salt.length, 16);
  equal(passlib.digest.length, 32);
  const phc = parseHash(
    "$pbkdf2-sha512$i=1000,l=16$c29tZXNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
  );
  ok(phc.format === "pbkdf2-sha512" && phc.iterations === 1000 && phc.digest.length === 16);

  const scrypt = parseHash(
    "$scrypt$ln=16,r=8,p=1$xZgzptS6l/K+F8I4BwAAoA$mgkwkKMra96Dxj81IwK0ZebxUUuwNiG2KP3pB5f1Guc",
  );
  ok(scrypt.format === "scrypt");
  deepEqual([scrypt.logN, scrypt.blockSize, scrypt.parallelism], [16, 8, 1]);
});

const GOOD_ARGON =
  "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$KiUpkNXkW0iek3f66642bafVuX6jLM4L5GStYqwn32c";
const GOOD_SHA =
  "$6$abc$mJP3a6FyA8uCnzRtlnNypPwjnvpi5TP9qOrInzrfDmwxUQG38PkpCPdqfTb8JQfAngapMxeim4AZ..hSdRRzD.";

/** Each bad hash and the message it must produce. */
const BAD: [hash: string, message: RegExp][] = [
  ["", /empty/],
  ["s3cret", /does not look like a password hash.*allow_plaintext/],
  ["$1$abc$5gjS0W4dW1ruOnKDVa8kl.", /"\$1\$" \(MD5-crypt, which is broken\) are not supported/],
  ["$apr1$abc$5gjS0W4dW1ruOnKDVa8kl.", /Apache MD5/],
  ["$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7", /yescrypt/],
  ["$2x$05$abcdefghijklmnopqrstuuHIrMEWpUCQe2YqFR3sXwQ75u4od..9q", /bug-compatible/],
  ["{SSHA}abcdefgh", /LDAP-style password hashes \("\{SSHA\}"\)/],
  ["abJnggxhB/yWI", /Traditional DES/],
  ["$foo$bar", /Unknown password hash scheme "\$foo\$"/],
  [GOOD_ARGON + "\n", /white space/],
  [" " + GOOD_ARGON, /white space/],
  // argon2
  [
    "$argon2id$m=4096,t=3,p=1$c29tZXNhbHQ$B56zxyjDMAR/22l7Jc2LvvFAhYgkuOYn46foyzB19kU",
    /version 1\.0/,
  ],
  [GOOD_ARGON.replace("v=19", "v=16"), /version "v=16" is not supported/],
  [GOOD_ARGON.replace("m=19456,t=2,p=1", "m=19456,t=2"), /"p=" is missing/],
  [GOOD_ARGON.replace("p=1", "p=1,keyid=abc"), /parameter "keyid" is not supported/],
  [GOOD_ARGON.replace("t=2", "t=0"), /t is 0, which is outside 1–/],
  [GOOD_ARGON.replace("m=19456", "m=4"), /m is 4, which is outside 8–/],
  [GOOD_ARGON.replace("m=19456", "m=2097152"), /m is 2097152, which is outside/],
  [GOOD_ARGON.replace("m=19456,", "m=19456,m=1,"), /"m" appears twice/],
  [GOOD_ARGON.replace("c29tZXNhbHQ", "c29t"), /salt is shorter than 8 bytes/],
  [GOOD_ARGON.replace("c29tZXNhbHQ", "c29t!XNhbHQ"), /salt is not valid B64/],
  [GOOD_ARGON.replace("c29tZXNhbHQ", "c29tZXNhbHQx2"), /salt is not valid B64/],
  [GOOD_ARGON.slice(0, GOOD_ARGON.lastIndexOf("$")), /expected/],
  // bcrypt
  ["$2b$04$yA15XV5tX5onOwmRyTntJezbHft7YQhbvBFNTdTH5al3/6GZVxdj", /53 characters/],
  ["$2b$4$yA15XV5tX5onOwmRyTntJezbHft7YQhbvBFNTdTH5al3/6GZVxdjKa", /2-digit cost/],
  [
    "$2b$03$yA15XV5tX5onOwmRyTntJezbHft7YQhbvBFNTdTH5al3/6GZVxdjK",
    /cost is 3, which is outside 4–31/,
  ],
  ["$2b$32$yA15XV5tX5onOwmRyTntJezbHft7YQhbvBFNTdTH5al3/6GZVxdjK", /cost is 32/],
  // sha-crypt
  [GOOD_SHA.slice(0, -1), /85 characters instead of 86/],
  [GOOD_SHA.replace("$6$", "$6$rounds=999$"), /rounds is 999, which is outside 1000–999999999/],
  [GOOD_SHA.replace("$6$", "$6$rounds=1000000000$"), /rounds is 1000000000/],
  [GOOD_SHA.replace("abc", "abcdefghijklmnopq"), /salt is longer than 16 characters/],
  ["$5$abc", /expected "\$5\$\[rounds=N\$\]salt\$hash"/],
  [GOOD_SHA.replace("mJP3", "mJP!"), /expected/],
  // pbkdf2
  ["$pbkdf2-sha256$i=1000$c29tZXNhbHQ", /expected/],
  [
    "$pbkdf2-sha256$rounds=1000$c29tZXNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
    /parameter "rounds" is not supported/,
  ],
  ["$pbkdf2-sha256$i=0$c29tZXNhbHQ$AAAAAAAAAAAAAAAAAAAAAA", /iteration count is 0/],
  [
    "$pbkdf2-sha256$i=1000,l=32$c29tZXNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
    /l=32 but the hash has 16 bytes/,
  ],
  ["$pbkdf2-sha256$1000$c29tZXNhbHQ$AAAA", /a hash of 3 bytes is not supported/],
  ["$pbkdf2-sha256$1000$$AAAAAAAAAAAAAAAAAAAAAA", /salt is not valid B64/],
  ["$pbkdf2$1000$c29tZXNhbHQ$AAAAAAAAAAAAAAAAAAAAAA", /passlib's PBKDF2-SHA1/],
  // scrypt
  ["$scrypt$ln=14,r=8$c29tZXNhbHQ$AAAAAAAAAAAAAAAAAAAAAA", /"p=" is missing/],
  ["$scrypt$ln=0,r=8,p=1$c29tZXNhbHQ$AAAAAAAAAAAAAAAAAAAAAA", /ln is 0/],
  ["$scrypt$ln=24,r=8,p=1$c29tZXNhbHQ$AAAAAAAAAAAAAAAAAAAAAA", /needs more than 1024 MiB/],
  ["$scrypt$ln=14,r=8,p=1$c29tZXNhbHQ$AAAA", /shorter than 16 bytes/],
  ["$scrypt$ln=14,r=8,p=1,x$c29tZXNhbHQ$AAAAAAAAAAAAAAAAAAAAAA", /not of the form name=number/],
];

Deno.test("detectHashFormat() refuses malformed and unsupported hashes with a clear message", () => {
  for (const [hash, message] of BAD) {
    throws(() => detectHashFormat(hash), (error: unknown) => {
      ok(error instanceof PasswordHashError, `${hash}: ${error}`);
      match(error.message, message, hash);
      // The hash is a secret: its salt and checksum must not reach a log line.
      const secretPart = hash.split("$").slice(-1)[0];
      if (secretPart.length >= 8) ok(!error.message.includes(secretPart), error.message);
      return true;
    });
  }
});

Deno.test("decodeB64() reads PHC B64, padded B64 and passlib's ab64, and refuses the rest", () => {
  const bytes = new Uint8Array([0xfb, 0xff, 0xbf, 0x00, 0x10]);
  equal(encodeB64(bytes), "+/+/ABA");
  deepEqual(decodeB64("+/+/ABA"), bytes);
  deepEqual(decodeB64("+/+/ABA="), bytes);
  deepEqual(decodeB64("././ABA"), bytes);
  for (const length of [0, 1, 2, 3, 4, 15, 16, 17, 32, 64]) {
    const random = crypto.getRandomValues(new Uint8Array(length));
    deepEqual(decodeB64(encodeB64(random)), random, `length ${length}`);
    deepEqual(encodeB64(random), btoa(String.fromCharCode(...random)).replace(/=+$/, ""));
  }
  equal(decodeB64("A"), null);
  equal(decodeB64("AB$C"), null);
  equal(decodeB64("ABé"), null);
});

Deno.test("constantTimeEqual() compares whole byte strings", () => {
  const a = new Uint8Array([1, 2, 3, 4]);
  ok(constantTimeEqual(a, new Uint8Array([1, 2, 3, 4])));
  ok(!constantTimeEqual(a, new Uint8Array([1, 2, 3, 5])));
  ok(!constantTimeEqual(a, new Uint8Array([0, 2, 3, 4])));
  ok(!constantTimeEqual(a, new Uint8Array([1, 2, 3])));
  ok(!constantTimeEqual(a, new Uint8Array([1, 2, 3, 4, 0])));
  ok(constantTimeEqual(new Uint8Array(), new Uint8Array()));
});
