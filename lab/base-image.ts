import { inNetns, run } from "./exec";
import { LabDescription } from "./description";
import { labSshArgv } from "./ssh-client";
import { hostByName, NODES } from "./topology";

/**
 * The base image every lab VM is cloned from is the stack's BaseImage, which
 * node1 imports from the lab's guest image file. That file reaches node1
 * through a read-only bind mount of the lab's image directory (lab/bare-host.ts):
 * checked here, with the file's sha256 as node1 reads it, so that a directory
 * the node cannot see fails by name instead of inside the import.
 */
export async function guestImageOnNode(ssh: Pick<LabDescription["ssh"], "privateKeyPath" | "knownHostsPath" | "port" | "user">, diskPath: string): Promise<string> {
  const node = NODES[0];
  const r = await run(inNetns(hostByName("mgr").ns, labSshArgv(ssh, node.address, ["timeout", "60", "sha256sum", "--", diskPath])), { allowFail: true, timeoutMs: 75_000 });
  const sha = /^([0-9a-f]{64})\s/.exec(r.stdout)?.[1];
  if (r.code !== 0 || !sha) {
    throw new Error(`${node.name} cannot read the guest image ${diskPath} (the lab's state directory must be on this machine's root filesystem, which the hosts see): ${(r.stderr || r.stdout).trim()}`);
  }
  return sha;
}

export async function baseImageHealthy(rbd: (...args: string[]) => string[], snapSpec: string): Promise<string | undefined> {
  const r = await run(rbd("info", "--format", "json", snapSpec), { allowFail: true, timeoutMs: 20_000 });
  if (r.code !== 0) return `base image ${snapSpec} not found: ${r.stderr.trim()}`;
  const info = JSON.parse(r.stdout) as { protected?: string };
  return info.protected === "true" ? undefined : `snapshot ${snapSpec} is not protected`;
}
