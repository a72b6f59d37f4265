import { quote } from "../core/shell";
import { check, ValidationError } from "../core/errors";
import { checkDnsLabel, checkIPv4 } from "../core/network";
import { bashScript } from "../core/script";

/**
 * Live migration over SSH between KVM nodes (never libvirt's unauthenticated
 * TCP): each node makes its own key pair, whose private half never leaves
 * the node (so it is in no Pulumi state at all); the public halves are
 * authorized on the other nodes, and their host keys become known there.
 */
export const MIGRATION_KEY = "/root/.ssh/kvmcloud_migration";

/** The libvirt URI other nodes use to migrate a guest to this node. */
export function migrationUri(address: string): string {
  checkIPv4("address", address);
  return `qemu+ssh://root@${address}/system?keyfile=${MIGRATION_KEY}`;
}

/** Makes the node's migration key once; prints its public half and the node's SSH host key. */
export function renderMigrationKeyScript(): string {
  return bashScript("SSH key pair for live migration (private half stays on the node)", [
    "install -d -m 0700 /root/.ssh",
    `[ -s ${MIGRATION_KEY} ] || ssh-keygen -q -t ed25519 -N '' -C "kvmcloud-migration@$(hostname)" -f ${MIGRATION_KEY}`,
    `printf 'migration_key=%s\\n' "$(cut -d' ' -f1,2 ${MIGRATION_KEY}.pub)"`,
    "printf 'host_key=%s\\n' \"$(cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub)\"",
  ]);
}

export interface MigrationKeys {
  /** `ssh-ed25519 AAAA...` */
  readonly migrationKey: string;
  readonly hostKey: string;
}

const PUBLIC_KEY = /^ssh-ed25519 [A-Za-z0-9+/]+={0,2}$/;

export function parseMigrationKeys(stdout: string): MigrationKeys {
  const m = /^migration_key=(.*)$/m.exec(stdout)?.[1];
  const h = /^host_key=(.*)$/m.exec(stdout)?.[1];
  if (!m || !PUBLIC_KEY.test(m)) throw new ValidationError("migration_key", m ?? "[missing]", "an ssh-ed25519 public key line");
  if (!h || !PUBLIC_KEY.test(h)) throw new ValidationError("host_key", h ?? "[missing]", "an ssh-ed25519 public key line");
  return { migrationKey: m, hostKey: h };
}

export interface MigrationPeer extends MigrationKeys {
  readonly name: string;
  readonly address: string;
}

const BEGIN = "# kvm-cloud migration peers: begin";
const END = "# kvm-cloud migration peers: end";

/** Replaces the managed block of a file with lines (atomically, only when it differs). */
function managedBlockStep(file: string, lines: readonly string[]): string {
  const block = [BEGIN, ...lines, END].join("\n") + "\n";
  return [
    `f=${quote(file)}`,
    'touch "$f"',
    'chmod 0600 "$f"',
    `awk -v b=${quote(BEGIN)} -v e=${quote(END)} '$0 == b { skip = 1; next } $0 == e { skip = 0; next } !skip' "$f" > "$f.kvmcloud-new"`,
    `printf '%s' ${quote(block)} >> "$f.kvmcloud-new"`,
    'chmod 0600 "$f.kvmcloud-new"',
    'if cmp -s "$f.kvmcloud-new" "$f"; then rm -f "$f.kvmcloud-new"; else mv -f "$f.kvmcloud-new" "$f"; fi',
  ].join("\n");
}

/**
 * Authorizes the other nodes' migration keys for root (restricted: no
 * forwarding, no pty) and records their host keys, so `virsh migrate` to
 * qemu+ssh://root@PEER/system checks the peer strictly; PEER may be the
 * node's name too (root's SSH config maps it to the address).
 */
export function renderMigrationAccessScript(o: { peers: readonly MigrationPeer[] }): string {
  o.peers.forEach((p, i) => {
    checkDnsLabel(`peers[${i}].name`, p.name);
    checkIPv4(`peers[${i}].address`, p.address);
    check(PUBLIC_KEY.test(p.migrationKey), `peers[${i}].migrationKey`, p.migrationKey, "an ssh-ed25519 public key line");
    check(PUBLIC_KEY.test(p.hostKey), `peers[${i}].hostKey`, p.hostKey, "an ssh-ed25519 public key line");
  });
  const sorted = [...o.peers].sort((a, b) => a.name.localeCompare(b.name));
  return bashScript(`live-migration access from ${sorted.length} peer node(s)`, [
    "install -d -m 0700 /root/.ssh",
    managedBlockStep("/root/.ssh/authorized_keys", sorted.map((p) => `restrict ${p.migrationKey} kvmcloud-migration@${p.name}`)),
    managedBlockStep("/root/.ssh/known_hosts", sorted.map((p) => `${p.address} ${p.hostKey}`)),
    // Pacemaker's VirtualDomain names the migration target by node name (its remoteuri's %n); "Match all" ends the block's scope.
    managedBlockStep("/root/.ssh/config", [...sorted.flatMap((p) => [`Host ${p.name}`, `  HostName ${p.address}`]), "Match all"]),
  ]);
}
