/**
 * Per-path rules that a client must not be able to step around: renames that would carry files
 * out of (or into) a rule, STOU's extra names, a drop box's answers, RNTO over a file, a home
 * with dot segments, `write: false` with rules, and mounts of different rights inside each
 * other. Real server, raw control connection; the outcome is checked on disk.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { type PathRule, PERMISSIONS, serve } from "../../src/mod.ts";
import { hookIdentity, json, startAuthHook } from "../helpers/auth_hook.ts";
import { exists, tempDir } from "../helpers/files.ts";
import { loginAs, RawClient } from "../helpers/raw_client.ts";
import { startServer } from "../helpers/server.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** RETR over EPSV; the bytes, or null when the server refused before a 150. */
async function tryDownload(c: RawClient, path: string): Promise<string | null> {
  const data = await c.epsv();
  const reply = await c.command(`RETR ${path}`);
  if (reply.code !== 150) {
    data.close();
    return null;
  }
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(4096);
  for (let n; (n = await data.read(buffer)) !== null;) chunks.push(buffer.slice(0, n));
  data.close();
  await c.read();
  return chunks.map((chunk) => decoder.decode(chunk)).join("");
}

const DROP_BOX: PathRule[] = [
  { path: "/", allow: PERMISSIONS },
  { path: "/pub/inbox", allow: ["upload"] },
];

Deno.test("RNFR of a drop box's parent is refused: its files never leave the rule", async () => {
  await using t = startServer({
    files: { "pub/inbox/secret.txt": "someone else's upload", "pub/readme.txt": "hi" },
    users: [{ name: "u", password: "pw", rules: DROP_BOX }],
  });
  await using c = await loginAs(t.port, "u", "pw");
  equal(await tryDownload(c, "/pub/inbox/secret.txt"), null);
  const rnfr = await c.command("RNFR /pub");
  equal(rnfr.code, 550, rnfr.text);
  // Had it gone through, RNTO /moved would make /moved/inbox/secret.txt downloadable.
  equal((await c.command("RNTO /moved")).code, 503);
  ok(exists(`${t.root}/pub/inbox/secret.txt`));
  ok(!exists(`${t.root}/moved`));
  equal(await tryDownload(c, "/moved/inbox/secret.txt"), null);
});

Deno.test("RNFR of a read-only subtree's parent is refused: its files cannot be deleted", async () => {
  await using t = startServer({
    files: { "site/archive/2024.csv": "keep me" },
    users: [{
      name: "u",
      password: "pw",
      rules: [{ path: "/", allow: PERMISSIONS }, {
        path: "/site/archive",
        allow: ["list", "download"],
      }],
    }],
  });
  await using c = await loginAs(t.port, "u", "pw");
  equal((await c.command("DELE /site/archive/2024.csv")).code, 550);
  equal((await c.command("RNFR /site")).code, 550);
  equal((await c.command("DELE /elsewhere/archive/2024.csv")).code, 550);
  equal(Deno.readTextFileSync(`${t.root}/site/archive/2024.csv`), "keep me");
});

Deno.test("RNTO of a directory to a name with a rule below it is refused", async () => {
  // /new/inbox is a drop box, /new does not exist yet: a directory renamed to /new would put
  // its "inbox" (readable until now) under the drop box's rule, and the other way round.
  await using t = startServer({
    files: { "draft/inbox/mine.txt": "mine" },
    users: [{
      name: "u",
      password: "pw",
      rules: [{ path: "/", allow: PERMISSIONS }, { path: "/new/inbox", allow: ["upload"] }],
    }],
  });
  await using c = await loginAs(t.port, "u", "pw");
  await c.expect("RNFR /draft", 350);
  equal((await c.command("RNTO /new")).code, 550);
  ok(exists(`${t.root}/draft/inbox/mine.txt`));
  ok(!exists(`${t.root}/new`));
  // A file may take that name: nothing lies below a file.
  await c.upload("STOR /note.txt", encoder.encode("n"));
  await c.expect("RNFR /note.txt", 350);
  await c.expect("RNTO /new", 250);
  equal(Deno.readTextFileSync(`${t.root}/new`), "n");
});

Deno.test("renames where no rule boundary is crossed still work (files beside a drop box, plain directories)", async () => {
  await using t = startServer({
    files: { "pub/inbox/secret.txt": "s", "pub/readme.txt": "hi", "docs/a/b.txt": "b" },
    users: [{ name: "u", password: "pw", rules: DROP_BOX }],
  });
  await using c = await loginAs(t.port, "u", "pw");
  await c.expect("RNFR /pub/readme.txt", 350);
  await c.expect("RNTO /readme.txt", 250);
  await c.expect("RNFR /docs", 350);
  await c.expect("RNTO /pub/docs", 250);
  equal(Deno.readTextFileSync(`${t.root}/pub/docs/a/b.txt`), "b");
  equal(Deno.readTextFileSync(`${t.root}/readme.txt`), "hi");
});

Deno.test("MLSD shows no rename (f) for a directory with a rule below it", async () => {
  await using t = startServer({
    files: { "pub/inbox/secret.txt": "s", "docs/a.txt": "a" },
    users: [{ name: "u", password: "pw", rules: DROP_BOX }],
  });
  await using c = await loginAs(t.port, "u", "pw");
  const lines = (await c.listing("MLSD /")).split("\r\n");
  const perm = (name: string) =>
    /perm=([a-z]*);/.exec(lines.find((l) => l.endsWith(` ${name}`))!)![1];
  equal(perm("pub").includes("f"), false, perm("pub"));
  equal(perm("docs").includes("f"), true, perm("docs"));
});

Deno.test("STOU checks upload on every name it tries: no base.1 where only base may be uploaded", async () => {
  // `/drop/report.txt` may be uploaded (and replaced); the rest of /drop is read-only.
  await using t = startServer({
    files: { "drop/report.txt": "v1" },
    users: [{
      name: "u",
      password: "pw",
      rules: [
        { path: "/", allow: ["list", "download"] },
        { path: "/drop/report.txt", allow: ["upload", "overwrite"] },
      ],
    }],
  });
  await using c = await loginAs(t.port, "u", "pw");
  equal((await c.command("STOR /drop/other.txt")).code, 550);
  const data = await c.epsv();
  const reply = await c.command("STOU /drop/report.txt");
  data.close();
  if (reply.code === 150) await c.read();
  equal(reply.code, 550, reply.text);
  const created = Array.from(Deno.readDirSync(`${t.root}/drop`)).map((e) => e.name).sort();
  deepEqual(created, ["report.txt"]);
  equal(Deno.readTextFileSync(`${t.root}/drop/report.txt`), "v1");
});

Deno.test("STOU where uploads are allowed still picks the next free name", async () => {
  await using t = startServer({
    files: { "inbox/report.txt": "v1" },
    users: [{ name: "u", password: "pw", rules: [{ path: "/inbox", allow: ["upload"] }] }],
  });
  await using c = await loginAs(t.port, "u", "pw");
  const done = await c.upload("STOU /inbox/report.txt", encoder.encode("v2"));
  match(done.text, /report\.txt\.1/);
  equal(Deno.readTextFileSync(`${t.root}/inbox/report.txt.1`), "v2");
});

/** The reply of a control-connection command with its quoted path masked. */
async function answer(c: RawClient, line: string): Promise<string> {
  return (await c.command(line)).lines.join(" | ").replace(/"[^"]*"/, "PATH");
}

/** The reply of a data command (the 150 and final reply, or the refusal). */
async function dataAnswer(c: RawClient, line: string): Promise<string> {
  const data = await c.epsv();
  const reply = await c.command(line);
  data.close();
  if (reply.code === 150) await c.read();
  return reply.lines.join(" | ").replace(/"[^"]*"/, "PATH");
}

Deno.test("a drop box answers alike for existing and missing names (LIST, NLST, MLSD, MLST, STAT, CWD, SIZE, MDTM)", async () => {
  await using t = startServer({
    files: { "inbox/secret-plan.txt": "x", "inbox/sub/deeper.txt": "y" },
    users: [{
      name: "u",
      password: "pw",
      rules: [{ path: "/", allow: PERMISSIONS }, { path: "/inbox", allow: ["upload"] }],
    }],
  });
  await using c = await loginAs(t.port, "u", "pw");
  for (const verb of ["LIST", "NLST", "MLSD"]) {
    for (const name of ["secret-plan.txt", "sub/deeper.txt", "sub"]) {
      const existing = await dataAnswer(c, `${verb} /inbox/${name}`);
      equal(existing, await dataAnswer(c, `${verb} /inbox/no-such`), `${verb} ${name}`);
      match(existing, /^550 /);
    }
  }
  for (const verb of ["MLST", "STAT", "SIZE", "MDTM"]) {
    const existing = await answer(c, `${verb} /inbox/secret-plan.txt`);
    equal(existing, await answer(c, `${verb} /inbox/no-such.txt`), verb);
    match(existing, /^550 /);
  }
  // CWD needs no permission and tells a directory (upload clients change into one), but a file
  // is answered as a missing name.
  equal(
    await answer(c, "CWD /inbox/secret-plan.txt"),
    await answer(c, "CWD /inbox/no-such.txt"),
  );
  equal(
    await answer(c, "CWD /inbox/secret-plan.txt/x"),
    await answer(c, "CWD /inbox/no-such.txt/x"),
  );
  // Where the user may list, CWD keeps its precise answer.
  await c.upload("STOR /plain.txt", encoder.encode("p"));
  match(await answer(c, "CWD /plain.txt"), /Not a directory/);
});

Deno.test("an upload client can still change into a drop box and its subdirectories", async () => {
  await using t = startServer({
    users: [{
      name: "u",
      password: "pw",
      rules: [{ path: "/", allow: ["list"] }, { path: "/inbox", allow: ["upload", "mkdir"] }],
    }],
    files: { "inbox/.keep": "" },
  });
  await using c = await loginAs(t.port, "u", "pw");
  await c.expect("CWD /inbox", 250);
  await c.expect("MKD 2025", 257);
  await c.expect("CWD 2025", 250);
  await c.upload("STOR scan.pdf", encoder.encode("%PDF"));
  equal(Deno.readTextFileSync(`${t.root}/inbox/2025/scan.pdf`), "%PDF");
});

Deno.test("RNTO over an existing file needs the overwrite permission", async () => {
  // Uploads of new files, renames, but no overwrite or delete: existing files must survive.
  await using t = startServer({
    files: { "keep.txt": "precious", "dir/.keep": "" },
    users: [{
      name: "u",
      password: "pw",
      rules: [{ path: "/", allow: ["list", "download", "upload", "rename"] }],
    }],
  });
  await using c = await loginAs(t.port, "u", "pw");
  await c.upload("STOR junk.txt", encoder.encode("junk"));
  equal((await c.command("DELE keep.txt")).code, 550);
  const data = await c.epsv();
  equal((await c.command("STOR keep.txt")).code, 550, "STOR over it is refused");
  data.close();
  await c.expect("RNFR junk.txt", 350);
  equal((await c.command("RNTO keep.txt")).code, 550);
  equal(Deno.readTextFileSync(`${t.root}/keep.txt`), "precious");
  // A new name is fine.
  await c.expect("RNFR junk.txt", 350);
  await c.expect("RNTO fresh.txt", 250);
  equal(Deno.readTextFileSync(`${t.root}/fresh.txt`), "junk");
});

Deno.test("RNTO over an existing file replaces it where overwrite is granted", async () => {
  await using t = startServer({
    files: { "keep.txt": "old", "new.txt": "new" },
    users: [{
      name: "u",
      password: "pw",
      rules: [{ path: "/", allow: ["list", "download", "rename", "overwrite"] }],
    }],
  });
  await using c = await loginAs(t.port, "u", "pw");
  await c.expect("RNFR new.txt", 350);
  await c.expect("RNTO keep.txt", 250);
  equal(Deno.readTextFileSync(`${t.root}/keep.txt`), "new");
});

Deno.test("a home with a '..' segment is normalised: the drop box's rule still applies", async () => {
  await using t = startServer({
    files: { "inbox/secret.txt": "dropped", "pub/readme.txt": "hi" },
    users: [{
      name: "u",
      password: "pw",
      home: "/pub/..",
      rules: [{ path: "/", allow: PERMISSIONS }, { path: "/inbox", allow: ["upload"] }],
    }],
  });
  await using c = await loginAs(t.port, "u", "pw");
  match((await c.command("PWD")).text, /^"\/" /);
  equal(await tryDownload(c, "inbox/secret.txt"), null);
  equal(await tryDownload(c, "pub/readme.txt"), "hi");
});

Deno.test("write: false caps the rules: read-only even where the rules grant more", async () => {
  await using t = startServer({
    files: { "keep.txt": "precious" },
    users: [{
      name: "u",
      password: "pw",
      write: false,
      rules: [{ path: "/", allow: PERMISSIONS }, { path: "/inbox", allow: ["upload"] }],
    }],
  });
  await using c = await loginAs(t.port, "u", "pw");
  equal((await c.command("DELE keep.txt")).code, 550);
  equal((await c.command("MKD new")).code, 550);
  equal((await c.command("RNFR keep.txt")).code, 550);
  const data = await c.epsv();
  equal((await c.command("STOR /inbox/x.txt")).code, 550);
  data.close();
  equal(await tryDownload(c, "keep.txt"), "precious");
  equal(Deno.readTextFileSync(`${t.root}/keep.txt`), "precious");
});

Deno.test("a writable mount below a read-only mount can be written; the read-only parts cannot", async () => {
  const archive = tempDir("ftpgate-ro-");
  const upload = tempDir("ftpgate-rw-");
  const old = tempDir("ftpgate-ro2-");
  Deno.writeTextFileSync(`${archive}/old.txt`, "old");
  try {
    await using t = startServer({
      users: [{
        name: "u",
        password: "pw",
        mounts: [
          { path: "/", root: archive, readOnly: true },
          { path: "/incoming", root: upload },
          { path: "/incoming/frozen", root: old, readOnly: true },
        ],
      }],
    });
    await using c = await loginAs(t.port, "u", "pw");
    await c.expect("MKD /incoming/new", 257);
    await c.upload("STOR /incoming/new/a.txt", encoder.encode("a"));
    equal(Deno.readTextFileSync(`${upload}/new/a.txt`), "a");
    equal((await c.command("MKD /new")).code, 550);
    equal((await c.command("DELE /old.txt")).code, 550);
    equal((await c.command("MKD /incoming/frozen/x")).code, 550);
    // The facts agree with what is allowed.
    const perm = (await c.command("MLST /incoming")).lines[1];
    match(perm, /perm=[a-z]*m/);
    match((await c.command("MLST /")).lines[1], /perm=el;/);
    ok(exists(`${archive}/old.txt`));
  } finally {
    for (const dir of [archive, upload, old]) Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("an HTTP identity hook that answers a home with a '..' segment logs nobody in", async () => {
  const top = tempDir("ftpgate-hook-home-");
  Deno.mkdirSync(`${top}/users/alice`, { recursive: true });
  try {
    await using hook = startAuthHook(() => json({ root: `${top}/users/alice`, home: "/../bob" }));
    const identity = hookIdentity(hook.url, `${top}/users`);
    await using server = serve({ identity, root: top, loginFailureDelayMs: 0 });
    await using c = await RawClient.connect(server.addr.port);
    await c.expect("USER alice", 331);
    equal((await c.command("PASS pw")).code, 421);
    equal(hook.calls.length, 1);
    identity.close();
  } finally {
    Deno.removeSync(top, { recursive: true });
  }
});

Deno.test("MLSD's '..' line has the parent's own perm fact, not the listed directory's", async () => {
  await using t = startServer({
    files: { "pub/a.txt": "a" },
    users: [{
      name: "u",
      password: "pw",
      rules: [{ path: "/", allow: ["list"] }, { path: "/pub", allow: PERMISSIONS }],
    }],
  });
  await using c = await loginAs(t.port, "u", "pw");
  const lines = (await c.listing("MLSD /pub")).split("\r\n");
  const fact = (name: string) =>
    /perm=([a-z]*);/.exec(lines.find((l) => l.endsWith(` ${name}`))!)![1];
  equal(fact(".."), "el");
  equal(fact("a.txt"), "adfrw");
});
