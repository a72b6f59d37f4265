import { commandLine } from "../lib/shell";
import { LabDescription } from "./description";

/**
 * argv of `ssh` into a lab host with the lab key, verifying the host key
 * against the lab's known_hosts. Run it inside the manager namespace.
 */
export function labSshArgv(d: LabDescription, host: string, argv: readonly string[]): string[] {
  return [
    "ssh", "-i", d.ssh.privateKeyPath, "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
    "-o", `UserKnownHostsFile=${d.ssh.knownHostsPath}`, "-o", "StrictHostKeyChecking=yes",
    "-p", String(d.ssh.port), `${d.ssh.user}@${host}`, "--", commandLine(argv),
  ];
}
