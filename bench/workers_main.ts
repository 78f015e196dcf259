/**
 * The worker pool with a probe for the tests: `deno run -A --unstable-net
 * bench/workers_main.ts N '<serve options as JSON>'` (main.ts --workers N runs the same pool,
 * without the per-worker session counts that tests/integration/workers_test.ts asks for). Prints `ftp://127.0.0.1:PORT/` when every
 * worker listens, then `{"sessionsPerWorker":[...]}` for each line read on stdin; SIGTERM (or
 * stdin closing) shuts every worker down and exits 0. Used by the worker tests.
 *
 * @module
 */

import { runWorkers } from "../src/workers/pool.ts";

const [count, json] = Deno.args;
const pool = await runWorkers(JSON.parse(json ?? "{}"), Number(count), {
  log: { format: "text", level: "warning" },
});
const encoder = new TextEncoder();
const say = (line: string) => Deno.stdout.writeSync(encoder.encode(line + "\n"));
say(`ftp://127.0.0.1:${pool.addr.port}/ workers=${pool.workers}`);
Deno.addSignalListener("SIGTERM", () => void pool.shutdown());
(async () => {
  const decoder = new TextDecoder();
  for await (const chunk of Deno.stdin.readable) {
    for (const line of decoder.decode(chunk).split("\n")) {
      if (line.trim() === "") continue;
      if (line.trim() === "stop") void pool.shutdown();
      else say(JSON.stringify({ sessionsPerWorker: await pool.sessionsPerWorker() }));
    }
  }
  void pool.shutdown();
})();
await pool.finished;
say("stopped");
Deno.exit(0);
