/**
 * The checks handlers share, each turning a refusal into the reply that names it: the user's
 * storage, path resolution against the current directory, per-path permissions (checked on the
 * resolved path, so `..` and mounts cannot step around a rule), back-end capabilities, and the
 * data-connection preconditions of a transfer.
 *
 * @module
 */

import { FtpError, StorageError } from "../errors.ts";
import type { Identity } from "../identity/identity.ts";
import type { Permission } from "../identity/rules.ts";
import { Code } from "../protocol/codes.ts";
import { capabilitiesAt, type Storage, type StorageCapabilities } from "../storage/storage.ts";
import { resolvePath } from "../storage/vpath.ts";
import type { CommandContext } from "./context.ts";

/** The logged-in identity; 530 when there is none (the dispatcher normally prevents that). */
export function identityOf(ctx: CommandContext): Identity {
  const identity = ctx.state.identity;
  if (identity === null) throw new FtpError(Code.NOT_LOGGED_IN, "Please login with USER and PASS.");
  return identity;
}

/** The logged-in user's storage. */
export function storageOf(ctx: CommandContext): Storage {
  return identityOf(ctx).storage;
}

/** Resolves a client path against the current directory (see `vpath.ts`). */
export function resolve(ctx: CommandContext, arg: string): string {
  return resolvePath(ctx.state.cwd, arg);
}

/** True when the user has `permission` at `path`. */
export function allowed(ctx: CommandContext, permission: Permission, path: string): boolean {
  return identityOf(ctx).rules.allows(permission, path);
}

/** Refuses with 550 "Permission denied" unless the user has `permission` at `path`. */
export function authorize(ctx: CommandContext, permission: Permission, path: string): void {
  if (!allowed(ctx, permission, path)) throw new StorageError("permission", path);
}

/** Resolves `arg` and checks `permission` on the result. */
export function resolveFor(ctx: CommandContext, permission: Permission, arg: string): string {
  const path = resolve(ctx, arg);
  authorize(ctx, permission, path);
  return path;
}

/** The storage's capabilities at `path`. */
export function capabilities(ctx: CommandContext, path: string): StorageCapabilities {
  return capabilitiesAt(storageOf(ctx), path);
}

/**
 * Refuses a command the back end cannot do: 502 for a command, 504 for a parameter (RFC 959
 * §4.2: "command not implemented for that parameter").
 */
export function requireCapability(
  ctx: CommandContext,
  path: string,
  capability: keyof StorageCapabilities,
  refusal: {
    code: typeof Code.NOT_IMPLEMENTED | typeof Code.PARAMETER_NOT_IMPLEMENTED;
    text: string;
  },
): void {
  if (!capabilities(ctx, path)[capability]) throw new FtpError(refusal.code, refusal.text);
}

/**
 * Throws 425 unless PASV/EPSV or PORT/EPRT prepared a data connection, and 521 when policy wants
 * data protected and PROT P was not given (RFC 4217 §9).
 */
export function requireDataChannel(ctx: CommandContext): void {
  const { requireTls, requireTlsData } = ctx.options;
  if ((requireTls || requireTlsData) && !ctx.state.protectData) {
    throw new FtpError(Code.PROTECTION_REQUIRED, "Data connections must be protected: use PROT P.");
  }
  if (!ctx.data.ready) {
    throw new FtpError(Code.CANT_OPEN_DATA, "Use PORT, EPRT, PASV or EPSV first.");
  }
}
