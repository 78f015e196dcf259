import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { StorageError } from "../../src/errors.ts";
import { withRealPathRules } from "../../src/identity/real_path_rules.ts";
import { AccessRules, PERMISSIONS, READ_ONLY } from "../../src/identity/rules.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { MountTable } from "../../src/storage/mount.ts";
import { collectList } from "../../src/storage/storage.ts";
import { tempDir } from "../helpers/files.ts";

const kind = (kind: string) => (error: unknown) =>
  error instanceof StorageError && error.kind === kind;

/** A directory tree on disk: `dirs` created, `links` as [target, at]; removed on dispose. */
function tree(dirs: string[], links: [string, string][] = []): { root: string } & Disposable {
  const root = tempDir("ftpgate-realpath-");
  for (const dir of dirs) Deno.mkdirSync(`${root}/${dir}`, { recursive: true });
  for (const [target, at] of links) Deno.symlinkSync(target, `${root}/${at}`);
  return { root, [Symbol.dispose]: () => Deno.removeSync(root, { recursive: true }) };
}

async function put(storage: { write: LocalStorage["write"] }, path: string, text: string) {
  const writer = (await storage.write(path)).getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
}

Deno.test("LocalStorage.realVirtualPath() follows links inside the root, keeps a missing final name", async () => {
  using outside = tree(["elsewhere"]);
  using t = tree(["inbox", "pub"], [
    ["../inbox", "pub/latest"],
    ["../nowhere", "pub/dangling"],
    [`${outside.root}/elsewhere`, "pub/out"],
  ]);
  Deno.writeTextFileSync(`${t.root}/inbox/secret.txt`, "x");
  const storage = new LocalStorage(t.root);
  const real = (path: string) => storage.realVirtualPath(path);
  equal(await real("/"), "/");
  equal(await real("/pub"), "/pub");
  equal(await real("/pub/latest"), "/inbox");
  equal(await real("/pub/latest/secret.txt"), "/inbox/secret.txt");
  // A name about to be created: the real parent plus the name.
  equal(await real("/pub/latest/new.txt"), "/inbox/new.txt");
  equal(await real("/pub/new.txt"), "/pub/new.txt");
  // A dangling link is a missing name where it lies.
  equal(await real("/pub/dangling"), "/pub/dangling");
  await rejects(real("/pub/no-dir/x.txt"), kind("not-found"));
  // Out of the root: refused by the jail, as every operation on it is.
  await rejects(real("/pub/out"), kind("permission"));
  await rejects(real("/pub/out/x.txt"), kind("permission"));
});

Deno.test("MountTable.realVirtualPath() puts the mount's path back, and names another mount's directory by that mount", async () => {
  using docs = tree(["inbox"], [["inbox", "latest"]]);
  using t = tree(["pub", "drop-data"], [
    ["../drop-data", "pub/to-drop"],
    ["../pub", "drop-data/back"],
  ]);
  const table = new MountTable([
    { path: "/", storage: new LocalStorage(t.root) },
    // A mount whose directory lies inside the root mount's directory.
    { path: "/drop", storage: new LocalStorage(`${t.root}/drop-data`) },
    { path: "/docs", storage: new LocalStorage(docs.root) },
    { path: "/mem", storage: new MemoryStorage() },
    { path: "/deep/er", storage: new MemoryStorage() },
  ]);
  const real = (path: string) => table.realVirtualPath!(path);
  equal(await real("/"), "/");
  equal(await real("/docs"), "/docs");
  equal(await real("/docs/latest"), "/docs/inbox");
  equal(await real("/docs/latest/new.txt"), "/docs/inbox/new.txt");
  // A link that leaves "/" into the directory the mount /drop serves: told by /drop's path.
  equal(await real("/pub/to-drop"), "/drop");
  equal(await real("/pub/to-drop/f.txt"), "/drop/f.txt");
  equal(await real("/drop/f.txt"), "/drop/f.txt");
  // Out of the /drop mount's own root: its jail refuses, told about the outer path.
  await rejects(real("/drop/back"), (error) =>
    kind("permission")(error) &&
    (error as StorageError).path === "/drop/back");
  // No links in memory; a synthetic directory on the way to a mount is where it is named.
  equal(await real("/mem/a/b.txt"), "/mem/a/b.txt");
  equal(await real("/deep"), "/deep");
  await rejects(real("/pub/no-dir/x.txt"), kind("not-found"));
  // Without a local mount there is nothing to tell.
  equal(new MountTable([{ path: "/", storage: new MemoryStorage() }]).realVirtualPath, undefined);
});

Deno.test("withRealPathRules() leaves a tree with uniform rules, or without links, as it is", () => {
  using t = tree(["pub"]);
  const local = new LocalStorage(t.root);
  const memory = new MemoryStorage();
  const dropBox = new AccessRules([
    { path: "/", allow: PERMISSIONS },
    { path: "/inbox", allow: ["upload"] },
  ]);
  equal(withRealPathRules(local, AccessRules.FULL), local);
  equal(withRealPathRules(local, new AccessRules([{ path: "/", allow: READ_ONLY }])), local);
  equal(withRealPathRules(local, AccessRules.FULL.restrict("/", READ_ONLY)), local);
  equal(withRealPathRules(memory, dropBox), memory);
  ok(withRealPathRules(local, dropBox) !== local);
});

Deno.test("withRealPathRules() refuses what the real path does not grant, and nothing else", async () => {
  using t = tree(["inbox", "pub", "area/inbox"], [["../inbox", "pub/latest"], ["..", "pub/up"]]);
  Deno.writeTextFileSync(`${t.root}/inbox/secret.txt`, "dropped");
  const rules = new AccessRules([
    { path: "/", allow: PERMISSIONS },
    { path: "/inbox", allow: ["upload"] },
    { path: "/area/inbox", allow: ["upload"] },
  ]);
  const storage = withRealPathRules(new LocalStorage(t.root), rules);
  await rejects(storage.read("/pub/latest/secret.txt"), kind("permission"));
  await rejects(storage.stat("/pub/latest/secret.txt"), kind("permission"));
  await rejects(storage.stat("/pub/latest/no-such.txt"), kind("permission"));
  await rejects(collectList(storage, "/pub/latest"), kind("permission"));
  // A new file goes in (upload is granted there); an existing one is not replaced or extended.
  await put(storage, "/pub/latest/new.txt", "new");
  equal(Deno.readTextFileSync(`${t.root}/inbox/new.txt`), "new");
  await rejects(put(storage, "/pub/latest/secret.txt", "over"), kind("permission"));
  await rejects(storage.write("/pub/latest/secret.txt", { append: true }), kind("permission"));
  await rejects(storage.write("/pub/latest/x.txt", { offset: 3 }), kind("permission"));
  equal(Deno.readTextFileSync(`${t.root}/inbox/secret.txt`), "dropped");
  await rejects(storage.remove("/pub/latest/secret.txt"), kind("permission"));
  await rejects(storage.mkdir("/pub/latest/sub"), kind("permission"));
  await rejects(storage.rename("/pub/latest/secret.txt", "/pub/s.txt"), kind("permission"));
  // A directory whose real path has a rule below it does not move (its drop box would follow).
  await rejects(storage.rename("/pub/up/area", "/pub/up/moved"), kind("permission"));
  ok(Deno.statSync(`${t.root}/area/inbox`).isDirectory);
  // The link itself is the user's to move or remove; the same paths without links work.
  await storage.rename("/pub/latest", "/pub/moved");
  equal(Deno.readLinkSync(`${t.root}/pub/moved`), "../inbox");
  await storage.remove("/pub/moved");
  deepEqual(Array.from(Deno.readDirSync(`${t.root}/inbox`)).map((e) => e.name).sort(), [
    "new.txt",
    "secret.txt",
  ]);
  await put(storage, "/pub/readme.txt", "hi");
  equal((await storage.stat("/pub/readme.txt")).size, 2);
});
