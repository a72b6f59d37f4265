import { commandLine } from "../lib/shell";
import { LabDescription } from "./description";

/**
 * argv of `ssh` into a lab host with the lab key, verifying the host key
 * against the lab's known_hosts. Run it inside the manager namespace.
 */
export function labSshArgv(ssh: Pick<LabDescription["ssh"], "privateKeyPath" | "knownHostsPath" | "port" | "user">, host: string, argv: readonly string[]): string[] {
  return [
    "ssh", "-i", ssh.privateKeyPath, "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
    "-o", `UserKnownHostsFile=${ssh.knownHostsPath}`, "-o", "StrictHostKeyChecking=yes",
    "-p", String(ssh.port), `${ssh.user}@${host}`, "--", commandLine(argv),
  ];
}

/**
 * libvirt URI of a lab node for a client in the manager namespace: libvirt's
 * libssh transport with the lab key, checking the node's host key against the
 * lab's known_hosts (its plain `ssh` transport cannot take a known_hosts file).
 */
export function labLibvirtClientUri(ssh: Pick<LabDescription["ssh"], "privateKeyPath" | "knownHostsPath" | "port" | "user">, host: string): string {
  const q = new URLSearchParams({ keyfile: ssh.privateKeyPath, known_hosts: ssh.knownHostsPath, known_hosts_verify: "normal", sshauth: "privkey" });
  return `qemu+libssh://${ssh.user}@${host}:${ssh.port}/system?${q.toString()}`;
}
