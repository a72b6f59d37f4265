import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readLabDescription } from "../../lab/description";
import { run } from "../../lab/exec";
import { CEPHX_KEY } from "../../lib/ceph/bootstrap-secrets";
import { renderLibvirtCephScript } from "../../lib/kvm-node/node-script";
import { renderCephPoolScript } from "../../lib/ceph/pool-script";
import { remoteInvocation, stdinPayload } from "../../lib/core/script";
import { assertInManagerNamespace, ssh, virsh } from "../helpers/lab-client";

/**
 * The CephCluster pool script and the KvmNode libvirt script against the
 * lab's real daemons: the pool script makes an RBD pool and a cephx client
 * limited to it and prints only the key; the node script, run over SSH on
 * node1 with that key on stdin, defines the libvirt secret and RBD storage
 * pool from the rendered XML (virsh secret-define / pool-define) and the pool
 * runs. Everything made here is named h4a-* and removed in afterAll; the lab's
 * own pool, client and secret are left alone (and checked to be).
 */
jest.setTimeout(5 * 60_000);

const d = readLabDescription();
// Unique per run, so two sessions running the lab-client tests do not collide.
const RUN = crypto.randomBytes(3).toString("hex");
const POOL = `h4a-pool-${RUN}`;
const CLIENT = `h4a-client-${RUN}`;
const IMAGE = "h4a-img";
const uuid = crypto.randomUUID();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "h4a-lab-"));
const env = { ...process.env, CEPH_CONF: d.ceph.configPath };
const node = d.nodes[0];
let key = "";

const cephAdmin = (args: string[], allowFail = false) => run(["ceph", "--connect-timeout", "15", ...args], { env, allowFail, timeoutMs: 60_000 });
const poolScript = renderCephPoolScript({ pool: POOL, pgCount: 8, replicaSize: 3, clientName: CLIENT });
const nodeScript = renderLibvirtCephScript({ secretUuid: uuid, clientName: CLIENT, pool: POOL, monitors: [...d.ceph.monitors] });
const asClient = (tool: string, args: string[]) => {
  const keyring = path.join(tmp, "client.keyring");
  fs.writeFileSync(keyring, `[client.${CLIENT}]\n\tkey = ${key}\n`, { mode: 0o600 });
  return run([tool, "--id", CLIENT, "--keyring", keyring, ...args], { env, allowFail: true, timeoutMs: 60_000 });
};

beforeAll(() => assertInManagerNamespace(d));

afterAll(async () => {
  await run(virsh(node.clientUri, "pool-destroy", POOL), { allowFail: true });
  await run(virsh(node.clientUri, "pool-undefine", POOL), { allowFail: true });
  await run(virsh(node.clientUri, "secret-undefine", uuid), { allowFail: true });
  await ssh(d, node.sshHost, ["rm", "-f", `/etc/kvmcloud/libvirt/ceph-secret-${CLIENT}.xml`, `/etc/kvmcloud/libvirt/pool-${POOL}.xml`], { allowFail: true });
  await ssh(d, node.sshHost, ["sh", "-c", "rmdir /etc/kvmcloud/libvirt /etc/kvmcloud 2>/dev/null || true"], { allowFail: true });
  await run(["rbd", "rm", "--no-progress", `${POOL}/${IMAGE}`], { env, allowFail: true, timeoutMs: 60_000 });
  await cephAdmin(["osd", "pool", "delete", POOL, POOL, "--yes-i-really-really-mean-it"], true);
  await cephAdmin(["auth", "del", `client.${CLIENT}`], true);
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("CephCluster's pool script on the lab cluster", () => {
  it("creates the pool and client and prints nothing but the client's key", async () => {
    const r = await run(["bash", "-c", poolScript], { env, timeoutMs: 240_000 });
    key = r.stdout;
    expect(key).toMatch(CEPHX_KEY);
    expect((await cephAdmin(["auth", "get-key", `client.${CLIENT}`])).stdout.trim()).toBe(key);
  });

  it("gives the pool the asked size, the rbd application and the client only rbd caps on it", async () => {
    expect(JSON.parse((await cephAdmin(["osd", "pool", "get", POOL, "size", "-f", "json"])).stdout).size).toBe(3);
    expect(JSON.parse((await cephAdmin(["osd", "pool", "application", "get", POOL, "-f", "json"])).stdout)).toHaveProperty("rbd");
    const [entry] = JSON.parse((await cephAdmin(["auth", "get", `client.${CLIENT}`, "-f", "json"])).stdout) as Array<{ caps: Record<string, string> }>;
    expect(entry.caps).toEqual({ mgr: `profile rbd pool=${POOL}`, mon: "profile rbd", osd: `profile rbd pool=${POOL}` });
  });

  it("the key works in its pool and nowhere else", async () => {
    expect((await asClient("rbd", ["create", "--size", "8M", `${POOL}/${IMAGE}`])).code).toBe(0);
    const denied = await asClient("rbd", ["create", "--size", "8M", `${d.ceph.pool}/h4a-denied`]);
    if (denied.code === 0) {
      await run(["rbd", "rm", "--no-progress", `${d.ceph.pool}/h4a-denied`], { env, allowFail: true });
    }
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/Operation not permitted|permission denied|EPERM/i);
  });

  it("is idempotent: a second run prints the same key", async () => {
    const r = await run(["bash", "-c", poolScript], { env, timeoutMs: 240_000 });
    expect(r.stdout).toBe(key);
  });
});

describe("KvmNode's libvirt script on node1 over SSH", () => {
  const runOnNode = () => ssh(d, node.sshHost, ["sh", "-c", remoteInvocation(nodeScript)], { input: stdinPayload([key]), timeoutMs: 120_000, allowFail: true });

  it("defines the secret and the RBD pool from the rendered XML, and the pool runs", async () => {
    const r = await runOnNode();
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const secrets = (await run(virsh(node.clientUri, "secret-list"))).stdout;
    expect(secrets).toMatch(new RegExp(`${uuid}\\s+ceph client\\.${CLIENT} secret`));
    const info = (await run(virsh(node.clientUri, "pool-info", POOL))).stdout;
    expect(info).toMatch(/State:\s+running/);
    expect(info).toMatch(/Autostart:\s+yes/);
    const vols = (await run(virsh(node.clientUri, "vol-list", POOL))).stdout;
    expect(vols).toContain(IMAGE);
  });

  it("changes nothing on a second run and leaves the lab's own secret and pool alone", async () => {
    const r = await runOnNode();
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const secrets = (await run(virsh(node.clientUri, "secret-list"))).stdout;
    expect(secrets).toContain(d.ceph.secretUuid);
    expect((await run(virsh(node.clientUri, "pool-info", d.ceph.pool))).stdout).toMatch(/State:\s+running/);
  });
});
