/**
 * The multi-worker server (src/workers/pool.ts): two isolates on one port, with the connection
 * limits, bans and the "file busy" guard shared through the main isolate, and SIGTERM stopping
 * every worker. The pool runs in a subprocess (bench/workers_main.ts), because SO_REUSEPORT needs
 * `--unstable-net`.
 */
import { equal, match, ok } from "node:assert/strict";
import { RawClient } from "../helpers/raw_client.ts";
import { withTimeout } from "../helpers/protocol_helpers.ts";

const USER = "w";
const PASSWORD = "w-pass";
const MAIN = new URL("../../bench/workers_main.ts", import.meta.url).pathname;

interface Pool extends AsyncDisposable {
  port: number;
  root: string;
  /** Sessions in each worker, as the pool counts them. */
  perWorker(): Promise<number[]>;
  /** Sends SIGTERM; resolves with the exit code and whether "stopped" was printed. */
  terminate(): Promise<{ code: number; stopped: boolean }>;
}

async function startPool(options: Record<string, unknown> = {}): Promise<Pool> {
  const root = Deno.makeTempDirSync({ prefix: "ftpgate-workers-" });
  const serveOptions = {
    root,
    port: 0,
    hostname: "127.0.0.1",
    users: [{ name: USER, password: PASSWORD }],
    loginFailureDelayMs: 0,
    ...options,
  };
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-net", MAIN, "2", JSON.stringify(serveOptions)],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const nextLine = async (): Promise<string> => {
    for (;;) {
      const newline = buffered.indexOf("\n");
      if (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        return line;
      }
      const { value, done } = await lines.read();
      if (done) return "";
      buffered += value;
    }
  };
  const ready = await withTimeout(nextLine(), 20_000, "the pool's ready line");
  match(ready, /workers=2$/);
  const port = Number(/:(\d+)\//.exec(ready)![1]);
  let status: Deno.CommandStatus | null = null;
  const terminate = async () => {
    if (status === null) {
      child.kill("SIGTERM");
      const rest: string[] = [];
      for (let line = await nextLine(); line !== ""; line = await nextLine()) rest.push(line);
      status = await child.status;
      await writer.close().catch(() => {});
      return { code: status.code, stopped: rest.includes("stopped") };
    }
    return { code: status.code, stopped: true };
  };
  return {
    port,
    root,
    async perWorker() {
      await writer.write(new TextEncoder().encode("count\n"));
      return JSON.parse(await nextLine()).sessionsPerWorker;
    },
    terminate,
    async [Symbol.asyncDispose]() {
      await terminate();
      Deno.removeSync(root, { recursive: true });
    },
  };
}

/** Connects and reads the banner; the reply (220, or a 421 refusal). */
async function connect(port: number): Promise<{ client: RawClient; code: number; text: string }> {
  const client = await RawClient.connect(port);
  const banner = client.banner!;
  return { client, code: banner.code, text: banner.text };
}

Deno.test("workers: sessions spread over both workers, and maxSessionsPerIp holds across them", async () => {
  await using pool = await startPool({ maxSessionsPerIp: 6 });
  const clients: RawClient[] = [];
  try {
    for (let i = 0; i < 6; i++) {
      const { client, code } = await connect(pool.port);
      clients.push(client);
      equal(code, 220, `session ${i + 1} of 6`);
      await client.login(USER, PASSWORD);
    }
    const spread = await pool.perWorker();
    equal(spread.reduce((a, b) => a + b, 0), 6);
    // The kernel hashes each connection to a worker; 6 connections all in one: 1 in 32.
    ok(spread.every((n) => n > 0), `both workers have sessions: ${spread}`);
    for (let i = 0; i < 4; i++) {
      const refused = await connect(pool.port);
      refused.client.close();
      equal(refused.code, 421, "a 7th connection from the address is refused, whichever worker");
      match(refused.text, /Too many connections from your address/);
    }
    clients.pop()!.close();
    await withTimeout(
      (async () => {
        for (;;) {
          const again = await connect(pool.port);
          if (again.code === 220) return clients.push(again.client);
          again.client.close();
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })(),
      5_000,
      "a freed place taken again",
    );
  } finally {
    for (const client of clients) client.close();
  }
});

Deno.test("workers: maxSessions holds across workers", async () => {
  await using pool = await startPool({ maxSessions: 4 });
  const clients: RawClient[] = [];
  try {
    for (let i = 0; i < 4; i++) {
      const { client, code } = await connect(pool.port);
      clients.push(client);
      equal(code, 220);
    }
    for (let i = 0; i < 4; i++) {
      const refused = await connect(pool.port);
      refused.client.close();
      equal(refused.code, 421);
      match(refused.text, /Too many users/);
    }
  } finally {
    for (const client of clients) client.close();
  }
});

Deno.test("workers: failed logins in any worker ban the address in every worker", async () => {
  await using pool = await startPool({ banAfterFailures: 3, banDurationMs: 60_000 });
  for (let i = 0; i < 3; i++) {
    const { client, code } = await connect(pool.port);
    equal(code, 220);
    await client.expect(`USER ${USER}`, 331);
    // The failure that reaches the limit bans at once, its own session included (as one server).
    equal((await client.command("PASS wrong")).code, i < 2 ? 530 : 421);
    client.close();
  }
  // Every later connection, whichever worker the kernel picks, is refused.
  for (let i = 0; i < 8; i++) {
    const refused = await connect(pool.port);
    refused.client.close();
    equal(refused.code, 421, `connection ${i + 1} after the ban`);
    match(refused.text, /failed logins/);
  }
});

Deno.test("workers: an upload in one worker makes the same file busy in the other", async () => {
  await using pool = await startPool();
  const holder = (await connect(pool.port)).client;
  const others: RawClient[] = [];
  try {
    await holder.login(USER, PASSWORD);
    await holder.expect("TYPE I", 200);
    const data = await holder.epsv();
    await holder.expect("STOR same.bin", 150);
    await data.write(new Uint8Array(1000)); // the upload is open: the file is held
    await new Promise((resolve) => setTimeout(resolve, 100));
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) {
      const { client } = await connect(pool.port);
      others.push(client);
      await client.login(USER, PASSWORD);
      await client.expect("TYPE I", 200);
      const second = await client.epsv();
      codes.push((await client.command("STOR same.bin")).code);
      second.close();
    }
    const spread = await pool.perWorker();
    ok(spread.every((n) => n > 0), `sessions in both workers: ${spread}`);
    equal(codes.filter((code) => code === 450).length, 8, `every second upload is busy: ${codes}`);
    data.close();
    equal((await holder.read()).code, 226);
    // Released: the next upload goes through.
    const retry = await others[0].upload("STOR same.bin", new Uint8Array(10));
    equal(retry.code, 226);
  } finally {
    holder.close();
    for (const client of others) client.close();
  }
});

Deno.test("workers: SIGTERM stops every worker: sessions get 421, the process exits 0, the port is free", async () => {
  const pool = await startPool();
  const clients: RawClient[] = [];
  try {
    for (let i = 0; i < 6; i++) {
      const { client } = await connect(pool.port);
      await client.login(USER, PASSWORD);
      clients.push(client);
    }
    const spread = await pool.perWorker();
    ok(spread.every((n) => n > 0), `sessions in both workers: ${spread}`);
    const { code, stopped } = await withTimeout(pool.terminate(), 15_000, "the pool stopping");
    equal(code, 0);
    ok(stopped, "the pool said it stopped");
    for (const client of clients) equal((await client.read()).code, 421);
    // Nothing listens on the port any more.
    const free = Deno.listen({ hostname: "127.0.0.1", port: pool.port });
    free.close();
  } finally {
    for (const client of clients) client.close();
    await pool[Symbol.asyncDispose]();
  }
});
