/**
 * One worker of a multi-worker server (see `pool.ts`): runs {@linkcode serve} on the shared
 * port, with the limits, bans and busy guard of the main isolate.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import type { FtpEvent } from "../events.ts";
import { configureLogging } from "../log.ts";
import { type FtpServer, serve } from "../server.ts";
import type { FromWorker, ToWorker, WorkerStart } from "./protocol.ts";
import type { SharedState } from "./shared.ts";
import { AdmissionTable } from "./admission_table.ts";

let server: FtpServer | null = null;
let nextId = 0;
const pending = new Map<number, (value: string | null | boolean) => void>();

function post(message: FromWorker): void {
  self.postMessage(message);
}

function ask(message: { type: "acquire"; key: string }) {
  const id = ++nextId;
  return new Promise<string | null | boolean>((resolve) => {
    pending.set(id, resolve);
    post({ ...message, id });
  });
}

const BANNED = "Too many failed logins from your address; try again later.";
let admissions: AdmissionTable | null = null;

const shared: SharedState = {
  admit: (ip) => (shared.isBanned(ip) ? BANNED : admissions!.admit(ip)),
  release: (ip) => admissions!.release(ip),
  loginFailed: (ip) => admissions!.recordFailure(ip, Date.now()),
  isBanned: (ip) => admissions!.isBanned(ip, Date.now()),
  writes: {
    acquire: (key) => ask({ type: "acquire", key }) as Promise<boolean>,
    release: (key) => post({ type: "unlock", key }),
  },
};

/** Events go to the main isolate in batches: one message per turn of the event loop at most. */
let forwarding = false;
/** The main isolate asked for events before the server was up. */
let wantForward = false;
function forwardEvents(target: FtpServer): void {
  if (forwarding) return;
  forwarding = true;
  let batch: FtpEvent[] | null = null;
  target.events.on((event) => {
    if (batch === null) {
      batch = [];
      queueMicrotask(() => {
        const events = batch!;
        batch = null;
        try {
          post({ type: "events", events });
        } catch {
          // An event that cannot be cloned (an unusual error cause): send the rest without it.
          post({ type: "events", events: events.map(cloneable) });
        }
      });
    }
    batch.push(event);
  });
}

function cloneable(event: FtpEvent): FtpEvent {
  if (!("error" in event)) return event;
  const { error, ...rest } = event as FtpEvent & { error?: unknown };
  return { ...rest, error: String(error) } as FtpEvent;
}

async function start(message: WorkerStart): Promise<void> {
  try {
    if (message.log) await configureLogging(message.log.format, message.log.level);
    admissions = new AdmissionTable(message.admissions, message.workers, message.index);
    server = serve(message.options, {
      shared,
      reusePort: true,
      sessionIds: { first: message.index + 1, step: message.workers },
    });
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    post({ type: "failed", message: e.message, name: e.name });
    self.close();
    return;
  }
  if (message.forwardEvents || wantForward) forwardEvents(server);
  server.firstSession.then(() => post({ type: "greeted" }));
  server.finished.then(() => {
    post({ type: "finished" });
    self.close();
  });
  post({
    type: "ready",
    port: server.addr.port,
    ...(server.implicitTlsAddr ? { implicitTlsPort: server.implicitTlsAddr.port } : {}),
    url: server.url,
    ...(server.tlsFingerprint ? { fingerprint: server.tlsFingerprint } : {}),
  });
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  switch (message.type) {
    case "start":
      void start(message);
      return;
    case "answer": {
      const resolve = pending.get(message.id);
      pending.delete(message.id);
      resolve?.(message.value);
      return;
    }
    case "forward":
      wantForward = true;
      if (server) forwardEvents(server);
      return;
    case "shutdown":
      void server?.shutdown(message.graceMs === undefined ? {} : { graceMs: message.graceMs });
      return;
    case "status":
      if (server) post({ type: "status", id: message.id, snapshot: server.status() });
      return;
    case "reloadTls":
      try {
        server?.reloadTls();
      } catch { /* the worker keeps its old certificate, as a single server does */ }
      return;
    case "logging":
      void configureLogging(message.format, message.level);
      return;
    case "reconfigure":
      try {
        server?.reconfigure(message.changes);
      } catch { /* validated in the main isolate first */ }
      return;
  }
};
