import { CephPoolUsage, parseCephDf } from "../../ceph/ceph-df";
import { CommandRunner } from "../../transport/command-runner";

/**
 * Pool usage via `ceph df`, run on a KVM node as the cloud's cephx client:
 * its `profile rbd` caps allow it, so the exporter needs no admin key.
 */
export function cephDfArgv(clientName: string): string[] {
  return ["ceph", "--id", clientName, "--connect-timeout", "10", "df", "-f", "json"];
}

export async function collectCephPools(r: CommandRunner, clientName: string, timeoutMs: number): Promise<CephPoolUsage[]> {
  return [...parseCephDf((await r.run(cephDfArgv(clientName), { timeoutMs })).stdout).pools];
}
