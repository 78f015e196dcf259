/**
 * A user's own conditions at login, checked once the password is right: TLS only, the networks
 * the user may come from, how many sessions the user may have at once; and what the session
 * then works with: the storage under the user's quota, the user's bandwidth buckets. Per-user
 * state (usage, buckets) is shared by all of one user's sessions in this server.
 *
 * A refusal for the network or for the missing TLS is answered exactly like a wrong password
 * (530 "Login incorrect."), with the reason in the server's log only: these checks run after the
 * password has been found right, so any other answer would tell whoever tries passwords from
 * outside the allowed networks, or over clear text, that they found the right one. (TLS-only
 * users cannot be refused before the password without telling anyone which accounts exist and
 * need TLS; the server-wide `requireTls` refuses every USER over clear text instead, which names
 * nobody.) Too many sessions is still told as such (421): only the user's own sessions can fill
 * them, and an honest user needs to know why.
 *
 * The admitted storage also judges the user's rules at the real path of what it touches (see
 * `real_path_rules.ts`), when the rules are not the same everywhere.
 *
 * @module
 */

import type { StorageOperationEvent } from "../events.ts";
import { withTiming } from "../storage/timed.ts";
import type { Admission } from "../commands/context.ts";
import { type Throttle, throttleAt } from "../limits/throttled.ts";
import { StorageError } from "../errors.ts";
import { log } from "../log.ts";
import { inNetworks } from "../net/cidr.ts";
import { Code } from "../protocol/codes.ts";
import { QuotaStorage, QuotaUsage } from "../storage/quota.ts";
import type { Storage } from "../storage/storage.ts";
import type { Identity } from "./identity.ts";
import { withRealPathRules } from "./real_path_rules.ts";

interface UserState {
  throttle?: Throttle;
  /** The rates the buckets were made for (a reload may change them). */
  rates: string;
  /**
   * One count per tree of the user (a storage object stands for a tree: providers open one per
   * root), for as long as the tree is in use; a reload opens new trees, which are counted again.
   */
  usages: WeakMap<Storage, QuotaUsage>;
  /** The count used last, held so that the next login finds it even with no session open. */
  latest?: QuotaUsage;
}

/** What a refused login is told: the same as a wrong password (see the module documentation). */
const LOGIN_INCORRECT = "Login incorrect.";

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
  /** What each identity was admitted as, and with which quota count (see #admitted). */
  readonly #shared = new WeakMap<
    Identity,
    { usage: QuotaUsage | undefined; identity: Identity }
  >();

  readonly #timing: ((event: StorageOperationEvent) => void) | undefined;

  /**
   * @param sessionsOf how many sessions the user has logged in right now.
   * @param timing receives every storage call of the admitted sessions (for the metrics).
   */
  constructor(
    sessionsOf: (user: string) => number,
    timing?: (event: StorageOperationEvent) => void,
  ) {
    this.#sessionsOf = sessionsOf;
    this.#timing = timing;
  }

  /** Checks the user's conditions; the identity to use, or why not. */
  admit(
    identity: Identity,
    session: { remoteHost: string; secure: boolean; id?: number },
  ): Admission {
    if (identity.requireTls && !session.secure) {
      return refuseLogin(identity, session, "the user must log in over TLS");
    }
    if (identity.allowedNetworks && !inNetworks(identity.allowedNetworks, session.remoteHost)) {
      return refuseLogin(identity, session, "the address is outside the user's allowed networks");
    }
    const max = identity.limits?.maxSessions;
    if (max !== undefined && this.#sessionsOf(identity.name) >= max) {
      return refuse(Code.SERVICE_UNAVAILABLE, "Too many sessions for this user; try later.", true);
    }
    return { identity: this.#admitted(identity) };
  }

  /**
   * The identity a session works with: its storage under the quota and the real-path rules.
   * The wrappers hold no state of a session, so all sessions of one identity share them (an
   * idle session of a quota user holds no storage objects of its own), for as long as the
   * quota's count is the same one.
   */
  #admitted(identity: Identity): Identity {
    const { quotaBytes, quotaFiles } = identity.limits ?? {};
    const quota = quotaBytes !== undefined || quotaFiles !== undefined;
    // Every login asks for the count: a failed one is started again (see #usageOf).
    const usage = quota ? this.#usageOf(identity) : undefined;
    const shared = this.#shared.get(identity);
    if (shared !== undefined && shared.usage === usage) return shared.identity;
    let storage = this.#timing === undefined
      ? identity.storage
      : withTiming(identity.storage, this.#timing);
    if (usage !== undefined) {
      const limits = {
        ...(quotaBytes === undefined ? {} : { bytes: quotaBytes }),
        ...(quotaFiles === undefined ? {} : { files: quotaFiles }),
      };
      storage = new QuotaStorage(storage, limits, usage);
    }
    // Rules are judged where a path really leads, too (a symlink inside the root must not carry
    // a client out of a drop box's rule): outermost, so that nothing is counted or opened for
    // a refused operation. A user with uniform rules keeps the storage as it is.
    storage = withRealPathRules(storage, identity.rules);
    const admitted = storage === identity.storage ? identity : { ...identity, storage };
    this.#shared.set(identity, { usage, identity: admitted });
    return admitted;
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
      state.throttle = throttleAt(up, down);
    }
    return state.throttle;
  }

  /** The user's count of this tree: started at the first login, again after one failed. */
  #usageOf(identity: Identity): QuotaUsage {
    const state = this.#state(identity);
    const { storage, name } = identity;
    let usage = state.usages.get(storage);
    if (usage === undefined) {
      usage = QuotaUsage.scan(storage, (error) => {
        log.server.warning(
          "The quota count of user {user} failed ({reason}); it is counted again at the next login or change",
          { user: name, reason: reasonOf(error) },
        );
      });
      state.usages.set(storage, usage);
    } else if (usage.failed) {
      // In the background of this login; the first change waits for it.
      void usage.counted();
    }
    state.latest = usage;
    return usage;
  }

  #state(identity: Identity): UserState {
    let state = this.#users.get(identity.name);
    if (state === undefined) {
      this.#users.set(identity.name, state = { rates: "", usages: new WeakMap() });
    }
    return state;
  }
}

function refuse(code: number, text: string, close: boolean): Admission {
  return { refusal: { code, text, close } };
}

/** A refusal that looks like a wrong password to the client; the log says why. */
function refuseLogin(
  identity: Identity,
  session: { remoteHost: string; id?: number },
  why: string,
): Admission {
  log.security.warning("Login of {user} from {remote} refused: {why}", {
    user: identity.name,
    remote: session.remoteHost,
    why,
    ...(session.id === undefined ? {} : { session: session.id }),
  });
  // `failedLogin`: for a PASS handler that knows it, the refusal is also delayed and counted
  // (towards the session's attempts and the address's ban) as a wrong password is: a reply that
  // comes faster, or a session that is not closed after the last attempt, would tell as well.
  const refusal = {
    code: Code.NOT_LOGGED_IN,
    text: LOGIN_INCORRECT,
    close: false,
    failedLogin: true,
  };
  return { refusal };
}

/** A storage error's kind, or the error's name: never a message that may hold a real path. */
function reasonOf(error: unknown): string {
  if (error instanceof StorageError) return error.kind;
  return error instanceof Error ? error.name : "error";
}
