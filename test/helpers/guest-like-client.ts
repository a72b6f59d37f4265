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
  /**
   * DHCP offers this machine receives for its broadcast DISCOVERs (three, a
   * second apart, broadcast flag set) within `ms`: each offer's server
   * identifier (option 54) and offered address. Nothing is leased: no REQUEST follows.
   */
  dhcpOffers(ms: number): Promise<Array<{ server: string; offered: string }>>;
  close(): Promise<void>;
}

// Runs in the namespace: binds the DHCP client port and prints the offers as JSON.
const DHCP_PROBE = `
const dgram = require("dgram"), crypto = require("crypto");
const ms = Number(process.argv[1]), mac = Buffer.from(crypto.randomBytes(6)); mac[0] = 0x52; mac[1] = 0x54; mac[2] = 0;
const xid = crypto.randomBytes(4), offers = [];
const ip = (b) => [...b].join(".");
const s = dgram.createSocket({ type: "udp4", reuseAddr: true });
s.on("message", (m) => {
  if (m.length < 240 || m[0] !== 2 || !m.subarray(4, 8).equals(xid)) return;
  let type = 0, server = "";
  for (let o = 240; o < m.length && m[o] !== 255; ) {
    if (m[o] === 0) { o++; continue; }
    const code = m[o], len = m[o + 1], v = m.subarray(o + 2, o + 2 + len);
    if (code === 53) type = v[0];
    if (code === 54 && len === 4) server = ip(v);
    o += 2 + len;
  }
  if (type === 2) offers.push({ server, offered: ip(m.subarray(16, 20)) });
});
const discover = () => {
  const b = Buffer.alloc(300);
  b[0] = 1; b[1] = 1; b[2] = 6; xid.copy(b, 4); b.writeUInt16BE(0x8000, 10); mac.copy(b, 28);
  b.writeUInt32BE(0x63825363, 236); Buffer.from([53, 1, 1, 255]).copy(b, 240);
  s.send(b, 67, "255.255.255.255");
};
s.bind(68, () => {
  s.setBroadcast(true);
  for (let i = 0; i < 3; i++) setTimeout(discover, i * 1000);
  setTimeout(() => { console.log(JSON.stringify(offers)); s.close(); }, ms);
});`;

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
  // Only for the limited broadcast of DHCP: without a route, sending to 255.255.255.255 fails.
  await run(["ip", "-n", ns, "route", "add", "255.255.255.255/32", "dev", end]);
  const nodeIn = async (js: string, args: string[], timeoutMs: number) =>
    (await run(["ip", "netns", "exec", ns, process.execPath, "-e", js, ...args], { timeoutMs })).stdout.trim();
  return {
    address,
    async connect(host, port) {
      const js = `const s=require('net').connect({host:${JSON.stringify(host)},port:${port},timeout:5000});s.on('connect',()=>{console.log('connected');s.destroy()});s.on('error',(e)=>console.log(e.code));s.on('timeout',()=>{console.log('TIMEOUT');s.destroy()});`;
      return nodeIn(js, [], 20_000);
    },
    async dhcpOffers(ms) {
      return JSON.parse(await nodeIn(DHCP_PROBE, [String(ms)], ms + 15_000)) as Array<{ server: string; offered: string }>;
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
