/**
 * Access control commands: USER, PASS, ACCT, REIN, QUIT, HOST (RFC 959 §4.1.1, RFC 7151).
 *
 * @module
 */

import { FtpError } from "../errors.ts";
import { log } from "../log.ts";
import type { Session } from "../session.ts";
import type { CommandTable } from "./registry.ts";

async function user(session: Session, name: string): Promise<void> {
  // RFC 959: USER may be sent at any time to change the user; the old login ends here.
  session.account = null;
  session.pendingUser = name;
  await session.reply(
    331,
    session.ctx.auth.isAnonymousName(name)
      ? "Anonymous login ok, send your e-mail address as password."
      : "Please specify the password.",
  );
}

async function pass(session: Session, password: string): Promise<void> {
  const name = session.pendingUser;
  if (name === null) throw new FtpError(503, "Login with USER first.");
  if (session.ctx.isBanned(session.remoteHost)) {
    session.close(421, "Too many failed logins from your address; try again later.");
    return;
  }
  const rejectLogin = session.ctx.options.faults?.rejectLogin;
  if (rejectLogin !== undefined && session.ctx.nextLoginAttempt() === rejectLogin) {
    session.close(421, "Service not available (injected fault).");
    return;
  }
  const account = session.ctx.auth.verify(name, password);
  if (account === null) {
    session.pendingUser = null;
    session.loginFailures++;
    const delay = session.ctx.loginFailed(session, name);
    if (delay > 0) await session.delay(delay);
    if (session.closed) return;
    // A ban applies to the sessions already open too, or they could go on guessing.
    if (session.ctx.isBanned(session.remoteHost)) {
      session.close(421, "Too many failed logins from your address; try again later.");
      return;
    }
    if (session.loginFailures >= session.ctx.options.maxLoginAttempts) {
      session.close(421, "Too many failed logins; closing control connection.");
      return;
    }
    throw new FtpError(530, "Login incorrect.");
  }
  session.account = account;
  session.pendingUser = null;
  session.cwd = "/";
  log.session.info("Session {session}: {user} logged in from {remote}", {
    session: session.id,
    user: account.name,
    remote: session.remoteHost,
  });
  await session.reply(230, "Login successful.");
}

async function acct(session: Session): Promise<void> {
  if (session.account === null) throw new FtpError(503, "Login with USER first.");
  await session.reply(202, "ACCT not needed.");
}

async function rein(session: Session): Promise<void> {
  session.reinitialize();
  await session.reply(220, "Service ready for new user.");
}

async function quit(session: Session): Promise<void> {
  await session.reply(221, "Goodbye.");
  session.quit();
}

async function host(session: Session, name: string): Promise<void> {
  // RFC 7151 §3: HOST comes before login. We serve one site under every name.
  if (session.account !== null || session.pendingUser !== null) {
    throw new FtpError(503, "HOST must come before USER.");
  }
  if (!/^[\w.:\-\[\]]+$/.test(name)) throw new FtpError(501, "Invalid host name.");
  await session.reply(220, "Host accepted.");
}

/** The access control commands. */
export const ACCESS_COMMANDS: CommandTable = {
  USER: { run: user, auth: false, arg: "required", help: "USER <sp> username" },
  PASS: { run: pass, auth: false, help: "PASS <sp> password" },
  ACCT: { run: acct, auth: false, arg: "required", help: "ACCT <sp> account" },
  REIN: { run: rein, auth: false, arg: "none", help: "REIN" },
  QUIT: { run: quit, auth: false, arg: "none", help: "QUIT" },
  HOST: { run: host, auth: false, arg: "required", help: "HOST <sp> hostname" },
};
