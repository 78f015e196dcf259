/**
 * `s3.list_cache` (storage/ttl_listing.ts) against the real RGW: within the TTL a LIST is served
 * from memory, so a key written by another instance shows only after the TTL; this instance's
 * own STOR shows at once. The other instance is the bucket's storage used directly.
 */
import { deepEqual } from "node:assert/strict";
import type { S3Storage } from "../../src/storage/s3/mod.ts";
import { withListingTtl } from "../../src/storage/ttl_listing.ts";
import { curl, ftpUrl, localDir } from "../helpers/clients.ts";
import { noRgw, serveS3, testBucket } from "./rgw.ts";

async function put(storage: S3Storage, path: string): Promise<void> {
  const writer = (await storage.write(path)).getWriter();
  await writer.write(new TextEncoder().encode(path));
  await writer.close();
}

Deno.test({
  name: "s3 list cache: another instance's key shows after the TTL, this instance's STOR at once",
  ignore: noRgw,
  async fn() {
    await using bucket = await testBucket("list-ttl");
    const ttlMs = 1_500;
    await using t = serveS3(withListingTtl(bucket.storage, ttlMs));
    await using dir = localDir();
    const names = async () => {
      const listed = await curl(t, ["--list-only", ftpUrl(t, "")]);
      return listed.stdout.split(/\r?\n/).filter((line) => line !== "").sort();
    };
    await put(bucket.storage, "/a.txt");
    deepEqual(await names(), ["a.txt"]);
    const cachedAt = Date.now();
    await put(bucket.storage, "/b.txt"); // another gateway's upload
    const stale = await names();
    if (Date.now() - cachedAt < ttlMs) deepEqual(stale, ["a.txt"], "served from the cache");
    Deno.writeTextFileSync(`${dir.path}/c.txt`, "c");
    await curl(t, ["-T", `${dir.path}/c.txt`, ftpUrl(t, "c.txt")]);
    deepEqual(await names(), ["a.txt", "b.txt", "c.txt"], "an own STOR drops the listing");
    await put(bucket.storage, "/d.txt");
    await new Promise((resolve) => setTimeout(resolve, ttlMs + 100));
    deepEqual(await names(), ["a.txt", "b.txt", "c.txt", "d.txt"], "after the TTL");
  },
});
