/**
 * Reading stored password hashes: which scheme a string is, and its parameters, salt and
 * checksum. Pure and dependency-free, so that a config loader can validate every user's hash
 * at start-up (and on SIGHUP) without loading a hashing library or deriving a key.
 *
 * Supported layouts:
 *
 * | scheme | layout | made by |
 * |--------|--------|---------|
 * | argon2id, argon2i, argon2d | `$argon2id$v=19$m=KiB,t=N,p=N$salt$hash` (PHC, version 0x13 only) | the argon2 CLI, libsodium, argon2-cffi, `ftpgate hash-password` |
 * | bcrypt | `$2a$`/`$2b$`/`$2y$` + 2-digit cost + 22 salt + 31 hash characters | htpasswd -B, PHP, OpenBSD, Python's crypt |
 * | sha512-crypt, sha256-crypt | `$6$[rounds=N$]salt$hash`, `$5$…` (Drepper) | /etc/shadow, `openssl passwd -6/-5`, mkpasswd |
 * | pbkdf2-sha256, pbkdf2-sha512 | PHC `$pbkdf2-sha256$i=N[,l=LEN]$salt$hash` (RustCrypto's pbkdf2) or passlib's `$pbkdf2-sha256$N$salt$hash` | RustCrypto, passlib, Django-style tools |
 * | scrypt | `$scrypt$ln=log2(N),r=R,p=P$salt$hash` (PHC; passlib and RustCrypto's layout) | passlib, RustCrypto, Python's hashlib |
 *
 * Salts and hashes of the PHC-style layouts are B64 (standard alphabet, padding optional), and
 * passlib's `.` for `+` is accepted.
 *
 * @module
 */

import { decodeB64 } from "./encoding.ts";
import { PasswordHashError } from "./errors.ts";

/**
 * The password hash schemes ftpgate verifies.
 *
 * @example
 * ```ts
 * import { HASH_FORMATS } from "./format.ts";
 * HASH_FORMATS.includes("argon2id"); // true
 * ```
 */
export const HASH_FORMATS = [
  "argon2id",
  "argon2i",
  "argon2d",
  "bcrypt",
  "sha512-crypt",
  "sha256-crypt",
  "pbkdf2-sha256",
  "pbkdf2-sha512",
  "scrypt",
] as const;

/** One of {@linkcode HASH_FORMATS}. */
export type HashFormat = typeof HASH_FORMATS[number];

/** An argon2 PHC string, decoded. */
export interface Argon2Hash {
  format: "argon2id" | "argon2i" | "argon2d";
  /** Memory in KiB (`m`). */
  memoryKiB: number;
  /** Passes over memory (`t`). */
  iterations: number;
  /** Lanes (`p`). */
  parallelism: number;
  salt: Uint8Array;
  digest: Uint8Array;
}

/** A bcrypt hash. The string is kept whole: bcryptjs reads its salt itself. */
export interface BcryptHash {
  format: "bcrypt";
  /** log2 of the number of rounds. */
  cost: number;
  /** `$2a$NN$` + 22 salt characters: the setting to hash a guess with. */
  setting: string;
  /** The 31 characters of the hash. */
  checksum: string;
}

/** A SHA-crypt hash (`$5$`, `$6$`). */
export interface ShaCryptHash {
  format: "sha512-crypt" | "sha256-crypt";
  rounds: number;
  /** The salt as written (at most 16 characters). */
  salt: string;
  /** The 43 (`$5$`) or 86 (`$6$`) characters of the hash. */
  checksum: string;
}

/** A PBKDF2-HMAC hash, in either layout. */
export interface Pbkdf2Hash {
  format: "pbkdf2-sha256" | "pbkdf2-sha512";
  iterations: number;
  salt: Uint8Array;
  digest: Uint8Array;
}

/** An scrypt PHC string, decoded. */
export interface ScryptHash {
  format: "scrypt";
  /** log2 of the CPU/memory cost N. */
  logN: number;
  /** Block size r. */
  blockSize: number;
  /** Parallelism p. */
  parallelism: number;
  salt: Uint8Array;
  digest: Uint8Array;
}

/** A stored hash, decoded: everything needed to check a password against it. */
export type ParsedHash = Argon2Hash | BcryptHash | ShaCryptHash | Pbkdf2Hash | ScryptHash;

/**
 * The most memory a stored hash may ask for (argon2 `m`, scrypt 128·r·N): 1 GiB. More is a typo
 * or an attack on the verifier, and more than 4 GiB cannot be had by WebAssembly at all.
 */
export const MAX_MEMORY_BYTES = 1024 * 1024 * 1024;

/**
 * The scheme of a stored password hash, after checking that the whole string is well-formed and
 * its parameters are supported; derives nothing. Throws {@linkcode PasswordHashError} with a
 * message that names the problem (never the hash).
 *
 * @example
 * ```ts
 * import { detectHashFormat } from "./format.ts";
 * detectHashFormat("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$KiUpkNXkW0iek3f66642bafVuX6jLM4L5GStYqwn32c");
 * // "argon2id"
 * ```
 */
export function detectHashFormat(hash: string): HashFormat {
  return parseHash(hash).format;
}

/**
 * Decodes a stored hash into its scheme, parameters, salt and checksum. Throws
 * {@linkcode PasswordHashError} for anything that is not a supported, well-formed hash.
 *
 * @example
 * ```ts
 * import { parseHash } from "./format.ts";
 * const parsed = parseHash("$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA");
 * parsed.format; // "sha256-crypt"
 * ```
 */
export function parseHash(hash: string): ParsedHash {
  if (typeof hash !== "string" || hash === "") {
    throw new PasswordHashError("The password hash is empty");
  }
  if (/[\s\0]/.test(hash)) {
    // Most often a newline pasted along with the hash; crypt(3) would refuse it too.
    throw new PasswordHashError("The password hash contains white space or control characters");
  }
  const scheme = /^\$([a-z0-9-]+)\$/.exec(hash)?.[1];
  switch (scheme) {
    case "argon2id":
    case "argon2i":
    case "argon2d":
      return parseArgon2(scheme, hash);
    case "2a":
    case "2b":
    case "2y":
      return parseBcrypt(hash);
    case "5":
    case "6":
      return parseShaCrypt(scheme, hash);
    case "pbkdf2-sha256":
    case "pbkdf2-sha512":
      return parsePbkdf2(scheme, hash);
    case "scrypt":
      return parseScrypt(hash);
  }
  throw new PasswordHashError(unknownSchemeMessage(hash, scheme));
}

const KNOWN_UNSUPPORTED: Record<string, string> = {
  "1": "MD5-crypt, which is broken",
  "apr1": "Apache MD5, which is broken",
  "md5": "Sun MD5-crypt",
  "sha1": "NetBSD SHA1-crypt",
  "y": "yescrypt (the default of /etc/shadow on Debian 11+), which no JavaScript library verifies",
  "gy": "gost-yescrypt",
  "7": "scrypt in crypt(3) layout",
  "2": "the original bcrypt, which mishandles non-ASCII passwords",
  "2x": "crypt_blowfish's bug-compatible bcrypt",
  "pbkdf2": "passlib's PBKDF2-SHA1",
  "pbkdf2-sha1": "PBKDF2-SHA1",
  "argon2ds": "argon2ds",
};

function unknownSchemeMessage(hash: string, scheme: string | undefined): string {
  const fix = 'make a new one with "ftpgate hash-password"';
  if (scheme !== undefined) {
    const known = KNOWN_UNSUPPORTED[scheme];
    return known
      ? `Password hashes of scheme "$${scheme}$" (${known}) are not supported: ${fix}`
      : `Unknown password hash scheme "$${scheme}$": ${fix}`;
  }
  if (/^\{[A-Z0-9-]+\}/.test(hash)) {
    return `LDAP-style password hashes ("${
      hash.slice(0, hash.indexOf("}") + 1)
    }") are not supported: ${fix}`;
  }
  if (/^[./0-9A-Za-z]{13}$/.test(hash)) {
    return `Traditional DES crypt hashes are not supported (they keep 8 characters of a password): ${fix}`;
  }
  return `This does not look like a password hash (a clear-text password needs "allow_plaintext"): ${fix}`;
}

/**
 * Parses `k=v,k=v`: every name in `required`, any of `optional`, nothing else, each once, values
 * decimal.
 */
function parseParams(
  scheme: string,
  text: string,
  required: readonly string[],
  optional: readonly string[] = [],
): Map<string, number> {
  const allowed = [...required, ...optional];
  const params = new Map<string, number>();
  for (const part of text.split(",")) {
    const match = /^([a-z]+)=([0-9]{1,10})$/.exec(part);
    if (!match) {
      const name = /^([a-z]+)=/.exec(part)?.[1];
      throw new PasswordHashError(
        name !== undefined && !allowed.includes(name)
          ? `${scheme} hash: parameter "${name}" is not supported`
          : `${scheme} hash: parameter "${part.slice(0, 16)}" is not of the form name=number`,
      );
    }
    const [, name, value] = match;
    if (!allowed.includes(name)) {
      throw new PasswordHashError(`${scheme} hash: parameter "${name}" is not supported`);
    }
    if (params.has(name)) throw new PasswordHashError(`${scheme} hash: "${name}" appears twice`);
    params.set(name, Number(value));
  }
  for (const name of required) {
    if (!params.has(name)) throw new PasswordHashError(`${scheme} hash: "${name}=" is missing`);
  }
  return params;
}

function decodeField(scheme: string, field: string, what: "salt" | "hash"): Uint8Array {
  const bytes = field === "" ? null : decodeB64(field);
  if (bytes === null) throw new PasswordHashError(`${scheme} hash: the ${what} is not valid B64`);
  return bytes;
}

function checkRange(scheme: string, name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new PasswordHashError(
      `${scheme} hash: ${name} is ${value}, which is outside ${min}–${max}`,
    );
  }
}

function parseArgon2(format: Argon2Hash["format"], hash: string): Argon2Hash {
  const fields = hash.split("$"); // "", scheme, v=19, params, salt, hash
  if (fields.length === 5 && /^m=/.test(fields[2])) {
    throw new PasswordHashError(
      `${format} hash: no "v=" field, which means version 1.0 (0x10): only v=19 is supported`,
    );
  }
  if (fields.length !== 6) {
    throw new PasswordHashError(
      `${format} hash: expected "$${format}$v=19$m=…,t=…,p=…$salt$hash"`,
    );
  }
  const [, , version, paramText, saltText, digestText] = fields;
  if (version !== "v=19") {
    throw new PasswordHashError(
      `${format} hash: version "${version.slice(0, 8)}" is not supported, only v=19 (0x13)`,
    );
  }
  const params = parseParams(format, paramText, ["m", "t", "p"]);
  const parallelism = params.get("p")!;
  const memoryKiB = params.get("m")!;
  const iterations = params.get("t")!;
  checkRange(format, "p", parallelism, 1, 0xffffff);
  checkRange(format, "m", memoryKiB, 8 * parallelism, MAX_MEMORY_BYTES / 1024);
  checkRange(format, "t", iterations, 1, 0xffffffff);
  const salt = decodeField(format, saltText, "salt");
  const digest = decodeField(format, digestText, "hash");
  if (salt.length < 8) {
    throw new PasswordHashError(`${format} hash: the salt is shorter than 8 bytes`);
  }
  if (digest.length < 4) {
    throw new PasswordHashError(`${format} hash: the hash is shorter than 4 bytes`);
  }
  return { format, memoryKiB, iterations, parallelism, salt, digest };
}

function parseBcrypt(hash: string): BcryptHash {
  // $2b$ (OpenBSD), $2y$ (crypt_blowfish, htpasswd) and $2a$ compute the same for every
  // password under 256 bytes; bcrypt reads at most 72 bytes of it anyway.
  const match = /^\$2[aby]\$([0-9]{2})\$([./A-Za-z0-9]{22})([./A-Za-z0-9]{31})$/.exec(hash);
  if (!match) {
    throw new PasswordHashError(
      "bcrypt hash: expected $2b$, a 2-digit cost, $, then 53 characters of ./A-Za-z0-9",
    );
  }
  const cost = Number(match[1]);
  checkRange("bcrypt", "the cost", cost, 4, 31);
  return { format: "bcrypt", cost, setting: hash.slice(0, 29), checksum: match[3] };
}

/** Drepper's limits: the spec clamps, but no tool writes a value outside them into a hash. */
const ROUNDS_MIN = 1000;
const ROUNDS_MAX = 999_999_999;
const ROUNDS_DEFAULT = 5000;

function parseShaCrypt(id: "5" | "6", hash: string): ShaCryptHash {
  const format = id === "6" ? "sha512-crypt" : "sha256-crypt";
  const checksumLength = id === "6" ? 86 : 43;
  const match = /^\$[56]\$(?:rounds=([0-9]{1,10})\$)?([^$:]{0,64})\$([./0-9A-Za-z]*)$/.exec(hash);
  if (!match) {
    throw new PasswordHashError(`${format} hash: expected "$${id}$[rounds=N$]salt$hash"`);
  }
  const [, roundsText, salt, checksum] = match;
  const rounds = roundsText === undefined ? ROUNDS_DEFAULT : Number(roundsText);
  checkRange(format, "rounds", rounds, ROUNDS_MIN, ROUNDS_MAX);
  if (salt.length > 16) {
    // crypt(3) uses the first 16 characters and writes those: a longer salt was not written by
    // it, and no password would match.
    throw new PasswordHashError(`${format} hash: the salt is longer than 16 characters`);
  }
  if (checksum.length !== checksumLength) {
    throw new PasswordHashError(
      `${format} hash: the hash part has ${checksum.length} characters instead of ${checksumLength}`,
    );
  }
  return { format, rounds, salt, checksum };
}

const PBKDF2_DIGEST_BYTES = { "pbkdf2-sha256": 32, "pbkdf2-sha512": 64 } as const;

function parsePbkdf2(format: Pbkdf2Hash["format"], hash: string): Pbkdf2Hash {
  const fields = hash.split("$"); // "", scheme, params, salt, hash
  if (fields.length !== 5) {
    throw new PasswordHashError(
      `${format} hash: expected "$${format}$i=N[,l=LEN]$salt$hash" or passlib's "$${format}$N$salt$hash"`,
    );
  }
  const [, , paramText, saltText, digestText] = fields;
  let iterations: number;
  let length: number | undefined;
  if (/^[0-9]{1,10}$/.test(paramText)) {
    iterations = Number(paramText); // passlib
  } else {
    const params = parseParams(format, paramText, ["i"], ["l"]);
    iterations = params.get("i")!;
    length = params.get("l");
  }
  checkRange(format, "the iteration count", iterations, 1, 0xffffffff);
  const salt = decodeField(format, saltText, "salt");
  const digest = decodeField(format, digestText, "hash");
  if (length !== undefined && length !== digest.length) {
    throw new PasswordHashError(
      `${format} hash: l=${length} but the hash has ${digest.length} bytes`,
    );
  }
  // WebCrypto derives whole digests only as asked; a truncated key is still a valid PBKDF2
  // output, but shorter than 16 bytes it is too weak to accept.
  if (digest.length < 16 || digest.length > 4 * PBKDF2_DIGEST_BYTES[format]) {
    throw new PasswordHashError(
      `${format} hash: a hash of ${digest.length} bytes is not supported`,
    );
  }
  return { format, iterations, salt, digest };
}

function parseScrypt(hash: string): ScryptHash {
  const fields = hash.split("$"); // "", scrypt, params, salt, hash
  if (fields.length !== 5) {
    throw new PasswordHashError('scrypt hash: expected "$scrypt$ln=N,r=R,p=P$salt$hash"');
  }
  const [, , paramText, saltText, digestText] = fields;
  const params = parseParams("scrypt", paramText, ["ln", "r", "p"]);
  const logN = params.get("ln")!;
  const blockSize = params.get("r")!;
  const parallelism = params.get("p")!;
  checkRange("scrypt", "ln", logN, 1, 31);
  checkRange("scrypt", "r", blockSize, 1, 1024);
  checkRange("scrypt", "p", parallelism, 1, Math.floor((2 ** 30 - 1) / blockSize));
  if (128 * blockSize * 2 ** logN > MAX_MEMORY_BYTES) {
    throw new PasswordHashError(
      `scrypt hash: ln=${logN},r=${blockSize} needs more than ${MAX_MEMORY_BYTES / 2 ** 20} MiB`,
    );
  }
  const salt = decodeField("scrypt", saltText, "salt");
  const digest = decodeField("scrypt", digestText, "hash");
  if (digest.length < 16) {
    throw new PasswordHashError("scrypt hash: the hash is shorter than 16 bytes");
  }
  return { format: "scrypt", logN, blockSize, parallelism, salt, digest };
}
