import { renderMetaData, renderUserData } from "../../lib/vm/cloud-init";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl lab@manager";

describe("renderMetaData", () => {
  it("writes instance-id and local-hostname", () => {
    expect(renderMetaData({ instanceId: "i-0001", hostname: "vm1" })).toBe("instance-id: i-0001\nlocal-hostname: vm1\n");
  });

  it("rejects an instance id that would need YAML quoting, naming the field", () => {
    expect(() => renderMetaData({ instanceId: "a: b", hostname: "vm1" })).toThrow(/instanceId: "a: b".*allowed/);
  });

  it("rejects a bad hostname, naming the field, the value and the rule", () => {
    expect(() => renderMetaData({ instanceId: "i-1", hostname: "-vm" })).toThrow(/hostname: "-vm" .*DNS label of 1-63/);
  });
});

describe("renderUserData", () => {
  const input = {
    hostname: "vm1",
    fqdn: "vm1.lab.kvmcloud",
    sshAuthorizedKeys: [KEY],
    extra: { runcmd: [["echo", "yes"], "true"], package_update: false, write_files: [{ path: "/etc/x", content: "a\nb" }] },
  };

  it("is a #cloud-config document with sorted top-level keys", () => {
    const text = renderUserData(input);
    expect(text.startsWith("#cloud-config\n")).toBe(true);
    const top = text
      .split("\n")
      .filter((l) => /^[a-z_]+:/.test(l))
      .map((l) => l.split(":")[0]);
    expect(top).toEqual(["fqdn", "hostname", "package_update", "runcmd", "ssh_authorized_keys", "write_files"]);
  });

  it("JSON-quotes every string so YAML cannot re-type it", () => {
    const text = renderUserData({ hostname: "vm1", sshAuthorizedKeys: [], extra: { answer: "no", mode: "0644" } });
    expect(text).toContain('answer: "no"\n');
    expect(text).toContain('mode: "0644"\n');
    expect(text).toContain('hostname: "vm1"\n');
    expect(text).toContain("ssh_authorized_keys: []\n");
  });

  it("lists the keys and nests extra values as block YAML", () => {
    expect(renderUserData(input)).toBe(
      [
        "#cloud-config",
        'fqdn: "vm1.lab.kvmcloud"',
        'hostname: "vm1"',
        "package_update: false",
        "runcmd:",
        "  -",
        '    - "echo"',
        '    - "yes"',
        '  - "true"',
        "ssh_authorized_keys:",
        `  - ${JSON.stringify(KEY)}`,
        "write_files:",
        "  -",
        '    content: "a\\nb"',
        '    path: "/etc/x"',
        "",
      ].join("\n"),
    );
  });

  it("is deterministic whatever the key order of extra", () => {
    const a = renderUserData({ hostname: "vm1", sshAuthorizedKeys: [KEY], extra: { b: { y: 1, x: 2 }, a: true } });
    const b = renderUserData({ hostname: "vm1", sshAuthorizedKeys: [KEY], extra: { a: true, b: { x: 2, y: 1 } } });
    expect(a).toBe(b);
  });

  it("rejects bad hostnames with a message naming the field", () => {
    for (const bad of ["", "VM1", "vm_1", "vm1-", "a".repeat(64), "vm.1"]) {
      expect(() => renderUserData({ hostname: bad, sshAuthorizedKeys: [] })).toThrow(/^hostname: .*allowed: a DNS label/);
    }
  });

  it("rejects a bad fqdn and a bad key, naming the field", () => {
    expect(() => renderUserData({ hostname: "vm1", fqdn: "vm1", sshAuthorizedKeys: [] })).toThrow(/^fqdn: "vm1"/);
    expect(() => renderUserData({ hostname: "vm1", sshAuthorizedKeys: [KEY, "not a key"] })).toThrow(
      /^sshAuthorizedKeys\[1\]: "not a key" is not a valid SSH public key/,
    );
    expect(() => renderUserData({ hostname: "vm1", sshAuthorizedKeys: [KEY + "\nssh-rsa AAAA x"] })).toThrow(
      /^sshAuthorizedKeys\[0\]/,
    );
  });

  it("refuses extra keys that would override its own, and values YAML cannot carry", () => {
    expect(() => renderUserData({ hostname: "vm1", sshAuthorizedKeys: [], extra: { hostname: "x" } })).toThrow(
      /^extra\.hostname: .*allowed: any key except/,
    );
    expect(() => renderUserData({ hostname: "vm1", sshAuthorizedKeys: [], extra: { n: NaN } })).toThrow(/^extra\.n: NaN/);
    expect(() => renderUserData({ hostname: "vm1", sshAuthorizedKeys: [], extra: { d: new Date(0) } })).toThrow(
      /^extra\.d: a value of type Date/,
    );
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => renderUserData({ hostname: "vm1", sshAuthorizedKeys: [], extra: { c: cyclic } })).toThrow(/itself/);
  });
});
