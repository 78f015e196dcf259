import { equal, ok } from "node:assert/strict";
import { generateSelfSigned } from "../../src/tls/self_signed.ts";
import { needs, runCommand } from "../helpers/tools.ts";

/** The serial number's INTEGER: its content bytes, read from the DER of the certificate. */
function serialOf(pem: string): Uint8Array {
  const der = Uint8Array.from(
    atob(pem.replace(/-----[A-Z ]+-----|\s/g, "")),
    (char) => char.charCodeAt(0),
  );
  let at = 0;
  const header = () => {
    const tag = der[at];
    const first = der[at + 1];
    const lengthBytes = first & 0x80 ? first & 0x7f : 0;
    at += 2 + lengthBytes;
    return tag;
  };
  equal(header(), 0x30);
  equal(header(), 0x30);
  equal(der[at], 0xa0);
  at += 2 + der[at + 1];
  equal(der[at], 0x02);
  const length = der[at + 1];
  return der.slice(at + 2, at + 2 + length);
}

Deno.test("generateSelfSigned() encodes the serial as a minimal positive DER INTEGER, whatever the random bytes", () => {
  for (const first of [0x00, 0x01, 0x7f, 0x80, 0xff]) {
    const bytes = new Uint8Array(16).fill(0x05);
    bytes[0] = first;
    const serial = serialOf(generateSelfSigned("t", new Date(), bytes).cert);
    equal(serial.length, 16);
    ok(serial[0] !== 0 && serial[0] < 0x80, `first byte ${serial[0]} for ${first}`);
  }
});

Deno.test({
  name:
    "generateSelfSigned(): OpenSSL parses the certificate even when the random serial starts with 0x00",
  ignore: needs("openssl"),
  async fn() {
    const bytes = new Uint8Array(16).fill(0x01);
    bytes[0] = 0x00; // before the fix: 00 01 ..., which OpenSSL 3 refuses ("illegal padding")
    const { cert } = generateSelfSigned("t", new Date(), bytes);
    const parsed = await runCommand("openssl", ["x509", "-noout", "-serial"], { stdin: cert });
    equal(parsed.code, 0, parsed.stderr);
    ok(/^serial=/.test(parsed.stdout), parsed.stdout);
  },
});
