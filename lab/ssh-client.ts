import { commandLine } from "../lib/core/shell";
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
 * ssh transport through the lab's ssh wrapper (lab key, host keys checked
 * against the lab's known_hosts; the transport itself takes no known_hosts
 * file). Not libssh: virsh crashed there (SIGSEGV) in a client-driven
 * migration between two such connections.
 */
export function labLibvirtClientUri(sshWrapper: string, user: string, host: string, port: number): string {
  const q = new URLSearchParams({ command: sshWrapper, no_tty: "1" });
  return `qemu+ssh://${user}@${host}:${port}/system?${q.toString()}`;
}

/** Pure: a shell script running the lab's ssh with its key and known_hosts, for programs that call `ssh` themselves. */
export function renderLabSshWrapper(ssh: Pick<LabDescription["ssh"], "privateKeyPath" | "knownHostsPath">): string {
  const opts = ["-i", ssh.privateKeyPath, "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", `UserKnownHostsFile=${ssh.knownHostsPath}`, "-o", "StrictHostKeyChecking=yes"];
  return `#!/bin/sh\n# Written by lab:up.\nexec ${commandLine(["ssh", ...opts])} "$@"\n`;
}
