/**
 * TLS is loaded only where it is used. Its modules pull in node:tls, node:crypto and node:stream,
 * whose loading costs about 30 ms of every start; a plain FTP server should not pay that before
 * its first banner. `src/tls/mod.ts` provides the implementation when imported: the library
 * entry (`src/mod.ts`) always imports it, the CLI only when TLS flags are given.
 *
 * @module
 */

import type { TlsContext, TlsSource } from "./context.ts";
import type { SniffResult } from "./sniff.ts";
import type { TlsChannel } from "./socket.ts";

/** What the server and sessions need from the TLS modules. */
export interface TlsSupport {
  createContext(source: TlsSource, sharedSession: boolean): TlsContext;
  accept: typeof TlsChannel.accept;
  sniff(conn: Deno.Conn, timeoutMs: number): Promise<SniffResult>;
}

let support: TlsSupport | undefined;

/** Called by `src/tls/mod.ts` when it is loaded. */
export function provideTls(implementation: TlsSupport): void {
  support = implementation;
}

/** The TLS implementation; throws when `src/tls/mod.ts` was never imported. */
export function tlsSupport(): TlsSupport {
  if (support === undefined) {
    throw new Error('TLS support is not loaded: import "./tls/mod.ts" (done by src/mod.ts)');
  }
  return support;
}
