import * as fs from "fs";
import { stopBareHost } from "./bare-host";
import { deleteNamespace, killNamespaceProcesses, labNamespaces } from "./netns";
import { LabPaths, labPaths } from "./paths";
import { BARE_HOSTS, HOSTS, SWITCH_NS } from "./topology";
import { Log } from "./lab-up";

/**
 * Removes every namespace, process, mount and file of the lab. Works from
 * names, not from the description file, so that it also clears a lab left
 * by a killed run or by another checkout.
 */
export async function labDown(log: Log = console.log, p: LabPaths = labPaths()): Promise<void> {
  const t0 = Date.now();
  // Bare hosts power off cleanly first (their systemd stops what the stack started).
  for (const h of BARE_HOSTS) await stopBareHost(h);
  // Node exporters (every namespace), Prometheus and the kvm-cloud exporter
  // (mgr) go with their namespaces; their files with the state directory.
  for (const h of HOSTS) {
    await killNamespaceProcesses(h.ns, 10_000);
  }
  for (const ns of await labNamespaces()) {
    if (ns !== SWITCH_NS) {
      await deleteNamespace(ns);
    }
  }
  await deleteNamespace(SWITCH_NS);
  // Every image, key and database of the lab lives here: removing it is the
  // last step so a failed kill above can be retried with the state intact.
  fs.rmSync(p.state, { recursive: true, force: true });
  log(`lab is down in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
