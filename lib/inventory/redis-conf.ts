import { check, ValidationError } from "../core/errors";
import { checkPort } from "../core/network";

/**
 * redis.conf for the inventory's Redis. The password is in the file (not on
 * the command line, where `ps` on the host would show it), so the rendered
 * text is a secret.
 */
export interface RedisConfig {
  readonly port?: number;
  /** Required: the inventory's Redis is reachable from the network. */
  readonly password: string;
  /** Data directory (default /data, the official image's volume). */
  readonly dir?: string;
}

/** Characters that survive redis.conf, URLs and shells without quoting. */
export const PASSWORD_CHARS = /^[A-Za-z0-9._~-]{16,128}$/;

export function checkPassword(field: string, v: unknown): void {
  // Never echo a password.
  if (typeof v !== "string" || !PASSWORD_CHARS.test(v)) throw new ValidationError(field, "[secret]", "16-128 characters of [A-Za-z0-9._~-]");
}

export function renderRedisConf(c: RedisConfig): string {
  checkPassword("password", c.password);
  return `${redisConfBody(c)}requirepass ${c.password}\n`;
}

/**
 * Everything but the password line, for hosts where the script appends that
 * line from stdin (the script text itself is not a secret).
 */
export function redisConfBody(c: Omit<RedisConfig, "password"> & { readonly bind?: string; readonly pidFile?: string }): string {
  const port = c.port ?? 6379;
  checkPort("port", port);
  const dir = c.dir ?? "/data";
  check(/^\/[A-Za-z0-9._\/-]*$/.test(dir), "dir", dir, "an absolute path of [A-Za-z0-9._/-]");
  if (c.pidFile !== undefined) check(/^\/[A-Za-z0-9._\/-]*$/.test(c.pidFile), "pidFile", c.pidFile, "an absolute path of [A-Za-z0-9._/-]");
  const bind = c.bind ?? "0.0.0.0";
  check(/^\d{1,3}(\.\d{1,3}){3}$/.test(bind), "bind", bind, "an IPv4 address");
  return [
    "# Rendered by kvm-cloud; edits are overwritten.",
    `bind ${bind}`,
    // The password guards it; protected mode would refuse every remote client.
    "protected-mode no",
    `port ${port}`,
    `dir ${dir}`,
    "appendonly yes",
    ...(c.pidFile === undefined ? [] : [`pidfile ${c.pidFile}`]),
    "",
  ].join("\n");
}
