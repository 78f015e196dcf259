/**
 * Protocol state that must not outlive the command it belongs to (a REST offset), and status
 * text that must state the session's real parameters (STAT, HELP) and reply codes that mean
 * what RFC 959 says (421 only when closing).
 */
import { deepEqual, equal, match } from "node:assert/strict";
import { type FileStat, MemoryStorage, PERMISSIONS, StorageError } from "../../src/mod.ts";
import { startTestServer } from "../../src/testing.ts";
import { loginAs } from "../helpers/raw_client.ts";
import { startServer } from "../helpers/server.ts";

const FILE = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);

Deno.test("REST: an offset whose RETR was refused by a rule does not carry over to the next RETR", async () => {
  await using t = startServer({
    files: { "a.bin": FILE, "private/b.bin": FILE },
    users: [{
      name: "u",
      password: "pw",
      rules: [{ path: "/", allow: PERMISSIONS }, { path: "/private", allow: ["list"] }],
    }],
  });
  await using c = await loginAs(t.port, "u", "pw");
  await c.expect("REST 5", 350);
  const data = await c.epsv();
  equal((await c.command("RETR /private/b.bin")).code, 550);
  data.close();
  deepEqual([...await c.download("RETR a.bin")], [...FILE]);
});

Deno.test("REST: an offset whose RETR got 425 (no PASV) does not carry over to the next RETR", async () => {
  await using t = startServer({ files: { "a.bin": FILE } });
  await using c = await loginAs(t.port, t.user, t.password);
  await c.expect("REST 5", 350);
  equal((await c.command("RETR a.bin")).code, 425);
  deepEqual([...await c.download("RETR a.bin")], [...FILE]);
});

Deno.test("REST: an offset is dropped by a LIST, a NOOP or a TYPE in between (RFC 959: the transfer follows at once)", async () => {
  await using t = startServer({ files: { "a.bin": FILE } });
  await using c = await loginAs(t.port, t.user, t.password);
  await c.expect("REST 5", 350);
  await c.listing("LIST");
  deepEqual([...await c.download("RETR a.bin")], [...FILE], "after LIST");
  await c.expect("REST 5", 350);
  await c.expect("NOOP", 200);
  deepEqual([...await c.download("RETR a.bin")], [...FILE], "after NOOP");
  await c.expect("REST 5", 350);
  await c.expect("TYPE I", 200);
  deepEqual([...await c.download("RETR a.bin")], [...FILE], "after TYPE");
});

Deno.test("REST: a refused REST cancels the one before it", async () => {
  await using t = startServer({ files: { "a.bin": FILE } });
  await using c = await loginAs(t.port, t.user, t.password);
  await c.expect("REST 5", 350);
  await c.expect("REST five", 501);
  deepEqual([...await c.download("RETR a.bin")], [...FILE]);
});

Deno.test("REST: an offset whose STOR was refused does not make the next STOR write in the middle", async () => {
  await using t = startServer({
    files: { "a.bin": FILE, "ro/b.bin": FILE },
    users: [{
      name: "u",
      password: "pw",
      rules: [{ path: "/", allow: PERMISSIONS }, { path: "/ro", allow: ["list", "download"] }],
    }],
  });
  await using c = await loginAs(t.port, "u", "pw");
  await c.expect("REST 3", 350);
  const data = await c.epsv();
  equal((await c.command("STOR /ro/b.bin")).code, 550);
  data.close();
  await c.upload("STOR a.bin", new Uint8Array([9, 9]));
  deepEqual([...Deno.readFileSync(`${t.root}/a.bin`)], [9, 9]);
});

Deno.test("REST: the offset survives the data connection's setup (REST, EPSV, RETR resumes)", async () => {
  await using t = startServer({ files: { "a.bin": FILE } });
  await using c = await loginAs(t.port, t.user, t.password);
  await c.expect("REST 5", 350);
  // c.download sends EPSV before the RETR.
  deepEqual([...await c.download("RETR a.bin")], [6, 7, 8]);
  // Applied once: the next RETR starts at 0.
  deepEqual([...await c.download("RETR a.bin")], [...FILE]);
});

Deno.test("STAT names the representation in use: EBCDIC, carriage control, binary", async () => {
  await using t = startServer();
  await using c = await loginAs(t.port, t.user, t.password);
  const type = async () =>
    /TYPE: ([^;]*);/.exec((await c.expect("STAT", 211)).lines.join("\n"))![1];
  equal(await type(), "BINARY");
  await c.expect("TYPE E", 200);
  equal(await type(), "EBCDIC");
  await c.expect("TYPE A C", 200);
  equal(await type(), "ASCII carriage control");
  await c.expect("TYPE A", 200);
  equal(await type(), "ASCII");
  await c.expect("TYPE L 8", 200);
  equal(await type(), "BINARY");
});

/** A tree whose back end is down for stat (an object store answering 503). */
class DownStorage extends MemoryStorage {
  override stat(path: string): Promise<FileStat> {
    return Promise.reject(new StorageError("unavailable", path));
  }
}

Deno.test("a back end down for one command is answered 451, not 421 (RFC 959 §4.2: 421 closes), and the session goes on", async () => {
  await using t = startTestServer({ storage: new DownStorage(), loginFailureDelayMs: 0 });
  await using c = await loginAs(t.port, t.user, t.password);
  const reply = await c.command("SIZE a.bin");
  equal(reply.code, 451, reply.lines.join(" | "));
  match(reply.text, /unavailable/);
  await c.expect("NOOP", 200);
  await c.expect("PWD", 257);
});

Deno.test("HELP MODE and HELP OPTS offer MODE Z only when it is on; MODE without argument likewise", async () => {
  {
    await using t = startServer();
    await using c = await loginAs(t.port, t.user, t.password);
    equal((await c.command("MODE Z")).code, 504);
    const help = await c.expect("HELP MODE", 214);
    equal(/\bZ\b/.test(help.text), false, help.text);
    match(help.text, /S\|B\|C/);
    equal(/MODE Z/.test((await c.expect("HELP OPTS", 214)).text), false);
    const syntax = await c.expect("MODE", 501);
    equal(/\bZ\b/.test(syntax.text), false, syntax.text);
    await c.expect("OPTS MODE Z LEVEL 9", 504);
  }
  {
    await using t = startServer({ modeZ: true });
    await using c = await loginAs(t.port, t.user, t.password);
    match((await c.expect("HELP MODE", 214)).text, /S\|B\|C\|Z/);
    match((await c.expect("HELP OPTS", 214)).text, /MODE Z LEVEL/);
    await c.expect("MODE Z", 200);
    await c.expect("OPTS MODE Z LEVEL 9", 200);
    await c.expect("OPTS MODE Z LEVEL 10", 501);
  }
});
