/**
 * The quota's first count of a tree failing once (an object store's hiccup): no unhandled
 * rejection, and the user's changes are not refused for good; the count is taken again.
 */
import { equal } from "node:assert/strict";
import { type FileStat, MemoryStorage, serve, StorageError } from "../../src/mod.ts";
import { RawClient, writeAllAndClose } from "../helpers/raw_client.ts";

const encoder = new TextEncoder();

async function login(port: number, user: string, password: string): Promise<RawClient> {
  const c = await RawClient.connect(port);
  await c.login(user, password);
  await c.expect("TYPE I", 200);
  return c;
}

async function stor(c: RawClient, name: string, size: number): Promise<number> {
  const data = await c.epsv();
  const opening = await c.command(`STOR ${name}`);
  if (opening.code !== 150) {
    data.close();
    return opening.code;
  }
  await writeAllAndClose(data, encoder.encode("z".repeat(size)));
  return (await c.read()).code;
}

/** A memory tree whose first listing fails, as an object store's request can. */
class FlakyFirstList extends MemoryStorage {
  failures = 1;
  override async *list(path: string): AsyncGenerator<FileStat> {
    if (this.failures > 0) {
      this.failures--;
      throw new StorageError("unavailable", path);
    }
    yield* super.list(path);
  }
}

Deno.test("quota: one failed listing while counting the tree does not refuse the user's changes for ever", async () => {
  // (An unhandled rejection is the next test's concern; here it would only hide what follows.)
  const swallow = (event: PromiseRejectionEvent) => event.preventDefault();
  globalThis.addEventListener("unhandledrejection", swallow);
  try {
    await refusedForEver();
  } finally {
    globalThis.removeEventListener("unhandledrejection", swallow);
  }
});

async function refusedForEver(): Promise<void> {
  const storage = new FlakyFirstList();
  storage.writeFile("/old.txt", "x");
  await using server = serve({
    root: storage,
    loginFailureDelayMs: 0,
    users: [{ name: "q", password: "pw", limits: { quotaBytes: 1_000_000 } }],
  });
  const port = server.addr.port;
  {
    await using first = await login(port, "q", "pw");
    await first.command("NOOP");
  }
  // Later sessions, long after the hiccup: the store answers again.
  await new Promise((resolve) => setTimeout(resolve, 100));
  await using c = await login(port, "q", "pw");
  const stored = await stor(c, "new.txt", 10);
  const deleted = (await c.command("DELE old.txt")).code;
  equal(`${stored} ${deleted}`, "226 250", "uploads and deletes are refused for good");
}

Deno.test("quota: a failed first count is no unhandled promise rejection (it ends an embedding process)", async () => {
  const rejections: unknown[] = [];
  const record = (event: PromiseRejectionEvent) => {
    event.preventDefault();
    rejections.push(event.reason);
  };
  globalThis.addEventListener("unhandledrejection", record);
  try {
    const storage = new FlakyFirstList();
    await using server = serve({
      root: storage,
      loginFailureDelayMs: 0,
      users: [{ name: "q", password: "pw", limits: { quotaBytes: 1_000_000 } }],
    });
    await using c = await login(server.addr.port, "q", "pw");
    await c.expect("NOOP", 200);
    await new Promise((resolve) => setTimeout(resolve, 100));
  } finally {
    globalThis.removeEventListener("unhandledrejection", record);
  }
  equal(rejections.length, 0, `unhandled rejection: ${rejections.map(String).join(", ")}`);
});
