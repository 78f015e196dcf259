/**
 * A user's own conditions at login, checked once the password is right: TLS only, the networks
 * the user may come from, how many sessions the user may have at once; and what the session
 * then works with: the storage under the user's quota, the user's bandwidth buckets. Per-user
 * state (usage, buckets) is shared by all of one user's sessions in this server.
 *
 * @module
 */

import type { Admission } from "../commands/context.ts";
import { TokenBucket } from "../limits/token_bucket.ts";
import type { Throttle } from "../limits/throttled.ts";
import { inNetworks } from "../net/cidr.ts";
import { Code } from "../protocol/codes.ts";
import { QuotaStorage, QuotaUsage } from "../storage/quota.ts";
import type { Storage } from "../storage/storage.ts";
import type { Identity } from "./identity.ts";

interface UserState {
  throttle?: Throttle;
  /** The rates the buckets were made for (a reload may change them). */
  rates: string;
  usage?: { storage: Storage; usage: QuotaUsage };
}

/**
 * The users of one server.
 *
 * @example
 * ```ts
 * import { Admissions } from "./admission.ts";
 * const admissions = new Admissions(() => 0);
 * ```
 */
export class Admissions {
  readonly #users = new Map<string, UserState>();
  readonly #sessionsOf: (user: string) => number;

  /** @param sessionsOf how many sessions the user has logged in right now. */
  constructor(sessionsOf: (user: string) => number) {
    this.#sessionsOf = sessionsOf;
  }

  /** Checks the user's conditions; the identity to use, or why not. */
  admit(identity: Identity, session: { remoteHost: string; secure: boolean }): Admission {
    if (identity.requireTls && !session.secure) {
      // RFC 4217 §4: refused for policy reasons.
      return refuse(Code.POLICY_DENIED, "This user must log in over TLS: use AUTH TLS.", false);
    }
    if (identity.allowedNetworks && !inNetworks(identity.allowedNetworks, session.remoteHost)) {
      return refuse(Code.NOT_LOGGED_IN, "Login not allowed from your address.", false);
    }
    const max = identity.limits?.maxSessions;
    if (max !== undefined && this.#sessionsOf(identity.name) >= max) {
      return refuse(Code.SERVICE_UNAVAILABLE, "Too many sessions for this user; try later.", true);
    }
    const { quotaBytes, quotaFiles } = identity.limits ?? {};
    if (quotaBytes === undefined && quotaFiles === undefined) return { identity };
    const state = this.#state(identity);
    // One count per user and tree; a user whose tree changed (a reload) is counted again.
    if (state.usage?.storage !== identity.storage) {
      state.usage = { storage: identity.storage, usage: QuotaUsage.scan(identity.storage) };
    }
    const limits = {
      ...(quotaBytes === undefined ? {} : { bytes: quotaBytes }),
      ...(quotaFiles === undefined ? {} : { files: quotaFiles }),
    };
    return {
      identity: {
        ...identity,
        storage: new QuotaStorage(identity.storage, limits, state.usage.usage),
      },
    };
  }

  /** The user's bandwidth buckets, shared by the user's sessions; undefined without limits. */
  throttleFor(identity: Identity): Throttle | undefined {
    const up = identity.limits?.uploadBytesPerSecond;
    const down = identity.limits?.downloadBytesPerSecond;
    if (up === undefined && down === undefined) return undefined;
    const state = this.#state(identity);
    const rates = `${up}/${down}`;
    if (state.throttle === undefined || state.rates !== rates) {
      state.rates = rates;
      state.throttle = {
        ...(up === undefined ? {} : { read: new TokenBucket(up) }),
        ...(down === undefined ? {} : { write: new TokenBucket(down) }),
      };
    }
    return state.throttle;
  }

  #state(identity: Identity): UserState {
    let state = this.#users.get(identity.name);
    if (state === undefined) this.#users.set(identity.name, state = { rates: "" });
    return state;
  }
}

function refuse(code: number, text: string, close: boolean): Admission {
  return { refusal: { code, text, close } };
}
