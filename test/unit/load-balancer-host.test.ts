import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderHaproxyCfg } from "../../lib/haproxy/haproxy-cfg";
import { renderHaproxyRemoveScript, renderHaproxySetupScript } from "../../lib/haproxy/load-balancer-host";
import { shellcheck } from "../helpers/shellcheck";

/**
 * The load balancer host's scripts: shellcheck-clean, and the setup script's
 * guard run for real: a config HAProxy rejects never replaces a working one.
 * The guard is cut out of the rendered script and run against files in a
 * temporary directory (no apt, no systemd here).
 */
describe("load balancer host scripts", () => {
  it.each([
    ["setup", renderHaproxySetupScript({ port: 8404 })],
    ["setup with a stats guard", renderHaproxySetupScript({ port: 8404, clients: ["10.0.0.5/32"] })],
    ["remove", renderHaproxyRemoveScript()],
  ])("%s is shellcheck-clean", (_what, text) => {
    expect(shellcheck(text)).toBe("");
  });

  /** Runs the script's config steps (from `umask` to the final `fi` before systemctl enable) on a temp config path. */
  function runGuard(current: string, incoming: string): { status: number | null; config: string; stderr: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "h4b-lbhost-"));
    try {
      const cfg = path.join(dir, "haproxy.cfg");
      fs.writeFileSync(cfg, current);
      const script = renderHaproxySetupScript({ port: 8404 }, cfg);
      const steps = script.slice(script.indexOf("umask 027"), script.indexOf("systemctl enable")).replace("systemctl reload-or-restart haproxy", "echo reloaded");
      const r = spawnSync("bash", ["-euo", "pipefail", "-c", steps], { input: incoming, encoding: "utf8" });
      return { status: r.status, config: fs.readFileSync(cfg, "utf8"), stderr: r.stderr + r.stdout };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  it("guards only the stats port when clients are given, and removes an old guard when not", () => {
    const guarded = renderHaproxySetupScript({ port: 8404, clients: ["10.0.0.5/32", "10.1.0.0/24"] });
    expect(guarded).toContain("table inet kvmcloud_haproxystats");
    expect(guarded).toContain("elements = { 10.0.0.5/32, 10.1.0.0/24 }");
    expect(guarded).toContain("tcp dport { 8404 } ip saddr != @allowed reject with tcp reset");
    const open = renderHaproxySetupScript({ port: 8404 });
    expect(open).not.toContain("@allowed");
    expect(open).toContain("nft delete table inet kvmcloud_haproxystats");
    expect(renderHaproxyRemoveScript()).toContain("nft delete table inet kvmcloud_haproxystats");
  });

  it.each<[Parameters<typeof renderHaproxySetupScript>[0], RegExp]>([
    [{ port: 0 }, /statsPort: 0/],
    [{ port: 8404, clients: ["10.0.0.5"] }, /statsClients\[0\]: "10.0.0.5"/],
  ])("rejects %j naming the field", (bad, message) => {
    expect(() => renderHaproxySetupScript(bad)).toThrow(message);
  });

  const good = renderHaproxyCfg({ frontends: [{ name: "web", port: 8080, servers: [{ name: "a", address: "192.0.2.10", port: 80 }] }] });
  const better = good.replace("192.0.2.10", "192.0.2.11");

  it("replaces the config and reloads when the new one passes haproxy -c", () => {
    const r = runGuard(good, better);
    expect(r.status).toBe(0);
    expect(r.config).toBe(better);
    expect(r.stderr).toContain("reloaded");
  });

  it("keeps the old config and fails when the new one is rejected, quoting HAProxy's reason", () => {
    const r = runGuard(good, better.replace("balance roundrobin", "balance nonsense"));
    expect(r.status).not.toBe(0);
    expect(r.config).toBe(good);
    expect(r.stderr).toContain("failed haproxy -c; the old one stays");
    expect(r.stderr).toMatch(/\[ALERT\].*balance only supports 'roundrobin'/);
  });

  it("does not reload when the config is unchanged", () => {
    const r = runGuard(good, good);
    expect(r.status).toBe(0);
    expect(r.stderr).not.toContain("reloaded");
  });
});
