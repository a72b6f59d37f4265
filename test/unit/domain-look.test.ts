import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CommandRunner } from "../../lib/transport/command-runner";
import { lookAtDomain } from "../../lib/vm/node-ops";
import { renderDomainXml } from "../../lib/vm/domain-xml";

/**
 * The refresh's look at a domain (node-ops' lookAtDomain: three questions in
 * one virsh), with a stand-in `virsh` first on PATH that answers as libvirt 9
 * does for a running domain, a stopped one (no open disk) and one that is
 * not there (checked against the lab's virsh by hand: the same output).
 */

const XML = renderDomainXml({
  name: "web-1", uuid: "3f0e8a34-1c2b-4d5e-9f60-718293a4b5c7", domainType: "qemu", vcpus: 2, memoryMiB: 384, diskImage: "web-1-root", seedImage: "web-1-seed", mac: "52:54:00:00:00:01", bridge: "br0",
  rbd: { pool: "libvirt-pool", monitors: ["192.0.2.11"], clientName: "libvirt", secretUuid: "3f0e8a34-1c2b-4d5e-9f60-718293a4b5c6" },
  metadata: { name: "web-1" },
});

let dir: string;
let argvSeen: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "domain-look-"));
  fs.writeFileSync(path.join(dir, "domain.xml"), XML);
  argvSeen = path.join(dir, "argv");
  // virsh's command language as far as the look uses it: commands split at " ; ", each run
  // whatever the one before did, `echo` without a newline (as virsh -q prints it), the status the last one's.
  // $STATE: the domain's state, or "none" when there is no such domain.
  fs.writeFileSync(
    path.join(dir, "virsh"),
    [
      "#!/bin/bash",
      `printf '%s\n' "$*" >> ${argvSeen}`,
      'if [ "$STATE" = down ]; then echo "error: failed to connect to the hypervisor" >&2; echo "error: Failed to connect socket to \'/var/run/libvirt/libvirt-sock\': No such file or directory" >&2; exit 1; fi',
      'IFS=";" read -ra cmds <<< "$4"; rc=0',
      'for c in "${cmds[@]}"; do',
      '  read -ra w <<< "$c"; name=${w[-1]}; [ "${w[0]}" = domblkinfo ] && name=${w[2]}',
      '  if [ "${w[0]}" = echo ]; then printf %s "${w[1]}"; rc=0; continue; fi',
      '  if [ "$STATE" = none ]; then echo "error: failed to get domain \'$name\'" >&2; rc=1; continue; fi',
      '  case ${w[0]} in',
      `    dumpxml) cat ${path.join(dir, "domain.xml")}; rc=0 ;;`,
      '    domstate) printf "%s\n\n" "$STATE"; rc=0 ;;',
      '    domblkinfo) if [ "$STATE" = "shut off" ]; then echo "error: internal error: unable to get disk capacity" >&2; rc=1; else',
      '      printf "Capacity:       4294967296\nAllocation:     1073741824\nPhysical:       4294967296\n\n"; rc=0; fi ;;',
      "  esac",
      "done",
      "exit $rc",
    ].join("\n"),
    { mode: 0o755 },
  );
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const runner = (state: string): CommandRunner => ({
  target: "node1",
  async run(argv, opts = {}) {
    const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, STATE: state } });
    const res = { stdout: r.stdout, stderr: r.stderr, code: r.status ?? 1 };
    if (res.code !== 0 && !opts.allowFail) throw new Error(`exit ${res.code}: ${res.stderr}`);
    return res;
  },
});

describe("lookAtDomain", () => {
  it("gives a running domain's definition, state and open disk's size in one virsh", async () => {
    fs.rmSync(argvSeen, { force: true });
    const look = await lookAtDomain(runner("running"), "web-1");
    expect(look).toMatchObject({ state: "running", diskBytes: 4 * 2 ** 30, facts: { name: "web-1", vcpus: 2, memoryMiB: 384 } });
    // One virsh, one libvirt connection, for the three questions.
    expect(fs.readFileSync(argvSeen, "utf8").trim().split("\n")).toEqual(["-q -c qemu:///system dumpxml --inactive --domain web-1 ; echo @@STATE@@ ; domstate --domain web-1 ; echo @@BLOCK@@ ; domblkinfo --domain web-1 vda"]);
  });

  it("leaves the size to Ceph when the stopped domain's disk is not open", async () => {
    const look = await lookAtDomain(runner("shut off"), "web-1");
    expect(look).toMatchObject({ state: "shut off", facts: { name: "web-1" } });
    expect(look!.diskBytes).toBeUndefined();
  });

  it("says a domain that is not there is not found", async () => {
    expect(await lookAtDomain(runner("none"), "web-1")).toBeUndefined();
  });

  it("fails with virsh's words when libvirt cannot be asked, rather than calling the domain gone", async () => {
    await expect(lookAtDomain(runner("down"), "web-1")).rejects.toThrow(/virsh dumpxml\/domstate web-1 on node1: error: failed to connect to the hypervisor\nerror: Failed to connect socket/);
  });

  it("refuses a name that is not a DNS label before running anything, since it goes into virsh's command language", async () => {
    fs.rmSync(argvSeen, { force: true });
    await expect(lookAtDomain(runner("running"), "web-1 ; destroy --domain db")).rejects.toThrow(/name: "web-1 ; destroy --domain db" is not allowed; expected a DNS label/);
    expect(fs.existsSync(argvSeen)).toBe(false);
  });
});
