import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderNodeExporterRemoveScript, renderNodeExporterScript } from "../../lib/monitoring/node-exporter-script";
import { shellcheck } from "../helpers/shellcheck";

/** The node exporter's host script: shellcheck-clean, bound to one address, and its defaults file as bash writes it. */
describe("renderNodeExporterScript", () => {
  it("is shellcheck-clean", () => {
    expect(shellcheck(renderNodeExporterScript({ listenAddress: "10.0.0.21" }))).toBe("");
    expect(shellcheck(renderNodeExporterScript({ listenAddress: "10.0.0.21", allowedClients: ["10.0.0.2/32"] }))).toBe("");
    expect(shellcheck(renderNodeExporterRemoveScript())).toBe("");
  });

  it("writes the listen address into Debian's defaults file and restarts only on change", () => {
    // Run only the file-writing step, against a scratch root: the same bash text the host runs.
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "kvmcloud-node-exporter-"));
    try {
      const script = renderNodeExporterScript({ listenAddress: "10.0.0.21", port: 9101 });
      const step = script.slice(script.indexOf("install -d -m 0755 /etc/default"), script.indexOf("systemctl enable"))
        .replace(/\/etc\/default/g, `${root}/etc/default`)
        .replace(/systemctl restart prometheus-node-exporter.service/, "echo restarted");
      const first = spawnSync("bash", ["-euo", "pipefail", "-c", step], { encoding: "utf8" });
      expect(first.status).toBe(0);
      expect(first.stdout).toBe("restarted\n");
      expect(fs.readFileSync(`${root}/etc/default/prometheus-node-exporter`, "utf8")).toContain('ARGS="--web.listen-address=10.0.0.21:9101"');
      const second = spawnSync("bash", ["-euo", "pipefail", "-c", step], { encoding: "utf8" });
      expect(second.stdout).toBe("");
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it.each([
    [{ listenAddress: "0.0.0.0; reboot" }, /listenAddress: "0.0.0.0; reboot"/],
    [{ listenAddress: "10.0.0.21", port: 70000 }, /port: 70000.*1-65535/],
    [{ listenAddress: "10.0.0.21", allowedClients: ["10.0.0.2"] }, /allowedClients\[0\]: "10.0.0.2"/],
  ])("rejects %j naming the field", (bad, msg) => {
    expect(() => renderNodeExporterScript(bad)).toThrow(msg);
  });
});
