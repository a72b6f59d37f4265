import { parseNodeInfo } from "../../vm/virsh-output";
import { parseDomStats } from "../../kvm-node/virsh-domstats";
import { CommandRunner } from "../../transport/command-runner";
import { NodeSnapshot } from "./snapshot";

/** virsh on the node itself (over the node's SSH), never a remote libvirt URI. */
const VIRSH = ["virsh", "-q", "-c", "qemu:///system"] as const;

/**
 * The statistics groups the exporter reads; each maps to metrics in metrics.ts.
 * `--nowait`: a domain busy with a job (starting, migrating, a slow QEMU
 * monitor) reports what needs no job instead of queueing a query job behind
 * it. Without it, in CI under 16 parallel creates, libvirtd held the
 * exporter's abandoned domstats jobs ("cannot acquire state change lock (held
 * by monitor=remoteDispatchConnectGetAllDomainStats)") while a guest's start
 * ran past its 120 s bound on the same node.
 */
export const DOMSTATS_ARGV: readonly string[] = [...VIRSH, "domstats", "--nowait", "--state", "--cpu-total", "--balloon", "--vcpu", "--interface", "--block"];
export const NODEINFO_ARGV: readonly string[] = [...VIRSH, "nodeinfo"];

/** Capacity and every domain's statistics of one node. Throws when the node or libvirt does not answer. */
export async function collectNode(r: CommandRunner, node: string, timeoutMs: number): Promise<NodeSnapshot> {
  const info = parseNodeInfo((await r.run(NODEINFO_ARGV, { timeoutMs })).stdout);
  const domains = parseDomStats((await r.run(DOMSTATS_ARGV, { timeoutMs })).stdout);
  return { node, cpus: info.cpus, memoryBytes: info.memoryMiB * 1024 * 1024, domains };
}
