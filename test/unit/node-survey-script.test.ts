import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { inspectNode } from "../../lib/vm/node-ops";
import { localRunner } from "../helpers/local-runner";

/**
 * The node survey's script with this machine's sh; only virsh is a stand-in
 * (real libvirt is the lab's part, test/lab-client/node-survey.test.ts). It
 * answers `list --all --uuid` with FAKE_UUIDS and runs a batch of commands
 * the way virsh does: on past a failed one, its `echo` without a newline.
 * FAKE_GONE is a domain undefined after the listing; FAKE_NO_LIBVIRT a
 * libvirt that went away after it.
 */

const U1 = "7d1c3a52-55c4-4f4e-9a43-0c1b2f3e4d01";
const U2 = "7d1c3a52-55c4-4f4e-9a43-0c1b2f3e4d02";
let dir: string;

const VIRSH = String.raw`#!/bin/bash
shift 3 # -q -c qemu:///system
echo "$#:$1" >> "$FAKE_LOG"
[ "$1" = nodeinfo ] && { printf 'CPU(s):              2\nMemory size:         8388608 KiB\n'; exit 0; }
[ "$*" = "list --all --uuid" ] && { printf '%s\n' $FAKE_UUIDS; echo; exit 0; }
[ -n "$FAKE_NO_LIBVIRT" ] && { echo "error: failed to connect to the hypervisor" >&2; exit 1; }
IFS=';' read -ra cmds <<< "$1"
for c in "${"$"}{cmds[@]}"; do
  set -f; set -- $c; set +f
  case "$1" in
    echo) printf '%s' "$2" ;;
    dumpxml|domstate)
      if [ "$3" = "$FAKE_GONE" ]; then echo "error: failed to get domain '$3'" >&2; continue; fi
      if [ "$1" = domstate ]; then printf 'shut off\n\n'; else printf "<domain type='qemu'>\n  <name>made by hand $3</name>\n  <uuid>$3</uuid>\n  <memory unit='KiB'>98304</memory>\n  <vcpu>2</vcpu>\n</domain>\n"; fi ;;
  esac
done
exit 0
`;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "node-survey-"));
  fs.writeFileSync(path.join(dir, "virsh"), VIRSH, { mode: 0o755 });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
beforeEach(() => fs.rmSync(path.join(dir, "log"), { force: true }));

const node = (env: Record<string, string>) => localRunner({ PATH: `${dir}:/usr/bin:/bin`, FAKE_LOG: path.join(dir, "log"), FAKE_UUIDS: "", FAKE_GONE: "", FAKE_NO_LIBVIRT: "", ...env });
const virshRuns = () => fs.readFileSync(path.join(dir, "log"), "utf8").trim().split("\n");

it("reads every domain in one virsh batch, by UUID, names from the definitions", async () => {
  const view = await inspectNode(node({ FAKE_UUIDS: `${U1} ${U2}` }));
  expect(view.info).toEqual({ cpus: 2, memoryMiB: 8192 });
  expect(view.domains.map((d) => [d.name, d.state, d.facts.memoryMiB, d.facts.vcpus])).toEqual([
    [`made by hand ${U1}`, "shut off", 96, 2],
    [`made by hand ${U2}`, "shut off", 96, 2],
  ]);
  // nodeinfo, the listing, and one batch: not a virsh per domain.
  expect(virshRuns()).toHaveLength(3);
  expect(virshRuns()[2]).toMatch(new RegExp(`^1: echo @@D-[0-9a-f]{16}@@ ; dumpxml --domain ${U1} ; echo @@S-[0-9a-f]{16}@@ ; domstate --domain ${U1} ; echo`));
});

it("leaves out a domain undefined after the listing", async () => {
  const view = await inspectNode(node({ FAKE_UUIDS: `${U1} ${U2}`, FAKE_GONE: U1 }));
  expect(view.domains.map((d) => d.facts.uuid)).toEqual([U2]);
});

it("fails, saying why, when libvirt answered the listing but not the batch", async () => {
  await expect(inspectNode(node({ FAKE_UUIDS: `${U1} ${U2}`, FAKE_NO_LIBVIRT: "1" }))).rejects.toThrow(/on local failed \(exit 1\): error: failed to connect to the hypervisor$/);
});

it("runs no batch on a node without domains", async () => {
  const view = await inspectNode(node({}));
  expect(view.domains).toEqual([]);
  expect(virshRuns()).toHaveLength(2);
});
