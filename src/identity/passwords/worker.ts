/**
 * Entry point of a password worker: one request at a time, answered in order. A worker has no
 * state besides the WebAssembly instances the libraries keep, so it can be terminated at any
 * moment (on a time-out, when idle, on close).
 *
 * @module
 */

import type { WorkRequest, WorkResponse } from "./protocol.ts";
import { perform } from "./work.ts";

/** The part of a worker's global scope used here (the file is type-checked with the main lib). */
interface WorkerScope {
  onmessage: ((event: MessageEvent<WorkRequest>) => void) | null;
  postMessage(message: WorkResponse): void;
}

const scope = globalThis as unknown as WorkerScope;
let chain: Promise<void> = Promise.resolve();
scope.onmessage = (event) => {
  chain = chain.then(async () => scope.postMessage(await perform(event.data)));
};
