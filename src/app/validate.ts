/**
 * Checks of the settings that need a module the plain start does not load (the upload hook's
 * command splitter, the webhook's event types, the S3 fault parser): run before the server
 * starts, only for the parts that are configured, so that a mistake is exit 2 with the flag
 * named, never a server that starts and then fails.
 *
 * @module
 */

import { CliError } from "../cli.ts";
import { isS3Root, rootsOf } from "./roots.ts";
import type { AppSettings } from "./settings.ts";

/** Throws {@linkcode CliError} for a setting that cannot work. */
export async function validateSettings(settings: AppSettings): Promise<void> {
  const { onUpload, webhook, http } = settings.ops;
  if (http !== undefined) {
    // Refused again by startHttp(); here it is a mistake in the settings (exit 2), not the machine.
    const { isLoopback } = await import("../ops/http.ts");
    const host = http.hostname ?? "127.0.0.1";
    if (!isLoopback(host) && http.token === undefined && !http.insecure) {
      throw new CliError(
        `--http-host ${host} (http.host) is reachable from other machines: give ` +
          "--http-token-file FILE (http.token_file or http.token_env), or --http-insecure",
      );
    }
  }
  if (onUpload?.command !== undefined && typeof onUpload.command === "string") {
    const { splitCommand } = await import("../ops/argv.ts");
    try {
      splitCommand(onUpload.command);
    } catch (error) {
      throw new CliError(`--on-upload: ${(error as Error).message}`);
    }
  }
  if (webhook?.types !== undefined) {
    const { ACTIVITY_TYPES } = await import("../ops/activity.ts");
    const unknown = webhook.types.filter((type) => !ACTIVITY_TYPES.includes(type));
    if (unknown.length > 0) {
      throw new CliError(
        `--webhook-events: unknown event ${JSON.stringify(unknown[0])}; known: ${
          ACTIVITY_TYPES.join(", ")
        }`,
      );
    }
  }
  if (settings.s3Faults.length > 0) {
    if (!rootsOf(settings.serve).some(isS3Root)) {
      throw new CliError(`--fault ${settings.s3Faults[0]}: needs an s3:// root`);
    }
    const { parseS3Faults } = await import("../storage/s3/faults.ts");
    try {
      parseS3Faults(settings.s3Faults);
    } catch (error) {
      throw new CliError((error as Error).message);
    }
  }
}
