/**
 * The launcher's side of permissions: what {@linkcode permissionFlags} needs to know about the
 * machine and the config file, found out here — the S3 endpoints' hosts, the name servers (for
 * PASV host names), the files a config file reads secrets from, the upload hook's program, the
 * environment variables read. Used by `scripts/launch.ts` for `deno task start` and
 * `deno task compile`; never on the server's own start path.
 *
 * @module
 */

import { envNames } from "../cli.ts";
import { absolute, dirname } from "../config/checks.ts";
import { parseJsonc } from "../config/jsonc.ts";
import { splitCommand } from "../ops/argv.ts";
import { HOOK_BASE_ENV_NAMES } from "../ops/on_upload.ts";
import { permissionFlags } from "../permissions.ts";
import { S3_ENV_NAMES, s3NetHost } from "../storage/s3/settings.ts";
import { isIPv4 } from "../data/address.ts";
import { isPassiveName } from "./passive.ts";
import { isS3Root, rootsOf } from "./roots.ts";
import type { AppSettings } from "./settings.ts";

/** Where the machine facts come from (tests pass their own). */
export interface PlanContext {
  /** ftpgate's `src/` directory, absolute (none for a binary, which embeds the modules). */
  sourceDir?: string;
  /** Whether the target is Linux (default: this machine). */
  linux?: boolean;
  /** The resolver configuration (default `/etc/resolv.conf`). */
  resolvConf?: string;
}

/** The Deno permission flags for running ftpgate with `settings`. */
export async function permissionsFor(
  settings: AppSettings,
  context: PlanContext,
): Promise<string[]> {
  const s3Roots = rootsOf(settings.serve).filter(isS3Root);
  const s3Hosts = [...new Set(s3Roots.map((root) => s3NetHost(root, settings.s3)))];
  const { passiveAddress, passiveAddresses } = settings.serve;
  const named = isPassiveName(passiveAddress) ||
    (passiveAddresses ?? []).some((rule) => isPassiveName(rule.address));
  const nameservers = named ? await nameServers(context.resolvConf ?? "/etc/resolv.conf") : [];
  const secrets = settings.configFile ? await secretFiles(settings.configFile) : [];
  // Prefix grants (Deno 2): every FTPGATE_ variable, the AWS_ ones for S3, and what the config
  // file names besides (a `password_env` called FTPGATE_BOB_PASSWORD is covered already).
  const prefixes = ["FTPGATE_", ...(s3Roots.length > 0 ? ["AWS_"] : [])];
  const program = uploadProgram(settings);
  const env = [
    ...prefixes.map((prefix) => `${prefix}*`),
    ...settings.envRead.filter((name) => !prefixes.some((prefix) => name.startsWith(prefix))),
    // The hook runs in a cleared environment (no FTPGATE_* secrets): it gets these back.
    ...(program === undefined ? [] : HOOK_BASE_ENV_NAMES),
  ];
  // The CLI reads only FTPGATE_ names, the S3 back end only AWS_ ones (checked, not assumed).
  if (!envNames().every((name) => name.startsWith("FTPGATE_"))) throw new Error("env names");
  if (!S3_ENV_NAMES.every((name) => name.startsWith("AWS_"))) throw new Error("S3 env names");
  const listenAddresses = await addressesOf(settings.serve.hostname);
  return permissionFlags(settings, env, {
    ...(context.linux === undefined ? {} : { linux: context.linux }),
    realPath: realPathOf,
    listenAddresses,
    s3Hosts,
    nameservers,
    read: secrets,
    ...(context.sourceDir === undefined ? {} : { sourceDir: context.sourceDir }),
    ...(program === undefined ? {} : { program }),
  });
}

/** A directory's real path; undefined when it cannot be resolved (the start reports that). */
function realPathOf(path: string): string | undefined {
  try {
    return Deno.realPathSync(path);
  } catch {
    return undefined;
  }
}

/**
 * The addresses a listen host name (`localhost`, the machine's name) stands for: loopback for
 * `localhost` (RFC 6761 §6.3), else the name's lines in the hosts file (the launcher has no net
 * permission to ask a name server; a name found in neither gets the name's grant only). None
 * for an address.
 */
export async function addressesOf(host: string, hostsFile = "/etc/hosts"): Promise<string[]> {
  if (host === "" || isIPv4(host) || host.includes(":")) return [];
  const name = host.toLowerCase().replace(/\.$/, "");
  if (name === "localhost" || name.endsWith(".localhost")) return ["127.0.0.1", "::1"];
  let text: string;
  try {
    text = await Deno.readTextFile(hostsFile);
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const line of text.split("\n")) {
    const [address, ...names] = line.replace(/#.*/, "").trim().split(/\s+/);
    if (address && names.some((entry) => entry.toLowerCase() === name)) {
      found.push(address.replace(/%.*$/, "")); // a link-local zone index
    }
  }
  return [...new Set(found)];
}

/** The upload hook's program (its first word). */
function uploadProgram(settings: AppSettings): string | undefined {
  const command = settings.ops.onUpload?.command;
  if (command === undefined) return undefined;
  return typeof command === "string" ? splitCommand(command)[0] : command[0];
}

/** `host:53` of each `nameserver` line (what Deno.resolveDns asks). */
export async function nameServers(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return [];
  }
  const servers: string[] = [];
  for (const match of text.matchAll(/^\s*nameserver\s+(\S+)/gm)) {
    const host = match[1].replace(/%.*$/, ""); // a link-local zone index
    servers.push(host.includes(":") ? `[${host}]:53` : `${host}:53`);
  }
  return servers;
}

/**
 * The files a config file reads secrets from at start and on SIGHUP (`password_file`,
 * `token_file`, `secret_file`, ...): every string under a key ending in `_file`, resolved
 * against the file's directory as the loader resolves it.
 */
export async function secretFiles(configFile: string): Promise<string[]> {
  const parsed = parseJsonc(await Deno.readTextFile(configFile));
  if ("issues" in parsed) return [];
  const dir = dirname(configFile);
  const found: string[] = [];
  const walk = (value: unknown) => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (typeof value !== "object" || value === null) return;
    for (const [key, item] of Object.entries(value)) {
      if (key.endsWith("_file") && key !== "ready_file" && typeof item === "string") {
        found.push(absolute(item, dir));
      } else {
        walk(item);
      }
    }
  };
  walk(parsed.value);
  return found;
}
