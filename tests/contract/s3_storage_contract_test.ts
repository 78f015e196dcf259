/**
 * The storage contract for {@linkcode S3Storage}, against a real Ceph RADOS Gateway (skipped,
 * loudly, when it cannot start here: see tests/s3/rgw.ts).
 */
import { noRgw, testBucket } from "../s3/rgw.ts";
import { runStorageContract } from "./storage_contract.ts";

runStorageContract({
  name: "S3Storage",
  ignore: noRgw,
  async create() {
    const bucket = await testBucket("contract");
    return { storage: bucket.storage, cleanup: async () => await bucket[Symbol.asyncDispose]() };
  },
});
