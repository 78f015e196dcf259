/**
 * The settings → `serve()`'s options: `s3://` roots opened, PASV host names resolved, and the
 * HTTP identity hook made into a provider. Used at start and again for every SIGHUP reload.
 *
 * @module
 */

import type { HttpIdentityProvider } from "../identity/http.ts";
import type { ConfigAuthHttp } from "../config/types.ts";
import type { ServeOptions } from "../options.ts";
import { LocalStorage } from "../storage/local.ts";
import { loadPart } from "./lazy.ts";
import { isIPv4 } from "../data/address.ts";
import type { S3Roots } from "./roots.ts";
import type { AppSettings } from "./settings.ts";

/** The options for `serve()`, and the identity provider made for them (the app closes it). */
export interface BuiltOptions {
  options: ServeOptions & { root: string | NonNullable<ServeOptions["root"]> };
  identity: HttpIdentityProvider | undefined;
}

/** Reuses `previous` when its hook settings are unchanged (its cache is cleared on SIGHUP). */
export async function buildServeOptions(
  settings: AppSettings,
  roots: S3Roots,
  previous?: { provider: HttpIdentityProvider; settings: ConfigAuthHttp },
): Promise<BuiltOptions> {
  const withRoots = await roots.apply(settings.serve, settings);
  const options: BuiltOptions["options"] = { ...withRoots };
  const { passiveAddress, passiveAddresses } = settings.serve;
  const named = (address: string | undefined) =>
    address !== undefined && address !== "local" && !isIPv4(address);
  if (named(passiveAddress) || passiveAddresses?.some((rule) => named(rule.address))) {
    const { resolvePassive } = await import("./passive.ts");
    Object.assign(options, await resolvePassive(settings.serve));
  }
  let identity: HttpIdentityProvider | undefined;
  const hook = settings.authHttp;
  if (hook !== undefined) {
    if (previous !== undefined && sameHook(previous.settings, hook)) {
      identity = previous.provider;
    } else {
      const { HttpIdentityProvider } = await loadPart<typeof import("../identity/http.ts")>(
        "identityHook",
      );
      const atomicUploads = settings.serve.atomicUploads ?? false;
      identity = new HttpIdentityProvider({
        url: hook.url,
        allowedRoots: hook.allowedRoots,
        openRoot: (root) => new LocalStorage(root, { atomicUploads }),
        ...(hook.timeoutMs === undefined ? {} : { timeoutMs: hook.timeoutMs }),
        ...(hook.concurrency === undefined ? {} : { concurrency: hook.concurrency }),
        ...(hook.cacheMs === undefined ? {} : { cacheMs: hook.cacheMs }),
        ...(hook.token === undefined ? {} : { token: hook.token }),
      });
    }
    options.identity = identity;
    delete options.users;
    delete options.anonymous;
  }
  return { options, identity };
}

function sameHook(a: ConfigAuthHttp, b: ConfigAuthHttp): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
