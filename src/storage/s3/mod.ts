/**
 * The S3 back end: serve an S3 bucket (AWS S3 or an S3-compatible store such as Ceph RGW or
 * MinIO) over FTP. Load this module lazily (`await import(...)`) where an `s3://` root is used,
 * so that servers of local directories never pay for it.
 *
 * ```ts ignore
 * import { openS3Storage } from "./mod.ts";
 * import { serve } from "../../mod.ts";
 *
 * // Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (never from argv).
 * const root = await openS3Storage("s3://ftpgate-test/", { endpoint: "http://127.0.0.1:7480" });
 * await using server = serve({ root, users: [{ name: "u", password: "p" }] });
 * ```
 *
 * @module
 */

// The listing TTL cache is applied by the app around an object store: loaded with this part.
export { withListingTtl } from "../ttl_listing.ts";
export {
  openS3Storage,
  S3_CAPABILITIES,
  S3Storage,
  type S3StorageOptions,
  type S3WriteOptions,
} from "./s3_storage.ts";
export {
  isS3Url,
  MIN_PART_SIZE,
  parseS3Url,
  type ResolvedS3Settings,
  resolveS3Settings,
  S3_DEFAULTS,
  S3_ENV_NAMES,
  S3ConfigError,
  type S3Credentials,
  type S3Location,
  s3NetHost,
  type S3Settings,
} from "./settings.ts";
export { parseS3Faults, type S3Faults, withS3Faults } from "./faults.ts";
export { S3Error, storageKind } from "./errors.ts";
export { DefaultTransport, type HttpRequest, type Transport } from "./transport.ts";
export type { ObjectInfo, S3Objects, UploadedPart } from "./objects.ts";
export type { ListedObject, ListedUpload, ListPage } from "./xml.ts";
export type { S3Client, S3Request, TextAnswer } from "./client.ts";
