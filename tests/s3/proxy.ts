/**
 * A TCP relay between ftpgate and the S3 gateway, for tests that must see or break the S3
 * traffic: it counts the bytes each way (to prove that APPE does not download the object), and
 * it can cut the link (an S3 outage: open connections reset, new ones closed at once) and
 * restore it.
 *
 * @module
 */

/** A running relay. `await using` it. */
export interface S3Relay extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`: use as the S3 endpoint. */
  endpoint: string;
  /** Bytes that came from the gateway (responses: GET bodies, listings). */
  readonly bytesDown: number;
  /** Bytes that went to the gateway (requests: PUT bodies). */
  readonly bytesUp: number;
  /** Zeroes both counters. */
  resetCounters(): void;
  /** Breaks every open connection and refuses service until {@linkcode restore}. */
  cut(): void;
  restore(): void;
  /** Stops forwarding the gateway's bytes (a stalled download) until {@linkcode resume}. */
  pause(): void;
  resume(): void;
}

/** Starts a relay to `target` (an `http://host:port` endpoint). */
export function startRelay(target: string): S3Relay {
  const url = new URL(target);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  let down = 0;
  let up = 0;
  let broken = false;
  let gate: { promise: Promise<void>; open: () => void } | null = null;

  const closeQuietly = (conn: Deno.Conn) => {
    try {
      conn.close();
    } catch { /* already closed */ }
  };

  const pipe = async (
    from: Deno.Conn,
    to: Deno.Conn,
    count: (n: number) => void,
    gated: boolean,
  ) => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        if (gated && gate !== null) await gate.promise;
        const n = await from.read(buffer);
        if (n === null) break;
        count(n);
        let offset = 0;
        while (offset < n) offset += await to.write(buffer.subarray(offset, n));
      }
    } catch { /* the other side went away, or we cut it */ }
    try {
      await to.closeWrite();
    } catch { /* closed */ }
  };

  const relay = async (client: Deno.Conn) => {
    if (broken) {
      closeQuietly(client);
      return;
    }
    let server: Deno.Conn;
    try {
      server = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
    } catch {
      closeQuietly(client);
      return;
    }
    open.add(client);
    open.add(server);
    await Promise.all([
      pipe(client, server, (n) => (up += n), false),
      pipe(server, client, (n) => (down += n), true),
    ]);
    open.delete(client);
    open.delete(server);
    closeQuietly(client);
    closeQuietly(server);
  };

  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        const task: Promise<void> = relay(conn).finally(() => tasks.delete(task));
        tasks.add(task);
      }
    } catch { /* listener closed */ }
  })();

  return {
    endpoint: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    get bytesDown() {
      return down;
    },
    get bytesUp() {
      return up;
    },
    resetCounters() {
      down = 0;
      up = 0;
    },
    cut() {
      broken = true;
      gate?.open();
      gate = null;
      for (const conn of open) closeQuietly(conn);
      open.clear();
    },
    restore() {
      broken = false;
    },
    pause() {
      if (gate !== null) return;
      let open = () => {};
      const promise = new Promise<void>((resolve) => (open = resolve));
      gate = { promise, open };
    },
    resume() {
      gate?.open();
      gate = null;
    },
    async [Symbol.asyncDispose]() {
      gate?.open();
      listener.close();
      for (const conn of open) closeQuietly(conn);
      await accepting;
      await Promise.allSettled([...tasks]);
    },
  };
}
