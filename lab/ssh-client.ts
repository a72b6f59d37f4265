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
