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

export {
  FtpServer,
  MEMORY_ROOT,
  type Reconfiguration,
  serve,
  type ShutdownOptions,
} from "./server.ts";
export { DEFAULTS, type PassiveAddressRule, type ServeOptions } from "./options.ts";
export type { Faults } from "./faults/parse.ts";
export type { PortRange } from "./data/passive.ts";
export type {
  Identity,
  IdentityLimits,
  IdentityProvider,
  LoginContext,
} from "./identity/identity.ts";
export {
  AccessRules,
  type PathRule,
  type Permission,
  PERMISSIONS,
  READ_ONLY,
} from "./identity/rules.ts";
export {
  ANONYMOUS_UPLOAD,
  type AnonymousAccess,
  type AnonymousConfig,
  type MountConfig,
  type RootOpener,
  StaticIdentityProvider,
  type UserConfig,
} from "./identity/static.ts";
export { LocalStorage, type LocalStorageOptions } from "./storage/local.ts";
export { MemoryStorage, type MemoryStorageOptions } from "./storage/memory.ts";
export { type Mount, MountTable } from "./storage/mount.ts";
export {
  capabilitiesAt,
  collectList,
  type FileStat,
  FULL_CAPABILITIES,
  type OperationOptions,
  type ReadHandle,
  type ReadOptions,
  type Storage,
  type StorageCapabilities,
  type WriteHandle,
  type WriteOptions,
} from "./storage/storage.ts";
export { FtpError, type Reply, StorageError, type StorageErrorKind, toReply } from "./errors.ts";
export { Code, type ReplyCode } from "./protocol/codes.ts";
export {
  type BanEvent,
  type CommandEvent,
  EventHub,
  type EventListener,
  type FileActionEvent,
  type FtpEvent,
  type LoginEvent,
  type PassiveExhaustedEvent,
  type SessionClosedEvent,
  type SessionOpenedEvent,
  type SessionRef,
  type StorageOperationEvent,
  type TlsHandshakeEvent,
  type TransferDirection,
  type TransferEvent,
} from "./events.ts";
export type { TranscriptEntry } from "./transcript.ts";
export type {
  ConfigValue,
  OpsHost,
  ReadyResult,
  SessionStatus,
  StatusSnapshot,
  TransferStatus,
} from "./ops/host.ts";
export { configureLogging, type LogFormat, type LogLevelName } from "./log.ts";
export {
  generateSelfSigned,
  type SelfSignedCertificate,
  TlsConfigError,
  type TlsSource,
} from "./tls/mod.ts";
