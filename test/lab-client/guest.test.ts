import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readLabDescription } from "../../lab/description";
import { run, waitFor } from "../../lab/exec";
import { buildSeedImage } from "../../lab/guest-image";
import { renderMetaData, renderUserData } from "../../lib/vm/cloud-init";
import { renderDomainXml } from "../../lib/vm/domain-xml";
import { leaseForMac, parseDnsmasqLeases } from "../../lib/dnsmasq/leases";
import { watchAnswers } from "../../lab/http-probe";
import { assertInManagerNamespace, domainsOn, httpGet, nodeUri, rbdOnNode, ssh, virsh } from "../helpers/lab-client";
import { guestInfo } from "../helpers/vm-lab";

/**
 * A guest made by hand (clone, seed, domain XML, virsh) on node1: it boots
 * from its RBD clone, takes its hostname from the NoCloud seed, gets a DHCP
 * lease under that name, answers HTTP with it, and keeps answering while it
 * live-migrates to node2. Runs inside the lab's manager namespace.
 */

jest.setTimeout(10 * 60_000);

const d = readLabDescription();
const name = `labtest-${crypto.randomBytes(3).toString("hex")}`;
const mac = `52:54:00:${crypto.randomBytes(3).toString("hex").match(/../g)!.join(":")}`;
const pool = d.ceph.pool;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kvmcloud-labtest-"));
let ip = "";

async function readLease() {
  const r = await ssh(d, d.dhcp.host, ["cat", d.dhcp.leaseFile]);
  return leaseForMac(parseDnsmasqLeases(r.stdout), mac, Date.now() / 1000);
}

beforeAll(() => assertInManagerNamespace(d));

afterAll(async () => {
  for (const n of d.nodes) {
    await run(virsh(n.clientUri, "destroy", name), { allowFail: true });
    await run(virsh(n.clientUri, "undefine", name), { allowFail: true });
  }
  await rbdOnNode(d, "node1", ["rm", "--no-progress", `${pool}/${name}-root`], { allowFail: true });
  await rbdOnNode(d, "node1", ["rm", "--no-progress", `${pool}/${name}-seed`], { allowFail: true });
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("a hand-made guest on node1", () => {
  it("boots from a clone of the base image and leases an address under its seed's hostname", async () => {
    await rbdOnNode(d, "node1", ["clone", d.baseImage.spec, `${pool}/${name}-root`]);
    const seed = path.join(tmp, "seed.iso");
    await buildSeedImage(seed, {
      metaData: renderMetaData({ instanceId: name, hostname: name }),
      userData: renderUserData({ hostname: name, sshAuthorizedKeys: [d.ssh.publicKey] }),
    });
    await rbdOnNode(d, "node1", ["import", "--no-progress", "-", `${pool}/${name}-seed`], { input: fs.readFileSync(seed) });
    const xml = path.join(tmp, "domain.xml");
    fs.writeFileSync(
      xml,
      renderDomainXml({
        name, domainType: "qemu", vcpus: 1, memoryMiB: 192, mac, bridge: "br0",
        rbd: { pool, monitors: d.ceph.monitors, clientName: d.ceph.clientName, secretUuid: d.ceph.secretUuid },
        diskImage: `${name}-root`, seedImage: `${name}-seed`,
      }),
    );
    const uri = nodeUri(d, "node1");
    await run(virsh(uri, "define", xml));
    const t0 = Date.now();
    await run(virsh(uri, "start", name));
    const lease = await waitFor(`a DHCP lease for ${mac}`, readLease, 180_000, 500);
    process.stdout.write(`  boot to lease: ${((Date.now() - t0) / 1000).toFixed(1)} s, ${lease.ip}\n`);
    expect(lease.hostname).toBe(name);
    ip = lease.ip;
  });

  it("answers HTTP from the manager namespace with its hostname", async () => {
    expect(ip).not.toBe("");
    const res = await waitFor("the guest's HTTP answer", async () => httpGet(ip).catch(() => undefined), 60_000, 500);
    expect(res.status).toBe(200);
    expect(res.body.trim()).toBe(name);
  });

  it("runs its kernel with no_timer_check, so a loaded TCG host cannot fail the IO-APIC timer check", async () => {
    expect(ip).not.toBe("");
    const info = await guestInfo(ip);
    expect(info.hostname).toBe(name);
    expect(info.cmdline.split(" ")).toContain("no_timer_check");
  });

  it("live-migrates to node2 and keeps answering", async () => {
    expect(ip).not.toBe("");
    const src = nodeUri(d, "node1");
    const dst = nodeUri(d, "node2");
    const dstAddress = d.nodes.find((n) => n.name === "node2")!.address;
    const watch = watchAnswers(ip, name);
    const t0 = Date.now();
    let seen: { answers: number; longestGapMs: number };
    try {
      await run(virsh(src, "migrate", "--live", "--persistent", "--undefinesource", name, dst, "--migrateuri", `tcp://${dstAddress}`), {
        timeoutMs: 300_000,
      });
    } finally {
      seen = await watch.stop();
    }
    const { answers: answered, longestGapMs } = seen;
    process.stdout.write(`  migration: ${((Date.now() - t0) / 1000).toFixed(1)} s, longest HTTP gap ${longestGapMs} ms, ${answered} answers\n`);
    expect(await domainsOn(src)).not.toContain(name);
    expect(await domainsOn(dst)).toContain(name);
    const state = await run(virsh(dst, "domstate", name));
    expect(state.stdout.trim()).toBe("running");
    expect(answered).toBeGreaterThan(0);
    const after = await httpGet(ip);
    expect(after.body.trim()).toBe(name);
  });
});
