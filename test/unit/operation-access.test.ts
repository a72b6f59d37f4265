import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { CloudSpec } from "../../lib/vm/cloud-spec";
import { operationAccess } from "../../lib/vm/cloud-access";
import { LoopbackSshd, startLoopbackSshd } from "../helpers/loopback-sshd";

/**
 * operationAccess against a real sshd on loopback: the steps of one operation,
 * and of operations running at once, share one SSH connection per host (the client's port, as sshd reports it in
 * $SSH_CONNECTION, stays the same), parallel steps run as channels of it, a
 * connection the host dropped is opened again on the next step, and close()
 * ends it; a new operation gets a new one.
 */

// Real SSH handshakes: each takes a second or more on a busy 2-core machine.
jest.setTimeout(30_000);

let sshd: LoopbackSshd;
let cloud: CloudSpec;

beforeAll(async () => {
  sshd = await startLoopbackSshd();
  const t = sshd.target;
  const ssh = { host: t.host, port: t.port, user: t.user, privateKey: t.privateKey };
  cloud = {
    nodes: [{ name: "node1", ssh, libvirtUri: "qemu+ssh://root@127.0.0.1/system" }],
    ceph: { pool: "libvirt-pool", monitors: ["192.0.2.11"], secretUuid: "3f0e8a34-1c2b-4d5e-9f60-718293a4b5c6" },
    dhcp: { ssh, leaseFile: "/var/lib/misc/dnsmasq.leases", domain: "cloud.example", range: { start: "192.0.2.100", end: "192.0.2.199" } },
    inventory: { postgresUrl: "postgres://u:p@192.0.2.3:5432/kvmcloud", redisUrl: "redis://:p@192.0.2.3:6379/0" },
    knownHosts: t.knownHosts,
  };
}, 30_000);

afterAll(() => sshd?.stop());

/** The client side's port of the SSH connection a command ran over. */
const clientPort = (stdout: string) => stdout.trim().split(" ")[1];
const whoAmI = ["sh", "-c", 'printf %s "$SSH_CONNECTION"'];

describe("operationAccess", () => {
  it("runs every step of one operation, parallel ones too, over one connection per host", async () => {
    const access = operationAccess(cloud);
    try {
      const first = clientPort((await access.onNode("node1", (r) => r.run(whoAmI))).stdout);
      const parallel = await Promise.all(Array.from({ length: 4 }, () => access.onNode("node1", (r) => r.run(whoAmI))));
      expect(parallel.map((p) => clientPort(p.stdout))).toEqual([first, first, first, first]);
      const dhcp = clientPort((await access.onDhcp((r) => r.run(whoAmI))).stdout);
      expect(dhcp).not.toBe(first);
      expect(clientPort((await access.onDhcp((r) => r.run(whoAmI))).stdout)).toBe(dhcp);
    } finally {
      await access.close();
    }
  });

  it("opens the connection again when the host dropped it, and a new one for the next operation", async () => {
    const access = operationAccess(cloud);
    let first = "";
    try {
      first = clientPort((await access.onNode("node1", (r) => r.run(whoAmI))).stdout);
      // The host drops every connection (what a restarted or fenced host does): sshd's per-connection children die.
      const master = fs.readFileSync(path.join(sshd.dir, "sshd.pid"), "utf8").trim();
      expect(spawnSync("pkill", ["-KILL", "-P", master]).status).toBe(0);
      await new Promise((r) => setTimeout(r, 300));
      const again = clientPort((await access.onNode("node1", (r) => r.run(whoAmI))).stdout);
      expect(again).not.toBe(first);
    } finally {
      await access.close();
    }
    const next = operationAccess(cloud);
    try {
      expect(clientPort((await next.onNode("node1", (r) => r.run(whoAmI))).stdout)).not.toBe(first);
    } finally {
      await next.close();
    }
    await expect(next.onNode("node1", (r) => r.run(whoAmI))).rejects.toThrow(/used after close\(\)/);
  });

  it("shares a host's connection between operations running at once", async () => {
    const one = operationAccess(cloud);
    const two = operationAccess(cloud);
    try {
      const a = clientPort((await one.onNode("node1", (r) => r.run(whoAmI))).stdout);
      const b = clientPort((await two.onNode("node1", (r) => r.run(whoAmI))).stdout);
      expect(b).toBe(a);
      await one.close();
      expect(clientPort((await two.onNode("node1", (r) => r.run(whoAmI))).stdout)).toBe(a);
    } finally {
      await one.close();
      await two.close();
    }
  });

  it("leaves no connection open after close()", async () => {
    const access = operationAccess(cloud);
    await access.onNode("node1", (r) => r.run(["true"]));
    await access.onDhcp((r) => r.run(["true"]));
    await access.close();
    await new Promise((r) => setTimeout(r, 500));
    const port = String(sshd.target.port);
    const open = spawnSync("ss", ["-Htn", "state", "established", `( dport = :${port} )`], { encoding: "utf8" }).stdout.trim();
    expect(open).toBe("");
  });
});
