import * as net from "net";
import { LabDescription } from "../../lab/description";
import { output, run, RunOptions } from "../../lab/exec";
import { labSshArgv } from "../../lab/ssh-client";

export { httpGet } from "../../lab/http-probe";

/**
 * What a test inside the manager namespace uses to reach the lab: ssh with the
 * lab key, virsh over libvirt's TCP listener, plain HTTP to guests.
 */

export function ssh(d: LabDescription, host: string, argv: readonly string[], opts: RunOptions = {}) {
  return run(labSshArgv(d.ssh, host, argv), opts);
}

export function virsh(uri: string, ...args: string[]): string[] {
  return ["virsh", "-q", "-c", uri, ...args];
}

export function nodeUri(d: LabDescription, node: string): string {
  const n = d.nodes.find((x) => x.name === node);
  if (!n) throw new Error(`no node ${node} in the lab description`);
  return n.clientUri;
}

/** rbd as client.libvirt on a KVM node, the way the provider runs it. */
export function rbdOnNode(d: LabDescription, node: string, args: readonly string[], opts: RunOptions = {}) {
  const n = d.nodes.find((x) => x.name === node)!;
  return ssh(d, n.sshHost, ["rbd", "--id", d.ceph.clientName, ...args], opts);
}

export async function domainsOn(uri: string): Promise<string[]> {
  return (await output(virsh(uri, "list", "--all", "--name"))).split("\n").map((s) => s.trim()).filter(Boolean);
}

export function assertInManagerNamespace(d: LabDescription): void {
  const self = require("fs").readlinkSync("/proc/self/ns/net");
  const mgr = require("fs").statSync(`/run/netns/${d.managerNamespace}`).ino;
  if (!self.includes(String(mgr))) {
    throw new Error(`these tests talk to lab addresses and must run inside ${d.managerNamespace} (ip netns exec); see test/run-all.sh`);
  }
}

/** A TCP connection from this test's namespace: "connected", the error code (e.g. ECONNREFUSED for a reset) or "TIMEOUT". */
export function tcpConnect(host: string, port: number, timeoutMs = 5000): Promise<string> {
  return new Promise<string>((resolve) => {
    const sock = net.connect({ host, port, timeout: timeoutMs });
    sock.on("connect", () => (sock.destroy(), resolve("connected")));
    sock.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    sock.on("timeout", () => (sock.destroy(), resolve("TIMEOUT")));
  });
}
