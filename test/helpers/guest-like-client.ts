import * as crypto from "crypto";
import { run } from "../../lab/exec";
import { PREFIX_LENGTH, SWITCH_BRIDGE, SWITCH_NS } from "../../lab/topology";

/**
 * A throwaway namespace plugged into the lab switch at an address a guest
 * could give itself (in the VM network, outside the range dnsmasq hands
 * out), for tests of who may reach a host's services. Lives only inside lab
 * namespaces; removed by close().
 */
export interface GuestLikeClient {
  readonly address: string;
  /** A TCP connect to host:port from the namespace: "connected" or the error code (ECONNREFUSED for a reset). */
  connect(host: string, port: number): Promise<string>;
  close(): Promise<void>;
}

export async function guestLikeClient(address = "10.77.100.252"): Promise<GuestLikeClient> {
  const tag = crypto.randomBytes(3).toString("hex");
  const ns = `kgl-${tag}`;
  const swEnd = `kgl-s${tag}`;
  const end = `kgl-c${tag}`;
  await run(["ip", "netns", "add", ns]);
  await run(["ip", "-n", SWITCH_NS, "link", "add", swEnd, "type", "veth", "peer", "name", end, "netns", ns]);
  await run(["ip", "-n", SWITCH_NS, "link", "set", swEnd, "master", SWITCH_BRIDGE, "up"]);
  await run(["ip", "-n", ns, "addr", "add", `${address}/${PREFIX_LENGTH}`, "dev", end]);
  await run(["ip", "-n", ns, "link", "set", end, "up"]);
  await run(["ip", "-n", ns, "link", "set", "lo", "up"]);
  return {
    address,
    async connect(host, port) {
      const js = `const s=require('net').connect({host:${JSON.stringify(host)},port:${port},timeout:5000});s.on('connect',()=>{console.log('connected');s.destroy()});s.on('error',(e)=>console.log(e.code));s.on('timeout',()=>{console.log('TIMEOUT');s.destroy()});`;
      return (await run(["ip", "netns", "exec", ns, process.execPath, "-e", js], { timeoutMs: 20_000 })).stdout.trim();
    },
    async close() {
      await run(["ip", "-n", SWITCH_NS, "link", "del", swEnd], { allowFail: true });
      await run(["ip", "netns", "del", ns], { allowFail: true });
    },
  };
}

/**
 * From a machine at a guest's address: what a guarded port and an open port
 * of one host answer (expected ["ECONNREFUSED", "connected"]: the guard
 * resets, and the host itself is reachable, so the reset is the guard's).
 */
export async function guardSeenByGuest(host: string, guardedPort: number, openPort: number): Promise<[string, string]> {
  const guest = await guestLikeClient();
  try {
    return [await guest.connect(host, guardedPort), await guest.connect(host, openPort)];
  } finally {
    await guest.close();
  }
}
