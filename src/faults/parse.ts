/**
 * Fault injection: make the server misbehave on purpose, deterministically, so that FTP client
 * authors can test how their code copes. This module holds the vocabulary and the `--fault`
 * parser; `decorators.ts` applies them around the storage, the identity provider, the reply
 * channel, the data setup and the command table. Off unless asked for; when off, nothing of it
 * is in the server's path.
 *
 * @module
 */

/** Ways to misbehave. Every field is optional; combine freely. */
export interface Faults {
  /** Wait this long before every reply. */
  replyDelayMs?: number;
  /** Close the control connection, without a reply, when this command arrives (e.g. "RETR"). */
  dropAfter?: string;
  /** Answer PASV/EPSV with a port that never accepts: the transfer ends with 425. */
  deadPassive?: boolean;
  /** Send this many bytes of every RETR, then stall (until the stall timeout or ABOR). */
  stallRetrAfterBytes?: number;
  /** Fail every STOR/APPE after this many bytes with `code` (451 local error, 552 quota, ...). */
  failStorAfter?: { bytes: number; code: number };
  /** Answer the Nth login attempt (server-wide, counting from 1) with 421 and close. */
  rejectLogin?: number;
  /** Write each line of a multi-line reply in its own TCP write. */
  splitReplies?: boolean;
}

/**
 * Parses `--fault` values: `delay=MS`, `drop-after=VERB`, `dead-pasv`, `stall-retr=BYTES`,
 * `fail-stor=BYTES[:CODE]`, `reject-login=N`, `split-replies`. Throws RangeError when malformed.
 */
export function parseFaults(specs: readonly string[]): Faults {
  const faults: Faults = {};
  for (const spec of specs) {
    const [name, value = ""] = spec.split("=", 2);
    const count = (what: string) => {
      if (!/^\d+$/.test(value)) {
        throw new RangeError(`--fault ${name}: expected ${what}, got "${value}"`);
      }
      return Number(value);
    };
    switch (name) {
      case "delay":
        faults.replyDelayMs = count("milliseconds");
        break;
      case "drop-after":
        if (!/^[A-Za-z]{3,4}$/.test(value)) {
          throw new RangeError(`--fault drop-after: expected a verb`);
        }
        faults.dropAfter = value.toUpperCase();
        break;
      case "dead-pasv":
        faults.deadPassive = true;
        break;
      case "stall-retr":
        faults.stallRetrAfterBytes = count("a byte count");
        break;
      case "fail-stor": {
        const match = /^(\d+)(?::([45]\d\d))?$/.exec(value);
        if (!match) {
          throw new RangeError(`--fault fail-stor: expected BYTES[:CODE], got "${value}"`);
        }
        faults.failStorAfter = { bytes: Number(match[1]), code: Number(match[2] ?? 451) };
        break;
      }
      case "reject-login":
        faults.rejectLogin = count("a login number");
        if (faults.rejectLogin < 1) throw new RangeError("--fault reject-login: counts from 1");
        break;
      case "split-replies":
        faults.splitReplies = true;
        break;
      default:
        throw new RangeError(`unknown --fault "${name}"`);
    }
  }
  return faults;
}
