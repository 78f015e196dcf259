/**
 * The S3 back end's figures, against the local Ceph RGW (scripts/s3_test_server.sh):
 *
 * - start-up: loading the S3 module and signing the first request;
 * - RETR and STOR of SIZE through ftpgate (curl as the FTP client) vs a direct GET/PUT of the
 *   same bytes with `curl --aws-sigv4`, and the server's CPU per GiB;
 * - LIST of 10,000 keys through ftpgate vs direct ListObjectsV2 pagination;
 * - peak RSS of the server during N parallel uploads vs the stated bound
 *   (N × partSize × (partsInFlight + 1) above the idle RSS).
 *
 *   deno run -A tests/s3/bench_s3.ts [--size-mib 1024] [--parallel 16] [--parallel-mib 256]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { openS3Storage } from "../../src/storage/s3/mod.ts";
import { emptyPrefix, rgw, rgwSettings, uniquePrefix } from "./rgw.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    "size-mib": { type: "string", default: "1024" },
    "parallel": { type: "string", default: "16" },
    "parallel-mib": { type: "string", default: "256" },
    "list-keys": { type: "string", default: "10000" },
    "rounds": { type: "string", default: "3" },
    "part-mib": { type: "string", default: "8" },
    "in-flight": { type: "string", default: "4" },
    "only": { type: "string", default: "all" },
  },
});
const ROUNDS = Number(values.rounds);
const PART_MIB = Number(values["part-mib"]);
const IN_FLIGHT = Number(values["in-flight"]);
const ONLY = values.only;
const SIZE = Number(values["size-mib"]) * 1024 * 1024;
const PARALLEL = Number(values.parallel);
const PARALLEL_SIZE = Number(values["parallel-mib"]) * 1024 * 1024;
const LIST_KEYS = Number(values["list-keys"]);
const MiB = 1024 * 1024;

if (rgw === null) Deno.exit(1);
const here = new URL(".", import.meta.url).pathname;
const out = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));

async function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const started = performance.now();
  const output = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  const ms = performance.now() - started;
  if (!output.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
  }
  return { ms, stdout: new TextDecoder().decode(output.stdout) };
}

function procStat(pid: number): { cpuMs: number; rssKiB: number; peakKiB: number } {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const peak = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuMs: ticks * 10, rssKiB: rss, peakKiB: peak };
}

/** Resets the kernel's peak-RSS counter of a process (VmHWM), as far as allowed. */
function resetPeak(pid: number): void {
  try {
    Deno.writeTextFileSync(`/proc/${pid}/clear_refs`, "5");
  } catch { /* not allowed: the peak then counts from the start */ }
}

const sigv4 = [
  "--aws-sigv4",
  `aws:amz:${rgw.region}:s3`,
  "--user",
  `${rgw.accessKeyId}:${rgw.secretAccessKey}`,
  "-H",
  "x-amz-content-sha256: UNSIGNED-PAYLOAD",
];
const prefix = uniquePrefix("bench");
const objectUrl = (key: string) => `${rgw!.endpoint}/${rgw!.bucket}/${prefix}${key}`;
const helper = await openS3Storage(`s3://${rgw.bucket}/${prefix}`, rgwSettings());

// 1. Start-up cost.
{
  const started = performance.now();
  const module = await import("../../src/storage/s3/mod.ts");
  const loaded = performance.now();
  await using storage = await module.openS3Storage(`s3://${rgw.bucket}/`, rgwSettings());
  const opened = performance.now();
  out(
    `startup: import S3 module ${(loaded - started).toFixed(1)} ms (cached), ` +
      `open + first signed request ${(opened - loaded).toFixed(1)} ms (${storage.location.bucket})`,
  );
}

const dir = await Deno.makeTempDir({ prefix: "ftpgate-s3bench-" });
const server = new Deno.Command("deno", {
  args: [
    "run",
    "-A",
    `${here}bench_server.ts`,
    `s3://${rgw.bucket}/${prefix}`,
    String(PART_MIB),
    String(IN_FLIGHT),
  ],
  env: {
    AWS_ACCESS_KEY_ID: rgw.accessKeyId,
    AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey,
    AWS_ENDPOINT_URL_S3: rgw.endpoint,
    AWS_REGION: rgw.region,
  },
  stdout: "piped",
  stderr: "inherit",
}).spawn();
try {
  const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let banner = "";
  while (!banner.includes("\n")) banner += (await reader.read()).value ?? "";
  const [, port, readyMs] = /READY (\d+) ([\d.]+)/.exec(banner)!;
  reader.releaseLock();
  server.stdout.cancel().catch(() => {});
  out(`startup: ftpgate process serving s3:// ready ${readyMs} ms after its first line`);
  const ftp = `ftp://127.0.0.1:${port}`;
  const ftpAuth = ["--user", "bench:bench"];

  // 2. RETR / STOR through ftpgate vs direct, alternating, median of ROUNDS.
  if (ONLY === "all" || ONLY === "transfer") {
    const file = `${dir}/payload`;
    await run("sh", ["-c", `head -c ${SIZE} /dev/urandom > ${file}`]);
    const gib = SIZE / 1024 / MiB;
    const rate = (ms: number) => `${(SIZE / MiB / (ms / 1000)).toFixed(0)} MiB/s`;
    const samples = {
      put: [] as number[],
      stor: [] as number[],
      get: [] as number[],
      retr: [] as number[],
    };
    const cpu = { stor: [] as number[], retr: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      samples.put.push(
        (await run("curl", ["-sS", "--fail", ...sigv4, "-T", file, objectUrl("direct.bin")])).ms,
      );
      let before = procStat(server.pid);
      samples.stor.push(
        (await run("curl", ["-sS", ...ftpAuth, "-T", file, `${ftp}/via-ftp.bin`])).ms,
      );
      cpu.stor.push((procStat(server.pid).cpuMs - before.cpuMs) / gib);
      samples.get.push(
        (await run("curl", ["-sS", "--fail", ...sigv4, "-o", "/dev/null", objectUrl("direct.bin")]))
          .ms,
      );
      before = procStat(server.pid);
      samples.retr.push(
        (await run("curl", ["-sS", ...ftpAuth, "-o", "/dev/null", `${ftp}/via-ftp.bin`])).ms,
      );
      cpu.retr.push((procStat(server.pid).cpuMs - before.cpuMs) / gib);
    }
    const m = (values: number[]) =>
      [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
    out(
      `transfer ${
        SIZE / MiB
      } MiB, median of ${ROUNDS} (parts ${PART_MIB} MiB × ${IN_FLIGHT} in flight): ` +
        `STOR ${rate(m(samples.stor))} vs direct PUT ${rate(m(samples.put))} ` +
        `(${((m(samples.put) / m(samples.stor)) * 100).toFixed(0)}%), server CPU ${
          m(cpu.stor).toFixed(0)
        } ms/GiB; ` +
        `RETR ${rate(m(samples.retr))} vs direct GET ${rate(m(samples.get))} ` +
        `(${((m(samples.get) / m(samples.retr)) * 100).toFixed(0)}%), server CPU ${
          m(cpu.retr).toFixed(0)
        } ms/GiB`,
    );
    out(`  samples ms: ${JSON.stringify(samples)}`);
    await Deno.remove(file);
    await helper.objects.delete(`${prefix}direct.bin`);
    await helper.objects.delete(`${prefix}via-ftp.bin`);
  }

  // 3. LIST of 10,000 keys.
  if (ONLY === "all" || ONLY === "list") {
    let next = 0;
    await Promise.all(Array.from({ length: 48 }, async () => {
      while (next < LIST_KEYS) {
        const i = next++;
        await helper.objects.put(
          `${prefix}many/k-${String(i).padStart(6, "0")}`,
          new Uint8Array(0),
        );
      }
    }));
    for (let round = 0; round < 3; round++) {
      let started = performance.now();
      let count = 0;
      let token: string | undefined;
      do {
        const page = await helper.objects.list({
          prefix: `${prefix}many/`,
          delimiter: "/",
          maxKeys: 1000,
          token,
        });
        count += page.objects.length;
        token = page.continuationToken;
      } while (token !== undefined);
      const direct = performance.now() - started;
      started = performance.now();
      const listing = await run("curl", ["-sS", ...ftpAuth, `${ftp}/many/`]);
      const viaFtp = performance.now() - started;
      const lines = listing.stdout.split("\n").filter(Boolean).length;
      out(
        `list ${count} keys: direct ListObjectsV2 pagination ${direct.toFixed(0)} ms, ` +
          `LIST through ftpgate ${viaFtp.toFixed(0)} ms (${lines} lines, curl process included)`,
      );
    }
  }

  // 4. Peak RSS during parallel uploads.
  if (ONLY === "all" || ONLY === "parallel") {
    const idle = procStat(server.pid);
    resetPeak(server.pid);
    const partSize = PART_MIB * MiB;
    const bound = PARALLEL * partSize * (IN_FLIGHT + 1);
    const started = performance.now();
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, procStat(server.pid).rssKiB);
    }, 20);
    await Promise.all(Array.from({ length: PARALLEL }, (_, i) =>
      run("sh", [
        "-c",
        `head -c ${PARALLEL_SIZE} /dev/zero | curl -sS --user bench:bench -T - ${ftp}/par-${i}.bin`,
      ])));
    clearInterval(sampler);
    const seconds = (performance.now() - started) / 1000;
    const hwm = procStat(server.pid).peakKiB;
    out(
      `parallel: ${PARALLEL} × ${PARALLEL_SIZE / MiB} MiB uploads in ${seconds.toFixed(1)} s ` +
        `(${((PARALLEL * PARALLEL_SIZE) / MiB / seconds).toFixed(0)} MiB/s); server RSS idle ${
          (idle.rssKiB / 1024).toFixed(0)
        } MiB, ` +
        `peak ${(Math.max(peak, hwm) / 1024).toFixed(0)} MiB (sampled ${
          (peak / 1024).toFixed(0)
        } MiB), ` +
        `growth ${((Math.max(peak, hwm) - idle.rssKiB) / 1024).toFixed(0)} MiB vs bound ${
          bound / MiB
        } MiB ` +
        `(${PARALLEL} × ${PART_MIB} MiB × (${IN_FLIGHT} + 1))`,
    );
  }
} finally {
  server.kill("SIGTERM");
  await server.status;
  await emptyPrefix(helper, prefix);
  for (const upload of await helper.pendingUploads()) {
    await helper.objects.abortUpload(upload.key, upload.uploadId);
  }
  await helper.close();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
