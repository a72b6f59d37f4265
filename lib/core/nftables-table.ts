import { quote } from "./shell";
import { renderClientFilter } from "./nftables-clients";
import { check } from "./errors";
import { aptInstallStep, checkAbsolutePath, enableServiceStep, writeFileStep } from "./script";

/**
 * An nftables table of kvm-cloud's own on a host: its rules file (checked by
 * `nft -c` before it replaces the old one), a oneshot unit that loads it at
 * boot, and a load now on every run (the file replaces the whole table, so
 * this also repairs a flushed ruleset). Or, when the table is no longer
 * wanted, the unit, the file and the table gone.
 */
export interface NftablesTable {
  /** `family name`, e.g. "ip kvmcloud_nat". */
  readonly table: string;
  readonly rulesPath: string;
  /** The oneshot unit, e.g. "kvmcloud-nat.service". */
  readonly unit: string;
  /** The unit's Description. */
  readonly description: string;
}

function checkTable(t: NftablesTable): void {
  check(/^(ip|ip6|inet) [a-z][a-z0-9_]{0,30}$/.test(t.table), "table", t.table, "an nftables family and table name, like inet kvmcloud_clients");
  checkAbsolutePath("rulesPath", t.rulesPath);
  check(/^[a-z0-9-]+\.service$/.test(t.unit), "unit", t.unit, "a systemd service name like kvmcloud-nat.service");
}

/** Pure: the oneshot unit that loads the table at boot. */
export function renderNftablesUnit(t: NftablesTable): string {
  checkTable(t);
  return [
    "[Unit]",
    `Description=kvm-cloud: ${t.description.replace(/\n/g, " ")}`,
    "Wants=network-pre.target",
    "Before=network-pre.target",
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    `ExecStart=/usr/sbin/nft -f ${t.rulesPath}`,
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** Script steps: the table in place now and at boot. */
export function nftablesTableSteps(t: NftablesTable, rules: string): string[] {
  checkTable(t);
  return [
    aptInstallStep(["nftables"]),
    writeFileStep(t.rulesPath, rules, { check: (tmp) => `nft -c -f ${tmp}` }),
    writeFileStep(`/etc/systemd/system/${t.unit}`, renderNftablesUnit(t), { onChange: ["systemctl daemon-reload"] }),
    enableServiceStep(t.unit),
    `nft -f ${quote(t.rulesPath)}`,
  ];
}

/** Script steps: the table, its unit and its file gone (a no-op when they are). */
export function removeNftablesTableSteps(t: NftablesTable): string[] {
  checkTable(t);
  return [
    `if [ -e ${quote(`/etc/systemd/system/${t.unit}`)} ]; then`,
    `  systemctl disable --now ${quote(t.unit)} >/dev/null 2>&1 || true`,
    `  rm -f ${quote(`/etc/systemd/system/${t.unit}`)} ${quote(t.rulesPath)}`,
    "  systemctl daemon-reload",
    "fi",
    `if command -v nft >/dev/null; then nft delete table ${t.table} 2>/dev/null || true; fi`,
  ];
}

/** The table that guards one service's ports on a host (renderClientFilter), by the service's short name. */
export function clientFilterTable(service: string, description: string): NftablesTable {
  check(/^[a-z][a-z0-9]{0,15}$/.test(service), "service", service, "a short lower-case service name");
  return { table: `inet kvmcloud_${service}`, rulesPath: `/etc/kvmcloud/${service}-clients.nft`, unit: `kvmcloud-${service}-clients.service`, description };
}

/** Script steps: the service's ports guarded when allowed networks are given; otherwise no guard left behind. */
export function clientFilterSteps(t: NftablesTable, allowed: readonly string[] | undefined, ports: readonly number[]): string[] {
  if (allowed === undefined) return removeNftablesTableSteps(t);
  return nftablesTableSteps(t, renderClientFilter({ allowed, ports, table: t.table.replace(/^inet /, "") }));
}
