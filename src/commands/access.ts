/**
 * Access control commands: USER, PASS, ACCT, REIN, QUIT, HOST (RFC 959 §4.1.1, RFC 7151).
 *
 * @module
 */

import { FtpError } from "../errors.ts";
import { log } from "../log.ts";
import { Code } from "../protocol/codes.ts";
import { resolvePath } from "../storage/vpath.ts";
import type { CommandContext, Reply } from "./context.ts";
import { resetHashSettings } from "./hash.ts";
import { type CommandTable, reply } from "./spec.ts";

const BANNED = "Too many failed logins from your address; try again later.";

function user(ctx: CommandContext, name: string): Reply {
  // RFC 959: USER may be sent at any time to change the user; the old login ends here.
  ctx.state.logout();
  ctx.data.dropKept();
  ctx.state.pendingUser = name;
  return reply(
    Code.NEED_PASSWORD,
    ctx.login.isAnonymous(name)
      ? "Anonymous login ok, send your e-mail address as password."
      : "Please specify the password.",
  );
}

async function pass(ctx: CommandContext, password: string): Promise<Reply | void> {
  const { state } = ctx;
  const name = state.pendingUser;
  if (name === null) throw new FtpError(Code.BAD_SEQUENCE, "Login with USER first.");
  if (ctx.login.isBanned()) return ctx.close(Code.SERVICE_UNAVAILABLE, BANNED);
  let identity;
  try {
    identity = await ctx.login.authenticate(name, password);
  } catch (error) {
    // The provider could not decide (an auth service down, an injected fault): nobody logs in.
    log.security.warning("Session {session}: login of {user} not checked: {error}", {
      session: ctx.sessionId,
      user: name,
      error: error instanceof Error ? error.message : String(error),
    });
    return ctx.close(Code.SERVICE_UNAVAILABLE, "Service not available, try again later.");
  }
  if (ctx.closed) return;
  const admission = identity === null ? null : ctx.login.admit(identity);
  if (admission === null || ("refusal" in admission && admission.refusal.failedLogin)) {
    state.pendingUser = null;
    state.loginFailures++;
    const delay = ctx.login.failed(name);
    if (delay > 0) await ctx.delay(delay);
    if (ctx.closed) return;
    // A ban applies to the sessions already open too, or they could go on guessing.
    if (ctx.login.isBanned()) return ctx.close(Code.SERVICE_UNAVAILABLE, BANNED);
    if (state.loginFailures >= ctx.options.maxLoginAttempts) {
      return ctx.close(
        Code.SERVICE_UNAVAILABLE,
        "Too many failed logins; closing control connection.",
      );
    }
    throw new FtpError(Code.NOT_LOGGED_IN, "Login incorrect.");
  }
  if ("refusal" in admission) {
    state.pendingUser = null;
    const { code, text, close } = admission.refusal;
    if (close) return ctx.close(code, text);
    throw new FtpError(code, text);
  }
  // Normalised whatever the provider gave: a home of "/pub/.." would be a current directory no
  // rule path matches, and one of "/../bob" a key outside the user's S3 prefix. Resolved before
  // anything is set, so that a home no path can be (a NUL) leaves nobody logged in.
  const home = resolvePath("/", admission.identity.home ?? "/");
  state.identity = admission.identity;
  state.pendingUser = null;
  state.cwd = home;
  return reply(Code.LOGGED_IN, "Login successful.");
}

function acct(ctx: CommandContext): Reply {
  if (ctx.state.identity === null) throw new FtpError(Code.BAD_SEQUENCE, "Login with USER first.");
  return reply(Code.SUPERFLUOUS, "ACCT not needed.");
}

function rein(ctx: CommandContext): Reply {
  ctx.state.reinitialize();
  resetHashSettings(ctx.state);
  ctx.data.close();
  return reply(Code.SERVICE_READY, "Service ready for new user.");
}

async function quit(ctx: CommandContext): Promise<void> {
  await ctx.reply(Code.CLOSING, "Goodbye.");
  ctx.quit();
}

function host(ctx: CommandContext, name: string): Reply {
  // RFC 7151 §3: HOST comes before login. We serve one site under every name.
  if (ctx.state.identity !== null || ctx.state.pendingUser !== null) {
    throw new FtpError(Code.BAD_SEQUENCE, "HOST must come before USER.");
  }
  if (!/^[\w.:\-\[\]]+$/.test(name)) throw new FtpError(Code.SYNTAX_ERROR, "Invalid host name.");
  return reply(Code.SERVICE_READY, "Host accepted.");
}

/** The access control commands. */
export const ACCESS_COMMANDS: CommandTable = {
  USER: {
    run: user,
    auth: false,
    arg: "required",
    needsTlsFirst: true,
    help: "USER <sp> username",
  },
  PASS: { run: pass, auth: false, needsTlsFirst: true, help: "PASS <sp> password" },
  ACCT: { run: acct, auth: false, arg: "required", help: "ACCT <sp> account" },
  REIN: { run: rein, auth: false, arg: "none", help: "REIN" },
  QUIT: { run: quit, auth: false, arg: "none", help: "QUIT" },
  HOST: { run: host, auth: false, arg: "required", help: "HOST <sp> hostname" },
};
