import { check } from "../core/errors";
import { quote } from "../core/shell";
import { readLineStep, writeFileStep } from "../core/script";

/**
 * kvm-cloud's Pacemaker alert agent: Pacemaker runs it (as hacluster) after
 * every resource operation and every fencing, on the node concerned. For an
 * HA VM's resource (vm-NAME) it logs the start, stop or live migration in the
 * inventory's vm_operations and, once the VM runs somewhere, sets `vms.node`
 * and the Redis key (a stop changes no row: Pacemaker also stops the source
 * after each live migration, and a stop it makes for a move or a recovery is
 * followed by a start elsewhere); for a fence it logs the fenced node once (every member
 * reports it; Pacemaker's operation id keeps one row). So the inventory
 * follows a failover or a drain that no `pulumi up` took part in.
 *
 * Each call is bounded (psql and redis-cli under `timeout`, 3 tries in the
 * alert's 20 s) and a failure is logged by Pacemaker with the agent's
 * message; the next `pulumi up` reads where Pacemaker runs each VM anyway.
 */

export const ALERT_AGENT_PATH = "/usr/local/sbin/kvmcloud-ha-alert";
/** The inventory's addresses and passwords, readable by root and the haclient group (hacluster runs the agent). */
export const ALERT_ENV_PATH = "/etc/kvmcloud/ha-inventory.env";
export const ALERT_ID = "kvmcloud-inventory";
/** Pacemaker kills an agent that runs longer; three tries of 5 s each fit. */
const ALERT_TIMEOUT_SECONDS = 20;
/** What a member needs beside Pacemaker for the agent: the two clients. */
export const ALERT_PACKAGES = ["postgresql-client", "redis-tools"] as const;

/** Where the agent sends its records: the InventoryDatabase's two URLs (secrets). */
export interface AlertInventory {
  readonly postgresUrl: string;
  readonly redisUrl: string;
}

/**
 * Pure: the agent's environment file, the URLs taken apart into the
 * variables psql and redis-cli read, so no password is ever on a command line.
 * Errors never quote a URL (they hold passwords).
 */
export function renderAlertEnv(inv: AlertInventory): string {
  const pg = parseUrl("inventory.postgresUrl", inv.postgresUrl, ["postgres:", "postgresql:"]);
  const redis = parseUrl("inventory.redisUrl", inv.redisUrl, ["redis:"]);
  const database = decodeURIComponent(pg.pathname.replace(/^\//, ""));
  check(database !== "", "inventory.postgresUrl", "[secret]", "a URL that names a database (postgres://user:password@host:port/database)");
  const vars: Array<[string, string]> = [
    ["PGHOST", pg.hostname],
    ["PGPORT", pg.port || "5432"],
    ["PGUSER", decodeURIComponent(pg.username)],
    ["PGPASSWORD", decodeURIComponent(pg.password)],
    ["PGDATABASE", database],
    ["REDIS_HOST", redis.hostname],
    ["REDIS_PORT", redis.port || "6379"],
    ["REDISCLI_AUTH", decodeURIComponent(redis.password)],
  ];
  return vars.map(([k, v]) => `${k}=${quote(v)}`).join("\n") + "\n";
}

function parseUrl(field: string, text: string, protocols: readonly string[]): URL {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  check(url !== undefined && protocols.includes(url.protocol) && url.hostname !== "", field, "[secret]", `a ${protocols.map((p) => `${p}//`).join(" or ")} URL with a host`);
  return url!;
}

/** The CIB's alert: resource and fencing events only, each call bounded. */
export function renderAlertXml(): string {
  return (
    `<alert id="${ALERT_ID}" path="${ALERT_AGENT_PATH}">` +
    `<meta_attributes id="${ALERT_ID}-meta"><nvpair id="${ALERT_ID}-timeout" name="timeout" value="${ALERT_TIMEOUT_SECONDS}s"/></meta_attributes>` +
    "<select><select_resources/><select_fencing/></select>" +
    "</alert>"
  );
}

/**
 * A member's steps before the CIB is touched: the agent, and its environment
 * from the next stdin line (base64 of renderAlertEnv: a secret, never on a
 * command line), replaced only when it differs.
 */
export function alertAgentSteps(): string[] {
  const dir = ALERT_ENV_PATH.replace(/\/[^/]+$/, "");
  return [
    writeFileStep(ALERT_AGENT_PATH, renderHaAlertAgent(), { mode: "0755" }),
    readLineStep("alert_env"),
    `install -d -m 0755 ${quote(dir)}`,
    `tmp=$(umask 077 && mktemp ${quote(`${dir}/.ha-inventory.env.XXXXXX`)})`,
    'printf \'%s\' "$alert_env" | base64 -d > "$tmp"',
    'chgrp haclient "$tmp" && chmod 0640 "$tmp"',
    `if cmp -s "$tmp" ${quote(ALERT_ENV_PATH)}; then rm -f "$tmp"; else mv -f "$tmp" ${quote(ALERT_ENV_PATH)}; fi`,
  ];
}

/** The alert in the CIB, made or updated in place (other alerts stay). Needs with_cib of the member script. */
export function alertCibStep(): string {
  return `with_cib cibadmin --modify --allow-create --scope alerts --xml-text ${quote(renderAlertXml())}`;
}

/** The agent, a bash script at ALERT_AGENT_PATH on every member. */
export function renderHaAlertAgent(): string {
  return `#!/bin/bash
# kvmcloud-ha-alert: kvm-cloud's Pacemaker alert agent (made by kvm-cloud's HaCluster).
# Logs HA VMs' starts, stops and migrations and nodes' fences in the inventory.
set -u
say() { echo "kvmcloud-ha-alert: $*" >&2; }
kind=\${CRM_alert_kind:-}; node=\${CRM_alert_node:-}; task=\${CRM_alert_task:-}; rc=\${CRM_alert_rc:-}
vm=""; ref=""; ms=0
case "$kind" in
  resource)
    [[ "\${CRM_alert_rsc:-}" =~ ^vm-([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)$ ]] || exit 0
    vm=\${BASH_REMATCH[1]}
    # A recurring monitor is not an event of the VM's life.
    [ "\${CRM_alert_interval:-0}" = 0 ] || exit 0
    if [ "\${CRM_alert_status:-}" = 0 ] && [ "$rc" = "\${CRM_alert_target_rc:-0}" ]; then outcome=ok; else outcome=error; fi
    case "$task" in
      start) op=ha-start ;;
      stop) op=ha-stop ;;
      migrate_from) op=ha-migrate ;;
      # A migration that worked is reported by the target's migrate_from; the source speaks only of a failure.
      migrate_to) [ "$outcome" = ok ] && exit 0; op=ha-migrate ;;
      *) exit 0 ;;
    esac
    [[ "\${CRM_alert_exec_time:-}" =~ ^[0-9]+$ ]] && ms=$CRM_alert_exec_time ;;
  fencing)
    # CRM_alert_task is the notice's type (st_notify_fence); the action is in the summary:
    # "Operation reboot of node2 by node1 for pacemaker-controld.768@node1: OK (ref=1a1bcb4b-...)".
    summary='^Operation ([a-z]+) of '
    if [[ "\${CRM_alert_desc:-}" =~ $summary ]]; then task=\${BASH_REMATCH[1]}; fi
    # Unfencing (on) is the node's return, not a fence.
    [ "$task" = on ] && exit 0
    op=ha-fence
    if [ "$rc" = 0 ]; then outcome=ok; else outcome=error; fi
    # Every member reports the same fence: Pacemaker's operation id makes it one row.
    id_re='[(]ref=([A-Za-z0-9-]+)[)]'
    if [[ "\${CRM_alert_desc:-}" =~ $id_re ]]; then ref=\${BASH_REMATCH[1]}; else ref="$node@\${CRM_alert_timestamp_epoch:-0}"; fi ;;
  *) exit 0 ;;
esac
[[ "$node" =~ ^[A-Za-z0-9._-]+$ ]] || { say "node '$node' is not a node name"; exit 1; }
at=$(date +%s.%N)
[[ "\${CRM_alert_timestamp_epoch:-}" =~ ^[0-9]+$ ]] && [[ "\${CRM_alert_timestamp_usec:-}" =~ ^[0-9]+$ ]] && at="$CRM_alert_timestamp_epoch.$(printf '%06d' "$((10#$CRM_alert_timestamp_usec))")"
[ -r ${ALERT_ENV_PATH} ] || { say "cannot read ${ALERT_ENV_PATH}: $op of \${vm:-$node} not recorded"; exit 1; }
set -a
# shellcheck disable=SC1091
. ${ALERT_ENV_PATH}
set +a
export PGCONNECT_TIMEOUT=4
sql="INSERT INTO vm_operations (vm, operation, outcome, step, started_at, duration_ms, node, ref)
  VALUES (NULLIF(:'vm', ''), :'op', :'outcome', :'task', to_timestamp(:'at'::double precision), :'ms'::integer, :'node', NULLIF(:'ref', ''))
  ON CONFLICT (ref) WHERE operation = 'ha-fence' DO NOTHING;"
# Where it runs now, once it runs; a VM still being created is recorded by its create.
moved=0
if [ "$outcome" = ok ] && { [ "$op" = ha-start ] || [ "$op" = ha-migrate ]; }; then
  moved=1
  sql="$sql
UPDATE vms SET node = :'node', state = 'running', updated_at = now() WHERE name = :'vm' AND state <> 'creating' RETURNING name;"
fi
# One transaction: a try that failed half-way left nothing, so the next one logs the event once.
for try in 1 2 3; do
  if out=$(printf '%s\\n' "$sql" | timeout 5 psql -X -q -At -v ON_ERROR_STOP=1 --single-transaction -v vm="$vm" -v op="$op" -v outcome="$outcome" -v task="$task" -v at="$at" -v ms="$ms" -v node="$node" -v ref="$ref" -f - 2>&1); then
    break
  fi
  [ "$try" = 3 ] && { say "$op of \${vm:-$node} on $node not recorded in the inventory: $out"; exit 1; }
  sleep 1
done
# Redis only caches where each VM runs: set when the row says so now.
if [ "$moved" = 1 ] && printf '%s\\n' "$out" | grep -qxF -- "$vm"; then
  reply=$(timeout 5 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" --no-auth-warning SET "vm:$vm" "$node" 2>&1)
  [ "$reply" = OK ] || { say "vm:$vm -> $node not cached in Redis: $reply"; exit 1; }
fi
exit 0
`;
}
