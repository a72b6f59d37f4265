import * as fs from "fs";
import * as path from "path";
import { bareHostKnownHost } from "./bare-host";
import { run } from "./exec";
import { LabPaths } from "./paths";
import { LabHost } from "./topology";

/**
 * The lab's SSH client side: its key pair, and known_hosts for its bare hosts
 * (whose host keys the lab makes), so clients verify host keys instead of
 * trusting on first use.
 */

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

/** known_hosts for the lab's hosts. */
export async function ensureKnownHosts(p: LabPaths, hosts: readonly LabHost[]): Promise<string> {
  const file = path.join(path.dirname(p.sshKey), "known_hosts");
  const lines = hosts.map((h) => bareHostKnownHost(p, h));
  fs.writeFileSync(file, lines.join("\n") + "\n", { mode: 0o644 });
  return file;
}
