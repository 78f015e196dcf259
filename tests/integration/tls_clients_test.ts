/**
 * FTPS interoperability with real clients over real sockets: curl, lftp and Python ftplib as
 * subprocesses, basic-ftp in-process, and main.ts itself as a subprocess (ready line, SIGHUP
 * reload, bad certificates). Every transfer is checked byte for byte; the server certificate is
 * checked against the test CA unless a test says it skips verification (`-k` and friends).
 *
 * Client flags, for the record:
 * - curl: `--ssl-reqd ftp://…` (explicit; curl sends AUTH SSL first, then PBSZ 0 and PROT P),
 *   `ftps://…` (implicit), `--ftp-ssl-control` (PROT C), `--cacert FILE` or `-k`,
 *   `-P 127.0.0.1` (active).
 * - lftp: `ftp:ssl-force`, `ftp:ssl-protect-data`, `ssl:ca-file` or
 *   `ssl:verify-certificate no`, `ftp:passive-mode off` (active), `open ftps://…` (implicit).
 * - ftplib: `FTP_TLS(context=…)`, `prot_p()`/`prot_c()`, `set_pasv(False)` (active).
 * - basic-ftp: `secure: true | "implicit"`, `secureOptions: { ca }` or
 *   `{ rejectUnauthorized: false }`.
 */

import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { Readable, Writable } from "node:stream";
import { Client } from "basic-ftp";
import {
  assertBytes,
  assertExit,
  COMMAND_TIMEOUT_MS,
  curl,
  localDir,
  python,
} from "../helpers/clients.ts";
import { concat, randomBytes, startServer, type TestServer } from "../helpers/server.ts";
import { type CommandOutput, needs, runCommand } from "../helpers/tools.ts";
import { sleep, waitFor } from "../helpers/protocol_helpers.ts";
import {
  curlVersion,
  newLeaf,
  servedFingerprint,
  startCli,
  testPems,
  type TlsFiles,
  tlsFiles,
} from "../helpers/tls_helpers.ts";

const noOpenssl = needs("openssl");
const noCurl = needs("curl") || noOpenssl;
const noLftp = needs("lftp") || noOpenssl;
const noPython = needs("python3") || noOpenssl;
const THREE_MIB = randomBytes(3 << 20, 990);
/** Python source; raw so that `\n` reaches Python as written. */
const py = String.raw;

/** A server with the test certificate files, an implicit TLS port, and `big.bin` (3 MiB). */
function tlsServer(
  files: TlsFiles,
  options: Parameters<typeof startServer>[0] = {},
): TestServer & { implicitPort: number } {
  const t = startServer({
    tls: { certFile: files.certFile, keyFile: files.keyFile },
    implicitTlsPort: 0,
    files: { "big.bin": THREE_MIB },
    ...options,
  });
  return Object.assign(t, { implicitPort: t.server.implicitTlsAddr?.port ?? 0 });
}

function url(scheme: "ftp" | "ftps", port: number, path = ""): string {
  return `${scheme}://127.0.0.1:${port}/${path}`;
}

/** The commands curl sent, from its `-v` output. */
function sent(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line.startsWith("> ")).map((line) =>
    line.slice(2).trimEnd()
  );
}

/** The reply codes curl received, from its `-v` output. */
function codes(stderr: string): number[] {
  return stderr.split("\n").filter((line) => /^< \d{3} /.test(line)).map((line) =>
    Number(line.slice(2, 5))
  );
}

// ---------------------------------------------------------------------------------------------
// curl
// ---------------------------------------------------------------------------------------------

Deno.test({
  name: "curl --ssl-reqd: explicit FTPS, byte-exact RETR, STOR and LIST with --cacert",
  ignore: noCurl,
  async fn() {
    await using files = await tlsFiles();
    await using t = tlsServer(files);
    await using local = localDir();
    const ca = ["--ssl-reqd", "--cacert", files.caFile];
    const get = await curl(t, [...ca, "-v", url("ftp", t.port, "big.bin"), "-o", "got.bin"], {
      cwd: local.path,
    });
    assertExit(get, "curl --ssl-reqd RETR");
    assertBytes(Deno.readFileSync(`${local.path}/got.bin`), THREE_MIB, "curl explicit RETR");
    const commands = sent(get.stderr);
    ok(/^AUTH (SSL|TLS)$/.test(commands[0]), `AUTH first: ${commands}`);
    ok(commands.indexOf("PBSZ 0") < commands.indexOf("PROT P"), `PBSZ then PROT: ${commands}`);
    ok(commands.indexOf("PROT P") < commands.indexOf("RETR big.bin"));
    // Control on TLS 1.3, the data connection held to TLS 1.2 (see src/tls/context.ts).
    const versions = [...get.stderr.matchAll(/SSL connection using (TLSv1\.\d)/g)].map((m) => m[1]);
    deepEqual(versions, ["TLSv1.3", "TLSv1.2"]);

    const upload = randomBytes((3 << 20) + 1, 11);
    Deno.writeFileSync(`${local.path}/up.bin`, upload);
    const put = await curl(t, [...ca, "-T", "up.bin", url("ftp", t.port, "up.bin")], {
      cwd: local.path,
    });
    assertExit(put, "curl --ssl-reqd STOR");
    assertBytes(Deno.readFileSync(`${t.root}/up.bin`), upload, "curl explicit STOR");

    const list = await curl(t, [...ca, "-l", url("ftp", t.port)]);
    assertExit(list, "curl --ssl-reqd NLST");
    deepEqual(list.stdout.trim().split(/\r?\n/).sort(), ["big.bin", "up.bin"]);
  },
});

Deno.test({
  name: "curl -k: explicit and implicit FTPS against a generated certificate",
  ignore: noCurl,
  async fn() {
    await using t = startServer({
      tls: { selfSigned: true },
      implicitTlsPort: 0,
      files: { "big.bin": THREE_MIB },
    });
    await using local = localDir();
    const implicitPort = t.server.implicitTlsAddr!.port;
    for (
      const [name, target] of [
        ["explicit", url("ftp", t.port, "big.bin")],
        ["implicit port", url("ftps", implicitPort, "big.bin")],
        ["implicit main port", url("ftps", t.port, "big.bin")],
      ]
    ) {
      const get = await curl(t, ["--ssl-reqd", "-k", target, "-o", "got.bin"], {
        cwd: local.path,
      });
      assertExit(get, `curl -k RETR (${name})`);
      assertBytes(Deno.readFileSync(`${local.path}/got.bin`), THREE_MIB, `curl -k (${name})`);
    }
    // Without -k, the generated certificate is (rightly) not trusted: curl exit 60.
    const refused = await curl(t, ["--ssl-reqd", url("ftp", t.port, "big.bin")]);
    equal(refused.code, 60, refused.stderr);
    // And the test CA does not vouch for it either.
    await using files = await tlsFiles();
    const wrongCa = await curl(t, ["--cacert", files.caFile, url("ftps", implicitPort)]);
    equal(wrongCa.code, 60, wrongCa.stderr);
  },
});

Deno.test({
  name: "curl ftps://: implicit FTPS on the implicit port and on the main port, both ways",
  ignore: noCurl,
  async fn() {
    await using files = await tlsFiles();
    await using t = tlsServer(files);
    await using local = localDir();
    const ports: [string, number][] = [["implicit port", t.implicitPort], ["main port", t.port]];
    for (const [name, port] of ports) {
      const ca = ["--cacert", files.caFile];
      const get = await curl(t, [...ca, "-v", url("ftps", port, "big.bin"), "-o", "got.bin"], {
        cwd: local.path,
      });
      assertExit(get, `curl ftps RETR (${name})`);
      assertBytes(Deno.readFileSync(`${local.path}/got.bin`), THREE_MIB, `RETR (${name})`);
      ok(!sent(get.stderr).some((line) => line.startsWith("AUTH")), "no AUTH on implicit TLS");
      ok(sent(get.stderr).includes("PROT P"));
      const upload = randomBytes((2 << 20) + 3, port);
      Deno.writeFileSync(`${local.path}/up.bin`, upload);
      const put = await curl(t, [...ca, "-T", "up.bin", url("ftps", port, `up-${port}.bin`)], {
        cwd: local.path,
      });
      assertExit(put, `curl ftps STOR (${name})`);
      assertBytes(Deno.readFileSync(`${t.root}/up-${port}.bin`), upload, `STOR (${name})`);
    }
  },
});

Deno.test({
  name: "curl -P (active) with PROT P: byte-exact where curl does TLS on the data connection",
  ignore: noCurl,
  async fn() {
    await using files = await tlsFiles();
    await using t = tlsServer(files, { dataTimeoutMs: 1_000, transcript: true });
    await using local = localDir();
    const [major, minor] = await curlVersion();
    const ca = ["--ssl-reqd", "--cacert", files.caFile, "-P", "127.0.0.1"];
    const upload = randomBytes(3 << 20, 12);
    Deno.writeFileSync(`${local.path}/up.bin`, upload);
    // curl 7.87.0 to 7.88.x lost the TLS filter on active-mode data connections (curl issue
    // #10666, fixed in 8.0.0 by PR #10669): after accepting the server's connection it neither
    // starts nor expects a handshake. An upload then goes out in clear text; a download waits
    // for plain bytes that the server, waiting for a ClientHello, never sends. Checked here
    // with curl 7.88.1 (Debian 12): the server holds the line in both directions (425, no
    // plain bytes accepted or sent), which is what RFC 4217 §9 asks of PROT P.
    const brokenCurl = major === 7 && minor >= 87;
    if (brokenCurl) {
      // deno-lint-ignore no-console
      console.warn(
        `curl ${major}.${minor}: active-mode FTPS data is broken in this curl (curl #10666); ` +
          "asserting that the server refuses clear text instead of byte-exact transfers",
      );
      const put = await curl(t, [...ca, "-v", "-T", "up.bin", url("ftp", t.port, "up.bin")], {
        cwd: local.path,
      });
      ok(put.code !== 0, "curl reports the failed upload");
      // curl gives up at the broken pipe without reading the reply: ask the server's transcript.
      await waitFor(
        () =>
          t.server.transcript().some((e) => e.direction === "reply" && e.text.startsWith("425 ")),
        "the server's 425 for the clear-text upload",
      );
      const stored = Deno.readDirSync(t.root).some((entry) => entry.name === "up.bin");
      ok(!stored || Deno.statSync(`${t.root}/up.bin`).size === 0, "no clear-text bytes stored");
      const get = await curl(t, [...ca, url("ftp", t.port, "big.bin"), "-o", "got.bin"], {
        cwd: local.path,
      });
      ok(get.code !== 0, "curl reports the failed download");
      let received = 0;
      try {
        received = Deno.statSync(`${local.path}/got.bin`).size;
      } catch { /* no file: nothing received */ }
      equal(received, 0, "no plain bytes sent on a PROT P data connection");
      const refusals = () =>
        t.server.transcript().filter((e) => e.direction === "reply" && e.text.startsWith("425 "));
      await waitFor(() => refusals().length === 2, "the server's 425 for the download");
      // Active mode itself works with this curl: see the PROT C test. Passive PROT P: above.
      return;
    }
    const put = await curl(t, [...ca, "-T", "up.bin", url("ftp", t.port, "up.bin")], {
      cwd: local.path,
    });
    assertExit(put, "curl active STOR");
    assertBytes(Deno.readFileSync(`${t.root}/up.bin`), upload, "curl active STOR");
    const get = await curl(t, [...ca, url("ftp", t.port, "big.bin"), "-o", "got.bin"], {
      cwd: local.path,
    });
    assertExit(get, "curl active RETR");
    assertBytes(Deno.readFileSync(`${local.path}/got.bin`), THREE_MIB, "curl active RETR");
  },
});

Deno.test({
  name: "curl --ftp-ssl-control (PROT C): TLS control, clear data, passive and active",
  ignore: noCurl,
  async fn() {
    await using files = await tlsFiles();
    await using t = tlsServer(files);
    await using local = localDir();
    for (const mode of ["passive", "active"] as const) {
      const flags = ["--ftp-ssl-control", "--cacert", files.caFile, "-v"];
      if (mode === "active") flags.push("-P", "127.0.0.1");
      const get = await curl(t, [...flags, url("ftp", t.port, "big.bin"), "-o", "got.bin"], {
        cwd: local.path,
      });
      assertExit(get, `curl PROT C RETR (${mode})`);
      assertBytes(Deno.readFileSync(`${local.path}/got.bin`), THREE_MIB, `RETR (${mode})`);
      ok(sent(get.stderr).includes("PROT C"), `curl sent PROT C: ${sent(get.stderr)}`);
      equal(get.stderr.match(/SSL connection using/g)?.length, 1, "only the control is TLS");
      const upload = randomBytes(1 << 20, mode === "passive" ? 13 : 14);
      Deno.writeFileSync(`${local.path}/up.bin`, upload);
      const put = await curl(t, [...flags, "-T", "up.bin", url("ftp", t.port, "up.bin")], {
        cwd: local.path,
      });
      assertExit(put, `curl PROT C STOR (${mode})`);
      assertBytes(Deno.readFileSync(`${t.root}/up.bin`), upload, `STOR (${mode})`);
    }
  },
});

Deno.test({
  name: "curl against requireTls: plain login gets 534 and nothing moves; --ssl-reqd works",
  ignore: noCurl,
  async fn() {
    await using files = await tlsFiles();
    await using t = tlsServer(files, { requireTls: true });
    await using local = localDir();
    const plain = await curl(t, ["-v", url("ftp", t.port, "big.bin"), "-o", "got.bin"], {
      cwd: local.path,
    });
    ok(plain.code !== 0, "plain curl fails");
    ok(codes(plain.stderr).includes(534), `534 for USER in clear: ${codes(plain.stderr)}`);
    ok(!sent(plain.stderr).some((line) => /^(PASS|RETR|EPSV|PASV)/.test(line)));
    equal(Deno.readDirSync(local.path).some((entry) => entry.name === "got.bin"), false);
    // curl's "PROT C" mode: the login is protected, the data is not → 521 on the transfer.
    const clearData = await curl(t, [
      "--ftp-ssl-control",
      "--cacert",
      files.caFile,
      "-v",
      url("ftp", t.port, "big.bin"),
      "-o",
      "got.bin",
    ], { cwd: local.path });
    ok(clearData.code !== 0);
    ok(codes(clearData.stderr).includes(521), `521 without PROT P: ${codes(clearData.stderr)}`);
    const ok1 = await curl(t, [
      "--ssl-reqd",
      "--cacert",
      files.caFile,
      url("ftp", t.port, "big.bin"),
      "-o",
      "got.bin",
    ], { cwd: local.path });
    assertExit(ok1, "curl --ssl-reqd under requireTls");
    assertBytes(Deno.readFileSync(`${local.path}/got.bin`), THREE_MIB, "RETR under requireTls");
  },
});

Deno.test({
  name: "curl --ssl-reqd against a server without TLS stops before logging in",
  ignore: needs("curl"),
  async fn() {
    await using t = startServer({ files: { "big.bin": "secret" } });
    const output = await curl(t, ["--ssl-reqd", "-v", url("ftp", t.port, "big.bin")]);
    equal(output.code, 64, output.stderr); // CURLE_USE_SSL_FAILED
    ok(!sent(output.stderr).some((line) => line.startsWith("USER")));
    equal(output.stdout, "");
  },
});

Deno.test({
  name: "plain, explicit and implicit FTPS on one port at once, all byte-exact (curl)",
  ignore: noCurl,
  async fn() {
    await using files = await tlsFiles();
    await using t = tlsServer(files);
    await using local = localDir();
    const ca = ["--cacert", files.caFile];
    const modes: [string, string[], string][] = [
      ["plain", [], "ftp"],
      ["explicit", ["--ssl-reqd", ...ca], "ftp"],
      ["implicit", ca, "ftps"],
    ];
    const uploads = modes.map((_, i) => randomBytes((2 << 20) + i, 20 + i));
    uploads.forEach((bytes, i) => Deno.writeFileSync(`${local.path}/up-${i}.bin`, bytes));
    const runs = modes.flatMap(([name, flags, scheme], i) => [
      curl(t, [
        ...flags,
        url(scheme as "ftp" | "ftps", t.port, "big.bin"),
        "-o",
        `got-${i}.bin`,
      ], { cwd: local.path }).then((output) => [`${name} RETR`, output] as const),
      curl(t, [
        ...flags,
        "-T",
        `up-${i}.bin`,
        url(scheme as "ftp" | "ftps", t.port, `up-${i}.bin`),
      ], { cwd: local.path }).then((output) => [`${name} STOR`, output] as const),
    ]);
    for (const [what, output] of await Promise.all(runs)) assertExit(output, `curl ${what}`);
    modes.forEach(([name], i) => {
      assertBytes(Deno.readFileSync(`${local.path}/got-${i}.bin`), THREE_MIB, `${name} RETR`);
      assertBytes(Deno.readFileSync(`${t.root}/up-${i}.bin`), uploads[i], `${name} STOR`);
    });
  },
});

// ---------------------------------------------------------------------------------------------
// lftp
// ---------------------------------------------------------------------------------------------

/** The lftp settings for FTPS with the test CA (or no verification). */
function lftpTls(caFile: string | null): string[] {
  return [
    "set ftp:ssl-allow yes",
    "set ftp:ssl-force true",
    "set ftp:ssl-protect-data true",
    "set ftp:ssl-protect-list true",
    caFile === null ? "set ssl:verify-certificate no" : `set ssl:ca-file "${caFile}"`,
  ];
}

/** Runs `lftp -c` against `target` (ftp:// or ftps:// URL) with bounded timeouts. */
function lftpRun(
  t: TestServer,
  target: string,
  commands: string[],
  options: { cwd: string; settings: string[]; debug?: boolean },
): Promise<CommandOutput> {
  const script = [
    "set cmd:fail-exit yes",
    "set net:max-retries 1",
    "set net:timeout 5",
    "set net:reconnect-interval-base 1",
    "set xfer:clobber on",
    "set xfer:log no",
    "set cmd:save-cwd-history no",
    ...options.settings,
    ...(options.debug ? ["debug 5"] : []),
    `open -u "${t.user},${t.password}" ${target}`,
    ...commands,
  ].join("; ");
  return runCommand("lftp", ["-c", script], {
    cwd: options.cwd,
    timeoutMs: COMMAND_TIMEOUT_MS,
    env: { LC_ALL: "C.UTF-8" },
  });
}

/** The commands lftp sent, from its `debug 5` trace. */
function lftpSent(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line.startsWith("---> ")).map((line) =>
    line.slice(5).trimEnd()
  );
}

Deno.test({
  name: "lftp ftp:ssl-force: explicit FTPS put/get byte-exact, passive and active, and ls",
  ignore: noLftp,
  async fn() {
    await using files = await tlsFiles();
    await using t = tlsServer(files);
    await using local = localDir();
    for (const passive of ["on", "off"]) {
      const upload = randomBytes((3 << 20) + 7, passive === "on" ? 30 : 31);
      Deno.writeFileSync(`${local.path}/up.bin`, upload);
      const run = await lftpRun(t, url("ftp", t.port), [
        `put up.bin -o up-${passive}.bin`,
        `get big.bin -o got-${passive}.bin`,
        "ls",
      ], {
        cwd: local.path,
        settings: [...lftpTls(files.caFile), `set ftp:passive-mode ${passive}`],
        debug: true,
      });
      assertExit(run, `lftp FTPS (passive-mode ${passive})`);
      assertBytes(Deno.readFileSync(`${t.root}/up-${passive}.bin`), upload, `put (${passive})`);
      assertBytes(
        Deno.readFileSync(`${local.path}/got-${passive}.bin`),
        THREE_MIB,
        `get (${passive})`,
      );
      const commands = lftpSent(run.stderr);
      ok(commands.includes("AUTH TLS"), `lftp sent AUTH TLS: ${commands}`);
      ok(commands.includes("PROT P"), `lftp sent PROT P: ${commands}`);
      ok(
        commands.some((line) => (passive === "on" ? /^(EPSV|PASV)/ : /^(EPRT|PORT) /).test(line)),
        `data connection mode ${passive}: ${commands}`,
      );
      match(run.stdout, /big\.bin/);
      match(run.stdout, new RegExp(`\\s${upload.length}\\s.*up-${passive}\\.bin`));
    }
  },
});

Deno.test({
  name: "lftp: 20 uploads in a row over PROT P all arrive whole (the 1-in-16 truncation)",
  ignore: noLftp,
  async fn() {
    await using files = await tlsFiles();
    await using t = tlsServer(files);
    await using local = localDir();
    const uploads = Array.from({ length: 20 }, (_, i) => randomBytes((1 << 20) + i * 4099, 40 + i));
    uploads.forEach((bytes, i) => Deno.writeFileSync(`${local.path}/u${i}.bin`, bytes));
    const run = await lftpRun(
      t,
      url("ftp", t.port),
      uploads.map((_, i) => `put u${i}.bin`),
      { cwd: local.path, settings: lftpTls(null) },
    );
    assertExit(run, "lftp 20 uploads");
    const sizes = uploads.map((_, i) => Deno.statSync(`${t.root}/u${i}.bin`).size);
    deepEqual(sizes, uploads.map((bytes) => bytes.length), "every upload's size");
    uploads.forEach((bytes, i) => {
      assertBytes(Deno.readFileSync(`${t.root}/u${i}.bin`), bytes, `upload ${i}`);
    });
  },
});

Deno.test({
  name: "lftp ftps://: implicit FTPS on the implicit port and the main port",
  ignore: noLftp,
  async fn() {
    await using files = await tlsFiles();
    await using t = tlsServer(files);
    await using local = localDir();
    const ports: [string, number][] = [["implicit port", t.implicitPort], ["main port", t.port]];
    for (const [name, port] of ports) {
      const upload = randomBytes(1 << 20, port);
      Deno.writeFileSync(`${local.path}/up.bin`, upload);
      const run = await lftpRun(t, url("ftps", port), [
        `put up.bin -o up-${port}.bin`,
        "get big.bin -o got.bin",
        "cls -1",
      ], {
        cwd: local.path,
        settings: [`set ssl:ca-file "${files.caFile}"`],
        debug: true,
      });
      assertExit(run, `lftp ftps:// (${name})`);
      assertBytes(Deno.readFileSync(`${t.root}/up-${port}.bin`), upload, `put (${name})`);
      assertBytes(Deno.readFileSync(`${local.path}/got.bin`), THREE_MIB, `get (${name})`);
      ok(!lftpSent(run.stderr).includes("AUTH TLS"), "no AUTH TLS on implicit TLS");
      ok(run.stdout.split("\n").includes("big.bin"), run.stdout);
    }
  },
});

// ---------------------------------------------------------------------------------------------
// Python ftplib
// ---------------------------------------------------------------------------------------------

/** Prelude for ftplib.FTP_TLS scripts: a context that trusts the test CA. */
function ftpsPrelude(caFile: string): string {
  return py`
import ssl
CONTEXT = ssl.create_default_context(cafile=${JSON.stringify(caFile)})
DATA_VERSIONS = []
class FTPS(ftplib.FTP_TLS):
    """FTP_TLS that records each data connection's TLS version and whether it resumed."""
    reuse = False
    def ntransfercmd(self, cmd, rest=None):
        if self.reuse and self._prot_p:
            conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
            conn = self.context.wrap_socket(
                conn, server_hostname=self.host, session=self.sock.session)
        else:
            conn, size = super().ntransfercmd(cmd, rest)
        if isinstance(conn, ssl.SSLSocket):
            DATA_VERSIONS.append([conn.version(), conn.session_reused])
        else:
            DATA_VERSIONS.append(["clear", False])
        return conn, size
def tls_connect(reuse=False):
    ftp = FTPS(context=CONTEXT, timeout=10, encoding="utf-8")
    ftp.reuse = reuse
    ftp.set_debuglevel(1)
    ftp.connect(HOST, PORT)
    ftp.login(USER, PASSWORD)
    return ftp
def fetch(ftp, name):
    out = io.BytesIO()
    ftp.retrbinary("RETR " + name, out.write)
    return out.getvalue()
`;
}

Deno.test({
  name: "ftplib FTP_TLS: prot_p transfers byte-exact passive and active, prot_c, nlst, mlsd",
  ignore: noPython,
  async fn() {
    await using files = await tlsFiles();
    await using t = tlsServer(files);
    await using local = localDir();
    const upload = randomBytes((3 << 20) + 5, 50);
    Deno.writeFileSync(`${local.path}/up.bin`, upload);
    const { result } = await python<Record<string, unknown>>(
      t,
      ftpsPrelude(files.caFile) + py`
ftp = tls_connect()
out = {"control": ftp.sock.version(), "prot_p": ftp.prot_p()}
payload = open("up.bin", "rb").read()
for mode, pasv in (("passive", True), ("active", False)):
    ftp.set_pasv(pasv)
    out["stor_" + mode] = ftp.storbinary("STOR up-" + mode + ".bin", io.BytesIO(payload))
    got = fetch(ftp, "big.bin")
    open("got-" + mode + ".bin", "wb").write(got)
ftp.set_pasv(True)
out["nlst"] = sorted(ftp.nlst())
out["mlsd"] = sorted([name, facts["type"], facts["size"] if facts["type"] == "file" else None]
                     for name, facts in ftp.mlsd())
out["prot_c"] = ftp.prot_c()
out["stor_clear"] = ftp.storbinary("STOR clear.bin", io.BytesIO(payload[:100000]))
open("got-clear.bin", "wb").write(fetch(ftp, "big.bin"))
out["data"] = DATA_VERSIONS
out["quit"] = ftp.quit()
result(out)
`,
      { cwd: local.path },
    );
    equal(result.control, "TLSv1.3");
    equal(result.prot_p, "200 PROT now Private.");
    for (const mode of ["passive", "active"]) {
      match(String(result[`stor_${mode}`]), /^226 /);
      assertBytes(Deno.readFileSync(`${t.root}/up-${mode}.bin`), upload, `storbinary (${mode})`);
      assertBytes(Deno.readFileSync(`${local.path}/got-${mode}.bin`), THREE_MIB, `retrbinary`);
    }
    deepEqual(result.nlst, ["big.bin", "up-active.bin", "up-passive.bin"]);
    deepEqual(result.mlsd, [
      [".", "cdir", null],
      ["..", "pdir", null],
      ["big.bin", "file", String(THREE_MIB.length)],
      ["up-active.bin", "file", String(upload.length)],
      ["up-passive.bin", "file", String(upload.length)],
    ]);
    equal(result.prot_c, "200 PROT now Clear.");
    assertBytes(Deno.readFileSync(`${t.root}/clear.bin`), upload.subarray(0, 100000), "PROT C");
    assertBytes(Deno.readFileSync(`${local.path}/got-clear.bin`), THREE_MIB, "PROT C RETR");
    // Four protected transfers and two listings on TLS 1.2, then two in clear.
    deepEqual(result.data, [
      ...Array(6).fill(["TLSv1.2", false]),
      ["clear", false],
      ["clear", false],
    ]);
  },
});

Deno.test({
  name: "ftplib under requireTlsSessionReuse: 522 by default, works when it reuses the session",
  ignore: noPython,
  async fn() {
    await using files = await tlsFiles();
    await using t = tlsServer(files, { requireTlsSessionReuse: true });
    await using local = localDir();
    const { result } = await python<Record<string, unknown>>(
      t,
      ftpsPrelude(files.caFile) + py`
out = {}
# Stock FTP_TLS wraps each data socket without the control session: a full handshake.
ftp = tls_connect()
ftp.prot_p()
try:
    fetch(ftp, "big.bin")
    out["stock"] = "no error"
except ssl.SSLError:
    # The server closes the data connection after the handshake; ftplib trips on it, and the
    # transfer's final reply is still waiting on the control connection.
    try:
        out["stock"] = ftp.getresp()
    except ftplib.error_perm as e:
        out["stock"] = str(e)
except ftplib.error_perm as e:
    out["stock"] = str(e)
out["noop"] = ftp.voidcmd("NOOP")
out["control"] = ftp.sock.version()
ftp.quit()
# FTP_TLS that passes session=self.sock.session when wrapping data sockets.
ftp = tls_connect(reuse=True)
ftp.prot_p()
payload = bytes(range(256)) * 4096
for mode, pasv in (("passive", True), ("active", False)):
    ftp.set_pasv(pasv)
    open("got-" + mode + ".bin", "wb").write(fetch(ftp, "big.bin"))
    out["stor_" + mode] = ftp.storbinary("STOR reused-" + mode + ".bin", io.BytesIO(payload))
ftp.quit()
out["data"] = DATA_VERSIONS
result(out)
`,
      { cwd: local.path },
    );
    // The stock client's transfer gets 522 after the 150 (the handshake did not resume).
    match(String(result.stock), /^522 /);
    equal(result.noop, "200 NOOP ok.");
    // With session reuse required, the control connection is held to TLS 1.2 as well.
    equal(result.control, "TLSv1.2");
    const payload = new Uint8Array(256 * 4096).map((_, i) => i & 0xff);
    for (const mode of ["passive", "active"]) {
      assertBytes(Deno.readFileSync(`${local.path}/got-${mode}.bin`), THREE_MIB, `RETR ${mode}`);
      match(String(result[`stor_${mode}`]), /^226 /);
      assertBytes(Deno.readFileSync(`${t.root}/reused-${mode}.bin`), payload, `STOR ${mode}`);
    }
    deepEqual(result.data, [["TLSv1.2", false], ...Array(4).fill(["TLSv1.2", true])]);
  },
});

// ---------------------------------------------------------------------------------------------
// basic-ftp (in-process)
// ---------------------------------------------------------------------------------------------

async function basicDownload(client: Client, path: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  await client.downloadTo(
    new Writable({
      write(chunk, _encoding, callback) {
        chunks.push(new Uint8Array(chunk));
        callback();
      },
    }),
    path,
  );
  return concat(chunks);
}

/** Logs in with basic-ftp over `secure`, runs `body`, and always closes the client. */
async function withBasicFtp(
  t: TestServer,
  port: number,
  secure: true | "implicit",
  secureOptions: Record<string, unknown>,
  body: (client: Client) => Promise<void>,
): Promise<void> {
  const client = new Client(10_000);
  try {
    await client.access({
      host: "127.0.0.1",
      port,
      user: t.user,
      password: t.password,
      secure,
      secureOptions,
    });
    await body(client);
  } finally {
    client.close();
    // Let the TLS sockets finish closing before the sanitizers look.
    await sleep(20);
  }
}

Deno.test({
  name: 'basic-ftp secure: true and "implicit": byte-exact upload/download and list',
  ignore: noOpenssl,
  async fn() {
    await using files = await tlsFiles();
    await using t = tlsServer(files);
    const cases: [string, number, true | "implicit", Record<string, unknown>][] = [
      ["explicit, CA", t.port, true, { ca: files.pems.caCert }],
      ["implicit port, CA", t.implicitPort, "implicit", { ca: files.pems.caCert }],
      ["explicit, no verification", t.port, true, { rejectUnauthorized: false }],
      ["implicit main port, no verification", t.port, "implicit", { rejectUnauthorized: false }],
    ];
    for (const [name, port, secure, secureOptions] of cases) {
      const upload = randomBytes((2 << 20) + name.length, name.length);
      const remote = `up-${name.replace(/\W+/g, "-")}.bin`;
      await withBasicFtp(t, port, secure, secureOptions, async (client) => {
        await client.uploadFrom(Readable.from([upload]), remote);
        assertBytes(Deno.readFileSync(`${t.root}/${remote}`), upload, `upload (${name})`);
        assertBytes(await basicDownload(client, "big.bin"), THREE_MIB, `download (${name})`);
        assertBytes(await basicDownload(client, remote), upload, `download back (${name})`);
        const list = await client.list();
        ok(list.some((f) => f.name === "big.bin" && f.size === THREE_MIB.length), `list ${name}`);
        ok(list.some((f) => f.name === remote && f.size === upload.length));
      });
    }
  },
});

Deno.test({
  name: "basic-ftp in Deno cannot resume TLS sessions: requireTlsSessionReuse answers 522",
  ignore: noOpenssl,
  async fn() {
    // basic-ftp passes `session: controlSocket.getSession()` to tls.connect() for each data
    // connection. Deno's node:tls client hands back a placeholder ("deno-tls12-session:…") and
    // never resumes, so the server (rightly) refuses the data connection. Under Node.js the same
    // client resumes and succeeds: see the next test. This one documents the Deno limitation
    // and fails (to be updated) once Deno learns to resume.
    await using files = await tlsFiles();
    await using t = tlsServer(files, { requireTlsSessionReuse: true });
    await withBasicFtp(t, t.port, true, { ca: files.pems.caCert }, async (client) => {
      await rejects(basicDownload(client, "big.bin"), /^FTPError: 522 /);
    });
  },
});

/** basic-ftp's `dist/index.js` in Deno's npm cache, for running it under Node.js. */
async function basicFtpForNode(): Promise<string | null> {
  const info = await runCommand(Deno.execPath(), ["info", "--json"], { timeoutMs: 10_000 });
  const npmCache = JSON.parse(info.stdout).npmCache as string;
  const spec = JSON.parse(Deno.readTextFileSync(new URL("../../deno.json", import.meta.url)))
    .imports["basic-ftp"] as string; // npm:basic-ftp@6.2.3
  const path = `${npmCache}/registry.npmjs.org/basic-ftp/${spec.split("@").pop()}/dist/index.js`;
  try {
    Deno.statSync(path);
    return path;
  } catch {
    return null;
  }
}

Deno.test({
  name: "basic-ftp under Node.js resumes the TLS session: requireTlsSessionReuse works",
  ignore: needs("node") || noOpenssl,
  async fn() {
    const module = await basicFtpForNode();
    ok(module, "basic-ftp is in Deno's npm cache (deno.json imports it)");
    await using files = await tlsFiles();
    await using t = tlsServer(files, { requireTlsSessionReuse: true });
    await using local = localDir();
    const upload = randomBytes((1 << 20) + 9, 61);
    Deno.writeFileSync(`${local.path}/up.bin`, upload);
    const script = `
const { Client } = require(${JSON.stringify(module)});
const fs = require("fs");
(async () => {
  const client = new Client(10000);
  try {
    await client.access({
      host: "127.0.0.1", port: ${t.port}, user: ${JSON.stringify(t.user)},
      password: ${JSON.stringify(t.password)}, secure: true,
      secureOptions: { ca: fs.readFileSync(${JSON.stringify(files.caFile)}) },
    });
    await client.downloadTo("got.bin", "big.bin");
    await client.uploadFrom("up.bin", "up.bin");
    const list = await client.list();
    console.log(JSON.stringify({
      protocol: client.ftp.socket.getProtocol(),
      names: list.map((f) => f.name).sort(),
    }));
  } finally {
    client.close();
  }
})().catch((error) => { console.error(String(error)); process.exit(1); });
`;
    const output = await runCommand("node", ["-e", script], {
      cwd: local.path,
      timeoutMs: COMMAND_TIMEOUT_MS,
    });
    assertExit(output, "basic-ftp under node");
    deepEqual(JSON.parse(output.stdout), { protocol: "TLSv1.2", names: ["big.bin", "up.bin"] });
    assertBytes(Deno.readFileSync(`${local.path}/got.bin`), THREE_MIB, "download (resumed)");
    assertBytes(Deno.readFileSync(`${t.root}/up.bin`), upload, "upload (resumed)");
  },
});

// ---------------------------------------------------------------------------------------------
// main.ts
// ---------------------------------------------------------------------------------------------

Deno.test({
  name: "main.ts --tls-self-signed: the ready line's sha256= is the certificate clients see",
  ignore: noCurl,
  async fn() {
    await using root = localDir();
    Deno.writeFileSync(`${root.path}/big.bin`, THREE_MIB);
    await using cli = await startCli([
      "--root",
      root.path,
      "--port",
      "0",
      "--implicit-tls-port",
      "0",
      "--user",
      "tester:s3cret pass",
      "--tls-self-signed",
    ]);
    const ready = /^ftp:\/\/127\.0\.0\.1:(\d+)\/ ftps:\/\/127\.0\.0\.1:(\d+)\/ sha256=([0-9A-F:]+)$/
      .exec(cli.readyLine);
    ok(ready, `ready line: ${cli.readyLine}`);
    const [port, implicitPort, fingerprint] = [Number(ready[1]), Number(ready[2]), ready[3]];
    match(fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    equal(await servedFingerprint(port, "starttls"), fingerprint);
    equal(await servedFingerprint(implicitPort, "implicit"), fingerprint);
    // curl -k (nothing to verify against but the fingerprint) transfers byte-exact.
    await using local = localDir();
    const get = await runCommand("curl", [
      "--silent",
      "--show-error",
      "--max-time",
      "20",
      "--user",
      "tester:s3cret pass",
      "--ssl-reqd",
      "-k",
      url("ftp", port, "big.bin"),
      "-o",
      "got.bin",
    ], { cwd: local.path, timeoutMs: COMMAND_TIMEOUT_MS });
    assertExit(get, "curl -k against main.ts");
    assertBytes(Deno.readFileSync(`${local.path}/got.bin`), THREE_MIB, "RETR from main.ts");
    // A broken ClientHello on the implicit port is logged, and the process goes on.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: implicitPort });
    await conn.write(new Uint8Array([0x16, 0x03, 0x01, 0x00, 0x04, 1, 2, 3, 4]));
    await waitFor(() => /TLS handshake with 127\.0\.0\.1 failed/.test(cli.stderr()), "the log");
    conn.close();
    equal(await servedFingerprint(port, "starttls"), fingerprint);
    equal(await cli.stop(), 0);
  },
});

Deno.test({
  name: "main.ts --tls-cert/--tls-key: SIGHUP reloads replaced files; a bad file is refused",
  ignore: noOpenssl,
  async fn() {
    await using files = await tlsFiles();
    await using root = localDir();
    await using cli = await startCli([
      "--root",
      root.path,
      "--port",
      "0",
      "--user",
      "tester:pw",
      "--tls-cert",
      files.certFile,
      "--tls-key",
      files.keyFile,
    ]);
    ok(cli.readyLine.endsWith(` sha256=${files.pems.fingerprint}`), cli.readyLine);
    equal(await servedFingerprint(cli.port, "starttls"), files.pems.fingerprint);

    const next = await newLeaf(files, "next");
    Deno.renameSync(next.certFile, files.certFile);
    Deno.renameSync(next.keyFile, files.keyFile);
    cli.child.kill("SIGHUP");
    await waitFor(() => cli.stderr().includes("TLS certificate reloaded"), "the reload log");
    match(cli.stderr(), new RegExp(`TLS certificate reloaded \\(${next.fingerprint}\\)`));
    equal(await servedFingerprint(cli.port, "starttls"), next.fingerprint);
    // Sniffed implicit TLS on the main port uses the same, new certificate.
    equal(await servedFingerprint(cli.port, "implicit"), next.fingerprint);

    Deno.writeTextFileSync(files.certFile, "garbage\n");
    cli.child.kill("SIGHUP");
    await waitFor(() => cli.stderr().includes("TLS reload failed"), "the failed reload log");
    match(cli.stderr(), /TLS reload failed, keeping the old certificate: .*is not PEM/);
    equal(await servedFingerprint(cli.port, "starttls"), next.fingerprint);
    equal(await cli.stop(), 0);
  },
});

Deno.test({
  name: "main.ts with an unusable certificate exits 1 with a message naming the file",
  ignore: noOpenssl,
  async fn() {
    await using files = await tlsFiles();
    Deno.writeTextFileSync(`${files.dir}/junk.pem`, "not a certificate\n");
    const run = (args: string[]) =>
      runCommand(Deno.execPath(), ["run", "-A", "--quiet", "main.ts", "--port", "0", ...args], {
        cwd: new URL("../../", import.meta.url).pathname,
        timeoutMs: COMMAND_TIMEOUT_MS,
        env: { NO_COLOR: "1" },
      });
    const root = ["--root", files.dir];
    const junk = await run([...root, "--tls-cert", `${files.dir}/junk.pem`, "--tls-key", "x"]);
    equal(junk.code, 1, junk.stderr);
    equal(junk.stdout, "", "no ready line");
    match(junk.stderr, new RegExp(`^ftpgate: TLS certificate ${files.dir}/junk\\.pem is not PEM`));
    const missing = await run([
      ...root,
      "--tls-cert",
      `${files.dir}/missing.pem`,
      "--tls-key",
      files.keyFile,
    ]);
    equal(missing.code, 1, missing.stderr);
    match(missing.stderr, /^ftpgate: cannot read TLS certificate .*missing\.pem/);
    const badKey = await run([
      ...root,
      "--tls-cert",
      files.certFile,
      "--tls-key",
      `${files.dir}/junk.pem`,
    ]);
    equal(badKey.code, 1, badKey.stderr);
    match(badKey.stderr, /^ftpgate: TLS key .*junk\.pem is not PEM/);
    // Flag mistakes are exit code 2.
    const half = await run([...root, "--tls-cert", files.certFile]);
    equal(half.code, 2, half.stderr);
    match(half.stderr, /--tls-cert and --tls-key go together/);
    const noCert = await run([...root, "--require-tls"]);
    equal(noCert.code, 2, noCert.stderr);
  },
});

Deno.test({
  // Regression (fixed): nine bytes to the main port kill the server process. See the matching test in
  // tls_test.ts for the cause (TlsChannel.accept with `initial` bytes that fail the handshake at
  // once: an uncaught TypeError from TLSSocket._start). Transcript: main.ts --tls-self-signed;
  // client sends 16 03 01 00 04 01 02 03 04 to the main port; stderr: "error: Uncaught
  // TypeError: Cannot read properties of null (reading '_flushEncOut') at TLSSocket._start
  // (ext:deno_node/_tls_wrap.js)"; the process exits with code 1. Expected: a logged failed
  // handshake, that connection closed, the server still serving.
  name: "main.ts survives a malformed ClientHello on its main port",
  async fn() {
    await using root = localDir();
    await using cli = await startCli([
      "--root",
      root.path,
      "--port",
      "0",
      "--tls-self-signed",
    ]);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: cli.port });
    await conn.write(new Uint8Array([0x16, 0x03, 0x01, 0x00, 0x04, 1, 2, 3, 4]));
    await sleep(500);
    conn.close();
    const fingerprint = cli.readyLine.split("sha256=")[1];
    equal(await servedFingerprint(cli.port, "starttls"), fingerprint);
    equal(await cli.stop(), 0);
  },
});

// ---------------------------------------------------------------------------------------------
// Throughput (not in CI: FTPGATE_TLS_BENCH=1; FTPGATE_TLS_BENCH_MIB sets the size, default 256)
// ---------------------------------------------------------------------------------------------

Deno.test({
  name: "throughput: RETR to /dev/null with curl, plain vs explicit TLS vs implicit TLS",
  ignore: noCurl || !Deno.env.get("FTPGATE_TLS_BENCH"),
  async fn() {
    const mib = Number(Deno.env.get("FTPGATE_TLS_BENCH_MIB") ?? 256);
    await using files = await tlsFiles();
    await using t = tlsServer(files, { files: {} });
    {
      using file = Deno.openSync(`${t.root}/bench.bin`, { write: true, create: true });
      const chunk = randomBytes(1 << 20, 70);
      for (let i = 0; i < mib; i++) file.writeSync(chunk);
    }
    const ca = ["--cacert", files.caFile];
    const runs: [string, string[]][] = [
      ["plain", [url("ftp", t.port, "bench.bin")]],
      ["explicit TLS", ["--ssl-reqd", ...ca, url("ftp", t.port, "bench.bin")]],
      ["implicit TLS", [...ca, url("ftps", t.implicitPort, "bench.bin")]],
      ["plain (again)", [url("ftp", t.port, "bench.bin")]],
      ["explicit TLS (again)", ["--ssl-reqd", ...ca, url("ftp", t.port, "bench.bin")]],
    ];
    for (const [name, args] of runs) {
      const output = await runCommand("curl", [
        "--silent",
        "--show-error",
        "--max-time",
        "120",
        "--user",
        `${t.user}:${t.password}`,
        "-o",
        "/dev/null",
        "-w",
        "%{size_download} %{time_total}",
        ...args,
      ], { timeoutMs: 130_000 });
      assertExit(output, `curl ${name}`);
      const [size, seconds] = output.stdout.trim().split(" ").map(Number);
      equal(size, mib << 20);
      // deno-lint-ignore no-console
      console.log(
        `${name.padEnd(22)} ${mib} MiB in ${seconds.toFixed(2)} s = ` +
          `${(size / seconds / 1e6).toFixed(0)} MB/s`,
      );
    }
  },
});

Deno.test({
  name:
    "python3 ftplib FTP_TLS: an upload refused midway (552 quota) gets 552, and the session goes on",
  ignore: needs("python3"),
  async fn() {
    // ftplib's storbinary() ends a protected upload with conn.unwrap(): a refused upload's data
    // connection closed without close_notify made it fail with SSLEOFError instead of reading
    // "552 Quota exceeded", and the unread 552 answered its next command (here NOOP). The
    // server sends close_notify on the failure path too (bounded), so the client stays in step.
    const pems = await testPems();
    await using t = startServer({
      tls: { cert: pems.cert, key: pems.key },
      tlsSniffMs: 0,
      users: [{ name: "q", password: "q-pw", limits: { quotaBytes: 100_000 } }],
    });
    const { result } = await python<{ stor: string; next: string }>(
      { ...t, user: "q", password: "q-pw" },
      `
import ssl
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ftp = ftplib.FTP_TLS(context=ctx, timeout=10)
ftp.connect(HOST, PORT)
ftp.login(USER, PASSWORD)
ftp.prot_p()
try:
    ftp.storbinary("STOR big.bin", io.BytesIO(b"x" * 300000))
    stor = "stored"
except ftplib.all_errors as e:
    stor = type(e).__name__ + ": " + str(e)
try:
    nxt = ftp.voidcmd("NOOP")
except ftplib.all_errors as e:
    nxt = type(e).__name__ + ": " + str(e)
result({"stor": stor, "next": nxt})
`,
    );
    equal(result.stor.replace(/^error_perm: /, "").slice(0, 3), "552", result.stor);
    equal(result.next.slice(0, 3), "200", `the reply to NOOP: ${result.next}`);
  },
});
