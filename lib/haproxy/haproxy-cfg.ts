import { check, ValidationError } from "../core/errors";
import { checkPort, isIPv4 } from "../core/network";

/**
 * haproxy.cfg for kvm-cloud's load balancer: one frontend + backend pair per
 * service, health-checked servers, and a stats frontend that also serves
 * HAProxy's built-in Prometheus exporter. Pure and deterministic.
 */

export interface HaproxyServer {
  /** Server name in stats and logs; unique within its frontend. */
  readonly name: string;
  /** IPv4 address of the backend (a DNS name would have to resolve when HAProxy starts). */
  readonly address: string;
  readonly port: number;
  /** Relative share of traffic, 1-256 (default 1). */
  readonly weight?: number;
}

export interface HaproxyHealthCheck {
  /** GET this path and expect `expectStatus` (http mode only); without it a TCP connect is the check. */
  readonly httpPath?: string;
  /** HTTP status a healthy server answers (default 200). */
  readonly expectStatus?: number;
  /** Milliseconds between checks (default 2000). */
  readonly intervalMs?: number;
  /** Consecutive successes that bring a server back (default 2). */
  readonly rise?: number;
  /** Consecutive failures that take a server out (default 3). */
  readonly fall?: number;
}

export type HaproxyMode = "http" | "tcp";
export type HaproxyBalance = "roundrobin" | "leastconn" | "source";
export const BALANCE_ALGORITHMS: readonly HaproxyBalance[] = ["roundrobin", "leastconn", "source"];

export interface HaproxyFrontend {
  /** Section name of the frontend and its backend: [A-Za-z0-9_.-], not "stats". */
  readonly name: string;
  /** IPv4 address to listen on, or "*" for all (default "*"). */
  readonly bindAddress?: string;
  readonly port: number;
  /** Default "http". */
  readonly mode?: HaproxyMode;
  /** Default "roundrobin". */
  readonly balance?: HaproxyBalance;
  /** At least one server. */
  readonly servers: readonly HaproxyServer[];
  /** Default: TCP connect checks every 2 s, rise 2, fall 3. */
  readonly healthCheck?: HaproxyHealthCheck;
}

export interface HaproxyStats {
  /** Default "*". */
  readonly bindAddress?: string;
  /** Default 8404. */
  readonly port?: number;
  /** Path of the HTML stats page (default "/stats"). */
  readonly uri?: string;
  /** Path of the Prometheus exporter (default "/metrics"); not behind `auth`, Prometheus scrapes it. */
  readonly metricsPath?: string;
  /** Basic auth for the stats page. The password makes the rendered text a secret. */
  readonly auth?: { readonly user: string; readonly password: string };
}

export interface HaproxyConfig {
  readonly frontends: readonly HaproxyFrontend[];
  /** Default: all defaults of HaproxyStats. */
  readonly stats?: HaproxyStats;
  /** Global connection limit (default 4096). */
  readonly maxConnections?: number;
  /** Defaults 5000 / 30000 / 30000 ms. */
  readonly timeouts?: { readonly connectMs?: number; readonly clientMs?: number; readonly serverMs?: number };
  /** Drop privileges to this user and group after binding (default: stay as started). */
  readonly runAs?: { readonly user: string; readonly group: string };
  /** chroot directory (default none). */
  readonly chroot?: string;
  /** Runtime API socket (default none). */
  readonly adminSocket?: string;
  /** syslog target like "/dev/log" (default: no logging). */
  readonly logTarget?: string;
}

/**
 * The config before the backends' addresses exist (they are VM addresses,
 * known once the VMs boot): servers without addresses, or not known at all.
 * Every other rule can be checked on it before anything is deployed.
 */
export interface HaproxyPlan extends Omit<HaproxyConfig, "frontends"> {
  readonly frontends: readonly (Omit<HaproxyFrontend, "servers"> & { readonly servers?: readonly (Omit<HaproxyServer, "address"> & { readonly address?: string })[] })[];
}

export const STATS_DEFAULTS = { bindAddress: "*", port: 8404, uri: "/stats", metricsPath: "/metrics" } as const;
const HEALTH_DEFAULTS = { intervalMs: 2000, rise: 2, fall: 3, expectStatus: 200 } as const;

const NAME = /^[A-Za-z0-9_.-]{1,32}$/;
const URL_PATH = /^\/[A-Za-z0-9._~!&*+,;=:@%\/-]*$/;
const UNIX_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
const ABS_PATH = /^\/[A-Za-z0-9._\/-]*$/;
// Rendered inside single quotes (haproxy's strong quoting: `#`, `$`, `"` and `\` stay literal), so only `'` is refused.
const PASSWORD = /^[!-&(-~]{8,128}$/;

function checkRange(field: string, v: unknown, lo: number, hi: number): void {
  check(Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi, field, v, `an integer ${lo}-${hi}`);
}

function checkBind(field: string, v: unknown): void {
  check(v === "*" || isIPv4(v), field, v, 'an IPv4 address or "*" for every address');
}

function validateFrontend(f: HaproxyPlan["frontends"][number], field: string, full: boolean): void {
  check(typeof f.name === "string" && NAME.test(f.name) && f.name !== "stats", `${field}.name`, f.name, 'a name of 1-32 [A-Za-z0-9_.-], not "stats" (the stats frontend)');
  if (f.bindAddress !== undefined) checkBind(`${field}.bindAddress`, f.bindAddress);
  checkPort(`${field}.port`, f.port);
  const mode = f.mode ?? "http";
  check(mode === "http" || mode === "tcp", `${field}.mode`, f.mode, '"http" or "tcp"');
  if (f.balance !== undefined) check(BALANCE_ALGORITHMS.includes(f.balance), `${field}.balance`, f.balance, BALANCE_ALGORITHMS.join(", "));
  if (full || f.servers !== undefined) {
    check(Array.isArray(f.servers) && f.servers.length > 0, `${field}.servers`, f.servers?.length, "at least one backend server");
    const names = new Set<string>();
    f.servers!.forEach((s, i) => {
      const sf = `${field}.servers[${i}]`;
      check(typeof s.name === "string" && NAME.test(s.name), `${sf}.name`, s.name, "a name of 1-32 [A-Za-z0-9_.-]");
      check(!names.has(s.name), `${sf}.name`, s.name, "a server name used once per frontend");
      names.add(s.name);
      if (full || s.address !== undefined) check(isIPv4(s.address), `${sf}.address`, s.address, "an IPv4 address like 192.0.2.10");
      checkPort(`${sf}.port`, s.port);
      if (s.weight !== undefined) checkRange(`${sf}.weight`, s.weight, 1, 256);
    });
  }
  const h = f.healthCheck ?? {};
  if (h.httpPath !== undefined) {
    check(mode === "http", `${field}.healthCheck.httpPath`, h.httpPath, 'no HTTP check path in mode "tcp" (TCP connect checks only)');
    check(typeof h.httpPath === "string" && URL_PATH.test(h.httpPath), `${field}.healthCheck.httpPath`, h.httpPath, "a URL path starting with /, without spaces");
  }
  if (h.expectStatus !== undefined) checkRange(`${field}.healthCheck.expectStatus`, h.expectStatus, 100, 599);
  if (h.intervalMs !== undefined) checkRange(`${field}.healthCheck.intervalMs`, h.intervalMs, 100, 3_600_000);
  if (h.rise !== undefined) checkRange(`${field}.healthCheck.rise`, h.rise, 1, 100);
  if (h.fall !== undefined) checkRange(`${field}.healthCheck.fall`, h.fall, 1, 100);
}

function validateStats(s: HaproxyStats): void {
  if (s.bindAddress !== undefined) checkBind("stats.bindAddress", s.bindAddress);
  if (s.port !== undefined) checkPort("stats.port", s.port);
  for (const key of ["uri", "metricsPath"] as const) {
    const v = s[key];
    if (v !== undefined) check(typeof v === "string" && URL_PATH.test(v) && v.length > 1, `stats.${key}`, v, "a URL path like /stats, without spaces");
  }
  const uri = s.uri ?? STATS_DEFAULTS.uri;
  const metrics = s.metricsPath ?? STATS_DEFAULTS.metricsPath;
  check(uri !== metrics, "stats.metricsPath", metrics, `a path other than stats.uri ${uri}`);
  if (s.auth !== undefined) checkStatsAuth(s.auth);
}

/** The stats page's basic auth; the password never reaches an error message. */
export function checkStatsAuth(auth: { readonly user: string; readonly password: string }): void {
  check(typeof auth.user === "string" && NAME.test(auth.user), "stats.auth.user", auth.user, "a user name of 1-32 [A-Za-z0-9_.-]");
  if (typeof auth.password !== "string" || !PASSWORD.test(auth.password)) {
    throw new ValidationError("stats.auth.password", "[secret]", "8-128 printable ASCII characters without spaces or single quotes (' cannot be quoted in haproxy.cfg)");
  }
}

/** Pure: throws a ValidationError naming the first bad field. */
export function validateHaproxyConfig(c: HaproxyConfig): void {
  validate(c, true);
}

/** Pure: every rule on what is known: servers where the list is given, addresses where given. */
export function validateHaproxyPlan(c: HaproxyPlan): void {
  validate(c, false);
}

function validate(c: HaproxyPlan, full: boolean): void {
  check(Array.isArray(c.frontends) && c.frontends.length > 0, "frontends", c.frontends?.length, "at least one frontend");
  const stats = c.stats ?? {};
  validateStats(stats);
  const names = new Set<string>();
  // Two listeners on one address and port cannot both bind; "*" overlaps every address.
  const binds: { field: string; address: string; port: number }[] = [
    { field: "stats.port", address: stats.bindAddress ?? STATS_DEFAULTS.bindAddress, port: stats.port ?? STATS_DEFAULTS.port },
  ];
  c.frontends.forEach((f, i) => {
    const field = `frontends[${i}]`;
    validateFrontend(f, field, full);
    check(!names.has(f.name), `${field}.name`, f.name, "a frontend name used once");
    names.add(f.name);
    const address = f.bindAddress ?? "*";
    const clash = binds.find((b) => b.port === f.port && (b.address === "*" || address === "*" || b.address === address));
    check(clash === undefined, `${field}.port`, f.port, `a port not already bound by ${clash?.field} on ${clash?.address}`);
    binds.push({ field: `${field}.port`, address, port: f.port });
  });
  if (c.maxConnections !== undefined) checkRange("maxConnections", c.maxConnections, 1, 1_000_000);
  for (const key of ["connectMs", "clientMs", "serverMs"] as const) {
    const v = c.timeouts?.[key];
    if (v !== undefined) checkRange(`timeouts.${key}`, v, 1, 86_400_000);
  }
  if (c.runAs !== undefined) {
    check(typeof c.runAs.user === "string" && UNIX_NAME.test(c.runAs.user), "runAs.user", c.runAs.user, "a Unix user name");
    check(typeof c.runAs.group === "string" && UNIX_NAME.test(c.runAs.group), "runAs.group", c.runAs.group, "a Unix group name");
  }
  for (const key of ["chroot", "adminSocket"] as const) {
    const v = c[key];
    if (v !== undefined) check(typeof v === "string" && ABS_PATH.test(v), key, v, "an absolute path of [A-Za-z0-9._/-]");
  }
  if (c.logTarget !== undefined) {
    check(ABS_PATH.test(c.logTarget) || isIPv4(c.logTarget), "logTarget", c.logTarget, "a syslog socket path like /dev/log or an IPv4 address");
  }
}

function bind(address: string, port: number): string {
  return `${address}:${port}`;
}

function frontendLines(f: HaproxyFrontend): string[] {
  const mode = f.mode ?? "http";
  const given = f.healthCheck ?? {};
  // Field by field: an explicit `undefined` (an unset Input) means the default too.
  const h = {
    httpPath: given.httpPath,
    expectStatus: given.expectStatus ?? HEALTH_DEFAULTS.expectStatus,
    intervalMs: given.intervalMs ?? HEALTH_DEFAULTS.intervalMs,
    rise: given.rise ?? HEALTH_DEFAULTS.rise,
    fall: given.fall ?? HEALTH_DEFAULTS.fall,
  };
  const lines = [
    "",
    `frontend ${f.name}`,
    `    mode ${mode}`,
    `    bind ${bind(f.bindAddress ?? "*", f.port)}`,
    `    default_backend ${f.name}`,
    "",
    `backend ${f.name}`,
    `    mode ${mode}`,
    `    balance ${f.balance ?? "roundrobin"}`,
  ];
  if (mode === "http") lines.push("    option forwardfor");
  if (h.httpPath !== undefined) {
    lines.push("    option httpchk", `    http-check send meth GET uri ${h.httpPath}`, `    http-check expect status ${h.expectStatus}`);
  }
  lines.push(`    default-server check inter ${h.intervalMs}ms rise ${h.rise} fall ${h.fall}`);
  for (const s of f.servers) {
    lines.push(`    server ${s.name} ${bind(s.address, s.port)} weight ${s.weight ?? 1}`);
  }
  return lines;
}

/** Pure: the haproxy.cfg text. */
export function renderHaproxyCfg(c: HaproxyConfig): string {
  validateHaproxyConfig(c);
  const stats = {
    bindAddress: c.stats?.bindAddress ?? STATS_DEFAULTS.bindAddress,
    port: c.stats?.port ?? STATS_DEFAULTS.port,
    uri: c.stats?.uri ?? STATS_DEFAULTS.uri,
    metricsPath: c.stats?.metricsPath ?? STATS_DEFAULTS.metricsPath,
    auth: c.stats?.auth,
  };
  const t = { connectMs: c.timeouts?.connectMs ?? 5000, clientMs: c.timeouts?.clientMs ?? 30000, serverMs: c.timeouts?.serverMs ?? 30000 };
  const lines = ["# Rendered by kvm-cloud; edits are overwritten.", "global", `    maxconn ${c.maxConnections ?? 4096}`];
  if (c.logTarget !== undefined) lines.push(`    log ${c.logTarget} local0`);
  if (c.chroot !== undefined) lines.push(`    chroot ${c.chroot}`);
  if (c.adminSocket !== undefined) lines.push(`    stats socket ${c.adminSocket} mode 660 level admin`);
  if (c.runAs !== undefined) lines.push(`    user ${c.runAs.user}`, `    group ${c.runAs.group}`);
  lines.push(
    "",
    "defaults",
    "    mode http",
    ...(c.logTarget !== undefined ? ["    log global", "    option dontlognull"] : []),
    `    timeout connect ${t.connectMs}ms`,
    `    timeout client ${t.clientMs}ms`,
    `    timeout server ${t.serverMs}ms`,
    "",
    "frontend stats",
    "    mode http",
    `    bind ${bind(stats.bindAddress, stats.port)}`,
    // Served before the stats page's auth: Prometheus scrapes without credentials.
    `    http-request use-service prometheus-exporter if { path ${stats.metricsPath} }`,
    "    stats enable",
    `    stats uri ${stats.uri}`,
    "    stats refresh 10s",
  );
  // Quoted: unquoted, a `#` in the password starts a comment and haproxy loads an empty password.
  if (stats.auth !== undefined) lines.push(`    stats auth '${stats.auth.user}:${stats.auth.password}'`);
  for (const f of c.frontends) lines.push(...frontendLines(f));
  return lines.join("\n") + "\n";
}
