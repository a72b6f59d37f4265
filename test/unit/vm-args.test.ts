import { ValidationError } from "../../lib/core/errors";
import { parseImageSpec, validateVmArgs } from "../../lib/vm/vm-args";

const GiB = 2 ** 30;
const good = { name: "web-1", vcpus: 2, memoryMiB: 512, diskGiB: 10, image: "libvirt-pool/tiny@base" };

function fieldOf(f: () => unknown): { field: string; message: string } {
  try {
    f();
  } catch (e) {
    if (e instanceof ValidationError) return { field: e.field, message: e.message };
    throw e;
  }
  throw new Error("expected a ValidationError");
}

describe("parseImageSpec", () => {
  it("splits pool/image@snap", () => {
    expect(parseImageSpec("libvirt-pool/ubuntu_24.04@v1")).toEqual({ pool: "libvirt-pool", image: "ubuntu_24.04", snapshot: "v1" });
  });

  it.each(["pool/image", "image@snap", "pool/image@", "/image@snap", "a/b/c@s", "pool/im age@s", "pool/image@s@t", 42])(
    "rejects %p naming the image field",
    (spec) => {
      const e = fieldOf(() => parseImageSpec(spec));
      expect(e.field).toBe("image");
      expect(e.message).toContain("pool/image@snap");
    },
  );
});

describe("validateVmArgs", () => {
  it("applies defaults and keeps given values", () => {
    expect(validateVmArgs(good)).toEqual({ ...good, state: "running", sshAuthorizedKeys: [] });
    const full = { ...good, node: "kvm-2", state: "suspended", sshAuthorizedKeys: ["ssh-ed25519 AAAA me@x"], userData: { packages: ["nginx"] } };
    expect(validateVmArgs(full, { knownNodes: ["kvm-1", "kvm-2"] })).toEqual(full);
  });

  it("ignores keys it does not know, such as Pulumi's __provider", () => {
    const out = validateVmArgs({ ...good, __provider: "serialized" });
    expect(out).not.toHaveProperty("__provider");
  });

  it("does not alias the caller's key list", () => {
    const keys = ["ssh-ed25519 AAAA a"];
    const out = validateVmArgs({ ...good, sshAuthorizedKeys: keys });
    keys.push("ssh-ed25519 BBBB b");
    expect(out.sshAuthorizedKeys).toEqual(["ssh-ed25519 AAAA a"]);
  });

  it.each([null, "web-1", [good]])("rejects non-object args %p", (args) => {
    expect(fieldOf(() => validateVmArgs(args)).field).toBe("args");
  });

  it.each(["Web-1", "-web", "web-", "web_1", "", "a".repeat(64), undefined])("rejects name %p", (name) => {
    expect(fieldOf(() => validateVmArgs({ ...good, name })).field).toBe("name");
  });

  it("takes ha as true or false, leaves it out when false, and refuses a suspended ha VM", () => {
    expect(validateVmArgs({ ...good, ha: true }).ha).toBe(true);
    expect("ha" in validateVmArgs({ ...good, ha: false })).toBe(false);
    expect(fieldOf(() => validateVmArgs({ ...good, ha: "yes" }))).toMatchObject({ field: "ha", message: expect.stringContaining("true or false") });
    expect(fieldOf(() => validateVmArgs({ ...good, ha: true, state: "suspended" }))).toMatchObject({ field: "state", message: expect.stringContaining("running or stopped for an ha VM") });
  });

  it("accepts a 63-character name", () => {
    expect(validateVmArgs({ ...good, name: "a".repeat(63) }).name).toHaveLength(63);
  });

  it("rejects a name another VM already has", () => {
    const e = fieldOf(() => validateVmArgs(good, { existingNames: ["db-1", "web-1"] }));
    expect(e.field).toBe("name");
    expect(e.message).toContain("web-1");
    expect(validateVmArgs(good, { existingNames: ["db-1"] }).name).toBe("web-1");
  });

  it.each([
    ["vcpus", 0], ["vcpus", -1], ["vcpus", 1.5], ["vcpus", 65], ["vcpus", "2"], ["vcpus", NaN],
    ["memoryMiB", 0], ["memoryMiB", 63], ["memoryMiB", 1048577], ["memoryMiB", 512.5],
    ["diskGiB", 0], ["diskGiB", -10], ["diskGiB", 65537], ["diskGiB", 2.5], ["diskGiB", Infinity],
  ])("rejects %s = %p with the allowed range", (field, value) => {
    const e = fieldOf(() => validateVmArgs({ ...good, [field]: value }));
    expect(e.field).toBe(field);
    expect(e.message).toMatch(/an integer \d+-\d+/);
  });

  it("accepts the range limits", () => {
    expect(() => validateVmArgs({ ...good, vcpus: 64, memoryMiB: 64, diskGiB: 65536 })).not.toThrow();
    expect(() => validateVmArgs({ ...good, vcpus: 1, memoryMiB: 1048576, diskGiB: 1 })).not.toThrow();
  });

  it("rejects a disk smaller than the image, giving the image size rounded up to GiB", () => {
    const e = fieldOf(() => validateVmArgs({ ...good, diskGiB: 2 }, { imageSizeBytes: 2 * GiB + 1 }));
    expect(e.field).toBe("diskGiB");
    expect(e.message).toContain("at least 3 GiB");
    expect(validateVmArgs({ ...good, diskGiB: 2 }, { imageSizeBytes: 2 * GiB }).diskGiB).toBe(2);
  });

  it("rejects a bad image spec", () => {
    expect(fieldOf(() => validateVmArgs({ ...good, image: "tiny@base" })).field).toBe("image");
  });

  it("rejects an unknown node and lists the known ones", () => {
    const e = fieldOf(() => validateVmArgs({ ...good, node: "kvm-9" }, { knownNodes: ["kvm-1", "kvm-2"] }));
    expect(e.field).toBe("node");
    expect(e.message).toContain("kvm-1, kvm-2");
    expect(fieldOf(() => validateVmArgs({ ...good, node: "" })).field).toBe("node");
  });

  it("accepts any node name when no node list is given", () => {
    expect(validateVmArgs({ ...good, node: "kvm-9" }).node).toBe("kvm-9");
  });

  it("rejects a bad state and lists the allowed ones", () => {
    const e = fieldOf(() => validateVmArgs({ ...good, state: "paused" }));
    expect(e.field).toBe("state");
    expect(e.message).toContain("running, stopped, suspended");
  });

  it("rejects key lists that are not lists of single lines", () => {
    expect(fieldOf(() => validateVmArgs({ ...good, sshAuthorizedKeys: "ssh-ed25519 AAAA" })).field).toBe("sshAuthorizedKeys");
    expect(fieldOf(() => validateVmArgs({ ...good, sshAuthorizedKeys: ["ssh-ed25519 A", "ssh-rsa B\nssh-rsa C"] })).field).toBe("sshAuthorizedKeys[1]");
    expect(fieldOf(() => validateVmArgs({ ...good, sshAuthorizedKeys: [" "] })).field).toBe("sshAuthorizedKeys[0]");
  });

  it("rejects userData that is not a mapping", () => {
    for (const userData of [["a"], "runcmd: []", null]) {
      expect(fieldOf(() => validateVmArgs({ ...good, userData })).field).toBe("userData");
    }
  });

  it("reports the first bad field in a fixed order", () => {
    expect(fieldOf(() => validateVmArgs({ ...good, name: "BAD", vcpus: 0, state: "x" })).field).toBe("name");
    expect(fieldOf(() => validateVmArgs({ ...good, vcpus: 0, state: "x" })).field).toBe("vcpus");
  });
});
