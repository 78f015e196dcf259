/**
 * A very large directory listed over FTP: server memory growth and time to the first byte.
 *
 *   deno run -A bench/listing_memory.ts [--entries 200000] [--main path/to/main.ts] [--verb LIST]
 *
 * Creates a directory with N empty files under /tmp (once; reused when it exists), starts the
 * ftpgate of `--main` (default: this checkout's) on it, logs in with a raw client, sends the
 * listing command and reads its data connection, sampling the server's VmRSS every 10 ms. Prints
 * one JSON line: entries, ms to the first byte, ms to the end, bytes, RSS before and peak.
 * Everything it starts is stopped at the end.
 *
 * @module
 */

import { parseArgs } from "node:util";

const args = parseArgs({
  args: Deno.args,
  options: {
    entries: { type: "string", default: "200000" },
    main: { type: "string", default: new URL("../main.ts", import.meta.url).pathname },
    verb: { type: "string", default: "LIST" },
  },
});
const entries = Number(args.values.entries);
const dir = `/tmp/ftpgate-listing-${entries}`;

function prepare(): void {
  try {
    if ([...Deno.readDirSync(dir)].length === entries) return;
  } catch { /* missing */ }
  Deno.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < entries; i++) {
    Deno.writeFileSync(`${dir}/file-${String(i).padStart(7, "0")}.dat`, new Uint8Array(0));
  }
}

function rss(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/^VmRSS:\s+(\d+)/m.exec(status)![1]) * 1024;
}

async function readLine(conn: Deno.Conn, pending: { text: string }): Promise<string> {
  const buffer = new Uint8Array(4096);
  while (!pending.text.includes("\r\n")) {
    const n = await conn.read(buffer);
    if (n === null) throw new Error("control connection closed");
    pending.text += new TextDecoder().decode(buffer.subarray(0, n));
  }
  const line = pending.text.slice(0, pending.text.indexOf("\r\n"));
  pending.text = pending.text.slice(line.length + 2);
  return line;
}

prepare();
const server = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-A",
    "--v8-flags=--max-semi-space-size=1",
    args.values.main,
    "--root",
    dir,
    "--port",
    "0",
    "--user",
    "bench:bench",
    "--log-level",
    "error",
    "--ready-file",
    "-",
    "--stdin-lifeline",
  ],
  stdin: "piped",
  stdout: "piped",
  stderr: "inherit",
}).spawn();
try {
  const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) out += (await reader.read()).value ?? "";
  const port = JSON.parse(out.slice(0, out.indexOf("\n"))).port as number;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const pending = { text: "" };
  const command = async (line: string) => {
    await conn.write(new TextEncoder().encode(line + "\r\n"));
    return await readLine(conn, pending);
  };
  await readLine(conn, pending);
  await command("USER bench");
  await command("PASS bench");
  await command("TYPE I");
  const epsv = await command("EPSV");
  const dataPort = Number(/\|\|\|(\d+)\|/.exec(epsv)![1]);
  const data = await Deno.connect({ hostname: "127.0.0.1", port: dataPort });
  // A warm-up NOOP, then the baseline, then the listing.
  await command("NOOP");
  const before = rss(server.pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rss(server.pid))), 10);
  const started = performance.now();
  await conn.write(new TextEncoder().encode(`${args.values.verb}\r\n`));
  const buffer = new Uint8Array(1 << 20);
  let first = NaN;
  let bytes = 0;
  for (;;) {
    const n = await data.read(buffer);
    if (n === null) break;
    if (Number.isNaN(first)) first = performance.now() - started;
    bytes += n;
  }
  const total = performance.now() - started;
  clearInterval(sampler);
  data.close();
  await readLine(conn, pending);
  await readLine(conn, pending);
  conn.close();
  // deno-lint-ignore no-console
  console.log(JSON.stringify({
    entries,
    verb: args.values.verb,
    firstByteMs: Math.round(first),
    totalMs: Math.round(total),
    bytes,
    rssBeforeMiB: +(before / 2 ** 20).toFixed(1),
    rssPeakMiB: +(peak / 2 ** 20).toFixed(1),
    rssGrowthMiB: +((peak - before) / 2 ** 20).toFixed(1),
  }));
  await reader.cancel();
} finally {
  try {
    server.kill();
  } catch { /* exited */ }
  await server.stdin.close().catch(() => {});
  await server.status;
}
