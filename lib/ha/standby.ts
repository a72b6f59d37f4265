import { check } from "../core/errors";
import { bashScript } from "../core/script";
import { quote } from "../core/shell";

/**
 * Drain and return: members put in Pacemaker's standby, so that it
 * live-migrates every HA VM off them (allow-migrate) and starts nothing
 * there; members left out of the list are taken out of standby, and their
 * VMs go back to them by their location preference. A permanent node
 * attribute (`crm_attribute --node N --name standby`), so it survives a
 * restart of the node. The same as `crm node standby N` / `pcs node standby N`.
 */

/** How long the script waits for Pacemaker to empty the drained members: migrations under TCG take 6-16 s each. */
export const DEFAULT_DRAIN_WAIT_SECONDS = 1800;

/** Checks a drain list against the members: distinct member names, and at least one member left to run the VMs. */
export function checkDrain(field: string, drain: unknown, members: readonly string[]): readonly string[] {
  check(Array.isArray(drain), field, drain, "a list of node names");
  const list = drain as unknown[];
  list.forEach((n, i) => {
    check(typeof n === "string" && members.includes(n), `${field}[${i}]`, n, `one of the cluster's members: ${members.join(", ")}`);
    check(list.indexOf(n) === i, `${field}[${i}]`, n, "a node not already listed");
  });
  check(list.length < members.length, field, list, "fewer nodes than the cluster has: a drained cluster has nowhere to run its VMs");
  return list as string[];
}

/**
 * Sets standby on the drained members and off on the others, then waits,
 * bounded, until no VM resource of kvm-cloud (`vm-*`) is active on a drained
 * member; the error lists what is still there.
 */
export function renderStandbyScript(p: { members: readonly string[]; drain: readonly string[]; waitSeconds?: number }): string {
  checkDrain("drain", p.drain, p.members);
  const wait = p.waitSeconds ?? DEFAULT_DRAIN_WAIT_SECONDS;
  check(Number.isInteger(wait) && wait >= 10 && wait <= 86400, "waitSeconds", wait, "an integer 10-86400");
  const drained = p.drain.map(quote).join(" ");
  return bashScript(`standby of ${p.drain.length > 0 ? p.drain.join(", ") : "no node"} (drain), the other members active`, [
    ...p.members.map((m) => `crm_attribute --node ${quote(m)} --name standby --update ${p.drain.includes(m) ? "on" : "off"}`),
    // The active VM resources whose <node> (inside the <resource>) is $1; other <node> elements lie outside any resource.
    "vms_on() {",
    String.raw`  crm_mon --one-shot --output-as=xml | awk -v n="$1" '/<resource id="vm-/ { id = ""; if ($0 ~ /active="true"/ && match($0, /id="[^"]*"/)) id = substr($0, RSTART + 4, RLENGTH - 5); next } /<\/resource>/ { id = ""; next } id != "" && index($0, "<node name=\"" n "\"") { print id }'`,
    "}",
    `drained=(${drained})`,
    `deadline=$(( $(date +%s) + ${wait} ))`,
    "while :; do",
    "  left=''",
    `  for n in "\${drained[@]}"; do v=$(vms_on "$n" | tr '\\n' ' '); [ -z "$v" ] || left="$left $n: $v;"; done`,
    '  [ -z "$left" ] && break',
    `  if [ "$(date +%s)" -ge "$deadline" ]; then echo "kvm-cloud: Pacemaker did not move every VM off the drained nodes within ${wait} s; still there:$left" >&2; crm_mon -1 >&2 || true; exit 1; fi`,
    "  sleep 2",
    "done",
    `echo "drained: ${p.drain.join(" ") || "none"}"`,
  ]);
}
