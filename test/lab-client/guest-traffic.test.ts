import * as crypto from "crypto";
import * as http from "http";
import { AddressInfo } from "net";
import { cloudSpecFromLab } from "../../lab/cloud-spec";
import { readLabDescription } from "../../lab/description";
import { hostByName } from "../../lab/topology";
import { httpGet, ssh, virsh } from "../helpers/lab-client";
import { output } from "../../lab/exec";
import { guestLikeClient } from "../helpers/guest-like-client";
import { labProviderHostForSuite } from "../helpers/lab-provider-host";
import { eventually, leftovers, scrub } from "../helpers/vm-lab";

/**
 * What a guest may send, seen from outside it, on a node with the default
 * guest traffic policy, "clean" (KvmNode's guestTraffic). A VM made through
 * the provider host runs, from its seed's runcmd, right after its lease: an
 * HTTP request from its own address (which must arrive, or the test has seen
 * nothing and fails), the same request from an address it gave itself, and
 * a DHCP server. The provider fixed the guest's address before the boot, so
 * the node's filter holds it from the first packet: the spoofed request must
 * never arrive; a DHCP client on the VM network must get dnsmasq's offers
 * and none of the guest's, although the guest's server runs; the node's
 * filter counters show both drops.
 */

jest.setTimeout(10 * 60_000);

const d = readLabDescription();
const cloud = cloudSpecFromLab(d);
const name = `traffic-${crypto.randomBytes(3).toString("hex")}`;
const manager = hostByName("mgr").address;
// Outside dnsmasq's range and the guest-like clients' address.
const SPOOFED = "10.77.100.251";
let server: http.Server;
const seen: Array<{ path: string; from: string }> = [];

/**
 * The counters of the guest's filter on the node, in the chain of what the
 * VM's tap sends: DHCP server replies dropped, and packets from an address
 * other than the guest's own dropped as IP or as ARP (should the guest have
 * to ask for its peer's MAC from that address). Listed by ebtables: nft
 * prints these rules with its own warning in the middle of a line.
 */
async function filterCounts(node: string, tap: string): Promise<{ learned: string | undefined; dhcpServerDrops: number; spoofedIpDrops: number; spoofedArpDrops: number }> {
  const n = d.nodes.find((x) => x.name === node)!;
  const chain = (await ssh(d, n.sshHost, ["timeout", "10", "ebtables", "-t", "nat", "-L", `libvirt-I-${tap}`, "--Lc"])).stdout;
  const count = (re: RegExp) => Number(re.exec(chain)?.[1] ?? NaN);
  return {
    // The one address admitted (the domain's filter parameter; learned, for a domain defined without one).
    learned: /-p IPv4 --ip-src ! (\d+\.\d+\.\d+\.\d+) -j DROP/.exec(chain)?.[1],
    dhcpServerDrops: count(/--ip-sport 67 -j DROP , pcnt = (\d+)/),
    spoofedIpDrops: count(/-p IPv4 --ip-src ! \S+ -j DROP , pcnt = (\d+)/),
    spoofedArpDrops: count(/--arp-ip-src ! \S+ -j DROP , pcnt = (\d+)/),
  };
}

const host = labProviderHostForSuite(d, async () => {
  server?.close();
  await scrub(d, cloud, name);
});

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push({ path: req.url ?? "", from: (req.socket.remoteAddress ?? "").replace(/^::ffff:/, "") });
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, manager, resolve));
  // The stack's default, not set by the test: what every user gets.
  const filter = await output(virsh(d.nodes.find((n) => n.name === "node1")!.clientUri, "nwfilter-dumpxml", "kvmcloud-guest"));
  expect(filter).toContain("<ip match='no' srcipaddr='$IP'/>");
});

describe("a guest on a node with the default traffic policy (clean)", () => {
  it("reaches others from its own address only, and its DHCP server reaches nobody", async () => {
    const url = (p: string) => `http://${manager}:${(server.address() as AddressInfo).port}/${p}`;
    const runcmd = [
      `wget -q -O /dev/null ${url("own")}`,
      "printf 'start 10.77.200.10\\nend 10.77.200.20\\ninterface eth0\\nlease_file /tmp/udhcpd.leases\\noption subnet 255.255.0.0\\n' > /tmp/udhcpd.conf",
      "touch /tmp/udhcpd.leases && udhcpd /tmp/udhcpd.conf && pidof udhcpd > /www/udhcpd.txt",
      `ip address add ${SPOOFED}/32 dev eth0 && ip route add ${manager}/32 dev eth0 src ${SPOOFED}`,
      // busybox wget crashes on a connect that times out; nc just gives up.
      `printf 'GET /spoofed HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${manager} ${(server.address() as AddressInfo).port}; ip route del ${manager}/32`,
      `wget -q -O /dev/null ${url("done")}`,
    ];
    const checked = await host.check({}, { cloud, name, node: "node1", vcpus: 1, memoryMiB: 192, diskGiB: 1, image: d.baseImage.spec, stack: "labtest", userData: { runcmd } });
    expect(checked.failures).toEqual([]);
    const created = await host.create(checked.inputs);
    const ip = created.properties.ip as string;
    const tap = (await output(virsh(d.nodes.find((n) => n.name === "node1")!.clientUri, "domiflist", name))).split("\n").map((l) => l.trim().split(/\s+/)[0]).find((t) => /^vnet\d+$/.test(t));
    expect(tap).toBeDefined();
    // In place when create returns (nothing left to learn): the guest's runcmd is already misbehaving.
    expect((await filterCounts("node1", tap!)).learned).toBe(ip);
    await eventually("the guest's last runcmd request", async () => seen.map((s) => s.path), (paths) => paths.includes("/done"), 180_000);
    expect(seen).toEqual([
      { path: "/own", from: ip },
      { path: "/done", from: ip },
    ]);

    const udhcpd = await httpGet(ip, "/udhcpd.txt", 3000);
    expect(udhcpd.body.trim()).toMatch(/^\d+$/);
    const client = await guestLikeClient();
    const offers = await client.dhcpOffers(4000).finally(() => client.close());
    process.stdout.write(`  DHCP offers seen: ${JSON.stringify(offers)}\n`);
    expect(offers.length).toBeGreaterThan(0);
    expect(offers.filter((o) => o.server === d.dhcp.host)).toHaveLength(offers.length);

    const counts = await filterCounts("node1", tap!);
    process.stdout.write(`  filter on ${tap}: ${JSON.stringify(counts)}\n`);
    expect(counts.dhcpServerDrops).toBeGreaterThan(0);
    expect(counts.spoofedIpDrops).toBeGreaterThan(0);

    await host.delete(created.id, created.properties);
    expect(await leftovers(d, cloud, name)).toEqual([]);
  });
});
