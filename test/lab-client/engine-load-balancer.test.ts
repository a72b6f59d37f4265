import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { cloudSpecFromLab } from "../../lab/cloud-spec";
import { readLabDescription } from "../../lab/description";
import { createEngineStack, EngineStack } from "../../lab/engine-stack";
import { labPaths } from "../../lab/paths";
import { assertInManagerNamespace, httpGet, ssh } from "../helpers/lab-client";
import { guardSeenByGuest } from "../helpers/guest-like-client";
import { eventually, leftovers, scrub } from "../helpers/vm-lab";

/**
 * The product's LoadBalancer component under the real Pulumi engine, on a
 * bare Debian host (the lab's `lb`: systemd, sshd and nothing else until the
 * stack runs): `pulumi up` of two VMs with `kvm-cloud:frontends` installs and
 * configures HAProxy there through RemoteCommand, and it balances round robin
 * between the guests; a second up changes nothing; the private key and the
 * config on stdin are secrets in state; destroy stops HAProxy on the host.
 */

jest.setTimeout(20 * 60_000);

const d = readLabDescription();
const cloud = cloudSpecFromLab(d);
const suffix = crypto.randomBytes(3).toString("hex");
const names = [`lbe-${suffix}-1`, `lbe-${suffix}-2`];
const lb = d.hosts.lb.address;
const REMOTE_COMMAND = "pulumi-nodejs:dynamic/kvmcloud:RemoteCommand";
let s: EngineStack;

const timed = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
  const t0 = Date.now();
  const r = await f();
  process.stdout.write(`  [engine lb] ${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  return r;
};

const onLb = (argv: string[]) => ssh(d, lb, argv, { allowFail: true, timeoutMs: 30_000 });

beforeAll(async () => {
  assertInManagerNamespace(d);
  s = await createEngineStack(path.join(labPaths().state, "engine", "lb"), "lablb");
  await s.pulumi(["config", "set", "--secret", "kvm-cloud:cloudSpec"], { input: JSON.stringify(cloud) });
  await s.pulumi(["config", "set", "--secret", "kvm-cloud:sshPrivateKey"], { input: fs.readFileSync(d.ssh.privateKeyPath, "utf8") });
  s.setConfig({
    "kvm-cloud:image": d.baseImage.spec,
    "kvm-cloud:vms": names.map((name, i) => ({ name, vcpus: 1, memoryMiB: 192, diskGiB: 1, node: d.nodes[i % d.nodes.length].name })),
    // The tests' manager reads the stats (as Prometheus' host would); a guest must not.
    "kvm-cloud:loadBalancer": { address: lb, statsPort: 8404, statsClients: [`${d.hosts.mgr.address}/32`] },
    "kvm-cloud:frontends": [{ name: "web", port: 80, vms: names, healthCheckPath: "/" }],
  });
});

afterAll(async () => {
  await s?.pulumi(["destroy", "--yes"], { allowFail: true, timeoutMs: 300_000 });
  for (const n of names) await scrub(d, cloud, n);
});

describe("the LoadBalancer component on a bare host under the real engine", () => {
  it("starts from a host with no HAProxy running", async () => {
    expect((await onLb(["systemctl", "is-active", "haproxy"])).stdout.trim()).not.toBe("active");
  });

  it("ups two VMs behind HAProxy on the lb host, which answers round robin from both", async () => {
    const r = await timed("up: 2 VMs and the load balancer", () => s.program("up", [], { timeoutMs: 900_000 }));
    expect(r.stdout).toMatch(new RegExp(`\\+\\s+${REMOTE_COMMAND.replace(/[/]/g, "\\/")} lb-haproxy created`));
    const out = await s.outputs();
    expect(out.loadBalancerUrls).toEqual({ web: `http://${lb}:80` });
    expect((await onLb(["systemctl", "is-active", "haproxy"])).stdout.trim()).toBe("active");
    // Health checks take a few seconds to mark both guests up.
    const seen = await eventually(
      "both guests behind the load balancer",
      async () => {
        const got: string[] = [];
        for (let i = 0; i < 6; i++) got.push((await httpGet(lb, "/", 3000).catch(() => ({ body: "" }))).body.trim());
        return got;
      },
      (got) => names.every((n) => got.includes(n)),
      120_000,
      2000,
    );
    // Round robin: consecutive answers come from different guests.
    expect(seen.every((x, i) => i === 0 || x !== seen[i - 1])).toBe(true);
  });

  it("serves the stats port to the manager only: a machine at a guest's address is reset there, not on the frontend", async () => {
    expect((await httpGet(lb, "/metrics", 5000, 8404)).status).toBe(200);
    expect(await guardSeenByGuest(lb, 8404, 80)).toEqual(["ECONNREFUSED", "connected"]);
  });

  it("changes nothing on a second up", async () => {
    await timed("up with no change", () => s.program("up", ["--expect-no-changes"]));
  });

  it("keeps the SSH key and the config on stdin secret in state", async () => {
    const exported = (await s.pulumi(["stack", "export"])).stdout;
    expect(exported).not.toContain("PRIVATE KEY");
    const haproxy = (await s.resources()).find((x) => x.type === REMOTE_COMMAND && x.urn.endsWith("::lb-haproxy"))!;
    // 4dabf...: the marker of a secret value in Pulumi's state (its text is encrypted).
    for (const where of [haproxy.inputs, haproxy.outputs]) {
      for (const key of ["connection", "stdin"]) expect(JSON.stringify(where[key])).toContain("4dabf18193072939515e22adb298388d");
    }
    expect(String(haproxy.inputs.__provider).length).toBeLessThan(4096);
  });

  it("destroys the VMs and stops HAProxy on the host", async () => {
    await timed("destroy", () => s.pulumi(["destroy", "--yes"], { timeoutMs: 300_000 }));
    for (const n of names) expect(await leftovers(d, cloud, n)).toEqual([]);
    expect((await onLb(["systemctl", "is-active", "haproxy"])).stdout.trim()).not.toBe("active");
    expect(await s.resources()).toEqual([]);
  });
});
