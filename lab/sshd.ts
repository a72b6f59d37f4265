import * as fs from "fs";
import * as path from "path";
import { bareHostKnownHost } from "./bare-host";
import { run } from "./exec";
import { killStray, livePid, onHost } from "./host-exec";
import { LabPaths } from "./paths";
import { LabHost } from "./topology";

/**
 * A private sshd per lab host, reachable from the manager namespace with the
 * lab's key: the same way the provider reaches real hosts. Keys and config
 * live in the state directory; nothing touches the machine's own sshd.
 */

export function sshdDir(p: LabPaths, h: LabHost): string {
  return path.join(p.state, "sshd", h.name);
}

/** Pure: the sshd_config of one lab host. */
export function renderSshdConfig(o: { address: string; port: number; hostKey: string; authorizedKeys: string; pidFile: string; home: string }): string {
  return [
    `ListenAddress ${o.address}:${o.port}`,
    `HostKey ${o.hostKey}`,
    `PidFile ${o.pidFile}`,
    `AuthorizedKeysFile ${o.authorizedKeys}`,
    "PermitRootLogin prohibit-password",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    // The state directory sits in a checkout owned by whoever cloned it.
    "StrictModes no",
    "MaxStartups 64:30:128",
    "MaxSessions 64",
    "Subsystem sftp internal-sftp",
    // Logins get a home of the lab host's own: root's home on this machine
    // has start-up files (pyenv) that cost a second per command and can hang
    // every login for a minute on a lock left by a killed shell.
    `SetEnv HOME=${o.home}`,
    "",
  ].join("\n");
}

/** The lab's client key pair, made once. */
export async function ensureLabKey(p: LabPaths): Promise<string> {
  fs.mkdirSync(path.dirname(p.sshKey), { recursive: true, mode: 0o700 });
  if (!fs.existsSync(p.sshKey) || !fs.existsSync(`${p.sshKey}.pub`)) {
    fs.rmSync(p.sshKey, { force: true });
    fs.rmSync(`${p.sshKey}.pub`, { force: true });
    await run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kvmcloud-lab", "-f", p.sshKey]);
  }
  return fs.readFileSync(`${p.sshKey}.pub`, "utf8").trim();
}

export async function ensureSshd(p: LabPaths, h: LabHost, publicKey: string): Promise<void> {
  const dir = sshdDir(p, h);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const hostKey = path.join(dir, "ssh_host_ed25519_key");
  if (!fs.existsSync(hostKey)) {
    await run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", `kvmcloud-lab-${h.name}`, "-f", hostKey]);
  }
  const authorizedKeys = path.join(dir, "authorized_keys");
  fs.writeFileSync(authorizedKeys, publicKey + "\n", { mode: 0o600 });
  const pidFile = path.join(dir, "sshd.pid");
  const config = path.join(dir, "sshd_config");
  const home = path.join(dir, "home");
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  const text = renderSshdConfig({ address: h.address, port: 22, hostKey, authorizedKeys, pidFile, home });
  const changed = !fs.existsSync(config) || fs.readFileSync(config, "utf8") !== text;
  fs.writeFileSync(config, text, { mode: 0o600 });
  // sshd insists on its privilege-separation directory.
  fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  killStray(pidFile, "sshd", h.ns);
  const running = livePid(pidFile, "sshd", h.ns);
  if (running === undefined) {
    fs.rmSync(pidFile, { force: true });
    // Its log beside its config: a node's sshd that exits says why there.
    await run(onHost(h, ["/usr/sbin/sshd", "-f", config, "-E", path.join(dir, "sshd.log")]));
  } else if (changed) {
    // sshd re-executes itself with the new config on SIGHUP.
    process.kill(running, "SIGHUP");
  }
}

export function sshdRunning(p: LabPaths, h: LabHost): boolean {
  return livePid(path.join(sshdDir(p, h), "sshd.pid"), "sshd", h.ns) !== undefined;
}

/** known_hosts for the lab's sshds, so clients verify host keys instead of trusting on first use. */
export async function ensureKnownHosts(p: LabPaths, hosts: readonly LabHost[]): Promise<string> {
  const file = path.join(path.dirname(p.sshKey), "known_hosts");
  const lines = hosts.map((h) => {
    if (h.bare) return bareHostKnownHost(p, h);
    const pub = fs.readFileSync(path.join(sshdDir(p, h), "ssh_host_ed25519_key.pub"), "utf8").trim().split(/\s+/);
    return `${h.address} ${pub[0]} ${pub[1]}`;
  });
  fs.writeFileSync(file, lines.join("\n") + "\n", { mode: 0o644 });
  return file;
}
