/**
 * Helpers for the FTPS tests (`tests/integration/tls_*_test.ts`): a test PKI made with openssl,
 * a raw FTP client that can speak TLS (AUTH TLS, implicit TLS, protected data connections), and
 * a way to run `main.ts` as a subprocess and read its ready line.
 *
 * Why a CA and a leaf rather than one self-signed certificate: rustls, behind `Deno.startTls`
 * and `Deno.connectTls`, refuses a certificate with `CA:TRUE` as the server's own
 * (`CaUsedAsEndEntity`), and `openssl req -x509` marks its certificate `CA:TRUE`. A CA that signs
 * a `CA:FALSE` leaf is what a real deployment looks like, and every client accepts it.
 *
 * @module
 */

import { fail } from "node:assert/strict";
import { configureSync, type LogRecord, resetSync } from "@logtape/logtape";
import { type ClientHelloInfo, parseClientHello } from "../../src/tls/client_hello.ts";
import { readAll, type Reply } from "./raw_client.ts";
import { runCommand } from "./tools.ts";

const encoder = new TextEncoder();
const DEFAULT_TIMEOUT_MS = 10_000;

/** PEM text of the test PKI. */
export interface Pems {
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
  /** SHA-256 fingerprint of `cert`, `AB:CD:...`. */
  fingerprint: string;
}

/** The test PKI as files in a temporary directory, removed at the end of the scope. */
export interface TlsFiles extends AsyncDisposable {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  pems: Pems;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const output = await runCommand("openssl", args, { cwd, timeoutMs: 20_000 });
  if (output.code !== 0) fail(`openssl ${args.join(" ")} failed:\n${output.stderr}`);
}

/**
 * Writes a new leaf certificate for `localhost` and `127.0.0.1`, signed by the CA in `dir`
 * (`ca.pem`, `ca.key`), as `name.pem` and `name.key`.
 */
async function issueLeaf(dir: string, name: string): Promise<void> {
  await openssl([
    "req",
    "-x509",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-days",
    "2",
    "-subj",
    `/CN=localhost`,
    "-addext",
    "subjectAltName=DNS:localhost,IP:127.0.0.1",
    "-addext",
    "basicConstraints=critical,CA:FALSE",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
  ], dir);
}

let cached: Promise<Pems> | undefined;

/** The PKI shared by every test of a module: made once with openssl, kept as PEM text. */
export function testPems(): Promise<Pems> {
  cached ??= (async () => {
    const dir = Deno.makeTempDirSync({ prefix: "ftpgate-pki-" });
    try {
      await openssl([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=ftpgate test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
      ], dir);
      await issueLeaf(dir, "cert");
      const read = (name: string) => Deno.readTextFileSync(`${dir}/${name}`);
      const cert = read("cert.pem");
      return {
        caCert: read("ca.pem"),
        caKey: read("ca.key"),
        cert,
        key: read("cert.key"),
        fingerprint: await pemFingerprint(cert),
      };
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  })();
  return cached;
}

/** Writes the test PKI into a fresh directory: `ca.pem`, `cert.pem`, `key.pem`. */
export async function tlsFiles(): Promise<TlsFiles> {
  const pems = await testPems();
  const dir = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "ftpgate-tls-" }));
  Deno.writeTextFileSync(`${dir}/ca.pem`, pems.caCert);
  Deno.writeTextFileSync(`${dir}/ca.key`, pems.caKey);
  Deno.writeTextFileSync(`${dir}/cert.pem`, pems.cert);
  Deno.writeTextFileSync(`${dir}/key.pem`, pems.key);
  return {
    dir,
    caFile: `${dir}/ca.pem`,
    certFile: `${dir}/cert.pem`,
    keyFile: `${dir}/key.pem`,
    pems,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Issues another leaf from the same CA into `files.dir` as `name.pem`/`name.key`; returns the
 * paths and the new fingerprint (for certificate reload tests).
 */
export async function newLeaf(
  files: TlsFiles,
  name: string,
): Promise<{ certFile: string; keyFile: string; fingerprint: string }> {
  await issueLeaf(files.dir, name);
  const certFile = `${files.dir}/${name}.pem`;
  return {
    certFile,
    keyFile: `${files.dir}/${name}.key`,
    fingerprint: await pemFingerprint(Deno.readTextFileSync(certFile)),
  };
}

/** SHA-256 over the DER of the first certificate of a PEM text, as `AB:CD:...`. */
export async function pemFingerprint(pem: string): Promise<string> {
  const base64 = /-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/.exec(pem)?.[1];
  if (base64 === undefined) throw new Error("no CERTIFICATE block in the PEM text");
  const der = Uint8Array.from(atob(base64.replace(/\s+/g, "")), (char) => char.charCodeAt(0));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", der));
  return [...digest].map((byte) => byte.toString(16).padStart(2, "0").toUpperCase()).join(":");
}

/**
 * The fingerprint of the certificate a server presents, as openssl sees it: `s_client` with
 * `-starttls ftp` for the main port (explicit TLS) or a direct handshake (implicit TLS).
 */
export async function servedFingerprint(
  port: number,
  mode: "starttls" | "implicit",
): Promise<string> {
  const starttls = mode === "starttls" ? "-starttls ftp" : "";
  const output = await runCommand("sh", [
    "-c",
    `openssl s_client -connect 127.0.0.1:${port} ${starttls} </dev/null 2>/dev/null` +
    " | openssl x509 -noout -fingerprint -sha256",
  ], { timeoutMs: 15_000 });
  const match = /Fingerprint=([0-9A-F:]+)/i.exec(output.stdout);
  if (!match) fail(`no fingerprint from openssl s_client:\n${output.stdout}\n${output.stderr}`);
  return match[1].toUpperCase();
}

/** How a data connection is made: the client connects (EPSV) or the server does (EPRT). */
export type DataMode = "passive" | "active";

/**
 * A raw FTP client over plain TCP, explicit TLS or implicit TLS. Protected data connections
 * (PROT P) are TLS clients too, on either side of the connect (RFC 4217 §7: the FTP client is
 * always the TLS client). Every read has a deadline.
 */
export class FtpsClient implements AsyncDisposable {
  #conn: Deno.TcpConn | Deno.TlsConn;
  #secure: boolean;
  #buffer = "";
  #decoder = new TextDecoder();
  #closed = false;
  /** CA for every handshake this client makes. */
  readonly caCert: string;
  /** Data connections are TLS (PROT P, or implicit TLS). */
  protectData: boolean;
  banner!: Reply;

  private constructor(conn: Deno.TcpConn | Deno.TlsConn, caCert: string, secure: boolean) {
    this.#conn = conn;
    this.caCert = caCert;
    this.#secure = secure;
    this.protectData = secure;
  }

  /** Plain TCP to `port`; reads the 220 greeting. */
  static async connect(port: number, caCert: string): Promise<FtpsClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const client = new FtpsClient(conn, caCert, false);
    client.banner = await client.read().catch((error) => {
      client.close();
      throw error;
    });
    return client;
  }

  /** Implicit TLS: the handshake comes first, then the 220 greeting (verified against the CA). */
  static async connectImplicit(port: number, caCert: string): Promise<FtpsClient> {
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
    const conn = await Deno.startTls(tcp, { hostname: "127.0.0.1", caCerts: [caCert] });
    const client = new FtpsClient(conn, caCert, true);
    try {
      await handshake(conn);
      client.banner = await client.read();
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  /** The control connection is TLS. */
  get secure(): boolean {
    return this.#secure;
  }

  /** `AUTH TLS` (or another mechanism), expects 234, then the TLS handshake. */
  async authTls(mechanism = "TLS"): Promise<Reply> {
    const reply = await this.expect(`AUTH ${mechanism}`, 234);
    if (this.#buffer !== "") fail(`bytes after the 234 reply: ${JSON.stringify(this.#buffer)}`);
    const conn = this.#conn as Deno.TcpConn;
    const tls = await Deno.startTls(conn, { hostname: "127.0.0.1", caCerts: [this.caCert] });
    this.#conn = tls;
    await handshake(tls);
    this.#secure = true;
    return reply;
  }

  /** `PBSZ 0` and `PROT P`. */
  async protect(): Promise<void> {
    await this.expect("PBSZ 0", 200);
    await this.expect("PROT P", 200);
    this.protectData = true;
  }

  /** Sends one command line (CRLF added). */
  async send(line: string): Promise<void> {
    await this.sendRaw(encoder.encode(line + "\r\n"));
  }

  /** Sends raw bytes on the control connection. */
  async sendRaw(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) offset += await this.#conn.write(bytes.subarray(offset));
  }

  /** Sends a command and reads its reply. */
  async command(line: string): Promise<Reply> {
    await this.send(line);
    return await this.read();
  }

  /** Sends a command and checks the reply code. */
  async expect(line: string, code: number): Promise<Reply> {
    const reply = await this.command(line);
    if (reply.code !== code) fail(`${line} → expected ${code}, got ${reply.lines.join(" | ")}`);
    return reply;
  }

  /** USER + PASS, expecting 230. */
  async login(user: string, password: string): Promise<void> {
    await this.expect(`USER ${user}`, 331);
    await this.expect(`PASS ${password}`, 230);
  }

  /** Reads one complete reply, multi-line aware. */
  async read(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Reply> {
    const first = await this.#readLine(timeoutMs);
    const match = /^(\d{3})([ -])(.*)$/.exec(first);
    if (!match) fail(`malformed reply line: ${JSON.stringify(first)}`);
    const lines = [first];
    if (match[2] === "-") {
      for (;;) {
        const line = await this.#readLine(timeoutMs);
        lines.push(line);
        if (line.startsWith(match[1] + " ")) break;
      }
    }
    return { code: Number(match[1]), lines, text: lines[lines.length - 1].slice(4) };
  }

  /**
   * Opens a data connection for `command`: EPSV + connect, or EPRT + accept. Returns the
   * connection (TLS when data is protected) and the 150 reply.
   */
  async openData(
    command: string,
    mode: DataMode,
  ): Promise<{ data: Deno.TcpConn | Deno.TlsConn; opening: Reply }> {
    let tcp: Deno.TcpConn;
    let opening: Reply;
    if (mode === "passive") {
      const reply = await this.expect("EPSV", 229);
      const port = Number(/\(\|\|\|(\d+)\|\)/.exec(reply.text)?.[1]);
      tcp = await Deno.connect({ hostname: "127.0.0.1", port });
      opening = await this.command(command);
    } else {
      using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      await this.expect(`EPRT |1|127.0.0.1|${listener.addr.port}|`, 200);
      opening = await this.command(command);
      if (opening.code !== 150) {
        fail(`${command} → expected 150, got ${opening.lines.join(" | ")}`);
      }
      const accepting = listener.accept();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), 5_000);
      });
      const accepted = await Promise.race([accepting, timeout]);
      clearTimeout(timer);
      if (accepted === "timeout") {
        // The listener closes at the end of this block; a late accept is closed too.
        accepting.then((conn) => conn.close(), () => {});
        fail(`${command}: no data connection from the server`);
      }
      tcp = accepted;
    }
    if (opening.code !== 150) {
      tcp.close();
      fail(`${command} → expected 150, got ${opening.lines.join(" | ")}`);
    }
    if (!this.protectData) return { data: tcp, opening };
    const data = await Deno.startTls(tcp, { hostname: "127.0.0.1", caCerts: [this.caCert] });
    // No handshake() here: a server that refuses the connection (522) closes it after its own
    // side of the handshake, and the caller wants to see that as an empty read, not a throw.
    return { data, opening };
  }

  /** Downloads with `command` (RETR x, LIST, ...); checks 150 and 226. */
  async download(command: string, mode: DataMode = "passive"): Promise<Uint8Array> {
    const { data } = await this.openData(command, mode);
    const bytes = await readAll(data);
    const done = await this.read();
    if (done.code !== 226) fail(`${command} → expected 226, got ${done.lines.join(" | ")}`);
    return bytes;
  }

  /** Uploads with `command` (STOR x, APPE x); checks 150 and 226. */
  async upload(command: string, bytes: Uint8Array, mode: DataMode = "passive"): Promise<Reply> {
    const { data } = await this.openData(command, mode);
    // A server that never reads would block the writes: give up after a while.
    const timer = setTimeout(() => data.close(), DEFAULT_TIMEOUT_MS);
    try {
      let offset = 0;
      while (offset < bytes.length) offset += await data.write(bytes.subarray(offset));
      // TLS: close_notify, then wait for the server's end, so that nothing is cut by a reset.
      await data.closeWrite();
      await readAll(data);
    } finally {
      clearTimeout(timer);
      try {
        data.close();
      } catch { /* closed by readAll */ }
    }
    const done = await this.read();
    if (done.code !== 226) fail(`${command} → expected 226, got ${done.lines.join(" | ")}`);
    return done;
  }

  /** Closes the control connection. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* closed */ }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  async #readLine(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const eol = this.#buffer.indexOf("\r\n");
      if (eol !== -1) {
        const line = this.#buffer.slice(0, eol);
        this.#buffer = this.#buffer.slice(eol + 2);
        return line;
      }
      const chunk = await this.#readChunk(deadline - Date.now());
      if (chunk === null) fail(`connection closed; pending: ${JSON.stringify(this.#buffer)}`);
      this.#buffer += chunk;
    }
  }

  async #readChunk(timeoutMs: number): Promise<string | null> {
    if (timeoutMs <= 0) fail("timed out waiting for the server");
    const buffer = new Uint8Array(16 * 1024);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    try {
      const read = this.#conn.read(buffer);
      read.catch(() => {}); // after a timeout the read rejects when we close
      const result = await Promise.race([read, timeout]);
      if (result === "timeout") {
        this.close();
        fail(`timed out waiting for the server; pending: ${JSON.stringify(this.#buffer)}`);
      }
      if (result === null) return null;
      return this.#decoder.decode(buffer.subarray(0, result), { stream: true });
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Completes a client handshake, closing the connection if it takes longer than 10 s. */
async function handshake(conn: Deno.TlsConn): Promise<void> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    conn.close();
  }, DEFAULT_TIMEOUT_MS);
  try {
    await conn.handshake();
  } catch (error) {
    if (timedOut) fail("the TLS handshake with the server timed out");
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** `main.ts` running as a subprocess. */
export interface CliServer extends AsyncDisposable {
  /** The first stdout line: `ftp://host:port/ [ftps://host:port/] [sha256=...]`. */
  readyLine: string;
  port: number;
  child: Deno.ChildProcess;
  /** Everything written to stderr so far (the log). */
  stderr(): string;
  /** Closes stdin (`--stdin-lifeline`), waits for the exit; returns the exit code. */
  stop(): Promise<number>;
}

/**
 * Starts `deno run -A main.ts ARGS --stdin-lifeline` and waits for its ready line. The process
 * stops when the scope ends (stdin closed; SIGKILL if it lingers).
 */
export async function startCli(args: string[], timeoutMs = 20_000): Promise<CliServer> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "main.ts", ...args, "--stdin-lifeline"],
    cwd: new URL("../../", import.meta.url).pathname,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let log = "";
  const decoder = new TextDecoder();
  const stderrDone = (async () => {
    for await (const chunk of child.stderr) log += decoder.decode(chunk, { stream: true });
  })();
  let out = "";
  const stdoutDone = (async () => {
    for await (const chunk of child.stdout) out += decoder.decode(chunk, { stream: true });
  })();
  const killTimer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, 60_000);
  let stopped: Promise<number> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      await child.stdin.close().catch(() => {});
      const lingering = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* exited */ }
      }, 10_000);
      const status = await child.status;
      clearTimeout(lingering);
      clearTimeout(killTimer);
      await Promise.all([stderrDone, stdoutDone]);
      return status.code;
    })();
  const deadline = Date.now() + timeoutMs;
  while (!out.includes("\n")) {
    if (Date.now() > deadline) {
      await stop();
      fail(`main.ts printed no ready line\n--- stdout\n${out}\n--- stderr\n${log}`);
    }
    const exited = await Promise.race([
      child.status.then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 20)),
    ]);
    if (exited && !out.includes("\n")) {
      const code = await stop();
      fail(`main.ts exited (${code}) before its ready line\n--- stderr\n${log}`);
    }
  }
  const readyLine = out.split("\n")[0];
  const port = Number(/^ftp:\/\/[^ ]+:(\d+)\//.exec(readyLine)?.[1]);
  return {
    readyLine,
    port,
    child,
    stderr: () => log,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}

/** The curl version as `[major, minor, patch]`, from `curl --version`. */
export async function curlVersion(): Promise<[number, number, number]> {
  const output = await runCommand("curl", ["--version"], { timeoutMs: 5_000 });
  const match = /^curl (\d+)\.(\d+)\.(\d+)/.exec(output.stdout);
  if (!match) fail(`cannot read the curl version from: ${output.stdout.split("\n")[0]}`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** LogTape records captured in-process, until the scope ends. */
export interface CapturedLogs extends Disposable {
  records: LogRecord[];
  /** The properties of every transfer record (`ftpgate.transfer`): bytes, result, code... */
  transfers(): Record<string, unknown>[];
}

/**
 * Sends every ftpgate log record to memory for the rest of the scope (`using logs = ...`), so a
 * test can read what a transfer reported. LogTape is global: one capture at a time.
 */
export function captureLogs(): CapturedLogs {
  const records: LogRecord[] = [];
  configureSync({
    reset: true,
    sinks: { memory: (record: LogRecord) => records.push(record) },
    loggers: [
      { category: ["ftpgate"], lowestLevel: "debug", sinks: ["memory"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: ["memory"] },
    ],
  });
  return {
    records,
    transfers: () =>
      records.filter((record) => record.category.join(".") === "ftpgate.transfer").map((
        record,
      ) => record.properties),
    [Symbol.dispose]() {
      resetSync();
    },
  };
}

/** A record's message as one string, its values as `String()` writes them (unescaped). */
export function logMessage(record: LogRecord): string {
  return record.message.map((part) => (typeof part === "string" ? part : String(part))).join("");
}

/**
 * Python helpers for raw FTPS clients that misbehave on purpose (with the `python()` helper of
 * clients.ts): `ftps()` logs in over explicit TLS with PROT P and TYPE I (certificate not
 * checked: the tests use `tls: { selfSigned: true }`), `reply(ftp)` reads the next reply as
 * text (4xx/5xx too), `fin_only(conn)` drops the TLS layer of a data connection and sends a bare
 * TCP FIN — no close_notify, as a truncating attacker or middlebox would — and
 * `close_notify_only(conn)` sends close_notify without waiting for the server's.
 */
export const PYTHON_FTPS_RAW = String.raw`
import ssl, time
CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE
def ftps(pasv=True):
    ftp = ftplib.FTP_TLS(context=CTX, timeout=10, encoding="utf-8")
    ftp.connect(HOST, PORT)
    ftp.login(USER, PASSWORD)
    ftp.prot_p()
    ftp.set_pasv(pasv)
    ftp.voidcmd("TYPE I")
    return ftp
def reply(ftp):
    try:
        return ftp.getresp()
    except ftplib.Error as e:
        return str(e)
def fin_only(conn):
    raw = socket.socket(fileno=conn.detach())
    raw.shutdown(socket.SHUT_WR)
    return raw
def close_notify_only(conn):
    conn.setblocking(False)
    try:
        conn.unwrap()
    except (ssl.SSLWantReadError, ssl.SSLError):
        pass  # sent; the server's own close_notify (or more data) is not waited for
def read_exactly(conn, n):
    got = 0
    while got < n:
        chunk = conn.recv(n - got)
        if not chunk:
            break
        got += len(chunk)
    return got
`;

/**
 * The ClientHello a client program sends: `run(port)` starts it against a listener on
 * 127.0.0.1 that reads the first TLS record, then hangs up.
 */
export async function captureClientHello(
  run: (port: number) => Promise<unknown>,
): Promise<ClientHelloInfo> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = run(listener.addr.port);
  const conn = await listener.accept();
  try {
    let bytes = new Uint8Array(0);
    const buffer = new Uint8Array(16 * 1024);
    while (bytes.length < 5 || bytes.length < 5 + ((bytes[3] << 8) | bytes[4])) {
      const n = await conn.read(buffer);
      if (n === null) fail("the client closed before its ClientHello was complete");
      const joined = new Uint8Array(bytes.length + n);
      joined.set(bytes);
      joined.set(buffer.subarray(0, n), bytes.length);
      bytes = joined;
    }
    const hello = parseClientHello(bytes);
    if (hello === null) fail("the client's first TLS record holds no readable ClientHello");
    return hello;
  } finally {
    conn.close();
    await client;
  }
}
