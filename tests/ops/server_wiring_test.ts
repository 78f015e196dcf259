/**
 * End to end: a real server, real clients (curl, lftp, a raw socket client), the ops modules
 * attached to the server itself (FtpServer is an OpsHost).
 */

import { createHmac } from "node:crypto";
import { deepEqual, equal, match, ok } from "node:assert/strict";
import type { OpsHost } from "../../src/ops/host.ts";
import { attachOps, type OpsOptions } from "../../src/ops/mod.ts";
import { startTestServer, type TestServer } from "../../src/testing.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { hasCommand } from "../helpers/tools.ts";
import type { BrowserContext } from "playwright-core";
import { HAVE_CHROMIUM, launchChromium, type ProgressLike } from "./browser.ts";
import { type Exposition, parseExposition, sampleValue, until } from "./helpers.ts";

const encoder = new TextEncoder();

function wiredTest(name: string, fn: () => Promise<void>, needs: string[] = []): void {
  const missing = needs.filter((tool) => !hasCommand(tool));
  Deno.test({
    name,
    ignore: missing.length > 0,
    fn,
  });
}

function host(ftp: TestServer): OpsHost {
  return ftp.server;
}

async function scrape(url: string): Promise<Exposition> {
  return parseExposition(await (await fetch(`${url}metrics`)).text());
}

async function run(program: string, args: string[], cwd?: string): Promise<string> {
  const { success, stdout, stderr } = await new Deno.Command(program, {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout);
  if (!success) throw new Error(`${program} failed: ${new TextDecoder().decode(stderr)}`);
  return out;
}

function ftpUrl(ftp: TestServer, path: string): string {
  return `ftp://127.0.0.1:${ftp.port}${path.split("/").map(encodeURIComponent).join("/")}`;
}

/** Counter deltas between two scrapes. */
function delta(before: Exposition, after: Exposition) {
  return (name: string, labels: Record<string, string> = {}) =>
    (sampleValue(after, name, labels) ?? 0) - (sampleValue(before, name, labels) ?? 0);
}

async function withOps(
  ftp: TestServer,
  options: OpsOptions,
  fn: (ops: Awaited<ReturnType<typeof attachOps>>) => Promise<void>,
): Promise<void> {
  const ops = await attachOps(host(ftp), options);
  try {
    await fn(ops);
  } finally {
    await ops.close();
  }
}

wiredTest("Metrics move by exact amounts around curl transfers", async () => {
  await using ftp = startTestServer({ files: { "down.bin": new Uint8Array(70_000).fill(7) } });
  await withOps(ftp, { http: { port: 0 } }, async (ops) => {
    const url = ops.http!.url;
    const local = await Deno.makeTempDir();
    try {
      await Deno.writeFile(`${local}/up.bin`, new Uint8Array(100_000).fill(1));
      const before = await scrape(url);
      const auth = `${ftp.user}:${ftp.password}`;
      await run("curl", ["-sS", "--user", auth, "-T", `${local}/up.bin`, ftpUrl(ftp, "/up.bin")]);
      await run("curl", [
        "-sS",
        "--user",
        auth,
        "-o",
        `${local}/down.bin`,
        ftpUrl(ftp, "/down.bin"),
      ]);
      await until(async () => sampleValue(await scrape(url), "ftpgate_sessions_open") === 0);
      const after = await scrape(url);
      const d = delta(before, after);
      equal(d("ftpgate_sessions_total"), 2);
      equal(d("ftpgate_logins_total", { result: "ok" }), 2);
      equal(d("ftpgate_logins_total", { result: "failed" }), 0);
      equal(d("ftpgate_transfer_bytes_total", { direction: "in" }), 100_000);
      equal(d("ftpgate_transfer_bytes_total", { direction: "out" }), 70_000);
      equal(d("ftpgate_transfers_total", { direction: "in", result: "ok" }), 1);
      equal(d("ftpgate_transfers_total", { direction: "out", result: "ok" }), 1);
      equal(d("ftpgate_transfer_duration_seconds_count", { direction: "in" }), 1);
      equal(d("ftpgate_commands_total", { verb: "STOR", class: "2xx" }), 1);
      equal(d("ftpgate_commands_total", { verb: "RETR", class: "2xx" }), 1);
      equal(d("ftpgate_commands_total", { verb: "USER", class: "3xx" }), 2);
      equal(d("ftpgate_commands_total", { verb: "PASS", class: "2xx" }), 2);
      // The storage calls behind them, timed per back end and call (a temporary directory).
      const storageCalls = (operation: string) =>
        d("ftpgate_storage_operation_duration_seconds_count", { backend: "local", operation });
      equal(storageCalls("read"), 1, "the RETR's read");
      equal(storageCalls("write"), 1, "the STOR's write");
      ok(storageCalls("stat") >= 1, "curl's SIZE and the uploads' checks");
      equal(
        d("ftpgate_storage_operation_failures_total", { backend: "local", operation: "read" }),
        0,
      );
    } finally {
      await Deno.remove(local, { recursive: true });
    }
  });
}, ["curl"]);

wiredTest("Metrics move by exact amounts around lftp transfers", async () => {
  await using ftp = startTestServer({ files: { "a.txt": "x".repeat(5000) } });
  await withOps(ftp, { http: { port: 0 } }, async (ops) => {
    const url = ops.http!.url;
    const local = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${local}/b.txt`, "y".repeat(3000));
      const before = await scrape(url);
      await run("lftp", [
        "-c",
        `set ftp:ssl-allow no; set net:max-retries 1; open -u ${ftp.user},${ftp.password} ` +
        `ftp://127.0.0.1:${ftp.port}; get a.txt; put b.txt; quit`,
      ], local);
      await until(async () => sampleValue(await scrape(url), "ftpgate_sessions_open") === 0);
      const d = delta(before, await scrape(url));
      equal(d("ftpgate_transfer_bytes_total", { direction: "out" }), 5000);
      equal(d("ftpgate_transfer_bytes_total", { direction: "in" }), 3000);
      equal(d("ftpgate_transfers_total", { direction: "in", result: "ok" }), 1);
      equal(d("ftpgate_transfers_total", { direction: "out", result: "ok" }), 1);
    } finally {
      await Deno.remove(local, { recursive: true });
    }
  });
}, ["lftp"]);

wiredTest("The xferlog line of a known upload matches field by field", async () => {
  await using ftp = startTestServer();
  const log = await Deno.makeTempFile();
  try {
    await withOps(ftp, { transferLog: { path: log, utc: true } }, async () => {
      const client = await RawClient.connect(ftp.port);
      try {
        await client.login(ftp.user, ftp.password);
        await client.expect("TYPE I", 200);
        await client.upload("STOR my report.txt", encoder.encode("z".repeat(1234)));
        await client.expect("QUIT", 221);
      } finally {
        client.close();
      }
    });
    const line = (await Deno.readTextFile(log)).trim();
    const f = line.split(/\s+/);
    equal(f.length, 18, line);
    match(f.slice(0, 5).join(" "), /^\w{3} \w{3} \d{1,2} \d{2}:\d{2}:\d{2} \d{4}$/);
    deepEqual(f.slice(5), [
      "1",
      "127.0.0.1",
      "1234",
      "/my_report.txt",
      "b",
      "_",
      "i",
      "r",
      ftp.user,
      "ftp",
      "0",
      "*",
      "c",
    ]);
  } finally {
    await Deno.remove(log);
  }
});

wiredTest(
  "--on-upload runs once per completed upload with its variables, never for an aborted one",
  async () => {
    await using ftp = startTestServer();
    const dir = await Deno.makeTempDir();
    try {
      const script = `${dir}/hook.sh`;
      await Deno.writeTextFile(script, `#!/bin/sh\nenv | grep '^FTPGATE_' | sort > "$1/run.$$"\n`);
      await Deno.chmod(script, 0o755);
      await withOps(ftp, { onUpload: { command: [script, dir] } }, async () => {
        const client = await RawClient.connect(ftp.port);
        try {
          await client.login(ftp.user, ftp.password);
          // Binary: in TYPE A only a server that reports the stored size gives FTPGATE_SIZE.
          await client.expect("TYPE I", 200);
          await client.upload("STOR done.csv", encoder.encode("a,b\n1,2\n"));
          // An aborted upload: data flows, then ABOR before the end.
          const data = await client.epsv();
          await client.expect("STOR partial.csv", 150);
          await data.write(encoder.encode("x".repeat(10_000)));
          await client.send("ABOR");
          const first = await client.read();
          ok([426, 225, 226].includes(first.code), first.text);
          if (first.code === 426) await client.read();
          data.close();
          await client.expect("QUIT", 221);
        } finally {
          client.close();
        }
        await until(
          () => [...Deno.readDirSync(dir)].some((e) => e.name.startsWith("run.")),
          5000,
          "the hook",
        );
        await new Promise((resolve) => setTimeout(resolve, 300)); // a second run would be there by now
      });
      const runs = [...Deno.readDirSync(dir)].filter((e) => e.name.startsWith("run."));
      equal(runs.length, 1);
      const env = Object.fromEntries(
        Deno.readTextFileSync(`${dir}/${runs[0].name}`).trim().split("\n").map((l) => {
          const i = l.indexOf("=");
          return [l.slice(0, i), l.slice(i + 1)];
        }),
      );
      equal(env.FTPGATE_PATH, "/done.csv");
      equal(env.FTPGATE_USER, ftp.user);
      equal(env.FTPGATE_SIZE, "8");
      equal(env.FTPGATE_REMOTE_ADDRESS, "127.0.0.1");
      if (env.FTPGATE_REAL_PATH !== undefined) equal(env.FTPGATE_REAL_PATH, `${ftp.root}/done.csv`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

wiredTest(
  "A webhook receiver gets a real upload's events in order with valid signatures",
  async () => {
    await using ftp = startTestServer({ storage: "memory" });
    const received: { raw: Uint8Array; signature: string | null }[] = [];
    const receiver = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (r) => {
        received.push({
          raw: new Uint8Array(await r.arrayBuffer()),
          signature: r.headers.get("x-ftpgate-signature"),
        });
        return new Response(null, { status: 204 });
      },
    );
    try {
      await withOps(ftp, {
        webhook: { url: `http://127.0.0.1:${receiver.addr.port}/`, secret: "k" },
      }, async () => {
        const client = await RawClient.connect(ftp.port);
        try {
          await client.login(ftp.user, ftp.password);
          await client.upload("STOR in.txt", encoder.encode("hello"));
          await client.expect("RNFR in.txt", 350);
          await client.expect("RNTO done.txt", 250);
          await client.expect("QUIT", 221);
        } finally {
          client.close();
        }
        await until(() => received.length >= 5, 5000, "5 webhook events");
      });
      const bodies = received.map((r) => JSON.parse(new TextDecoder().decode(r.raw)));
      deepEqual(bodies.map((b) => b.type), [
        "session.start",
        "login",
        "upload.completed",
        "rename",
        "session.end",
      ]);
      equal(bodies[2].path, "/in.txt");
      equal(bodies[2].size, 5);
      equal(bodies[3].to, "/done.txt");
      for (const r of received) {
        equal(r.signature, `sha256=${createHmac("sha256", "k").update(r.raw).digest("hex")}`);
      }
    } finally {
      await receiver.shutdown();
    }
  },
);

wiredTest("/healthz flips to 503 during the shutdown grace while a transfer runs", async () => {
  const ftp = startTestServer({ files: { "big.bin": new Uint8Array(32 * 1024 * 1024) } });
  const ops = await attachOps(host(ftp), { http: { port: 0 } });
  const client = await RawClient.connect(ftp.port);
  let data: Deno.TcpConn | undefined;
  try {
    await client.login(ftp.user, ftp.password);
    data = await client.epsv();
    await client.expect("RETR big.bin", 150); // the client does not read: the transfer stays open
    equal(
      (await fetch(`${ops.http!.url}healthz`).then((r) => r.body?.cancel().then(() => r)))!.status,
      200,
    );
    const stopping = ftp.server.shutdown({ graceMs: 10_000 });
    await until(
      async () => {
        const r = await fetch(`${ops.http!.url}healthz`);
        const body = await r.json();
        return r.status === 503 && body.status === "draining" && body.transfers === 1;
      },
      5000,
      "503 while draining",
    );
    await ftp.server.shutdown({ graceMs: 0 });
    await stopping;
  } finally {
    data?.close();
    client.close();
    await ops.close();
    await ftp[Symbol.asyncDispose]();
  }
});

wiredTest("/readyz is 200 for a running server", async () => {
  await using ftp = startTestServer({ storage: "memory" });
  await withOps(ftp, { http: { port: 0 } }, async (ops) => {
    const r = await fetch(`${ops.http!.url}readyz`);
    equal(r.status, 200);
    deepEqual(await r.json(), { status: "ready" });
  });
});

Deno.test({
  name: "The status page shows a real session and a real download advancing (Chromium)",
  ignore: !HAVE_CHROMIUM,
  sanitizeOps: false, // playwright-core's pipes and timers to the browser
  sanitizeResources: false,
  async fn() {
    await using ftp = startTestServer({ files: { "big.bin": new Uint8Array(64 * 1024 * 1024) } });
    const tmp = await Deno.makeTempDir({ prefix: "ftpgate-status-real-" });
    const ops = await attachOps(host(ftp), { http: { port: 0 } });
    const client = await RawClient.connect(ftp.port);
    let context: BrowserContext | undefined;
    let reading = true;
    let data: Deno.TcpConn | undefined;
    try {
      await client.login(ftp.user, ftp.password);
      await client.expect("TYPE I", 200);
      data = await client.epsv();
      await client.expect("RETR big.bin", 150);
      // Read slowly (about 2.5 MiB/s), so that the transfer lasts while the page watches it.
      const conn = data;
      const slowRead = (async () => {
        const buffer = new Uint8Array(64 * 1024);
        while (reading) {
          if ((await conn.read(buffer)) === null) break;
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      })().catch(() => {});
      context = await launchChromium(`${tmp}/profile`);
      const page = await context.newPage();
      await page.goto(ops.http!.url);
      const row = page.locator("#sessions tbody tr");
      await row.first().waitFor();
      equal(await page.textContent("#sessions tbody td.user"), ftp.user);
      const bar = page.locator(".transfer progress");
      await bar.waitFor();
      const bytes = () => bar.evaluate((el: ProgressLike) => Number(el.getAttribute("data-bytes")));
      const first = await bytes();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const second = await bytes();
      ok(second > first, `bytes ${first} → ${second}`);
      match(await page.textContent(".transfer .path") ?? "", /\/big\.bin$/);
      await page.screenshot({ path: `${tmp}/status-page-real.png`, fullPage: true });
      reading = false;
      data.close();
      data = undefined;
      await slowRead;
    } finally {
      reading = false;
      data?.close();
      client.close();
      await context?.close();
      await ops.close();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
