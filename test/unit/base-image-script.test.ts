import { BaseImageOptions, parseBaseImageSize, renderBaseImageImportScript, renderBaseImageRemoveScript } from "../../lib/vm/base-image-script";
import { shellcheck } from "../helpers/shellcheck";

/**
 * The base image scripts: shellcheck-clean for every source kind, built from
 * quoted values, and refusing bad options with the field named. (They run for
 * real against the lab's Ceph in test/lab-client/base-image.test.ts.)
 */

const base: BaseImageOptions = {
  pool: "libvirt-pool",
  image: "debian-12",
  snapshot: "base",
  source: "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2",
  format: "qcow2",
  cephClient: "admin",
};

describe("base image scripts", () => {
  it.each<[string, BaseImageOptions]>([
    ["a qcow2 URL", base],
    ["a raw local file with a checksum", { ...base, source: "/var/lib/images/tiny.img", format: "raw", sha256: "a".repeat(64) }],
  ])("are shellcheck-clean: %s", (_what, o) => {
    expect(shellcheck(renderBaseImageImportScript(o))).toBe("");
    expect(shellcheck(renderBaseImageRemoveScript(o))).toBe("");
  });

  it("converts qcow2 with qemu-img straight into a temporary RBD name, and imports raw with rbd import", () => {
    const qcow = renderBaseImageImportScript(base);
    expect(qcow).toContain("qemu-img convert -f qcow2 -O raw \"$file\" rbd:libvirt-pool/debian-12.kvmcloud-import:id=admin");
    expect(qcow).toContain("curl -fsSL --retry 3");
    expect(qcow).toContain('rbdc rename libvirt-pool/debian-12.kvmcloud-import "$image"');
    const raw = renderBaseImageImportScript({ ...base, format: "raw", source: "/srv/tiny.img" });
    expect(raw).toContain('rbdc import --no-progress "$file" libvirt-pool/debian-12.kvmcloud-import');
    expect(raw).not.toContain("curl");
  });

  it("renames an image with clones aside on delete, and drops only this image's retired copies without clones on import", () => {
    const remove = renderBaseImageRemoveScript(base);
    expect(remove).toContain('retired="$image.retired-$(date +%s)"');
    expect(remove).toContain('rbdc rename "$image" "$retired"');
    const imp = renderBaseImageImportScript(base);
    expect(imp).toContain("grep -E '^debian-12\\.retired-[0-9]+$'");
    expect(imp).toContain('[ -z "$(rbdc children "$old_snap" 2>/dev/null)" ] || continue');
  });

  it("quotes a source with shell metacharacters instead of running them", () => {
    const text = renderBaseImageImportScript({ ...base, source: "https://example.com/a;b&c=$(id)" });
    expect(text).toContain("'https://example.com/a;b&c=$(id)'");
  });

  it.each<[Partial<BaseImageOptions>, RegExp]>([
    [{ pool: "bad pool" }, /^pool: "bad pool" .*RBD pool name/],
    [{ image: "x.kvmcloud-import" }, /^image: "x\.kvmcloud-import"/],
    [{ image: "x.retired-17" }, /^image: "x\.retired-17" .*without "\.retired-"/],
    [{ source: "ftp://example.com/x" }, /^source: "ftp:\/\/example\.com\/x" .*http\(s\) URL or an absolute path/],
    [{ source: "/a/../etc/shadow" }, /^source: "\/a\/\.\.\/etc\/shadow"/],
    [{ format: "vmdk" as never }, /^format: "vmdk" .*"qcow2" or "raw"/],
    [{ sha256: "ABC" }, /^sha256: "ABC" .*64 lower-case hex/],
  ])("refuses %p", (change, message) => {
    expect(() => renderBaseImageImportScript({ ...base, ...change })).toThrow(message);
  });

  it("reads the size from the last size= line and fails clearly without one", () => {
    expect(parseBaseImageSize("Importing image: 100%\nsize=1\nsize=67108864\n")).toBe(67108864);
    expect(() => parseBaseImageSize("rbd: error\n")).toThrow(/no size= line/);
  });
});
