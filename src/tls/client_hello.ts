/**
 * What a client's ClientHello offers for session resumption, read from the first bytes of the
 * connection (a ClientHello is sent in clear text in TLS 1.2 and 1.3 alike).
 *
 * Why: Deno's `node:tls` server resumes TLS 1.2 sessions only with session tickets (RFC 5077);
 * it keeps no session-ID cache and offers no hook to add one (`sessionIdContext`, `ticketKeys`
 * and the `newSession`/`resumeSession` events are ignored; measured on Deno 2.9.6). A client
 * that resumes by session ID alone — curl with OpenSSL sets `SSL_OP_NO_TICKET` — is then always
 * given a full handshake, and a server requiring session reuse must refuse its data connection.
 * Telling the two cases apart in the log saves an operator the packet capture.
 *
 * @module
 */

/** The resumption offer of one ClientHello. */
export interface ClientHelloInfo {
  /** The client sent the session_ticket extension: it accepts (or presents) a ticket. */
  ticketExtension: boolean;
  /** That extension carried a ticket: the client tried to resume with it. */
  ticketOffered: boolean;
  /**
   * Length of the legacy session id. Not proof of a resumption attempt: OpenSSL sends 32 random
   * bytes on a first connection too (TLS 1.3 middlebox compatibility, RFC 8446 §D.4).
   */
  sessionIdLength: number;
  /** The pre_shared_key extension (TLS 1.3 resumption). */
  pskOffered: boolean;
}

const HANDSHAKE_RECORD = 0x16;
const CLIENT_HELLO = 0x01;
const EXTENSION_SESSION_TICKET = 35;
const EXTENSION_PRE_SHARED_KEY = 41;

/**
 * Reads the ClientHello at the start of `bytes` (TLS records as received). Returns null when the
 * bytes are no ClientHello, or when it does not fit in what was given (it spans more reads than
 * were kept, or is malformed).
 *
 * @example
 * ```ts
 * import { parseClientHello } from "./client_hello.ts";
 * console.log(parseClientHello(new Uint8Array([0x16, 3, 1, 0, 0]))); // null: too short
 * ```
 */
export function parseClientHello(bytes: Uint8Array): ClientHelloInfo | null {
  if (bytes.length < 9 || bytes[0] !== HANDSHAKE_RECORD || bytes[5] !== CLIENT_HELLO) return null;
  // The handshake message may span records; joining their bodies keeps this simple.
  const body = recordBodies(bytes);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const has = (end: number) => end <= body.length;
  let p = 4 + 2 + 32; // handshake header, client_version, random
  if (!has(p + 1)) return null;
  const sessionIdLength = body[p];
  p += 1 + sessionIdLength;
  if (!has(p + 2)) return null;
  p += 2 + view.getUint16(p); // cipher_suites
  if (!has(p + 1)) return null;
  p += 1 + body[p]; // compression_methods
  const info: ClientHelloInfo = {
    ticketExtension: false,
    ticketOffered: false,
    sessionIdLength,
    pskOffered: false,
  };
  if (!has(p + 2)) return has(p) ? info : null; // no extensions at all
  const end = p + 2 + view.getUint16(p);
  if (!has(end)) return null;
  p += 2;
  while (p + 4 <= end) {
    const type = view.getUint16(p);
    const length = view.getUint16(p + 2);
    if (type === EXTENSION_SESSION_TICKET) {
      info.ticketExtension = true;
      info.ticketOffered = length > 0;
    } else if (type === EXTENSION_PRE_SHARED_KEY) {
      info.pskOffered = true;
    }
    p += 4 + length;
  }
  return info;
}

/** The bodies of the consecutive handshake records at the start of `bytes`, joined. */
function recordBodies(bytes: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let p = 0;
  while (p + 5 <= bytes.length && bytes[p] === HANDSHAKE_RECORD) {
    const length = (bytes[p + 3] << 8) | bytes[p + 4];
    parts.push(bytes.subarray(p + 5, Math.min(p + 5 + length, bytes.length)));
    p += 5 + length;
  }
  if (parts.length === 1) return parts[0];
  const joined = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}
