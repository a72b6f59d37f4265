import { commandLine, quote } from "./shell";
import { check } from "./errors";

/**
 * Never `producer | grep -q` in these scripts: grep -q exits at the first
 * match, the producer dies of SIGPIPE and pipefail turns a match into a
 * failure (seen in the lab with `virsh pool-info | grep -q`). grep without -q
 * reads all input; its output goes to /dev/null instead.
 *
 * The pieces every host script is made of. Scripts are plain bash text built
 * from quoted values (lib/core/shell.ts), so a value can never change a script's
 * shape, and every step checks before it acts, so a second run changes nothing.
 */

/** A whole script: strict mode first, then the steps. */
export function bashScript(purpose: string, steps: readonly string[]): string {
  return ["#!/bin/bash", `# ${purpose.replace(/\n/g, " ")}`, "# Rendered by kvm-cloud; idempotent.", "set -euo pipefail", "", ...steps].join("\n").trimEnd() + "\n";
}

const PATH = /^\/[A-Za-z0-9_.@\/-]+$/;
const MODE = /^0[0-7]{3}$/;

export function checkAbsolutePath(field: string, p: string): void {
  check(typeof p === "string" && PATH.test(p) && !p.includes(".."), field, p, "an absolute path of [A-Za-z0-9_.@/-] without '..'");
}

export interface WriteFileOptions {
  /** Octal mode (default 0644). */
  readonly mode?: string;
  /** Shell lines run when the file changed (e.g. a restart). */
  readonly onChange?: readonly string[];
  /** A check of the new file before it replaces the old one, given the temp path (e.g. `dnsmasq --test`). */
  readonly check?: (tmpPath: string) => string;
}

/**
 * Writes content to path atomically (hidden temp file + rename) only when it
 * differs, after an optional check; runs onChange when it did. The content
 * travels as one quoted word.
 */
export function writeFileStep(path: string, content: string, o: WriteFileOptions = {}): string {
  checkAbsolutePath("path", path);
  const mode = o.mode ?? "0644";
  check(MODE.test(mode), "mode", mode, "an octal file mode like 0644");
  const dir = path.replace(/\/[^/]+$/, "") || "/";
  // Hidden, so that conf-dir readers (dnsmasq, systemd) never pick it up.
  const tmp = `${dir === "/" ? "" : dir}/.${path.slice(dir.length + 1)}.kvmcloud-new`;
  const disabled = [content.includes("$") ? "SC2016" : "", content.includes("\\") ? "SC1003" : ""].filter(Boolean);
  const lines = [
    `install -d -m 0755 ${quote(dir)}`,
    // Config files hold literal $ (e.g. ceph's $cluster) and backslashes: single quotes are the point.
    ...(disabled.length ? [`# shellcheck disable=${disabled.join(",")}`] : []),
    `printf '%s' ${quote(content)} > ${quote(tmp)}`,
    `chmod ${mode} ${quote(tmp)}`,
  ];
  if (o.check) {
    lines.push(`if ! ${o.check(quote(tmp))}; then`, `  rm -f ${quote(tmp)}`, `  echo ${quote(`kvm-cloud: new ${path} failed its check; the old one stays`)} >&2`, "  exit 1", "fi");
  }
  lines.push(
    `if cmp -s ${quote(tmp)} ${quote(path)}; then`,
    `  rm -f ${quote(tmp)}`,
    "else",
    `  mv -f ${quote(tmp)} ${quote(path)}`,
    ...(o.onChange?.length ? o.onChange.map((l) => `  ${l}`) : ["  :"]),
    "fi",
  );
  return lines.join("\n");
}

const PACKAGE = /^[a-z0-9][a-z0-9+.-]+$/;

/** Installs Debian/Ubuntu packages that are missing; a no-op when all are there. */
export function aptInstallStep(packages: readonly string[]): string {
  check(packages.length > 0, "packages", packages, "at least one package");
  packages.forEach((p, i) => check(PACKAGE.test(p), `packages[${i}]`, p, "a Debian package name"));
  const list = packages.map(quote).join(" ");
  return [
    `wanted=(${list})`,
    "missing=()",
    'for p in "${wanted[@]}"; do',
    `  dpkg-query -W -f='\${Status}' "$p" 2>/dev/null | grep 'install ok installed' >/dev/null || missing+=("$p")`,
    "done",
    'if [ "${#missing[@]}" -gt 0 ]; then',
    "  export DEBIAN_FRONTEND=noninteractive",
    // A fetch that fails must stop here, not 16 s later as "unable to locate package".
    "  apt-get update -q --error-on=any",
    '  apt-get install -y -q --no-install-recommends "${missing[@]}"',
    "fi",
  ].join("\n");
}

/** A service the script (re)started must run afterwards: otherwise the script fails with its journal. */
export function serviceRunningStep(unit: string): string {
  check(/^[A-Za-z0-9@_.:-]+$/.test(unit), "unit", unit, "a systemd unit name");
  return `systemctl is-active --quiet ${quote(unit)} || { journalctl -u ${quote(unit)} -n 20 --no-pager >&2 || true; echo ${quote(`kvm-cloud: ${unit} is not running`)} >&2; exit 1; }`;
}

/** Where kvm-cloud's drop-in for a unit (or a template, like postgresql@.service) lives. */
export function dropInPath(unit: string): string {
  check(/^[A-Za-z0-9@_.:-]+\.service$/.test(unit), "unit", unit, "a systemd service name");
  return `/etc/systemd/system/${unit}.d/kvmcloud.conf`;
}

/**
 * systemd restarts the service after a crash (Debian's units for dnsmasq and
 * PostgreSQL never do); a deliberate stop stays stopped.
 */
export function restartOnFailureStep(unit: string): string {
  return writeFileStep(dropInPath(unit), "# Rendered by kvm-cloud.\n[Service]\nRestart=on-failure\nRestartSec=2\n", { onChange: ["systemctl daemon-reload"] });
}

/** Enables and starts a systemd unit (no-op when already so). */
export function enableServiceStep(unit: string): string {
  check(/^[A-Za-z0-9@_.:-]+$/.test(unit), "unit", unit, "a systemd unit name");
  return `systemctl enable --now ${quote(unit)} >/dev/null`;
}

/**
 * The command line RemoteCommand runs over SSH: the script runs with bash
 * as root, through `sudo -n` when the login user is not root. The script is an
 * argument (not stdin) so that stdin stays free for secrets.
 */
export function remoteInvocation(script: string): string {
  return `set -- ${commandLine(["bash", "-c", script, "kvmcloud"])}; if [ "$(id -u)" -ne 0 ]; then set -- sudo -n "$@"; fi; "$@"`;
}

/**
 * What a script reads on stdin: one value per line, in the order the script
 * reads them. Secrets travel this way (never in the command line, which other
 * users of the host can see in `ps`); binary values go base64-encoded.
 */
export function stdinPayload(values: readonly string[]): string {
  values.forEach((v, i) => {
    // Never echo the value: these are secrets.
    check(typeof v === "string" && !/[\r\n]/.test(v), `stdin[${i}]`, "[secret]", "a one-line value");
  });
  return values.map((v) => v + "\n").join("");
}

/** Reads the next stdin line (see stdinPayload) into a shell variable. */
export function readLineStep(variable: string): string {
  check(/^[a-z_][a-z0-9_]*$/.test(variable), "variable", variable, "a lower-case shell variable name");
  return `IFS= read -r ${variable} || { echo "kvm-cloud: stdin ended before ${variable}" >&2; exit 1; }`;
}

/** A bounded wait for the monitors' quorum, as a client with the admin keyring. */
export function waitForCephStep(tries = 60, delaySeconds = 5): string {
  return [
    "ready=0",
    `for _ in $(seq ${tries}); do`,
    "  if ceph --connect-timeout 10 quorum_status >/dev/null 2>&1; then ready=1; break; fi",
    `  sleep ${delaySeconds}`,
    "done",
    `[ "$ready" = 1 ] || { echo "kvm-cloud: no Ceph monitor quorum after ${tries * delaySeconds}s" >&2; exit 1; }`,
  ].join("\n");
}

/** One cephx identity in a keyring, its key held by a shell variable read from stdin. */
export interface KeyringEntry {
  readonly entity: string;
  readonly keyVariable: string;
  readonly caps?: Readonly<Record<string, string>>;
}

/**
 * Writes a keyring from keys held in shell variables: printf is a bash
 * builtin, so no key ever shows in a process list. Atomic, 0600, rewritten
 * only when it differs.
 */
export function writeKeyringStep(path: string, entries: readonly KeyringEntry[], owner?: string): string {
  checkAbsolutePath("path", path);
  check(entries.length > 0, "entries", entries, "at least one keyring entry");
  let format = "";
  const args: string[] = [];
  for (const e of entries) {
    check(/^[a-z]+\.[A-Za-z0-9_.-]*$/.test(e.entity), "entity", e.entity, "a cephx entity like client.admin or mon.");
    check(/^[a-z_][a-z0-9_]*$/.test(e.keyVariable), "keyVariable", e.keyVariable, "a lower-case shell variable name");
    format += `[${e.entity}]\\n\\tkey = %s\\n`;
    args.push(`"$${e.keyVariable}"`);
    for (const [k, v] of Object.entries(e.caps ?? {}).sort()) {
      check(/^[a-z]+$/.test(k) && !/["'%\\\n]/.test(v), "caps", `${k}=${v}`, "caps like mon='allow *'");
      format += `\\tcaps ${k} = "${v}"\\n`;
    }
  }
  if (owner !== undefined) {
    check(/^[a-z_][a-z0-9_-]*(:[a-z_][a-z0-9_-]*)?$/.test(owner), "owner", owner, "user or user:group");
  }
  const dir = path.replace(/\/[^/]+$/, "") || "/";
  return [
    `install -d -m 0755 ${quote(dir)}`,
    `tmp=$(umask 077 && mktemp ${quote(`${dir}/.keyring.XXXXXX`)})`,
    `printf ${quote(format)} ${args.join(" ")} > "$tmp"`,
    ...(owner ? [`chown ${owner} "$tmp"`] : []),
    `if cmp -s "$tmp" ${quote(path)}; then rm -f "$tmp"; else mv -f "$tmp" ${quote(path)}; fi`,
  ].join("\n");
}
