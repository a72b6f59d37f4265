import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderStandbyScript } from "../../lib/ha/standby";
import { shellcheck } from "../helpers/shellcheck";

/**
 * The drain script, run by real bash against stand-ins for crm_attribute
 * (records its arguments) and crm_mon (prints crm_mon's XML captured in the
 * lab, the VM Started on node1, until a given call, and then on node2): it
 * sets each member's standby, waits until no VM is active on a drained
 * member, and fails within its bound naming what is still there.
 */

const captured = fs.readFileSync(path.join(__dirname, "..", "fixtures", "pacemaker", "crm_mon-vm-running.xml"), "utf8").replace(/role="Starting"/, 'role="Started"');
const vm = /resource id="(vm-havm-[0-9a-f]+)"/.exec(captured)![1];
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** Runs the script with crm_mon answering "on node1" for its first `movedAfter` calls. */
function run(script: string, movedAfter: number): { status: number | null; stdout: string; stderr: string; attributes: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmcloud-standby-"));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, "on-node1.xml"), captured);
  fs.writeFileSync(path.join(dir, "on-node2.xml"), captured.replace(/(<resource id="vm-havm[^>]*>\s*<node name=")node1(" id=")1/, "$1node2$22"));
  fs.writeFileSync(path.join(dir, "crm_attribute"), `#!/bin/sh\necho "$*" >> ${dir}/attributes\n`, { mode: 0o755 });
  fs.writeFileSync(
    path.join(dir, "crm_mon"),
    `#!/bin/sh\nn=$(cat ${dir}/calls 2>/dev/null || echo 0); echo $((n + 1)) > ${dir}/calls\ncase "$*" in *xml*) ;; *) echo "crm_mon text"; exit 0;; esac\nif [ "$n" -lt ${movedAfter} ]; then cat ${dir}/on-node1.xml; else cat ${dir}/on-node2.xml; fi\n`,
    { mode: 0o755 },
  );
  fs.writeFileSync(path.join(dir, "script"), script);
  const r = spawnSync("bash", [path.join(dir, "script")], { encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, timeout: 60_000 });
  const attributes = fs.existsSync(path.join(dir, "attributes")) ? fs.readFileSync(path.join(dir, "attributes"), "utf8") : "";
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, attributes };
}

describe("the standby (drain) script", () => {
  it("passes shellcheck", () => {
    expect(shellcheck(renderStandbyScript({ members: ["node1", "node2"], drain: ["node1"] }))).toBe("");
    expect(shellcheck(renderStandbyScript({ members: ["node1", "node2"], drain: [] }))).toBe("");
  });

  it("sets standby on the drained member and off on the other, and waits until the VM has left it", () => {
    const r = run(renderStandbyScript({ members: ["node1", "node2"], drain: ["node1"], waitSeconds: 30 }), 2);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.attributes.trim().split("\n")).toEqual(["--node node1 --name standby --update on", "--node node2 --name standby --update off"]);
    expect(r.stdout.trim()).toBe("drained: node1");
  });

  it("returns every member with an empty drain, without waiting for anything", () => {
    const r = run(renderStandbyScript({ members: ["node1", "node2"], drain: [] }), 1000);
    expect(r.status).toBe(0);
    expect(r.attributes).toContain("--node node1 --name standby --update off");
  });

  it("fails within its bound, naming the node and the VM still there", () => {
    const t0 = Date.now();
    const r = run(renderStandbyScript({ members: ["node1", "node2"], drain: ["node1"], waitSeconds: 10 }), 1000);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`did not move every VM off the drained nodes within 10 s; still there: node1: ${vm}`);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it("refuses a drain of every member, or of a node that is not one", () => {
    expect(() => renderStandbyScript({ members: ["node1", "node2"], drain: ["node1", "node2"] })).toThrow(/^drain: .*fewer nodes than the cluster has/);
    expect(() => renderStandbyScript({ members: ["node1", "node2"], drain: ["node9"] })).toThrow(/^drain\[0\]: "node9"/);
  });
});
