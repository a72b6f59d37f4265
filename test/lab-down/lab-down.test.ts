import * as fs from "fs";
import { labDown } from "../../lab/lab-down";
import { labNamespaces } from "../../lab/netns";
import { labPaths } from "../../lab/paths";

/** lab:down leaves nothing behind: no namespace, no lab process, no file, no mount. */

jest.setTimeout(5 * 60_000);

const p = labPaths();
// comm is cut at 15 characters: "prometheus-node" is prometheus-node-exporter.
const DAEMONS = ["ceph-mon", "ceph-mgr", "ceph-osd", "libvirtd", "virtlogd", "qemu-system-x86", "dnsmasq", "redis-server", "postgres", "sshd", "prometheus", "prometheus-node"];

function processes(): Array<{ pid: string; comm: string; cmdline: string; netns: string }> {
  const out = [];
  for (const pid of fs.readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      out.push({
        pid,
        comm: fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim(),
        cmdline: fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " "),
        netns: fs.readlinkSync(`/proc/${pid}/ns/net`),
      });
    } catch {
      // exited while we looked
    }
  }
  return out;
}

describe("lab:down", () => {
  beforeAll(async () => {
    await labDown(() => undefined, p);
  });

  it("removes every namespace of the lab", async () => {
    expect(await labNamespaces()).toEqual([]);
  });

  it("leaves no lab process running", () => {
    const rootNet = fs.readlinkSync("/proc/self/ns/net"); // this test runs in the root namespace
    const left = processes().filter(
      (x) => x.cmdline.includes(p.state) || (DAEMONS.includes(x.comm) && x.netns !== rootNet),
    );
    expect(left).toEqual([]);
  });

  it("removes its files and mounts", () => {
    expect(fs.existsSync(p.state)).toBe(false);
    const mounts = fs.readFileSync("/proc/self/mountinfo", "utf8");
    expect(mounts.includes(p.state)).toBe(false);
    expect(mounts.includes("kvm-cloud-lab")).toBe(false);
  });

  it("removes the cgroups of its bare hosts", () => {
    const left = ["systemd", "unified"].flatMap((c) => fs.readdirSync(`/sys/fs/cgroup/${c}`).filter((d) => d.startsWith("kcl-")).map((d) => `${c}/${d}`));
    expect(left).toEqual([]);
  });
});
