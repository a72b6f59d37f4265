import { output, run, succeeds } from "./exec";
import { LabHost, NETWORK, nicMac, PREFIX, PREFIX_LENGTH, SWITCH_BRIDGE, SWITCH_NS, vethNames } from "./topology";
import { DEFAULT_BRIDGE } from "../lib/kvm-node/bridge-config";

/**
 * The lab's L2 segment: a bridge in its own namespace, and one veth per host
 * namespace. Each function checks what exists and repairs what does not, so a
 * lab left half-made by a killed run is mended rather than rejected.
 */

export async function listNamespaces(): Promise<string[]> {
  const text = await output(["ip", "netns", "list"]);
  return text
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0])
    .filter((n) => n && n.length > 0);
}

export async function labNamespaces(): Promise<string[]> {
  return (await listNamespaces()).filter((n) => n.startsWith(`${PREFIX}-`));
}

async function ensureNamespace(ns: string): Promise<void> {
  if (!(await listNamespaces()).includes(ns)) {
    await run(["ip", "netns", "add", ns]);
  }
  await run(["ip", "-n", ns, "link", "set", "lo", "up"]);
}

async function linkExists(ns: string, dev: string): Promise<boolean> {
  return succeeds(["ip", "-n", ns, "link", "show", "dev", dev]);
}

async function linkMaster(ns: string, dev: string): Promise<string | undefined> {
  const text = await output(["ip", "-n", ns, "-o", "link", "show", "dev", dev], { allowFail: true });
  const m = /\smaster (\S+)/.exec(text);
  return m ? m[1] : undefined;
}

export async function ensureSwitch(): Promise<void> {
  await ensureNamespace(SWITCH_NS);
  if (!(await linkExists(SWITCH_NS, SWITCH_BRIDGE))) {
    await run(["ip", "-n", SWITCH_NS, "link", "add", SWITCH_BRIDGE, "type", "bridge", "stp_state", "0"]);
  }
  await run(["ip", "-n", SWITCH_NS, "link", "set", SWITCH_BRIDGE, "up"]);
}

/**
 * Joins a host namespace to the switch, with the host's address on eth0 as
 * an installer leaves a real host, unless the host configures its network
 * itself (`ownConfig`): on a KVM node KvmNode moves the address onto br0 and
 * makes that permanent, so the host's boot puts it there.
 */
export async function ensureHostNetwork(h: LabHost, ownConfig = false): Promise<void> {
  await ensureNamespace(h.ns);
  const { hostSide, switchSide } = vethNames(h);
  const healthy =
    (await linkExists(h.ns, hostSide)) && (await linkMaster(SWITCH_NS, switchSide)) === SWITCH_BRIDGE;
  if (!healthy) {
    // A leftover from a killed run (or a dummy someone made): start over.
    await run(["ip", "-n", h.ns, "link", "del", hostSide], { allowFail: true });
    await run(["ip", "-n", SWITCH_NS, "link", "del", switchSide], { allowFail: true });
    await run(["ip", "link", "add", switchSide, "netns", SWITCH_NS, "type", "veth", "peer", "name", hostSide, "address", nicMac(h), "netns", h.ns]);
    await run(["ip", "-n", SWITCH_NS, "link", "set", switchSide, "master", SWITCH_BRIDGE]);
  }
  await run(["ip", "-n", SWITCH_NS, "link", "set", switchSide, "up"]);
  await run(["ip", "-n", h.ns, "link", "set", hostSide, "up"]);
  const onBridge = (await output(["ip", "-n", h.ns, "-o", "-4", "addr", "show", "dev", DEFAULT_BRIDGE], { allowFail: true })).includes(` ${h.address}/`);
  if (!onBridge && !ownConfig) {
    await run(["ip", "-n", h.ns, "addr", "replace", `${h.address}/${PREFIX_LENGTH}`, "dev", hostSide]);
  }
}

/** The device that carries a host's address (on KVM nodes the bridge KvmNode makes by default). */
export function hostDevice(h: LabHost): string {
  return h.role === "node" ? DEFAULT_BRIDGE : vethNames(h).hostSide;
}

/** Kills every process in a namespace: SIGTERM, a bounded wait, then SIGKILL. */
export async function killNamespaceProcesses(ns: string, graceMs = 5000): Promise<void> {
  const pids = async () =>
    (await output(["ip", "netns", "pids", ns], { allowFail: true }))
      .split("\n")
      .map((s) => s.trim())
      .filter((s) => /^\d+$/.test(s));
  let left = await pids();
  if (left.length === 0) {
    return;
  }
  await run(["kill", "-TERM", ...left], { allowFail: true });
  const deadline = Date.now() + graceMs;
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    left = await pids();
  }
  if (left.length > 0) {
    await run(["kill", "-KILL", ...left], { allowFail: true });
    await new Promise((r) => setTimeout(r, 300));
  }
}

export async function deleteNamespace(ns: string): Promise<void> {
  await killNamespaceProcesses(ns);
  await run(["ip", "netns", "del", ns], { allowFail: true });
}

export const LAB_CIDR = `${NETWORK}/${PREFIX_LENGTH}`;
