/**
 * An ftpgate process serving an S3 prefix, for the S3 benchmark (its RSS and CPU are measured
 * from outside). Prints `READY <port> <ms to first byte served>` when listening.
 *
 *   deno run -A tests/s3/bench_server.ts s3://BUCKET/PREFIX [partSizeMiB] [partsInFlight]
 *
 * @module
 */

const started = performance.now();
const { openS3Storage } = await import("../../src/storage/s3/mod.ts");
const { serve } = await import("../../src/mod.ts");
const [url, partMiB = "8", inFlight = "4"] = Deno.args;
const storage = await openS3Storage(url, {
  partSize: Number(partMiB) * 1024 * 1024,
  maxPartsInFlight: Number(inFlight),
});
const server = serve({
  root: storage,
  users: [{ name: "bench", password: "bench" }],
});
// deno-lint-ignore no-console
console.log(`READY ${server.addr.port} ${(performance.now() - started).toFixed(1)}`);
Deno.addSignalListener("SIGTERM", () => {
  server.shutdown({ graceMs: 0 }).then(() => storage.close()).then(() => Deno.exit(0));
});
