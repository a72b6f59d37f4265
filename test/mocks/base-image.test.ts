import { BaseImage, BaseImageArgs } from "../../components/base-image";
import { installComponentMocks, optionsRecorder } from "../helpers/component-mocks";
import { Registered, settle, valueOf, REMOTE_COMMAND } from "../helpers/pulumi-mocks";

/**
 * BaseImage under Pulumi's mocks: one idempotent import command on the Ceph
 * host whose delete keeps an image with clones, replaced (delete first) when
 * the source changes; spec and size as outputs; bad options fail first.
 */
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nh4b-img-key\n-----END OPENSSH PRIVATE KEY-----\n";
const args: BaseImageArgs = {
  connection: { host: "192.0.2.11", privateKey: KEY },
  source: "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2",
};

async function build(a: BaseImageArgs) {
  const reg = installComponentMocks({ stdoutFor: (name) => (name === "debian-12-import" ? "Image resized.\nsize=2147483648\n" : undefined) });
  const rec = optionsRecorder();
  const img = new BaseImage("debian-12", a, { transformations: rec.transformations });
  await valueOf(img.spec);
  await settle();
  return { reg, img, opts: rec.seen };
}

const importCommand = (reg: Registered[]) => reg.find((r) => r.name === "debian-12-import")!;

describe("BaseImage", () => {
  it("imports, snapshots and protects the image with one command on the Ceph host", async () => {
    const { reg, img, opts } = await build(args);
    expect(reg.map((r) => r.type)).toEqual(["kvmcloud:index:BaseImage", REMOTE_COMMAND]);
    const cmd = importCommand(reg).inputs;
    expect(String(cmd.script)).toContain("qemu-img convert -f qcow2 -O raw");
    expect(String(cmd.script)).toContain("snap protect");
    expect(String(cmd.deleteScript)).toContain("children");
    expect(opts.get("debian-12-import")?.deleteBeforeReplace).toBe(true);
    expect(await valueOf(img.spec)).toBe("libvirt-pool/debian-12@base");
    expect(await valueOf(img.sizeBytes)).toBe(2147483648);
  });

  it("changes its triggers (a replacement) when the source changes, not otherwise", async () => {
    const a = JSON.stringify(importCommand((await build(args)).reg).inputs.triggers);
    const same = JSON.stringify(importCommand((await build({ ...args })).reg).inputs.triggers);
    const b = JSON.stringify(importCommand((await build({ ...args, source: "/srv/images/other.qcow2" })).reg).inputs.triggers);
    expect(same).toBe(a);
    expect(b).not.toBe(a);
  });

  it("honours pool, image, snapshot, raw format and client", async () => {
    const { reg, img } = await build({ ...args, pool: "vms", image: "tiny", snapshot: "v1", format: "raw", source: "/srv/tiny.img", cephClient: "libvirt" });
    expect(String(importCommand(reg).inputs.script)).toContain("rbd --id libvirt");
    expect(String(importCommand(reg).inputs.script)).toContain("rbdc import --no-progress \"$file\" vms/tiny.kvmcloud-import");
    expect(await valueOf(img.spec)).toBe("vms/tiny@v1");
  });

  it.each<[Partial<BaseImageArgs>, RegExp]>([
    [{ source: "ftp://example.com/x.img" }, /^source: "ftp:\/\/example.com\/x.img"/],
    [{ pool: "my pool" }, /^pool: "my pool"/],
    [{ format: "vmdk" as never }, /^format: "vmdk"/],
  ])("fails on %p before registering anything", async (patch, message) => {
    const reg = installComponentMocks();
    expect(() => new BaseImage("debian-12", { ...args, ...patch })).toThrow(message);
    await settle();
    expect(reg).toHaveLength(0);
  });
});
