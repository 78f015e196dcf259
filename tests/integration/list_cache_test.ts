/**
 * The listing cache (src/storage/dir_cache.ts) under changes made from outside the server: every
 * change must show in the very next LIST, MLSD, SIZE and MDTM, with no wait in between, and the
 * jail's symlink checks must hold exactly as without the cache. Each test lists once first, so
 * the directory is cached (warm) when the change is made.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { LocalStorage } from "../../src/storage/local.ts";
import { serve } from "../../src/server.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { Canary, CANARY_HIDDEN, DIR_SWAPPER, startSwapper } from "../helpers/hardening_helpers.ts";

const USER = "cache";
const PASSWORD = "cache-pass";

interface Fixture extends AsyncDisposable {
  root: string;
  storage: LocalStorage;
  client: RawClient;
}

/** A server over a cached LocalStorage (every directory cached), one logged-in client. */
async function fixture(files: Record<string, string> = {}): Promise<Fixture> {
  const root = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "ftpgate-cache-" }));
  for (const [name, content] of Object.entries(files)) {
    const path = `${root}/${name}`;
    Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    Deno.writeTextFileSync(path, content);
  }
  const storage = new LocalStorage(root, { listCache: { minEntries: 0 } });
  ok(storage.listCacheActive, "the cache is usable on this filesystem");
  const server = serve({
    root: storage,
    port: 0,
    hostname: "127.0.0.1",
    users: [{ name: USER, password: PASSWORD }],
  });
  const client = await RawClient.connect(server.addr.port);
  await client.login(USER, PASSWORD);
  await client.expect("TYPE I", 200);
  return {
    root,
    storage,
    client,
    async [Symbol.asyncDispose]() {
      client.close();
      await server.shutdown();
      storage.close();
      Deno.removeSync(root, { recursive: true });
    },
  };
}

/** name → the MLSD facts of each entry. */
async function mlsd(client: RawClient, dir = ""): Promise<Map<string, Record<string, string>>> {
  const text = await client.listing(dir === "" ? "MLSD" : `MLSD ${dir}`);
  const out = new Map<string, Record<string, string>>();
  for (const line of text.split("\r\n")) {
    if (line === "") continue;
    const space = line.indexOf(" ");
    const facts: Record<string, string> = {};
    for (const fact of line.slice(0, space).split(";")) {
      const [key, value] = fact.split("=");
      if (key) facts[key.toLowerCase()] = value;
    }
    out.set(line.slice(space + 1), facts);
  }
  return out;
}

/** Names in a LIST (the last field of each line). */
async function listNames(client: RawClient, dir = ""): Promise<string[]> {
  const text = await client.listing(dir === "" ? "LIST" : `LIST ${dir}`);
  return text.split("\r\n").filter(Boolean).map((line) => line.split(/ +/).slice(8).join(" "))
    .sort();
}

async function size(client: RawClient, path: string): Promise<number> {
  const reply = await client.command(`SIZE ${path}`);
  return reply.code === 213 ? Number(reply.text) : -reply.code;
}

async function mdtm(client: RawClient, path: string): Promise<string> {
  const reply = await client.command(`MDTM ${path}`);
  return reply.code === 213 ? reply.text : `error ${reply.code}`;
}

/** Warms the cache of the root and of `d`, and checks it is in use. */
async function warm(f: Fixture): Promise<void> {
  await mlsd(f.client);
  await mlsd(f.client, "d");
  await listNames(f.client, "d");
}

Deno.test("list cache: a file created from outside shows in the very next LIST and MLSD", async () => {
  await using f = await fixture({ "d/a.txt": "a" });
  await warm(f);
  for (let i = 0; i < 50; i++) {
    Deno.writeTextFileSync(`${f.root}/d/new-${i}.txt`, "x".repeat(i));
    const names = await listNames(f.client, "d");
    ok(names.includes(`new-${i}.txt`), `LIST right after create #${i}`);
    equal((await mlsd(f.client, "d")).get(`new-${i}.txt`)?.size, String(i));
  }
});

Deno.test("list cache: delete and rename from outside show in the very next listing", async () => {
  await using f = await fixture({ "d/a.txt": "a", "d/b.txt": "bb" });
  await warm(f);
  for (let i = 0; i < 30; i++) {
    const from = i === 0 ? "b.txt" : `renamed-${i - 1}.txt`;
    Deno.renameSync(`${f.root}/d/${from}`, `${f.root}/d/renamed-${i}.txt`);
    deepEqual(await listNames(f.client, "d"), ["a.txt", `renamed-${i}.txt`]);
  }
  Deno.removeSync(`${f.root}/d/a.txt`);
  deepEqual(await listNames(f.client, "d"), ["renamed-29.txt"]);
  // Renamed into another directory, and out of the tree altogether.
  Deno.renameSync(`${f.root}/d/renamed-29.txt`, `${f.root}/moved.txt`);
  deepEqual(await listNames(f.client, "d"), []);
  ok((await mlsd(f.client)).has("moved.txt"));
});

Deno.test("list cache: truncate, append, touch and chmod from outside show at once, and in SIZE/MDTM", async () => {
  await using f = await fixture({ "d/f.bin": "0123456789" });
  await warm(f);
  const path = `${f.root}/d/f.bin`;
  for (let i = 0; i < 20; i++) {
    const file = Deno.openSync(path, { write: true });
    file.truncateSync(i);
    file.close();
    equal((await mlsd(f.client, "d")).get("f.bin")?.size, String(i), `after truncate to ${i}`);
    equal(await size(f.client, "d/f.bin"), i);
    Deno.writeTextFileSync(path, "abc", { append: true });
    equal((await mlsd(f.client, "d")).get("f.bin")?.size, String(i + 3), `after append`);
    equal(await size(f.client, "d/f.bin"), i + 3);
  }
  const when = new Date(Date.UTC(2001, 2, 4, 5, 6, 7));
  Deno.utimeSync(path, when, when);
  equal((await mlsd(f.client, "d")).get("f.bin")?.modify, "20010304050607");
  equal(await mdtm(f.client, "d/f.bin"), "20010304050607");
  for (const mode of [0o600, 0o640, 0o604]) {
    Deno.chmodSync(path, mode);
    equal((await mlsd(f.client, "d")).get("f.bin")?.["unix.mode"], `0${mode.toString(8)}`);
  }
});

Deno.test("list cache: a file replaced (rename over it) shows the new one at once", async () => {
  await using f = await fixture({ "d/f.txt": "old" });
  await warm(f);
  for (let i = 0; i < 20; i++) {
    Deno.writeTextFileSync(`${f.root}/d/.tmp`, "n".repeat(10 + i));
    Deno.renameSync(`${f.root}/d/.tmp`, `${f.root}/d/f.txt`);
    const facts = (await mlsd(f.client, "d")).get("f.txt");
    equal(facts?.size, String(10 + i));
    equal(await size(f.client, "d/f.txt"), 10 + i);
  }
});

Deno.test("list cache: a directory replaced by a symlink (inside, then outside) is never served from the cache", async () => {
  await using f = await fixture({ "d/old.txt": "old", "e/other.txt": "other" });
  await warm(f);
  await mlsd(f.client, "e");
  using canary = new Canary();
  const outside = canary.file.slice(0, canary.file.lastIndexOf("/"));
  // d → a symlink to e: the listing is e's.
  Deno.renameSync(`${f.root}/d`, `${f.root}/d.gone`);
  Deno.symlinkSync(`${f.root}/e`, `${f.root}/d`);
  deepEqual(await listNames(f.client, "d"), ["other.txt"]);
  // d → a symlink to outside: refused, exactly as without the cache.
  Deno.removeSync(`${f.root}/d`);
  Deno.symlinkSync(outside, `${f.root}/d`);
  const data = await f.client.epsv();
  const reply = await f.client.command("LIST d");
  data.close();
  ok(reply.code >= 400, `LIST of a symlink to outside: ${reply.code}`);
  equal((await mlsd(f.client)).has("d"), false, "a symlink to outside is not listed");
  // And the directory back in place: its own entries.
  Deno.removeSync(`${f.root}/d`);
  Deno.renameSync(`${f.root}/d.gone`, `${f.root}/d`);
  deepEqual(await listNames(f.client, "d"), ["old.txt"]);
  canary.assertIntact("after the symlink swaps");
});

Deno.test("list cache: a symlink entry is checked on every listing (inside, then pointing outside)", async () => {
  await using f = await fixture({ "d/a.txt": "a", "target.txt": "12345" });
  Deno.symlinkSync(`${f.root}/target.txt`, `${f.root}/d/link`);
  await warm(f);
  equal((await mlsd(f.client, "d")).get("link")?.size, "5");
  Deno.writeTextFileSync(`${f.root}/target.txt`, "1234567"); // change through another path
  equal((await mlsd(f.client, "d")).get("link")?.size, "7");
  using canary = new Canary();
  Deno.removeSync(`${f.root}/d/link`);
  Deno.symlinkSync(canary.file, `${f.root}/d/link`);
  deepEqual(await listNames(f.client, "d"), ["a.txt"], "a symlink to outside is never listed");
  equal(await size(f.client, "d/link") < 0, true);
  canary.assertIntact("after listing a symlink to outside");
});

Deno.test("list cache: a hard-linked file changed through its other name shows at once", async () => {
  await using f = await fixture({ "d/a.txt": "a", "other/b.txt": "bb" });
  Deno.linkSync(`${f.root}/other/b.txt`, `${f.root}/d/b.txt`);
  await warm(f);
  Deno.writeTextFileSync(`${f.root}/other/b.txt`, "more bytes", { append: true });
  equal((await mlsd(f.client, "d")).get("b.txt")?.size, String(12));
});

Deno.test("list cache: a directory renamed away and another made in its place lists the new one", async () => {
  await using f = await fixture({ "p/d/one.txt": "1" });
  await mlsd(f.client, "p/d");
  await mlsd(f.client, "p/d");
  Deno.renameSync(`${f.root}/p`, `${f.root}/p2`); // a parent renamed: no event on p/d itself
  Deno.mkdirSync(`${f.root}/p/d`, { recursive: true });
  Deno.writeTextFileSync(`${f.root}/p/d/two.txt`, "2");
  deepEqual(await listNames(f.client, "p/d"), ["two.txt"]);
  deepEqual(await listNames(f.client, "p2/d"), ["one.txt"]);
});

Deno.test("list cache: uploads and deletes through the server show in the next listing", async () => {
  await using f = await fixture({ "d/a.txt": "a" });
  await warm(f);
  await f.client.upload("STOR d/up.txt", new TextEncoder().encode("uploaded"));
  equal((await mlsd(f.client, "d")).get("up.txt")?.size, "8");
  await f.client.expect("DELE d/up.txt", 250);
  deepEqual(await listNames(f.client, "d"), ["a.txt"]);
});

Deno.test("list cache: bounded in directories, and a second listing is served without re-stat", async () => {
  const root = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "ftpgate-cache-" }));
  try {
    for (let d = 0; d < 6; d++) {
      Deno.mkdirSync(`${root}/d${d}`);
      for (let i = 0; i < 40; i++) Deno.writeTextFileSync(`${root}/d${d}/f${i}`, "x");
    }
    using storage = new LocalStorage(root, {
      listCache: { minEntries: 10, maxDirectories: 3 },
    });
    const names = async (dir: string) => {
      const out: string[] = [];
      for await (const entry of storage.list(dir)) out.push(entry.name);
      return out.sort();
    };
    for (let d = 0; d < 6; d++) equal((await names(`/d${d}`)).length, 40);
    ok(storage.listCacheActive);
    equal(storage.cachedDirectories, 3, "at most maxDirectories are kept");
    // The root (6 entries) is too small to cache.
    deepEqual(await names("/"), ["d0", "d1", "d2", "d3", "d4", "d5"]);
    equal(storage.cachedDirectories, 3);
    storage.close();
    equal(storage.cachedDirectories, 0);
    equal((await names("/d1")).length, 40, "listings go on, live, after close()");
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("list cache: a cached directory swapped for a symlink to outside while listed never shows what is outside", async () => {
  await using f = await fixture({ "d/inner.txt": "inner" });
  using canary = new Canary();
  await warm(f);
  const swapper = startSwapper(DIR_SWAPPER, { ROOT: f.root, CANARY: canary.dir, MS: "3000" });
  let listings = 0;
  let inner = 0;
  const leaks: string[] = [];
  while (swapper.running) {
    for (const line of ["LIST d", "MLSD d"]) {
      const data = await f.client.epsv();
      const reply = await f.client.command(line);
      const bytes = reply.code === 150 ? await new Response(data.readable).text() : "";
      if (reply.code !== 150) data.close();
      else await f.client.read();
      listings++;
      if (bytes.includes("inner.txt")) inner++;
      if (bytes.includes(CANARY_HIDDEN) || reply.text.includes(CANARY_HIDDEN)) leaks.push(line);
    }
  }
  const output = await swapper.output;
  ok(output.success, new TextDecoder().decode(output.stderr));
  deepEqual(leaks, [], `a listing showed the canary directory (${listings} listings)`);
  ok(inner > 0, "some listings saw the real directory");
  canary.assertIntact();
});
