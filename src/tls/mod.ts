/**
 * FTPS support: importing this module makes TLS available to the server (see `support.ts`).
 *
 * @module
 */

import { TlsContext } from "./context.ts";
import { sniff } from "./sniff.ts";
import { TlsChannel } from "./socket.ts";
import { provideTls } from "./support.ts";

provideTls({
  createContext: (source, sharedSession) => new TlsContext(source, sharedSession),
  accept: (conn, context, options) => TlsChannel.accept(conn, context, options),
  sniff,
});

export { TlsContext, type TlsSource } from "./context.ts";
export { TlsClosedError, type TlsCloseKind, TlsConfigError } from "./errors.ts";
export { generateSelfSigned, type SelfSignedCertificate } from "./self_signed.ts";
export { type TlsAcceptOptions, TlsChannel } from "./socket.ts";
export { type ClientHelloInfo, parseClientHello } from "./client_hello.ts";
