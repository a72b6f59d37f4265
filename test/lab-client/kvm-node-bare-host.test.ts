import { readLabDescription } from "../../lab/description";
import { renderGuestFilterScript, renderKvmPackagesScript, renderLibvirtQemuConfScript } from "../../lib/kvm-node/node-script";
import { assertInManagerNamespace, ssh } from "../helpers/lab-client";
import { RemoteCommands, remoteCommandsTo } from "../helpers/remote-commands";

/**
 * KvmNode's libvirt scripts on a bare Debian host (the lab's `lb`, whose
 * kernel has no AppArmor), through the RemoteCommand provider in Pulumi's
 * dynamic-provider host: libvirtd comes up from the packages script; the
 * default security driver "apparmor" is refused before anything changes
 * (it used to restart libvirtd into "Security driver apparmor not enabled"
 * and still report success); "none" is set once and libvirtd keeps running.
 * The guests' traffic filter is defined over one made by hand under another
 * UUID (libvirt refuses a new UUID for a defined filter) and its policy changes in place.
 */

jest.setTimeout(5 * 60_000);

const d = readLabDescription();
const address = d.hosts.lb.address;
let commands: RemoteCommands;

const onHost = (argv: string[]) => ssh(d, address, argv, { allowFail: true, timeoutMs: 30_000 });
const activeSince = async () => (await onHost(["systemctl", "show", "-p", "ActiveEnterTimestampMonotonic", "--value", "libvirtd"])).stdout.trim();

const runScript = (script: string) => commands.run({ script });

beforeAll(async () => {
  assertInManagerNamespace(d);
  commands = await remoteCommandsTo(d, address);
}, 120_000);

afterAll(async () => {
  // Leave the host as the other suites expect it: nothing but what they start.
  await onHost(["systemctl", "disable", "--now", "libvirtd.service", "libvirtd.socket", "libvirtd-ro.socket", "libvirtd-admin.socket"]);
  await commands?.host.stop();
});

describe("KvmNode's libvirt scripts on a bare host", () => {
  it("starts libvirtd from the packages script", async () => {
    await runScript(renderKvmPackagesScript());
    expect((await onHost(["systemctl", "is-active", "libvirtd"])).stdout.trim()).toBe("active");
    expect((await onHost(["virsh", "-c", "qemu:///system", "version"])).stdout).toMatch(/Running hypervisor: QEMU/);
  });

  it("refuses a security driver the host kernel does not run, before changing anything", async () => {
    const before = (await onHost(["cat", "/etc/libvirt/qemu.conf"])).stdout;
    const since = await activeSince();
    await expect(runScript(renderLibvirtQemuConfScript({ securityDriver: "apparmor" }))).rejects.toThrow(
      /script "libvirt QEMU security driver apparmor" on root@10\.77\.0\.4:22 failed \(exit 1\): kvm-cloud: securityDriver "apparmor" is not enabled in the host kernel/,
    );
    expect((await onHost(["cat", "/etc/libvirt/qemu.conf"])).stdout).toBe(before);
    expect(await activeSince()).toBe(since);
  });

  it("sets \"none\" once, libvirtd running after it, and a rerun restarts nothing", async () => {
    await runScript(renderLibvirtQemuConfScript({ securityDriver: "none" }));
    expect((await onHost(["grep", "-x", 'security_driver = "none"', "/etc/libvirt/qemu.conf"])).code).toBe(0);
    expect((await onHost(["systemctl", "is-active", "libvirtd"])).stdout.trim()).toBe("active");
    const since = await activeSince();
    await runScript(renderLibvirtQemuConfScript({ securityDriver: "none" }));
    expect(await activeSince()).toBe(since);
  });

  it("defines the guest filter over one made by hand, keeping its UUID, and changes the policy in place", async () => {
    const virsh = (...args: string[]) => onHost(["virsh", "-q", "-c", "qemu:///system", ...args]);
    const byHand = "<filter name='kvmcloud-guest' chain='root'><filterref filter='allow-arp'/></filter>";
    expect((await onHost(["sh", "-c", `printf '%s' "${byHand}" > /tmp/kvmcloud-guest-by-hand.xml && virsh -q -c qemu:///system nwfilter-define /tmp/kvmcloud-guest-by-hand.xml`])).code).toBe(0);
    const uuid = async () => /<uuid>([0-9a-f-]+)<\/uuid>/.exec((await virsh("nwfilter-dumpxml", "kvmcloud-guest")).stdout)?.[1];
    const first = await uuid();
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    await runScript(renderGuestFilterScript("clean"));
    expect((await virsh("nwfilter-dumpxml", "kvmcloud-guest")).stdout).toContain("<ip match='no' srcipaddr='$IP'/>");
    await runScript(renderGuestFilterScript("open"));
    const open = (await virsh("nwfilter-dumpxml", "kvmcloud-guest")).stdout;
    expect(open).not.toMatch(/<rule|<filterref/);
    expect(await uuid()).toBe(first);
    await virsh("nwfilter-undefine", "kvmcloud-guest");
  });
});
