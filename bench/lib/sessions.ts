/**
 * Metrics about sessions rather than bytes: listings, logins, idle memory, start-up time.
 *
 * @module
 */

import { PATHS } from "./fixtures.ts";
import {
  check,
  client,
  clientEnv,
  type Context,
  type Figure,
  login,
  median,
  type Metric,
  remaining,
} from "./metric.ts";
import { BenchError, fields, freePort, LineStream, rssKiB, sleep, spawn } from "./proc.ts";
import { type BenchServer, serverArgs } from "./server.ts";

/** Cold listings per round: each after the directory was moved away and back. */
const COLD_RUNS = 5;

function listing(verb: "LIST" | "MLSD"): Metric {
  return {
    name: verb.toLowerCase(),
    title: `${verb} of the big directory: ms from sending ${verb} to its 226`,
    limitSeconds: 120,
    needs: ["list"],
    server: "metric",
    async round(context, server) {
      const { listRuns, listWarmups, listEntries } = context.sizes;
      const out = await client(context, "list", [
        ...login(server!),
        verb,
        PATHS.list,
        String(listRuns),
        String(listWarmups),
      ]);
      const runs = out.trim().split("\n").map(fields);
      check(runs.length, listRuns, "timed runs");
      const bytes = runs[0].bytes;
      if (runs.some((run) => run.bytes !== bytes)) {
        throw new BenchError(`${verb} sizes differ between runs: ${runs.map((r) => r.bytes)}`);
      }
      // Every entry is a line of at least its name: a shorter listing is a truncated one.
      if (bytes < listEntries * "entry-00000.txt\r\n".length) {
        throw new BenchError(`${verb} returned only ${bytes} bytes for ${listEntries} entries`);
      }
      // Cold: the directory moved away and back first (from outside the server, as a user
      // would), which drops any cached listing of it; then one LIST, no warm-up.
      const cold: number[] = [];
      const dir = `${context.fixtures.root}/${PATHS.list}`;
      for (let i = 0; i < COLD_RUNS; i++) {
        await Deno.rename(dir, `${dir}.moved`);
        await Deno.rename(`${dir}.moved`, dir);
        const first = await client(context, "list", [
          ...login(server!),
          verb,
          PATHS.list,
          "1",
          "0",
        ]);
        cold.push(fields(first.trim()).ms);
      }
      return [
        {
          key: "ms",
          label: `${verb} to 226 (median of ${listRuns}, warm)`,
          unit: "ms",
          value: median(runs.map((r) => r.ms)),
        },
        {
          key: "cold",
          label: `first ${verb} (median of ${COLD_RUNS}, cold)`,
          unit: "ms",
          value: median(cold),
        },
        { key: "bytes", label: "listing size", unit: "bytes", value: bytes },
      ];
    },
  };
}

const logins: Metric = {
  name: "logins",
  title: "Connect, USER, PASS, NOOP, QUIT in 8 concurrent workers",
  limitSeconds: 60,
  needs: [],
  server: "metric",
  async round(context, server) {
    const out = await client(context, "logins", [
      ...login(server!),
      "8",
      String(context.sizes.loopSeconds),
    ]);
    const result = fields(out);
    return [{
      key: "per_second",
      label: "logins (8 workers)",
      unit: "logins/s",
      value: result.ops / result.seconds,
    }];
  },
};

/** Opens `count` logged-in sessions, runs `measure` while they are open, then closes them. */
async function holding<T>(
  context: Context,
  server: BenchServer,
  count: number,
  measure: () => Promise<T>,
): Promise<{ result: T; openSeconds: number }> {
  const timeout = remaining(context);
  const holder = spawn(await context.client(), ["hold", ...login(server), String(count)], {
    cwd: context.tmp,
    env: clientEnv(timeout),
    stdin: true,
  });
  const out = new LineStream(holder.stdout);
  const errors = new LineStream(holder.stderr).rest();
  const stdin = holder.stdin.getWriter();
  try {
    const ready = await out.next(timeout, `${count} sessions`);
    if (ready === null || !ready.startsWith("ready")) {
      throw new BenchError(`could not open ${count} sessions: ${await errors}`);
    }
    const result = await measure();
    await stdin.close();
    const closed = await out.next(remaining(context), "sessions to close");
    if (!(await holder.status).success || closed !== `closed ${count}`) {
      throw new BenchError(`closing ${count} sessions failed: ${await errors}`);
    }
    return { result, openSeconds: fields(ready).seconds };
  } finally {
    try {
      holder.kill("SIGKILL");
    } catch { /* exited */ }
  }
}

const idle: Metric = {
  name: "idle",
  title: "Server RSS per idle logged-in session",
  limitSeconds: 120,
  needs: [],
  server: "round",
  async round(context, server) {
    const count = context.sizes.idleSessions;
    const pid = server!.pid;
    // Warm-up: the first sessions load code and grow pools that later sessions reuse.
    await holding(context, server!, 10, () => sleep(100));
    await sleep(500);
    const before = await rssKiB(pid);
    const { result: after, openSeconds } = await holding(context, server!, count, async () => {
      await sleep(1000);
      return await rssKiB(pid);
    });
    return [
      {
        key: "kib_per_session",
        label: `RSS per session (${count} sessions)`,
        unit: "KiB",
        value: (after - before) / count,
      },
      { key: "rss_before_mib", label: "RSS before", unit: "MiB", value: before / 1024 },
      {
        key: "rss_after_mib",
        label: `RSS with ${count} sessions`,
        unit: "MiB",
        value: after / 1024,
      },
      {
        key: "open_per_second",
        label: "sessions opened (one client, in turn)",
        unit: "sessions/s",
        value: count / openSeconds,
      },
    ];
  },
};

/** ms from exec to the first 220, measured by the C client's startup mode. */
async function timeToBanner(
  context: Context,
  command: (port: number) => string[],
): Promise<number> {
  const port = freePort();
  // From the repository, as a user would run it: deno finds deno.json (and its imports) there.
  const out = await client(
    context,
    "startup",
    [String(port), "--", ...command(port)],
    context.serverRepo,
  );
  return fields(out).ms;
}

const startup: Metric = {
  name: "startup",
  title: "Exec to first 220 banner: ftpgate vs a bare Deno listener",
  limitSeconds: 180,
  needs: [],
  server: "none",
  async round(context) {
    const root = `${context.tmp}/startup-root`;
    await Deno.mkdir(root, { recursive: true });
    const deno = Deno.execPath();
    const ftpgate = (port: number) => [deno, ...serverArgs(root), "--port", String(port)];
    const bare = (port: number) => [
      deno,
      "run",
      "-A",
      `${context.repo}/bench/bare_listener.ts`,
      String(port),
    ];
    // One untimed start each, so neither pays for a cold module cache.
    await timeToBanner(context, ftpgate);
    await timeToBanner(context, bare);
    const ftpgateMs: number[] = [];
    const bareMs: number[] = [];
    for (let i = 0; i < context.sizes.startups; i++) {
      ftpgateMs.push(await timeToBanner(context, ftpgate));
      bareMs.push(await timeToBanner(context, bare));
    }
    const ftp = median(ftpgateMs);
    const plain = median(bareMs);
    const figures: Figure[] = [
      {
        key: "ftpgate_ms",
        label: `ftpgate (median of ${ftpgateMs.length})`,
        unit: "ms",
        value: ftp,
      },
      {
        key: "bare_ms",
        label: `bare Deno listener (median of ${bareMs.length})`,
        unit: "ms",
        value: plain,
      },
      { key: "ratio", label: "ftpgate / bare", unit: "×", value: ftp / plain },
    ];
    return figures;
  },
};

/** The session metrics, in the order they run. */
export const SESSION_METRICS: Metric[] = [listing("LIST"), listing("MLSD"), logins, idle, startup];
