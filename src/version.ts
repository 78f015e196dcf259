/**
 * ftpgate's version, in one place: `--version`, the ready line, `/healthz`, metrics.
 *
 * @module
 */

/**
 * The version of this ftpgate.
 *
 * @example
 * ```ts
 * import { VERSION } from "./version.ts";
 * VERSION.split(".").length; // 3
 * ```
 */
export const VERSION = "0.2.0";
