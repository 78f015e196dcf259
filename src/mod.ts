/**
 * ftpgate: an FTP server for Deno, as a library.
 *
 * ```ts
 * import { serve } from "./mod.ts";
 *
 * await using server = serve({ root: Deno.makeTempDirSync(), users: [{ name: "u", password: "p" }] });
 * console.log(`FTP server at ${server.url}`);
 * ```
 *
 * @module
 */

import "./tls/mod.ts"; // the library serves FTPS out of the box

export { FtpServer, MEMORY_ROOT, serve, type ShutdownOptions } from "./server.ts";
export { DEFAULTS, type ServeOptions } from "./options.ts";
export type { AnonymousAccess, UserConfig } from "./auth.ts";
export type { PortRange } from "./data/passive.ts";
export { LocalStorage, type LocalStorageOptions } from "./storage/local.ts";
export { MemoryStorage, type MemoryStorageOptions } from "./storage/memory.ts";
export type {
  FileStat,
  ReadHandle,
  Storage,
  WriteHandle,
  WriteOptions,
} from "./storage/storage.ts";
export { FtpError, StorageError, type StorageErrorKind } from "./errors.ts";
export { configureLogging, type LogFormat } from "./log.ts";
export { generateSelfSigned, TlsConfigError, type TlsSource } from "./tls/mod.ts";
