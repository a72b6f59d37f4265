import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { hostKeyKnown, knownKeysFor } from "../../lib/transport/known-hosts";

const key = (seed: string) => crypto.createHash("sha256").update(seed).digest();
const b64 = (b: Buffer) => b.toString("base64");

describe("known_hosts matching", () => {
  const a = key("a");
  const b = key("b");
  const text = [
    "# comment",
    `10.0.0.21 ssh-ed25519 ${b64(a)}`,
    `[10.0.0.22]:2222,node2 ssh-ed25519 ${b64(b)}`,
    `@revoked 10.0.0.21 ssh-ed25519 ${b64(b)}`,
  ].join("\n");

  it("accepts the listed key for host:22 and [host]:port, and nothing else", () => {
    expect(hostKeyKnown(text, "10.0.0.21", 22, a)).toBe(true);
    expect(hostKeyKnown(text, "10.0.0.21", 22, b)).toBe(false);
    expect(hostKeyKnown(text, "10.0.0.22", 2222, b)).toBe(true);
    expect(hostKeyKnown(text, "10.0.0.22", 22, b)).toBe(false);
    expect(hostKeyKnown(text, "node2", 22, b)).toBe(true);
    expect(hostKeyKnown(text, "10.0.0.99", 22, a)).toBe(false);
  });

  it("never trusts marker lines such as @revoked", () => {
    expect(knownKeysFor(text, "10.0.0.21", 22).map((k) => b64(k.key))).toEqual([b64(a)]);
  });

  it("matches hashed entries written by the real ssh-keygen -H", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmcloud-kh-"));
    try {
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "key")]);
      const [type, blob] = fs.readFileSync(path.join(dir, "key.pub"), "utf8").trim().split(/\s+/);
      const file = path.join(dir, "known_hosts");
      fs.writeFileSync(file, `10.0.0.23 ${type} ${blob}\n[10.0.0.23]:2222 ${type} ${blob}\n`);
      execFileSync("ssh-keygen", ["-q", "-H", "-f", file], { stdio: "ignore" });
      const hashed = fs.readFileSync(file, "utf8");
      expect(hashed).not.toContain("10.0.0.23");
      const presented = Buffer.from(blob, "base64");
      expect(hostKeyKnown(hashed, "10.0.0.23", 22, presented)).toBe(true);
      expect(hostKeyKnown(hashed, "10.0.0.23", 2222, presented)).toBe(true);
      expect(hostKeyKnown(hashed, "10.0.0.24", 22, presented)).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
