/**
 * The storage contract for {@linkcode S3Storage} against a second S3 dialect: OpenStack Swift
 * with its s3api middleware (no conditional writes, DeleteObjects only with Content-MD5).
 * Skipped, loudly, when Swift cannot start here (scripts/s3_test_server.sh start swift).
 */
import { equal } from "node:assert/strict";
import { collectList } from "../../src/storage/storage.ts";
import { startS3Target, testBucket } from "../s3/rgw.ts";
import { get, put, rejectsWith, runStorageContract } from "./storage_contract.ts";

const swift = await startS3Target("swift");

runStorageContract({
  name: "S3Storage on Swift s3api",
  ignore: swift === null,
  async create() {
    const bucket = await testBucket("swift-contract", {}, swift);
    return { storage: bucket.storage, cleanup: async () => await bucket[Symbol.asyncDispose]() };
  },
});

Deno.test({
  name: "S3Storage on Swift s3api: STOU falls back from If-None-Match (501) to looking first",
  ignore: swift === null,
  async fn() {
    await using bucket = await testBucket("swift-stou", {}, swift);
    const s = bucket.storage;
    await put(s, "/new.txt", "x");
    const writer = (await s.write("/fresh.txt", { exclusive: true })).getWriter();
    await writer.write(new TextEncoder().encode("fresh"));
    await writer.close();
    equal(s.objects.conditionalWrites, false, "Swift answered If-None-Match with 501");
    equal(await get(s, "/fresh.txt"), "fresh");
    await rejectsWith(s.write("/new.txt", { exclusive: true }), "exists");
  },
});

Deno.test({
  name: "S3Storage on Swift s3api: directory rename deletes with DeleteObjects and Content-MD5",
  ignore: swift === null,
  async fn() {
    await using bucket = await testBucket("swift-rename", {}, swift);
    const s = bucket.storage;
    await s.mkdir("/d");
    for (let i = 0; i < 30; i++) await put(s, `/d/f${i}`, `${i}`);
    await s.rename("/d", "/e");
    equal((await collectList(s, "/e")).length, 30);
    await rejectsWith(s.stat("/d"), "not-found");
    equal(s.objects.multiDelete, true);
    equal(await get(s, "/e/f7"), "7");
  },
});
