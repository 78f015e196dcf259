/**
 * The server's TLS credentials: loaded from PEM files (reloadable, for certificate renewals
 * without a restart) or generated at start-up (`selfSigned`).
 *
 * @module
 */

import { createHash, createPrivateKey, createPublicKey } from "node:crypto";
import { createSecureContext, type SecureContext } from "node:tls";
import { TlsConfigError } from "./errors.ts";
import { generateSelfSigned } from "./self_signed.ts";

/** Where the certificate and key come from. */
export type TlsSource =
  | { certFile: string; keyFile: string }
  | { cert: string; key: string }
  | { selfSigned: true };

export { TlsConfigError };

/**
 * The current TLS contexts. Sessions read them per handshake, so a reload applies to the next
 * connection.
 *
 * Data connections are held to TLS 1.2. TLS 1.3 servers send session tickets *after* the
 * handshake; a client that only uploads never reads them, and closing a socket with unread data
 * makes its kernel send RST instead of FIN — which throws away upload bytes still queued on our
 * side (seen with lftp/GnuTLS: 1 in 16 uploads cut short). TLS 1.2 has no post-handshake
 * messages. When data connections must resume the control session, the control connection is
 * held to 1.2 too, and both share one context (a 1.3 session cannot be resumed in 1.2).
 *
 * Resumption, as Deno 2.9.6's `node:tls` server does it (measured; rustls underneath): by TLS 1.2
 * session ticket only, with ticket keys shared by the whole process (a ticket from one context
 * resumes on another). Session IDs are handed out but never found again: there is no server-side
 * session cache, and `sessionIdContext`, `ticketKeys` and the `newSession`/`resumeSession` events
 * are ignored. So `requireTlsSessionReuse` works with clients that offer tickets (lftp/GnuTLS,
 * Python's ssl given `session=`, basic-ftp under Node.js) and refuses every data connection of a
 * client that resumes by session ID alone (curl with OpenSSL, which sets `SSL_OP_NO_TICKET`).
 * `TlsChannel.clientHello` tells the two apart. See tests/integration/tls_session_reuse_test.ts.
 */
export class TlsContext {
  readonly #source: TlsSource;
  readonly #sharedSession: boolean;
  #control: SecureContext;
  #data: SecureContext;
  #fingerprint: string;

  /**
   * Loads or generates the credentials; throws {@linkcode TlsConfigError} when unusable.
   *
   * @param sharedSession data connections must resume the control session.
   */
  constructor(source: TlsSource, sharedSession = false) {
    this.#source = source;
    this.#sharedSession = sharedSession;
    const loaded = load(source, sharedSession);
    this.#control = loaded.control;
    this.#data = loaded.data;
    this.#fingerprint = loaded.fingerprint;
  }

  /** The context for the next control connection handshake. */
  get secureContext(): SecureContext {
    return this.#control;
  }

  /** The context for the next data connection handshake. */
  get dataContext(): SecureContext {
    return this.#data;
  }

  /** SHA-256 fingerprint of the certificate, `AB:CD:...`. */
  get fingerprint(): string {
    return this.#fingerprint;
  }

  /**
   * Re-reads the certificate and key files. On error the old credentials stay in use and the
   * error is thrown. Generated and in-memory credentials are kept as they are.
   */
  reload(): void {
    if (!("certFile" in this.#source)) return;
    const loaded = load(this.#source, this.#sharedSession);
    this.#control = loaded.control;
    this.#data = loaded.data;
    this.#fingerprint = loaded.fingerprint;
  }
}

function load(
  source: TlsSource,
  sharedSession: boolean,
): { control: SecureContext; data: SecureContext; fingerprint: string } {
  let cert: string;
  let key: string;
  if ("selfSigned" in source) {
    ({ cert, key } = generateSelfSigned());
  } else if ("certFile" in source) {
    cert = readPem(source.certFile, "certificate");
    key = readPem(source.keyFile, "key");
  } else {
    ({ cert, key } = source);
  }
  checkKeyMatches(cert, key, source);
  let control: SecureContext;
  let data: SecureContext;
  try {
    // TLS 1.2 is the floor: 1.0 and 1.1 are broken and disabled by current clients anyway.
    data = createSecureContext({ cert, key, minVersion: "TLSv1.2", maxVersion: "TLSv1.2" });
    control = sharedSession ? data : createSecureContext({ cert, key, minVersion: "TLSv1.2" });
  } catch (error) {
    const where = "certFile" in source ? ` (${source.certFile}, ${source.keyFile})` : "";
    throw new TlsConfigError(
      `unusable TLS certificate or key${where}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return { control, data, fingerprint: fingerprint(cert) };
}

/**
 * Refuses a key that does not belong to the certificate. Deno's createSecureContext accepts such
 * a pair, and every handshake then fails with a misleading error; a reload would swap a working
 * pair for a broken one.
 */
function checkKeyMatches(cert: string, key: string, source: TlsSource): void {
  const where = "certFile" in source ? ` (${source.certFile}, ${source.keyFile})` : "";
  let certKey: Uint8Array;
  let ownKey: Uint8Array;
  try {
    certKey = new Uint8Array(createPublicKey(cert).export({ type: "spki", format: "der" }));
    ownKey = new Uint8Array(
      createPublicKey(createPrivateKey(key)).export({ type: "spki", format: "der" }),
    );
  } catch (error) {
    throw new TlsConfigError(
      `unusable TLS certificate or key${where}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  if (certKey.length !== ownKey.length || certKey.some((byte, i) => byte !== ownKey[i])) {
    throw new TlsConfigError(`the TLS key does not match the certificate${where}`);
  }
}

function readPem(path: string, what: string): string {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    throw new TlsConfigError(`cannot read TLS ${what} ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!text.includes("-----BEGIN")) throw new TlsConfigError(`TLS ${what} ${path} is not PEM`);
  return text;
}

/** SHA-256 over the DER of the first certificate in a PEM bundle. */
function fingerprint(certPem: string): string {
  const match = /-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/.exec(certPem);
  if (!match) throw new TlsConfigError("the certificate PEM holds no CERTIFICATE block");
  const der = Uint8Array.from(atob(match[1].replace(/\s+/g, "")), (char) => char.charCodeAt(0));
  return createHash("sha256").update(der).digest("hex").toUpperCase().match(/../g)!.join(":");
}
