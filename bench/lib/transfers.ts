/**
 * Metrics that move bytes: the loopback ceiling, big RETR/STOR with curl, REST, many small
 * files, concurrent downloads.
 *
 * @module
 */

import { PATHS, SMALL_FORMAT } from "./fixtures.ts";
import {
  check,
  client,
  clientEnv,
  type Context,
  curl,
  type Figure,
  login,
  mbps,
  type Metric,
  percentile,
  remaining,
} from "./metric.ts";
import { BenchError, cpuSeconds, fields, LineStream, run, spawn } from "./proc.ts";
import type { BenchServer } from "./server.ts";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** Sends `file` with the C client's sendfile mode to its sink mode; returns the sink's MB/s. */
async function sendfileToSink(context: Context, file: string): Promise<number> {
  const timeout = remaining(context);
  const binary = await context.client();
  const sink = spawn(binary, ["sink"], {
    cwd: context.tmp,
    env: clientEnv(timeout),
  });
  const out = new LineStream(sink.stdout);
  const errors = new LineStream(sink.stderr).rest();
  try {
    const port = fields((await out.next(5000, "port from the sink")) ?? "").port;
    await run(binary, ["sendfile", String(port), file], timeout, {
      cwd: context.tmp,
      env: clientEnv(timeout),
    });
    const result = fields((await out.next(timeout, "result from the sink")) ?? "");
    const status = await sink.status;
    if (!status.success) throw new BenchError(`sink failed: ${await errors}`);
    check(result.bytes, context.sizes.bigBytes, "bytes received by the sink");
    return mbps(result.bytes, result.seconds);
  } finally {
    try {
      sink.kill("SIGKILL");
    } catch { /* exited */ }
  }
}

/** curl against the C client's HTTP mode: a download and an upload of the big file. */
async function curlCeiling(context: Context): Promise<{ get: number; put: number }> {
  const timeout = remaining(context);
  const big = context.fixtures.path(PATHS.big);
  const server = spawn(await context.client(), ["http", big, "2"], {
    cwd: context.tmp,
    env: clientEnv(timeout),
  });
  const out = new LineStream(server.stdout);
  new LineStream(server.stderr).rest();
  try {
    const port = fields((await out.next(5000, "port from the HTTP server")) ?? "").port;
    const url = `http://127.0.0.1:${port}/${PATHS.big}`;
    const get = await curl(context, [url], "download");
    check(get.bytes, context.sizes.bigBytes, "bytes downloaded by curl");
    // No Expect: 100-continue round trip; it is not what is being measured.
    const put = await curl(context, ["-T", big, "-H", "Expect:", url], "upload");
    check(put.bytes, context.sizes.bigBytes, "bytes uploaded by curl");
    return { get: mbps(get.bytes, get.seconds), put: mbps(put.bytes, put.seconds) };
  } finally {
    try {
      server.kill("SIGKILL");
    } catch { /* exited */ }
  }
}

function ftpUrl(server: BenchServer, path: string): string {
  return `ftp://bench:bench@127.0.0.1:${server.port}/${path}`;
}

function percentOf(context: Context, key: string, value: number): Figure[] {
  const ceiling = context.ceilings.get(key);
  return ceiling === undefined ? [] : [{
    key: `percent_of_${key}`,
    label: `% of ceiling (${key.replaceAll("_", " ")})`,
    unit: "%",
    value: (100 * value) / ceiling,
  }];
}

const ceiling: Metric = {
  name: "ceiling",
  title: "Loopback ceiling: C sendfile() → C reader of the big file; curl against C HTTP peers",
  limitSeconds: 120,
  needs: ["big"],
  server: "none",
  async round(context) {
    const loopback = await sendfileToSink(context, context.fixtures.path(PATHS.big));
    const viaCurl = await curlCeiling(context);
    return [
      {
        key: "loopback",
        label: "sendfile → socket → read (RETR and STOR)",
        unit: "MB/s",
        value: loopback,
      },
      {
        key: "curl_get",
        label: "curl GET from a sendfile HTTP server",
        unit: "MB/s",
        value: viaCurl.get,
      },
      {
        key: "curl_put",
        label: "curl PUT to a reading HTTP server",
        unit: "MB/s",
        value: viaCurl.put,
      },
    ];
  },
};

const retr: Metric = {
  name: "retr",
  title: "RETR of the big file with curl to /dev/null",
  limitSeconds: 180,
  needs: ["big"],
  server: "metric",
  async round(context, server) {
    const pid = server!.pid;
    const cpuBefore = await cpuSeconds(pid);
    const result = await curl(context, [ftpUrl(server!, PATHS.big)], "download");
    const cpu = (await cpuSeconds(pid)) - cpuBefore;
    check(result.bytes, context.sizes.bigBytes, "bytes downloaded");
    const speed = mbps(result.bytes, result.seconds);
    return [
      { key: "mbps", label: "throughput", unit: "MB/s", value: speed },
      ...percentOf(context, "loopback", speed),
      ...percentOf(context, "curl_get", speed),
      { key: "cpu_per_gib", label: "server CPU", unit: "s/GiB", value: cpu / (result.bytes / GiB) },
    ];
  },
};

const stor: Metric = {
  name: "stor",
  title: "STOR of the big file with curl -T",
  limitSeconds: 240,
  needs: ["big"],
  server: "metric",
  async round(context, server, round) {
    const pid = server!.pid;
    const target = `${PATHS.uploads}/stor-${round}.bin`;
    await Deno.mkdir(context.fixtures.path(PATHS.uploads), { recursive: true });
    try {
      const cpuBefore = await cpuSeconds(pid);
      const result = await curl(
        context,
        ["-T", context.fixtures.path(PATHS.big), ftpUrl(server!, target)],
        "upload",
      );
      const cpu = (await cpuSeconds(pid)) - cpuBefore;
      check(result.bytes, context.sizes.bigBytes, "bytes uploaded");
      check((await Deno.stat(context.fixtures.path(target))).size, result.bytes, "size on disk");
      const speed = mbps(result.bytes, result.seconds);
      return [
        { key: "mbps", label: "throughput", unit: "MB/s", value: speed },
        ...percentOf(context, "loopback", speed),
        ...percentOf(context, "curl_put", speed),
        {
          key: "cpu_per_gib",
          label: "server CPU",
          unit: "s/GiB",
          value: cpu / (result.bytes / GiB),
        },
      ];
    } finally {
      await Deno.remove(context.fixtures.path(target)).catch(() => {});
    }
  },
};

const rest: Metric = {
  name: "rest",
  title: "REST + RETR of the last MiB of the big file, repeated over one session",
  limitSeconds: 60,
  needs: ["big"],
  server: "metric",
  async round(context, server) {
    const offset = context.sizes.bigBytes - MiB;
    const out = await client(context, "rest", [
      ...login(server!),
      PATHS.big,
      String(offset),
      String(context.sizes.loopSeconds),
    ]);
    const result = fields(out);
    check(result.bytes, result.ops * MiB, "bytes received");
    return [{
      key: "ops",
      label: "REST + RETR of 1 MiB",
      unit: "ops/s",
      value: result.ops / result.seconds,
    }];
  },
};

const smallRetr: Metric = {
  name: "small-retr",
  title: "Many 4 KiB RETRs over one session (EPSV + RETR each)",
  limitSeconds: 120,
  needs: ["small"],
  server: "metric",
  async round(context, server) {
    const { smallFiles, smallBytes } = context.sizes;
    const out = await client(context, "retr", [
      ...login(server!),
      String(smallFiles),
      `${PATHS.small}/${SMALL_FORMAT}`,
    ]);
    const result = fields(out);
    check(result.bytes, smallFiles * smallBytes, "bytes received");
    return [{
      key: "files",
      label: "4 KiB downloads",
      unit: "files/s",
      value: result.ops / result.seconds,
    }];
  },
};

const smallRetrBlock: Metric = {
  name: "small-retr-b",
  title: "Many 4 KiB RETRs over one session in MODE B, on one kept data connection",
  limitSeconds: 120,
  needs: ["small"],
  server: "metric",
  async round(context, server) {
    const { smallFiles, smallBytes } = context.sizes;
    const out = await client(context, "retrb", [
      ...login(server!),
      String(smallFiles),
      `${PATHS.small}/${SMALL_FORMAT}`,
    ]);
    const result = fields(out);
    check(result.bytes, smallFiles * smallBytes, "bytes received");
    const rate = result.ops / result.seconds;
    const streamRate = context.ceilings.get("small-retr:files");
    return [
      { key: "files", label: "4 KiB downloads in MODE B", unit: "files/s", value: rate },
      ...(streamRate === undefined ? [] : [{
        key: "vs_mode_s",
        label: "× MODE S (small-retr)",
        unit: "×",
        value: rate / streamRate,
      }]),
    ];
  },
};

/** What one `retrz` download reports, and the server's CPU seconds over it. */
interface TextDownload {
  bytes: number;
  wire: number;
  seconds: number;
  clientCpu: number;
  cpu: number;
}

/** One RETR of the text file in MODE S or Z with the C client; server CPU from /proc. */
async function textDownload(
  context: Context,
  server: BenchServer,
  mode: "S" | "Z",
  level?: number,
): Promise<TextDownload> {
  const pid = server.pid;
  const cpuBefore = await cpuSeconds(pid);
  const out = await client(context, "retrz", [
    ...login(server),
    PATHS.text,
    mode,
    ...(level === undefined ? [] : [String(level)]),
  ]);
  const cpu = (await cpuSeconds(pid)) - cpuBefore;
  const result = fields(out);
  check(result.bytes, context.sizes.textBytes, `bytes after MODE ${mode}`);
  const { bytes, wire, seconds } = result;
  return { bytes, wire, seconds, clientCpu: result.client_cpu, cpu };
}

const modeZ: Metric = {
  name: "mode-z",
  title: "RETR of a text file in MODE Z (deflate, level 6 and 1) against MODE S",
  limitSeconds: 120,
  needs: ["text"],
  server: "metric",
  serverFlags: ["--mode-z"],
  async round(context, server) {
    const mib = context.sizes.textBytes / MiB;
    const stream = await textDownload(context, server!, "S");
    const deflate = await textDownload(context, server!, "Z");
    const fast = await textDownload(context, server!, "Z", 1);
    return [
      {
        key: "s_mbps",
        label: "MODE S throughput",
        unit: "MB/s",
        value: mbps(stream.bytes, stream.seconds),
      },
      { key: "s_cpu", label: "MODE S server CPU", unit: "ms/MiB", value: 1000 * stream.cpu / mib },
      {
        key: "z_mbps",
        label: "MODE Z throughput (file bytes)",
        unit: "MB/s",
        value: mbps(deflate.bytes, deflate.seconds),
      },
      { key: "z_cpu", label: "MODE Z server CPU", unit: "ms/MiB", value: 1000 * deflate.cpu / mib },
      {
        key: "z_wire",
        label: "MODE Z bytes on the wire",
        unit: "% of file",
        value: 100 * deflate.wire / deflate.bytes,
      },
      {
        key: "z1_mbps",
        label: "MODE Z level 1 throughput",
        unit: "MB/s",
        value: mbps(fast.bytes, fast.seconds),
      },
      {
        key: "z1_cpu",
        label: "MODE Z level 1 server CPU",
        unit: "ms/MiB",
        value: 1000 * fast.cpu / mib,
      },
      {
        key: "z1_wire",
        label: "MODE Z level 1 on the wire",
        unit: "% of file",
        value: 100 * fast.wire / fast.bytes,
      },
      {
        key: "z_client_cpu",
        label: "MODE Z client CPU (inflate)",
        unit: "ms/MiB",
        value: 1000 * deflate.clientCpu / mib,
      },
    ];
  },
};

const smallStor: Metric = {
  name: "small-stor",
  title: "Many 4 KiB STORs over one session (EPSV + STOR each)",
  limitSeconds: 120,
  needs: [],
  server: "metric",
  async round(context, server, round) {
    const { smallFiles, smallBytes } = context.sizes;
    const dir = `${PATHS.uploads}/small-${round}`;
    await Deno.mkdir(context.fixtures.path(dir), { recursive: true });
    try {
      const out = await client(context, "stor", [
        ...login(server!),
        String(smallFiles),
        `${dir}/u%04d`,
        String(smallBytes),
      ]);
      const result = fields(out);
      let stored = 0;
      for await (const entry of Deno.readDir(context.fixtures.path(dir))) {
        if (entry.isFile) stored++;
      }
      check(stored, smallFiles, "files stored");
      return [{
        key: "files",
        label: "4 KiB uploads",
        unit: "files/s",
        value: result.ops / result.seconds,
      }];
    } finally {
      await Deno.remove(context.fixtures.path(dir), { recursive: true }).catch(() => {});
    }
  },
};

const concurrent: Metric = {
  name: "concurrent",
  title: "Many sessions downloading the medium file at once (threads in the C client)",
  limitSeconds: 180,
  needs: ["medium"],
  server: "metric",
  async round(context, server) {
    const { concurrentSessions, mediumBytes } = context.sizes;
    const out = await client(context, "concurrent", [
      ...login(server!),
      PATHS.medium,
      String(concurrentSessions),
    ]);
    const lines = out.trim().split("\n");
    const sessions = lines.filter((line) => line.startsWith("session ")).map((line) =>
      fields(line).session
    );
    const total = fields(lines[lines.length - 1]);
    check(sessions.length, concurrentSessions, "sessions reported");
    check(total.bytes, concurrentSessions * mediumBytes, "bytes received");
    return [
      {
        key: "mbps",
        label: "aggregate throughput",
        unit: "MB/s",
        value: mbps(total.bytes, total.seconds),
      },
      {
        key: "p99_session_s",
        label: "p99 session time",
        unit: "s",
        value: percentile(sessions, 99),
      },
    ];
  },
};

/** The transfer metrics, in the order they run. */
export const TRANSFER_METRICS: Metric[] = [
  ceiling,
  retr,
  stor,
  rest,
  smallRetr,
  smallRetrBlock,
  smallStor,
  modeZ,
  concurrent,
];
