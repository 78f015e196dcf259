/**
 * Test helpers for the ops modules: an {@linkcode OpsHost} whose state a test drives and whose
 * events it emits, and a parser of the Prometheus text format.
 */

import { EventHub, type FtpEvent, type TransferEvent } from "../../src/events.ts";
import type {
  OpsHost,
  ReadyResult,
  SessionStatus,
  StatusSnapshot,
  TransferStatus,
} from "../../src/ops/host.ts";

/** A host whose sessions and transfers the test sets; it emits the events a server would. */
export class TestHost implements OpsHost {
  readonly events = new EventHub();
  readonly sessions = new Map<number, SessionStatus>();
  readonly transfers = new Map<number, TransferStatus>();
  draining = false;
  readyResult: ReadyResult | (() => Promise<ReadyResult>) = { ok: true };
  config: StatusSnapshot["config"] = { port: 2121, tls: false, storage: "memory" };
  readonly startedAt = Date.now() - 65_000;
  passiveListeners = 0;
  #nextSession = 1;

  status(): StatusSnapshot {
    return {
      version: "0.1.0-test",
      startedAt: this.startedAt,
      draining: this.draining,
      sessions: [...this.sessions.values()],
      transfers: [...this.transfers.values()].map((t) => ({ ...t })),
      counts: { passiveListeners: this.passiveListeners, bannedAddresses: 0 },
      config: this.config,
    };
  }

  ready(_signal: AbortSignal): Promise<ReadyResult> {
    return typeof this.readyResult === "function"
      ? this.readyResult()
      : Promise.resolve(this.readyResult);
  }

  emit(event: FtpEvent): void {
    this.events.emit(event);
  }

  /** Opens a session (event and state). */
  open(remote = "127.0.0.1"): number {
    const id = this.#nextSession++;
    this.sessions.set(id, { id, remote, since: Date.now(), secure: false });
    this.emit({
      type: "session-opened",
      session: id,
      remote,
      remotePort: 40000 + id,
      secure: false,
    });
    return id;
  }

  login(session: number, user: string, ok = true): void {
    const s = this.sessions.get(session)!;
    this.emit({
      type: "login",
      session,
      remote: s.remote,
      user,
      ok,
      anonymous: false,
      secure: false,
    });
    if (ok) s.user = user;
  }

  command(session: number, line: string, code: number): void {
    const s = this.sessions.get(session)!;
    s.command = line;
    const verb = line.split(" ")[0].toUpperCase();
    this.emit({ type: "command", session, remote: s.remote, verb, code });
  }

  /** Starts a transfer (state only: servers emit nothing at the start). */
  startTransfer(
    session: number,
    command: string,
    path: string,
    size?: number,
  ): TransferStatus {
    const s = this.sessions.get(session)!;
    const direction = command === "RETR"
      ? "out"
      : ["LIST", "NLST", "MLSD"].includes(command)
      ? "list"
      : "in";
    const transfer: TransferStatus = {
      session,
      user: s.user ?? "?",
      command,
      direction,
      path,
      bytes: 0,
      size,
      started: Date.now(),
    };
    this.transfers.set(session, transfer);
    s.command = `${command} ${path}`;
    return transfer;
  }

  /** Ends the session's transfer and emits its event. */
  endTransfer(session: number, result: TransferEvent["result"] = "ok"): TransferEvent {
    const t = this.transfers.get(session)!;
    this.transfers.delete(session);
    const s = this.sessions.get(session)!;
    const event: TransferEvent = {
      type: "transfer",
      session,
      remote: s.remote,
      user: t.user,
      anonymous: false,
      command: t.command,
      direction: t.direction,
      path: t.path,
      bytes: t.bytes,
      offset: 0,
      durationMs: Date.now() - t.started,
      result,
      code: result === "ok" ? 226 : 426,
      representation: "binary",
      secure: false,
    };
    this.emit(event);
    return event;
  }

  close(session: number): void {
    const s = this.sessions.get(session)!;
    this.sessions.delete(session);
    this.emit({
      type: "session-closed",
      session,
      remote: s.remote,
      user: s.user,
      durationMs: Date.now() - s.since,
    });
  }
}

/** One sample of a scrape. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed scrape: families with HELP and TYPE, and samples. */
export interface Exposition {
  help: Map<string, string>;
  type: Map<string, string>;
  samples: Sample[];
}

/**
 * A strict parser of the text format 0.0.4 (what Prometheus's own parser accepts, minus
 * timestamps, which ftpgate never writes): throws on anything malformed.
 */
export function parseExposition(text: string): Exposition {
  if (!text.endsWith("\n")) throw new Error("exposition must end with a line feed");
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  const samples: Sample[] = [];
  const name = "[a-zA-Z_:][a-zA-Z0-9_:]*";
  const sampleLine = new RegExp(`^(${name})(\\{(.*)\\})? (\\S+)$`);
  for (const line of text.slice(0, -1).split("\n")) {
    let m: RegExpMatchArray | null;
    if ((m = line.match(new RegExp(`^# HELP (${name}) (.*)$`)))) {
      if (help.has(m[1])) throw new Error(`second HELP for ${m[1]}`);
      help.set(m[1], m[2].replace(/\\n/g, "\n").replace(/\\\\/g, "\\"));
    } else if (
      (m = line.match(new RegExp(`^# TYPE (${name}) (counter|gauge|histogram|summary|untyped)$`)))
    ) {
      if (type.has(m[1])) throw new Error(`second TYPE for ${m[1]}`);
      type.set(m[1], m[2]);
    } else if (line.startsWith("#")) {
      throw new Error(`unexpected comment: ${line}`);
    } else if ((m = line.match(sampleLine))) {
      const labels = m[3] === undefined ? {} : parseLabels(m[3]);
      const raw = m[4];
      const value = raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : Number(raw);
      if (raw !== "NaN" && Number.isNaN(value)) throw new Error(`bad value: ${line}`);
      const family = m[1].replace(/_(bucket|sum|count)$/, "");
      if (!type.has(m[1]) && !type.has(family)) throw new Error(`sample before TYPE: ${line}`);
      samples.push({ name: m[1], labels, value });
    } else {
      throw new Error(`malformed line: ${JSON.stringify(line)}`);
    }
  }
  return { help, type, samples };
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const m = text.slice(i).match(/^([a-zA-Z_][a-zA-Z0-9_]*)="/);
    if (!m) throw new Error(`bad label at ${text.slice(i)}`);
    i += m[0].length;
    let value = "";
    for (;;) {
      if (i >= text.length) throw new Error("unterminated label value");
      const c = text[i++];
      if (c === '"') break;
      if (c === "\\") {
        const e = text[i++];
        if (e === "n") value += "\n";
        else if (e === "\\" || e === '"') value += e;
        else throw new Error(`bad escape \\${e}`);
      } else if (c === "\n") throw new Error("raw line feed in label value");
      else value += c;
    }
    if (m[1] in labels) throw new Error(`duplicate label ${m[1]}`);
    labels[m[1]] = value;
    if (text[i] === ",") i++;
    else if (i < text.length) throw new Error(`expected , at ${text.slice(i)}`);
  }
  return labels;
}

/** The value of one sample, or undefined. */
export function sampleValue(
  exposition: Exposition,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return exposition.samples.find((s) =>
    s.name === name && Object.keys(labels).length === Object.keys(s.labels).length &&
    Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  )?.value;
}

/** Polls until `check` is true or the time is up. */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Prints a measured number into the test log. */
export function report(message: string): void {
  // deno-lint-ignore no-console
  console.log(`[measure] ${message}`);
}
