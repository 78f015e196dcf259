/**
 * The CPU-bound part: derive a key from a password and compare it with a stored hash, or make a
 * new argon2id hash. Runs inside the verifier's worker (or inline when the pool has no workers).
 * Each hashing library is imported when its scheme is first used, so that a server whose users
 * all have argon2id hashes never loads bcryptjs or node:crypto, and one without hashed users
 * loads nothing.
 *
 * Libraries: hash-wasm (argon2, scrypt: WebAssembly, the fastest portable implementations, one
 * maintained package), bcryptjs (bcrypt: the reference JavaScript port; unlike hash-wasm's
 * bcrypt it takes empty passwords and truncates at 72 bytes the way OpenBSD and htpasswd do),
 * WebCrypto (PBKDF2: native code, no package), and our own SHA-crypt on node:crypto (see
 * sha_crypt.ts for why).
 *
 * @module
 */

import { constantTimeEqual, encodeB64 } from "./encoding.ts";
import type { Argon2Hash, ParsedHash, Pbkdf2Hash, ScryptHash } from "./format.ts";

const encoder = new TextEncoder();

/**
 * True when `password` matches the stored hash. The derived key (or checksum) is compared in
 * constant time.
 *
 * @example
 * ```ts
 * import { parseHash } from "./format.ts";
 * import { verifyParsed } from "./compute.ts";
 * const hash = "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA";
 * await verifyParsed(parseHash(hash), "Hello world!"); // true
 * ```
 */
export async function verifyParsed(parsed: ParsedHash, password: string): Promise<boolean> {
  const bytes = encoder.encode(password);
  switch (parsed.format) {
    case "argon2id":
    case "argon2i":
    case "argon2d":
      // hash-wasm refuses empty passwords (argon2 allows them; the reference CLI does not): no
      // argon2 hash made with the usual tools has one, and hashPassword refuses them.
      if (bytes.length === 0) return false;
      return constantTimeEqual(await argon2(parsed, bytes, parsed.digest.length), parsed.digest);
    case "bcrypt": {
      const bcrypt = (await import("npm:bcryptjs@3.0.3")).default;
      // hashSync, not compare: this thread has nothing else to do, and the async form yields
      // between chunks of rounds, which only makes it slower. bcryptjs uses the first 72 bytes.
      const computed = bcrypt.hashSync(password, parsed.setting).slice(29);
      return constantTimeEqual(encoder.encode(computed), encoder.encode(parsed.checksum));
    }
    case "sha256-crypt":
    case "sha512-crypt": {
      const { shaCryptChecksum } = await import("./sha_crypt.ts");
      const computed = shaCryptChecksum(parsed.format, bytes, parsed.salt, parsed.rounds);
      return constantTimeEqual(encoder.encode(computed), encoder.encode(parsed.checksum));
    }
    case "pbkdf2-sha256":
    case "pbkdf2-sha512":
      return constantTimeEqual(await pbkdf2(parsed, bytes), parsed.digest);
    case "scrypt":
      return constantTimeEqual(await scrypt(parsed, bytes), parsed.digest);
  }
}

/** Parameters of a new argon2id hash. */
export interface Argon2idParams {
  memoryKiB: number;
  iterations: number;
  parallelism: number;
  /** Bytes of derived key. */
  hashLength: number;
  salt: Uint8Array;
}

/**
 * A PHC argon2id string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) for this password.
 *
 * @example
 * ```ts
 * import { hashArgon2id } from "./compute.ts";
 * const salt = new TextEncoder().encode("somesalt");
 * await hashArgon2id("pw", { memoryKiB: 19456, iterations: 2, parallelism: 1, hashLength: 32, salt });
 * // "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$KiUpkNXkW0iek3f66642bafVuX6jLM4L5GStYqwn32c"
 * ```
 */
export async function hashArgon2id(password: string, params: Argon2idParams): Promise<string> {
  const { memoryKiB, iterations, parallelism, salt } = params;
  if (password === "") throw new RangeError("Cannot hash an empty password");
  const digest = await argon2(
    { format: "argon2id", memoryKiB, iterations, parallelism, salt, digest: new Uint8Array() },
    encoder.encode(password),
    params.hashLength,
  );
  return `$argon2id$v=19$m=${memoryKiB},t=${iterations},p=${parallelism}$${encodeB64(salt)}$${
    encodeB64(digest)
  }`;
}

async function argon2(
  parsed: Argon2Hash,
  password: Uint8Array,
  hashLength: number,
): Promise<Uint8Array> {
  const hashWasm = await import("npm:hash-wasm@4.13.0");
  const derive =
    { argon2id: hashWasm.argon2id, argon2i: hashWasm.argon2i, argon2d: hashWasm.argon2d }[
      parsed.format
    ];
  return await derive({
    password,
    salt: parsed.salt,
    iterations: parsed.iterations,
    parallelism: parsed.parallelism,
    memorySize: parsed.memoryKiB,
    hashLength,
    outputType: "binary",
  });
}

async function scrypt(parsed: ScryptHash, password: Uint8Array): Promise<Uint8Array> {
  const { scrypt } = await import("npm:hash-wasm@4.13.0");
  return await scrypt({
    password,
    salt: parsed.salt,
    costFactor: 2 ** parsed.logN,
    blockSize: parsed.blockSize,
    parallelism: parsed.parallelism,
    hashLength: parsed.digest.length,
    outputType: "binary",
  });
}

async function pbkdf2(parsed: Pbkdf2Hash, password: Uint8Array): Promise<Uint8Array> {
  // Copies: WebCrypto takes only views of a plain ArrayBuffer.
  const key = await crypto.subtle.importKey("raw", new Uint8Array(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    {
      name: "PBKDF2",
      hash: parsed.format === "pbkdf2-sha512" ? "SHA-512" : "SHA-256",
      salt: new Uint8Array(parsed.salt),
      iterations: parsed.iterations,
    },
    key,
    parsed.digest.length * 8,
  );
  return new Uint8Array(bits);
}
