import { quote } from "../core/shell";
import { bashScript, waitForCephStep } from "../core/script";
import { checkCephUser } from "../ceph/ceph-user";

/**
 * The cephx user of the fence agent. Its own, because the nodes' `profile rbd`
 * may add a blocklist entry but not remove one (unfencing then fails with
 * "Error EACCES"), and nothing else needs these caps.
 */
export function fenceClientCaps(): Record<string, string> {
  return { mon: 'allow r, allow command "osd blocklist"' };
}

/** Run where the admin keyring is (the first Ceph host): makes the user, sets its caps, prints only its key (a secret). */
export function renderFenceClientScript(clientName: string): string {
  checkCephUser("clientName", clientName);
  const entity = quote(`client.${clientName}`);
  const caps = Object.entries(fenceClientCaps()).map(([k, v]) => `${k} ${quote(v)}`).join(" ");
  return bashScript(`Ceph user client.${clientName} for kvm-cloud's fence agent`, [
    "exec 3>&1 1>&2",
    waitForCephStep(),
    `ceph auth get-or-create ${entity} ${caps} >/dev/null`,
    `ceph auth caps ${entity} ${caps}`,
    `ceph auth get-key ${entity} >&3`,
  ]);
}
