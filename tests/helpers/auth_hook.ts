/**
 * A real HTTP identity hook for tests: `Deno.serve` on loopback, answering with what the test
 * says, recording every request it got. Slow answers wait on a gate that the hook opens when it
 * is disposed, so that no request outlives the test. And the identity provider that asks it.
 *
 * @module
 */

import { HttpIdentityProvider, type HttpIdentityProviderOptions } from "../../src/identity/http.ts";
import { LocalStorage } from "../../src/mod.ts";

/** One request the hook received. */
export interface HookCall {
  body: Record<string, unknown>;
  authorization: string | null;
  contentType: string | null;
}

/** What the hook answers for one call: a Response, or "hang" to answer only at dispose. */
export type HookHandler = (call: HookCall) => Response | "hang" | Promise<Response | "hang">;

/** A running hook. */
export interface AuthHook extends AsyncDisposable {
  url: string;
  port: number;
  calls: HookCall[];
  /** Replaces the answer. */
  answer(handler: HookHandler): void;
}

/** A JSON response. */
export function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** Starts a hook on 127.0.0.1 with a free port. */
export function startAuthHook(handler: HookHandler): AuthHook {
  let current = handler;
  const calls: HookCall[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const call: HookCall = {
      body: await request.json().catch(() => ({})),
      authorization: request.headers.get("authorization"),
      contentType: request.headers.get("content-type"),
    };
    calls.push(call);
    const response = await current(call);
    if (response === "hang") {
      await gate;
      return new Response("too late", { status: 500 });
    }
    return response;
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/ftp-login`,
    port: server.addr.port,
    calls,
    answer(next) {
      current = next;
    },
    async [Symbol.asyncDispose]() {
      release();
      await server.shutdown();
    },
  };
}

/**
 * An {@linkcode HttpIdentityProvider} asking `url`, which may hand out roots at or below
 * `allowedRoot`, opened as {@linkcode LocalStorage}; `options` adds to or overrides that.
 * `close()` it at the end.
 */
export function hookIdentity(
  url: string,
  allowedRoot: string,
  options: Partial<HttpIdentityProviderOptions> = {},
): HttpIdentityProvider {
  return new HttpIdentityProvider({
    url,
    allowedRoots: [allowedRoot],
    openRoot: (root) => new LocalStorage(root),
    ...options,
  });
}
