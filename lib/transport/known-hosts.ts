/**
 * known_hosts matching for ssh2's hostVerifier. Pure. Supports plain host
 * patterns (`host`, `[host]:port`, comma lists); hashed entries (`|1|...`)
 * are matched too, with HMAC-SHA1 as OpenSSH writes them.
 */
import * as crypto from "crypto";
import { ValidationError } from "../core/errors";

export interface KnownHostKey {
  readonly keyType: string;
  readonly key: Buffer;
}

function hostToken(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function patternMatches(pattern: string, token: string): boolean {
  if (pattern.startsWith("|1|")) {
    const [, , salt, hash] = pattern.split("|");
    if (!salt || !hash) return false;
    const mac = crypto.createHmac("sha1", Buffer.from(salt, "base64")).update(token).digest("base64");
    return mac === hash;
  }
  return pattern === token;
}

/** Keys listed for host:port (markers like @revoked are skipped, never trusted). */
export function knownKeysFor(knownHosts: string, host: string, port: number): KnownHostKey[] {
  const token = hostToken(host, port);
  const keys: KnownHostKey[] = [];
  for (const raw of knownHosts.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith("@")) continue;
    const [hosts, keyType, b64] = line.split(/\s+/);
    if (!hosts || !keyType || !b64) continue;
    if (hosts.split(",").some((p) => patternMatches(p, token))) {
      keys.push({ keyType, key: Buffer.from(b64, "base64") });
    }
  }
  return keys;
}

/** True when the key the server presented is one of the known keys for host:port. */
export function hostKeyKnown(knownHosts: string, host: string, port: number, presented: Buffer): boolean {
  return knownKeysFor(knownHosts, host, port).some((k) => k.key.equals(presented));
}

/**
 * The first known key of host:port as `type base64` (the form RemoteCommand's connection
 * `hostKey` takes), or undefined when known_hosts lists none.
 */
export function hostKeyLine(knownHosts: string, host: string, port: number): string | undefined {
  const k = knownKeysFor(knownHosts, host, port)[0];
  return k ? `${k.keyType} ${k.key.toString("base64")}` : undefined;
}

/**
 * The key of host:port when known_hosts is given (undefined: any key is
 * accepted); a host it does not list is an error naming it.
 */
export function requireHostKey(knownHosts: string | undefined, host: string, port: number): string | undefined {
  if (knownHosts === undefined) return undefined;
  const key = hostKeyLine(knownHosts, host, port);
  if (key === undefined) throw new ValidationError("knownHosts", host, `a known_hosts line for every host of the cloud (none for ${host}:${port})`);
  return key;
}

/** A known_hosts line for host:port with a key given as `type base64` (the inverse of hostKeyLine). */
export function knownHostsEntry(host: string, port: number, keyLine: string): string {
  return `${hostToken(host, port)} ${keyLine.trim()}\n`;
}
