import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FENCE_AGENT_NAME, renderFenceAgent } from "../../lib/ha/fence-agent";
import { renderFenceWatch } from "../../lib/ha/fence-watch";
import { planHaCluster } from "../../lib/ha/ha-cluster";

/**
 * The fence watch's decision, with the real fence agent, over stand-ins of
 * crm_node, ceph, crm_attribute, virsh, systemctl and journalctl that log their calls:
 * only a member that is blocklisted and still holds its old "unfenced" mark, or
 * whose Pacemaker's last run stopped on "We were allegedly just fenced", kills
 * its guests and restarts Pacemaker.
 */

// The running guests' UUIDs, as `virsh list --uuid` prints them.
const U1 = "7d1c3a52-55c4-4f4e-9a43-0c1b2f3e4d01";
const U2 = "7d1c3a52-55c4-4f4e-9a43-0c1b2f3e4d02";
const plan = planHaCluster({ members: [{ name: "node1", address: "192.0.2.21" }, { name: "node2", address: "192.0.2.22" }], fenceClient: "kvmcloud-fence" });
let dir: string;

const STANDINS: Record<string, string> = {
  // Pacemaker down: crm_node cannot reach the controller (exit 102), the host name answers.
  crm_node: '[ -n "${PCMK_DOWN:-}" ] && exit 102; echo "$SELF"',
  uname: 'echo "$SELF"',
  // RACE names a file: the first of the two reads (mark, blocklist) sees the member before the cluster unfenced it, the other after.
  ceph: 'first() { [ ! -e "$RACE" ] && : > "$RACE"; }; [ -n "${RACE:-}" ] && { first && printf "%b" "$BLOCKLIST"; exit 0; }; [ -n "${CEPH_DOWN:-}" ] && { echo "monclient: authenticate timed out" >&2; exit 1; }; printf "%b" "$BLOCKLIST"',
  crm_attribute: 'first() { [ ! -e "$RACE" ] && : > "$RACE"; }; [ -n "${RACE:-}" ] && { first || echo 1796297631; exit 0; }; [ -n "$MARK" ] && echo "$MARK"',
  virsh: 'echo "virsh $*" >> "$LOG"; [ "$*" = "list --uuid" ] && printf "${U1}\\n${U2}\\n"; true',
  systemctl: '[ "$1" = show ] && { case "$4" in ActiveState) echo "${PCMK_STATE:-active}" ;; ExecMainStatus) echo "${PCMK_EXIT:-0}" ;; InvocationID) echo 9f2c41d07a6b4e1c8d3e5f60718293a4 ;; esac; exit 0; }; echo "systemctl $*" >> "$LOG"',
  // The last run's log, only when asked for that run.
  journalctl: '[ "${@: -1}" = _SYSTEMD_INVOCATION_ID=9f2c41d07a6b4e1c8d3e5f60718293a4 ] && printf "%b" "${JOURNAL:-}"',
};

/** What Pacemaker 2.1.5 logged in the lab when the fence of a member completed after it had rejoined. */
const TOLD_FENCED = "Operation 'reboot' targeting node2 by node1 for pacemaker-controld.761@node1: OK (complete)\\nWe were allegedly just fenced by node1 for node1!\\nShutting down and staying down after fatal error\\n";
const OTHER_FATAL = "Shutting cluster down because pacemaker-based[95] had fatal failure\\nShutting down and staying down after fatal error\\n";

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "fence-watch-"));
  for (const [name, body] of Object.entries(STANDINS)) fs.writeFileSync(path.join(dir, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, "watch"), renderFenceWatch(plan), { mode: 0o755 });
  fs.writeFileSync(path.join(dir, FENCE_AGENT_NAME), renderFenceAgent(), { mode: 0o755 });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function watch(env: { SELF: string; BLOCKLIST: string; MARK: string; RACE?: string; CEPH_DOWN?: string; PCMK_DOWN?: string; PCMK_STATE?: string; PCMK_EXIT?: string; JOURNAL?: string }): { status: number | null; stdout: string; calls: string[] } {
  const log = path.join(dir, "log");
  const r = spawnSync(path.join(dir, "watch"), [], { encoding: "utf8", timeout: 20_000, env: { PATH: `${dir}:/usr/bin:/bin`, LOG: log, U1, U2, ...env } });
  return { status: r.status, stdout: r.stdout, calls: fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [] };
}

const listed = "192.0.2.22:0/0 2036-11-29T14:18:10.862309+0000\\n10.0.0.9:6809/929 2026-12-03T14:14:43+0000\\n";

describe("the fence watch", () => {
  it("kills the guests, then restarts Pacemaker, on a member blocklisted while it holds its old unfenced mark", () => {
    const r = watch({ SELF: "node2", BLOCKLIST: listed, MARK: "1796220961" });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("node2 (192.0.2.22) is in Ceph's blocklist but holds its old unfenced mark");
    expect(r.calls).toEqual(["virsh list --uuid", `virsh destroy ${U1}`, `virsh destroy ${U2}`, "systemctl restart pacemaker.service"]);
  });

  it.each([
    ["still blocklisted", listed],
    ["already unfenced by the cluster while its Pacemaker was down", "10.0.0.9:6809/929 2026-12-03T14:14:43+0000\\n"],
  ])("restarts the Pacemaker of a member that stayed down after being told it was fenced (it came back before the fence completed), %s", (_what, blocklist) => {
    const r = watch({ SELF: "node2", BLOCKLIST: blocklist, MARK: "", PCMK_DOWN: "1", PCMK_STATE: "inactive", PCMK_EXIT: "100", JOURNAL: TOLD_FENCED });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("node2 (192.0.2.22) its Pacemaker stayed down after being told it was fenced (exit 100)");
    expect(r.calls).toEqual(["virsh list --uuid", `virsh destroy ${U1}`, `virsh destroy ${U2}`, "systemctl restart pacemaker.service"]);
  });

  it.each([
    ["a blocklisted member whose Pacemaker an admin stopped (exit 0)", { SELF: "node2", BLOCKLIST: listed, MARK: "", PCMK_DOWN: "1", PCMK_STATE: "inactive", PCMK_EXIT: "0", JOURNAL: TOLD_FENCED }],
    ["a member whose Pacemaker stopped on another fatal error", { SELF: "node1", BLOCKLIST: listed, MARK: "", PCMK_DOWN: "1", PCMK_STATE: "inactive", PCMK_EXIT: "100", JOURNAL: OTHER_FATAL }],
    ["a blocklisted member whose Pacemaker stopped on another fatal error", { SELF: "node2", BLOCKLIST: listed, MARK: "", PCMK_DOWN: "1", PCMK_STATE: "inactive", PCMK_EXIT: "100", JOURNAL: OTHER_FATAL }],
    ["a fresh member waiting to be unfenced (no mark)", { SELF: "node2", BLOCKLIST: listed, MARK: "" }],
    ["a member not in the blocklist", { SELF: "node1", BLOCKLIST: listed, MARK: "1796220906" }],
    ["a member whose address only prefixes a listed one", { SELF: "node2", BLOCKLIST: "192.0.2.221:0/0 2036-11-29\\n", MARK: "1" }],
    ["a host that is no member", { SELF: "node9", BLOCKLIST: listed, MARK: "1" }],
  ])("leaves alone %s", (_what, env) => {
    const r = watch(env);
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([]);
  });

  it("leaves alone a member that the cluster unfences while the watch reads (the entry is lifted before the mark is set)", () => {
    const race = path.join(dir, "first-read-done");
    const r = watch({ SELF: "node2", BLOCKLIST: listed, MARK: "", RACE: race });
    expect(fs.existsSync(race)).toBe(true);
    expect(r.calls).toEqual([]);
  });

  it("does nothing when Ceph does not answer", () => {
    const r = watch({ SELF: "node2", BLOCKLIST: listed, MARK: "1", CEPH_DOWN: "1" });
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([]);
  });

  it("reads a type prefix in the list (any:ADDR)", () => {
    expect(watch({ SELF: "node2", BLOCKLIST: "any:192.0.2.22:0/0 2036-11-29\\n", MARK: "1" }).calls).toContain("systemctl restart pacemaker.service");
  });
});
