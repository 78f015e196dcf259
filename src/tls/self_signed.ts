/**
 * A throwaway self-signed certificate, made at start-up for tests and CI (`--tls-self-signed`):
 * an ECDSA P-256 key and an X.509 v3 certificate for `localhost`, `127.0.0.1` and `::1`, valid
 * for 30 days. The DER encoding is written here (a few dozen lines) rather than pulling in an
 * ASN.1 library; `node:crypto` makes the key and the signature.
 *
 * @module
 */

import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";

/** A generated certificate and key, PEM-encoded, with the certificate's SHA-256 fingerprint. */
export interface SelfSignedCertificate {
  /** The certificate, PEM. */
  cert: string;
  /** The private key, PKCS#8 PEM. */
  key: string;
  /** `AB:CD:...`, as `openssl x509 -fingerprint -sha256` prints it. */
  fingerprint: string;
}

const VALIDITY_MS = 30 * 24 * 3600 * 1000;

/**
 * Generates a self-signed certificate. `serialBytes` (16 random bytes by default) is for tests.
 *
 * @example
 * ```ts
 * import { generateSelfSigned } from "./self_signed.ts";
 * const { cert, key, fingerprint } = generateSelfSigned();
 * ```
 */
export function generateSelfSigned(
  commonName: string = "ftpgate",
  now: Date = new Date(),
  serialBytes: Uint8Array = randomBytes(16),
): SelfSignedCertificate {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const spki = new Uint8Array(publicKey.export({ type: "spki", format: "der" }));
  const ecdsaWithSha256 = sequence(oid([1, 2, 840, 10045, 4, 3, 2]));
  const name = sequence(set(sequence(oid([2, 5, 4, 3]), tlv(0x0c, utf8(commonName)))));
  // DER INTEGERs are minimal and signed: the top bit clear (positive) and the first byte not
  // zero (a leading 0x00 before a byte below 0x80 is "illegal padding" to OpenSSL 3, which then
  // refuses the certificate: one start in 512 failed that way before).
  const serial = new Uint8Array(serialBytes);
  serial[0] = (serial[0] & 0x7f) | 0x40;
  const subjectAltName = sequence(
    tlv(0x82, utf8("localhost")),
    tlv(0x87, new Uint8Array([127, 0, 0, 1])),
    tlv(0x87, new Uint8Array([...new Uint8Array(15), 1])),
  );
  const extensions = tlv(
    0xa3,
    sequence(
      sequence(oid([2, 5, 29, 17]), tlv(0x04, subjectAltName)),
      // basicConstraints: not a CA
      sequence(oid([2, 5, 29, 19]), tlv(0x04, sequence())),
    ),
  );
  const tbs = sequence(
    tlv(0xa0, tlv(0x02, new Uint8Array([2]))), // version v3
    tlv(0x02, new Uint8Array(serial)),
    ecdsaWithSha256,
    name,
    sequence(time(new Date(now.getTime() - 3600_000)), time(new Date(now.getTime() + VALIDITY_MS))),
    name,
    spki,
    extensions,
  );
  const signature = new Uint8Array(sign("sha256", tbs, privateKey));
  const der = sequence(tbs, ecdsaWithSha256, tlv(0x03, new Uint8Array([0, ...signature])));
  const fingerprint = createHash("sha256").update(der).digest("hex").toUpperCase()
    .match(/../g)!.join(":");
  return {
    cert: pem("CERTIFICATE", der),
    key: String(privateKey.export({ type: "pkcs8", format: "pem" })),
    fingerprint,
  };
}

function tlv(tag: number, content: Uint8Array): Uint8Array {
  const length = content.length;
  let header: number[];
  if (length < 0x80) header = [tag, length];
  else if (length < 0x100) header = [tag, 0x81, length];
  else header = [tag, 0x82, length >> 8, length & 0xff];
  const out = new Uint8Array(header.length + length);
  out.set(header);
  out.set(content, header.length);
  return out;
}

function join(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function sequence(...parts: Uint8Array[]): Uint8Array {
  return tlv(0x30, join(parts));
}

function set(...parts: Uint8Array[]): Uint8Array {
  return tlv(0x31, join(parts));
}

function oid(arcs: number[]): Uint8Array {
  const bytes = [40 * arcs[0] + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const base128 = [arc & 0x7f];
    for (let value = arc >> 7; value > 0; value >>= 7) base128.unshift((value & 0x7f) | 0x80);
    bytes.push(...base128);
  }
  return tlv(0x06, new Uint8Array(bytes));
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** UTCTime before 2050, GeneralizedTime from then on (RFC 5280 §4.1.2.5). */
function time(date: Date): Uint8Array {
  const iso = date.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";
  return date.getUTCFullYear() < 2050 ? tlv(0x17, utf8(iso.slice(2))) : tlv(0x18, utf8(iso));
}

function pem(label: string, der: Uint8Array): string {
  const base64 = btoa(String.fromCharCode(...der));
  return `-----BEGIN ${label}-----\n${
    base64.match(/.{1,64}/g)!.join("\n")
  }\n-----END ${label}-----\n`;
}
