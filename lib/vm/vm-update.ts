import { drainedNodes, findNode, ResolvedCloudSpec } from "./cloud-spec";
import { diffVm, VmAction } from "./vm-diff";
import { growthLimits, rootImageName, VmInputs, VmRecord, VmState, vmStateOf } from "./vm-model";
import { CommandRunner } from "../transport/command-runner";
import { CloudAccess } from "./cloud-access";
import { cacheKey, recordVm } from "../inventory/vm-rows";
import { logOperation } from "../inventory/operations-log";
import {
  domainState,
  growDisk,
  migrateDomain,
  resumeDomain,
  setMemory,
  setVcpus,
  shutdownDomain,
  startDomain,
  suspendDomain,
  waitForDomainJob,
} from "./node-ops";
import { moveUnderPacemaker, onCluster, setRunningUnderPacemaker } from "./ha-vm-ops";

const MIGRATION_TIMEOUT_MS = 30 * 60_000;

async function setState(r: CommandRunner, name: string, from: VmState, to: VmState): Promise<void> {
  if (from === to) return;
  if (to === "stopped") {
    // ACPI cannot reach a paused guest: wake it so it can shut down cleanly.
    if (from === "suspended") await resumeDomain(r, name);
    await shutdownDomain(r, name);
  } else if (to === "running") {
    await (from === "suspended" ? resumeDomain(r, name) : startDomain(r, name));
  } else {
    if (from === "stopped") await startDomain(r, name);
    await suspendDomain(r, name);
  }
}

/**
 * The node the domain is on now: the recorded one, else any other. State can
 * lag behind the nodes: a live migration is peer-to-peer, so it completes
 * even when the provider that asked for it dies, and the next `pulumi up`
 * still names the old node (seen in the lab: "failed to get domain").
 */
async function currentNode(cloud: ResolvedCloudSpec, access: CloudAccess, name: string, recorded: string): Promise<string> {
  const unreachable: string[] = [];
  for (const node of [recorded, ...cloud.nodes.map((n) => n.name).filter((n) => n !== recorded)]) {
    try {
      if ((await access.onNode(node, (r) => domainState(r, name))) !== undefined) return node;
    } catch (e) {
      unreachable.push(`${node}: ${(e as Error).message}`);
    }
  }
  const asked = unreachable.length > 0 ? `; cannot ask ${unreachable.join("; ")}` : "";
  throw new Error(`updating VM ${name}: its domain is on no reachable node (refresh drops a VM that is gone)${asked}`);
}

/**
 * Applies exactly what diffVm decided, in its order: grow the disk live;
 * change vCPUs/memory live where they fit the domain's maximums, otherwise
 * restart the guest around the change (with new maximums); live-migrate to
 * a new node; start, shut down, suspend or resume.
 */
export async function updateVm(cloud: ResolvedCloudSpec, access: CloudAccess, olds: VmRecord, news: VmInputs): Promise<VmRecord> {
  const started = new Date();
  const drained = drainedNodes(cloud);
  const early = diffVm(olds, news, drained);
  if (early.replaces.length > 0) {
    throw new Error(`updating VM ${olds.name}: ${early.replaces.join(", ")} cannot change in place (the VM must be replaced)`);
  }
  const name = olds.name;
  const rbd = { id: cloud.ceph.clientName, volume: `${cloud.ceph.pool}/${rootImageName(name)}` };
  let node = olds.ha
    ? await onCluster(cloud, access, olds.node, name, async (_r, view) => view.runningOn[0] ?? olds.node)
    : await currentNode(cloud, access, name, olds.node);
  // From where the domain is now: a migration that already happened is not done twice.
  const diff = node === olds.node ? early : diffVm({ ...olds, node }, news, drained);
  let maxVcpus = olds.maxVcpus;
  let maxMemoryMiB = olds.maxMemoryMiB;
  const toState: VmState = news.state ?? "running";
  let state: VmState = olds.state ?? "running";

  // A config change that cannot be made live is made with the guest off.
  const restart = diff.restartNeeded && state !== "stopped" && toState !== "stopped";

  const apply = async (r: CommandRunner, a: VmAction) => {
    const active = state !== "stopped";
    switch (a.kind) {
      case "resize-disk":
        return growDisk(r, name, active, rbd, a.toGiB);
      case "set-vcpus": {
        const raise = a.to > maxVcpus ? growthLimits(a.to, 1).maxVcpus : undefined;
        await setVcpus(r, name, a.to, active && a.live, raise);
        maxVcpus = raise ?? maxVcpus;
        return;
      }
      case "set-memory": {
        const raise = a.to > maxMemoryMiB ? growthLimits(1, a.to).maxMemoryMiB : undefined;
        await setMemory(r, name, a.to, active && a.live, raise);
        maxMemoryMiB = raise ?? maxMemoryMiB;
        return;
      }
      case "migrate": {
        if (olds.ha) {
          // Pacemaker moves it (live, allow-migrate) once its preferred node changes.
          await onCluster(cloud, access, a.to, name, (c, view) => moveUnderPacemaker(c, view, name, a.to));
          node = a.to;
          return;
        }
        const dest = findNode(cloud, a.to, "node");
        // A migration its killed provider started may still run (seen in the lab: "failed to get domain" as it ended).
        await waitForDomainJob(r, name, MIGRATION_TIMEOUT_MS);
        if ((await domainState(r, name)) === undefined && (await access.onNode(a.to, (t) => domainState(t, name))) !== undefined) {
          node = a.to;
          return;
        }
        await migrateDomain(
          r,
          name,
          { destUri: dest.libvirtUri, offline: !active },
          MIGRATION_TIMEOUT_MS,
        );
        node = a.to;
        return;
      }
      case "set-state":
        if (olds.ha) {
          node = (await onCluster(cloud, access, node, name, (c) => setRunningUnderPacemaker(c, name, a.to === "running"))) ?? node;
        } else {
          await setState(r, name, state, a.to);
        }
        state = a.to;
        return;
      case "cloud-init-changed":
        return;
    }
  };

  try {
    if (restart) {
      await access.onNode(node, (r) => setState(r, name, state, "stopped"));
      state = "stopped";
    }
    for (const a of diff.actions) {
      // After a migration the remaining actions run on the new node.
      await access.onNode(node, (r) => apply(r, a));
    }
    if (restart && state === "stopped") {
      await access.onNode(node, (r) => setState(r, name, "stopped", toState));
      state = toState;
    }
    if (olds.ha) {
      const runningOn = await onCluster(cloud, access, node, name, async (_r, view) => view.runningOn);
      state = runningOn.length > 0 ? "running" : "stopped";
      node = runningOn[0] ?? node;
    } else {
      const observed = await access.onNode(node, (r) => domainState(r, name));
      state = (observed !== undefined ? vmStateOf(observed) : undefined) ?? state;
    }
  } catch (e) {
    const first = e as Error;
    const before: VmState = olds.state ?? "running";
    let undone = "";
    if (restart && state === "stopped" && before !== "stopped") {
      // Shut down only for this change: a change that failed must not leave the guest off.
      try {
        await access.onNode(node, (r) => setState(r, name, "stopped", before));
        state = before;
        undone = `; the guest, shut down for the change, is ${before} again`;
      } catch (e2) {
        undone = `; the guest, shut down for the change, could not be brought back (${(e2 as Error).message}): it is off`;
      }
    }
    await access
      .withInventory((inv) => logOperation(inv.sql, { vm: name, operation: "update", outcome: "error", startedAt: started, durationMs: Date.now() - started.getTime() }))
      .catch(() => undefined);
    // ES2020's Error has no cause option; the property is what Node prints and callers read.
    throw Object.assign(new Error(`updating VM ${name} (${diff.updates.join(", ")}) on ${node}: ${first.message}${undone}`), { cause: first });
  }

  const updated: VmRecord = { ...olds, ...news, node, state, maxVcpus, maxMemoryMiB };
  await access.withInventory(async (inv) => {
    await recordVm(inv.sql, { ...updated, ip: updated.ip || null, state, domainUuid: updated.domainUuid });
    await inv.cache.set(cacheKey(name), node);
    await logOperation(inv.sql, { vm: name, operation: "update", outcome: "ok", startedAt: started, durationMs: Date.now() - started.getTime() });
  });
  return updated;
}
