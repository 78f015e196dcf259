/**
 * The quota's first count of a tree failing once (an object store's hiccup): no unhandled
 * rejection, and the user's changes are not refused for good; the count is taken again.
 */
import { equal } from "node:assert/strict";
import { serve } from "../../src/mod.ts";
import { storCode } from "../helpers/hardening_helpers.ts";
import { loginAs } from "../helpers/raw_client.ts";
import { FlakyFirstList } from "../helpers/storage_doubles.ts";

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
    await using first = await loginAs(port, "q", "pw");
    await first.command("NOOP");
  }
  // Later sessions, long after the hiccup: the store answers again.
  await new Promise((resolve) => setTimeout(resolve, 100));
  await using c = await loginAs(port, "q", "pw");
  const stored = await storCode(c, "new.txt", 10);
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
    await using c = await loginAs(server.addr.port, "q", "pw");
    await c.expect("NOOP", 200);
    await new Promise((resolve) => setTimeout(resolve, 100));
  } finally {
    globalThis.removeEventListener("unhandledrejection", record);
  }
  equal(rejections.length, 0, `unhandled rejection: ${rejections.map(String).join(", ")}`);
});
