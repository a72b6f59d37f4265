/**
 * ceph.conf rendering. Pure and deterministic: the same options always give
 * the same bytes, so a changed file means a changed intent.
 */

import { isIPv4, UUID } from "../core/network";

export interface CephMonitor {
  /** Monitor id (`mon.<name>`). */
  readonly name: string;
  /** IPv4 address the monitor binds (v2 on 3300, v1 on 6789). */
  readonly address: string;
}

export type CephConfSection = "global" | "mon" | "mgr" | "osd" | "client";
export type CephConfValue = string | number | boolean;

export interface CephConfOptions {
  readonly fsid: string;
  readonly monitors: readonly CephMonitor[];
  /** CIDR of the public network, e.g. `10.77.0.0/16`. */
  readonly publicNetwork: string;
  readonly osdPoolDefaultSize?: number;
  /**
   * All OSDs on one machine: replicate across OSDs instead of hosts. Only
   * takes effect when the monitors are created (it shapes the first CRUSH rule).
   */
  readonly singleHost?: boolean;
  /** Ceph refuses (silently ignores) values below 896 MiB. */
  readonly osdMemoryTargetBytes?: number;
  /** Size of each OSD's file-backed BlueStore block (created sparse). */
  readonly bluestoreBlockSizeBytes?: number;
  /** Root of daemon data (`mon/<id>`, `osd/<id>`, `mgr/<id>`, client keyrings). */
  readonly dataDir?: string;
  /** Pid files and admin sockets. */
  readonly runDir?: string;
  readonly logDir?: string;
  /** Further settings per section; they come after (and win over) the rendered ones. */
  readonly extra?: Partial<Record<CephConfSection, Readonly<Record<string, CephConfValue>>>>;
}

export interface CephClientConfOptions {
  readonly fsid: string;
  readonly monitors: readonly CephMonitor[];
  /** Where clients look for their keyring; default `/etc/ceph/$cluster.$name.keyring`. */
  readonly keyring?: string;
}

/** Ceph's floor for osd_memory_target; lower values are dropped without an error. */
export const CEPH_MIN_OSD_MEMORY_TARGET = 896 * 1024 * 1024;

const SECTIONS: readonly CephConfSection[] = ["global", "mon", "mgr", "osd", "client"];
const NAME = /^[a-z0-9]+$/;
const KEY = /^[a-z0-9_ ]+$/;
/** Characters that end a value or start a comment in Ceph's ini parser. */
const UNSAFE_VALUE = /[\n\r#;\\]/;

function fail(field: string, value: unknown, allowed: string): never {
  throw new Error(`ceph.conf: ${field} is ${JSON.stringify(value)}; allowed: ${allowed}`);
}

function checkFsid(fsid: string): void {
  if (typeof fsid !== "string" || !UUID.test(fsid)) {
    fail("fsid", fsid, "a lower-case UUID like 8f14e45f-ceea-467f-a0e6-0a2f1c3b4d5e");
  }
}

function checkMonitors(monitors: readonly CephMonitor[]): void {
  if (!Array.isArray(monitors) || monitors.length === 0) {
    fail("monitors", monitors, "a non-empty list of {name, address}");
  }
  monitors.forEach((m, i) => {
    if (typeof m.name !== "string" || !NAME.test(m.name)) {
      fail(`monitors[${i}].name`, m.name, "lower-case letters and digits ([a-z0-9]+)");
    }
    if (typeof m.address !== "string" || !isIPv4(m.address)) {
      fail(`monitors[${i}].address`, m.address, "a dotted IPv4 address");
    }
  });
  for (const key of ["name", "address"] as const) {
    const seen = new Set<string>();
    monitors.forEach((m, i) => {
      if (seen.has(m[key])) {
        fail(`monitors[${i}].${key}`, m[key], `a ${key} not used by another monitor`);
      }
      seen.add(m[key]);
    });
  }
}

function checkCidr(field: string, cidr: string): void {
  const m = typeof cidr === "string" ? /^([0-9.]+)\/([0-9]{1,2})$/.exec(cidr) : null;
  if (!m || !isIPv4(m[1]) || Number(m[2]) > 32) {
    fail(field, cidr, "an IPv4 CIDR like 10.77.0.0/16");
  }
}

function checkInteger(field: string, value: number | undefined, min: number, max: number): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < min || value > max)) {
    fail(field, value, `an integer from ${min} to ${max}`);
  }
}

function checkPath(field: string, value: string | undefined): void {
  if (value !== undefined && (typeof value !== "string" || !value.startsWith("/") || /[\s$]/.test(value) || UNSAFE_VALUE.test(value))) {
    fail(field, value, "an absolute path without whitespace, '$', '#', ';' or '\\'");
  }
}

/** Further settings per section are checked by the name the caller knows them by (field). */
export function checkCephConfExtra(extra: CephConfOptions["extra"], field = "extra"): void {
  if (extra !== undefined && (typeof extra !== "object" || extra === null || Array.isArray(extra))) {
    fail(field, extra, `an object of sections (${SECTIONS.join(", ")}) holding settings`);
  }
  for (const [section, settings] of Object.entries(extra ?? {})) {
    if (!SECTIONS.includes(section as CephConfSection)) {
      fail(field, section, SECTIONS.join(", "));
    }
    for (const [key, value] of Object.entries(settings ?? {})) {
      if (!KEY.test(key)) {
        fail(`${field}.${section} key`, key, "lower-case letters, digits, '_' and ' '");
      }
      const ok = typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value)) || (typeof value === "string" && !UNSAFE_VALUE.test(value));
      if (!ok) {
        fail(`${field}.${section}.${key}`, value, "a boolean, a finite number or a one-line string without '#', ';' or '\\'");
      }
    }
  }
}

/** `[v2:A:3300,v1:A:6789],[...]`: every monitor with both messenger protocols. */
export function monHost(monitors: readonly CephMonitor[]): string {
  return monitors.map((m) => `[v2:${m.address}:3300,v1:${m.address}:6789]`).join(",");
}

type Lines = Array<[string, CephConfValue]>;

function renderSection(name: string, lines: Lines, extra?: Readonly<Record<string, CephConfValue>>): string {
  const merged = new Map<string, CephConfValue>();
  for (const [k, v] of lines) {
    merged.set(k, v);
  }
  // Ceph treats spaces and underscores in keys alike; normalise so an extra
  // setting replaces the rendered one instead of appearing twice.
  for (const [k, v] of Object.entries(extra ?? {})) {
    merged.set(k.replace(/ /g, "_"), v);
  }
  if (merged.size === 0) {
    return "";
  }
  const body = [...merged].map(([k, v]) => `${k} = ${String(v)}`).join("\n");
  return `[${name}]\n${body}\n`;
}

/** The cluster's ceph.conf for the machine that runs the daemons. */
export function renderCephConf(opts: CephConfOptions): string {
  checkFsid(opts.fsid);
  checkMonitors(opts.monitors);
  checkCidr("publicNetwork", opts.publicNetwork);
  checkInteger("osdPoolDefaultSize", opts.osdPoolDefaultSize, 1, 10);
  checkInteger("osdMemoryTargetBytes", opts.osdMemoryTargetBytes, CEPH_MIN_OSD_MEMORY_TARGET, Number.MAX_SAFE_INTEGER);
  checkInteger("bluestoreBlockSizeBytes", opts.bluestoreBlockSizeBytes, 1024 * 1024 * 1024, Number.MAX_SAFE_INTEGER);
  checkPath("dataDir", opts.dataDir);
  checkPath("runDir", opts.runDir);
  checkPath("logDir", opts.logDir);
  checkCephConfExtra(opts.extra);

  const global: Lines = [
    ["fsid", opts.fsid],
    ["mon_initial_members", opts.monitors.map((m) => m.name).join(", ")],
    ["mon_host", monHost(opts.monitors)],
    ["public_network", opts.publicNetwork],
    ["auth_cluster_required", "cephx"],
    ["auth_service_required", "cephx"],
    ["auth_client_required", "cephx"],
    ["auth_allow_insecure_global_id_reclaim", false],
    ["mon_allow_pool_delete", true],
  ];
  if (opts.osdPoolDefaultSize !== undefined) {
    const size = opts.osdPoolDefaultSize;
    global.push(["osd_pool_default_size", size], ["osd_pool_default_min_size", size - Math.floor(size / 2)]);
  }
  if (opts.singleHost) {
    global.push(["osd_crush_chooseleaf_type", 0]);
  }
  if (opts.runDir) {
    global.push(["run_dir", opts.runDir]);
  }
  if (opts.dataDir) {
    global.push(["crash_dir", `${opts.dataDir}/crash`]);
  }
  if (opts.logDir) {
    global.push(["mon_cluster_log_file", `${opts.logDir}/$cluster.$channel.log`]);
  }

  // Per-daemon paths stay out of [global] so that CLI clients do not fight
  // over one admin socket or write daemon-style log files.
  const daemon = (type: "mon" | "mgr" | "osd"): Lines => {
    const lines: Lines = [];
    if (opts.dataDir) {
      lines.push([`${type}_data`, `${opts.dataDir}/${type}/$id`], ["keyring", `$${type}_data/keyring`]);
    }
    if (opts.runDir) {
      lines.push(["pid_file", "$run_dir/$cluster-$name.pid"], ["admin_socket", "$run_dir/$cluster-$name.asok"]);
    }
    if (opts.logDir) {
      lines.push(["log_file", `${opts.logDir}/$cluster-$name.log`]);
    }
    return lines;
  };
  const osd: Lines = [...daemon("osd"), ["osd_objectstore", "bluestore"]];
  if (opts.bluestoreBlockSizeBytes !== undefined) {
    osd.push(["bluestore_block_create", true], ["bluestore_block_size", opts.bluestoreBlockSizeBytes]);
  }
  if (opts.osdMemoryTargetBytes !== undefined) {
    osd.push(["osd_memory_target", opts.osdMemoryTargetBytes]);
  }
  const client: Lines = opts.dataDir ? [["keyring", `${opts.dataDir}/$cluster.$name.keyring`]] : [];

  const x = opts.extra ?? {};
  return [
    "# Rendered by kvm-cloud; local edits are overwritten.\n",
    renderSection("global", global, x.global),
    renderSection("mon", daemon("mon"), x.mon),
    renderSection("mgr", daemon("mgr"), x.mgr),
    renderSection("osd", osd, x.osd),
    renderSection("client", client, x.client),
  ]
    .filter((s) => s !== "")
    .join("\n");
}

/** The minimal ceph.conf a client machine (a KVM node) needs to reach the cluster. */
export function renderCephClientConf(opts: CephClientConfOptions): string {
  checkFsid(opts.fsid);
  checkMonitors(opts.monitors);
  const keyring = opts.keyring ?? "/etc/ceph/$cluster.$name.keyring";
  if (typeof keyring !== "string" || !keyring.startsWith("/") || /\s/.test(keyring) || UNSAFE_VALUE.test(keyring)) {
    fail("keyring", keyring, "an absolute path without whitespace, '#', ';' or '\\' ($cluster and $name are expanded)");
  }
  return [
    "# Rendered by kvm-cloud; local edits are overwritten.\n",
    renderSection("global", [
      ["fsid", opts.fsid],
      ["mon_host", monHost(opts.monitors)],
    ]),
    renderSection("client", [["keyring", keyring]]),
  ].join("\n");
}
