import * as crypto from "crypto";
import { drainedNodes, findNode, ResolvedCloudSpec } from "./cloud-spec";
import { pickAddress } from "./address";
import { generateMac } from "./mac";
import { placeVm } from "./placement";
import { renderMetaData, renderUserData } from "./cloud-init";
import { DEFAULT_BRIDGE } from "../kvm-node/bridge-config";
import { consoleLogPath, renderDomainXml } from "./domain-xml";
import { ValidationError } from "../core/errors";
import { CommandRunner } from "../transport/command-runner";
import { CloudAccess, VmLock } from "./cloud-access";
import { cacheKey, deleteVmRow, recordVm, reserveVm } from "../inventory/vm-rows";
import { logOperation } from "../inventory/operations-log";
import { LeaseTimeout, waitForLease } from "./lease-watch";
import { removeHostEntry, writeHostEntry } from "./dhcp-host-ops";
import { consoleTail, defineDomain, removeDomain, shutdownDomain, startDomain, suspendDomain } from "./node-ops";
import { cloneImage, importSeed, rbdClientOf, removeImage, resizeImage } from "./rbd-ops";
import { capacities, takenMacs } from "./survey";
import { UndoLog, VmOperationError } from "./undo-log";
import { preflight } from "./vm-preflight";
import { growthLimits, rootImageName, seedImageName, VmInputs, VmRecord } from "./vm-model";
import { onCluster, onEveryNode, removeFromPacemaker, removeHaDomainXml, setRunningUnderPacemaker, startUnderPacemaker, writeHaDomainXml } from "./ha-vm-ops";
import { haDomainConfigPath, vmResourceId } from "../ha/virtual-domain";

/** Called after each step with its duration, for the benchmark and logs. */
export type StepHook = (step: string, ms: number) => void;

const GiB = 2 ** 30;

/**
 * Creates a VM: hold the name's lock for the whole create (a create that
 * died is then known dead, and what it left is taken over), reserve (name,
 * node, MAC, address) in the inventory under the placement lock, write the
 * address into dnsmasq's hosts directory, clone and size the root disk,
 * write the seed, define (with the address, for the node's traffic filter)
 * and start the domain, wait for its lease, record it. Any failure removes whatever was made and
 * reports the step and the daemon's message.
 */
export async function createVm(cloud: ResolvedCloudSpec, access: CloudAccess, args: VmInputs, onStep: StepHook = () => undefined): Promise<VmRecord> {
  const started = new Date();
  const undo = new UndoLog();
  let step = "preflight";
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    step = name;
    const t0 = Date.now();
    const result = await fn();
    onStep(name, Date.now() - t0);
    return result;
  };
  /**
   * Steps that do not depend on each other, run at once. Every one is let
   * finish before a failure is thrown, so the undo never races a step still
   * making its thing; the failure is the first step's, in the order given.
   */
  const inParallel = async (steps: Array<[string, () => Promise<void>]>): Promise<void> => {
    step = steps[0][0];
    const t0 = Date.now();
    const done = await Promise.allSettled(steps.map(([, fn]) => fn().then(() => Date.now() - t0)));
    done.forEach((d, i) => d.status === "fulfilled" && onStep(steps[i][0], d.value));
    const failed = done.findIndex((d) => d.status === "rejected");
    if (failed >= 0) {
      step = steps[failed][0];
      throw (done[failed] as PromiseRejectedResult).reason;
    }
  };
  const rbdClient = rbdClientOf(cloud);
  const disk = rootImageName(args.name);
  const seed = seedImageName(args.name);
  let lock: VmLock | undefined;
  /** RBD is shared: when the node that made an image is gone, any other node's Ceph client removes it. */
  const onCephClient = async (first: string, fn: (r: CommandRunner) => Promise<void>): Promise<void> => {
    const errors: string[] = [];
    for (const n of [first, ...cloud.nodes.map((x) => x.name).filter((x) => x !== first)]) {
      try {
        return await access.onNode(n, fn);
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    // Every node's reason: the first is often only "the node is dead", the next why the image stayed.
    throw new Error(errors.join("; then "));
  };
  try {
    lock = await timed("lock", () => access.lockVm(args.name));
    if (!lock.held) throw new Error(`another create of ${args.name} is running now (it holds the name's lock); nothing was done`);
    const held = lock;
    const pre = await timed("preflight", () => preflight(cloud, access, args, held));

    // On the lock's own session, as preflight reads: no second inventory connection (nor a Redis one) to open.
    const row = await timed("reserve", () =>
      reserveVm(
        held.sql,
        async (rows) => {
          if (rows.some((r) => r.name === args.name)) {
            throw new ValidationError("name", args.name, `a name not used by another VM (the inventory already has ${args.name})`);
          }
          const node = placeVm(capacities(pre.survey, rows, drainedNodes(cloud)), { name: args.name, memoryMiB: args.memoryMiB, vcpus: args.vcpus, node: args.node });
          const mac = generateMac([...takenMacs(pre.survey, rows), ...pre.leases.map((l) => l.mac)], () => crypto.randomBytes(3));
          // Every address some VM row or some client's lease holds, whatever its state.
          const ip = pickAddress(cloud.dhcp.range, [...rows.flatMap((r) => (r.ip ? [r.ip] : [])), ...pre.leases.map((l) => l.ip)]);
          const { name, stack, vcpus, memoryMiB, diskGiB, image } = args;
          return { name, stack, vcpus, memoryMiB, diskGiB, image, node, mac, ip };
        },
        pre.deadCreate ? args.name : undefined,
      ),
    );
    // The 'creating' row stays while anything it claims is left (a node died): the next create takes that over.
    undo.recordClaim("inventory row", () => access.withInventory((inv) => deleteVmRow(inv.sql, args.name)));
    if (pre.leftDomainOn || pre.leftImages.length > 0) {
      // What the dead create left, removed under the name's lock before anything new is made.
      await timed("take-over", async () => {
        if (pre.leftDomainOn) await access.onNode(pre.leftDomainOn, (r) => removeDomain(r, args.name));
        await access.onNode(pre.probe, async (r) => {
          for (const img of pre.leftImages) await removeImage(r, rbdClient, img);
        });
      });
    }

    const ip = row.ip!;
    // On the DHCP host while the node clones and defines: it only has to be there before the boot.
    undo.record(`DHCP entry ${args.name} (${ip}) in ${cloud.dhcp.hostsDir}`, () => access.onDhcp((r) => removeHostEntry(r, cloud.dhcp.hostsDir, args.name)));
    const entryStarted = Date.now();
    // Its own duration, taken as it ends: by the time the boot waits for it, it is usually long done.
    const entry = access.onDhcp((r) => writeHostEntry(r, cloud.dhcp.hostsDir, { name: args.name, mac: row.mac, ip })).then(() => Date.now() - entryStarted);
    entry.catch(() => undefined); // awaited before the start; a failure of the node's steps first must not go unhandled

    const limits = growthLimits(args.vcpus, args.memoryMiB);
    const fqdn = `${args.name}.${cloud.dhcp.domain}`;
    const node = findNode(cloud, row.node);
    const placed = await access.onNode(row.node, async (r): Promise<{ uuid: string; node: string }> => {
      // Undo is recorded before each step: a step that times out may still have made its thing.
      // Preflight made sure no image of these names existed, so removing them touches nothing older.
      // The root disk and the seed are apart: made at once, on two channels of the node's connection.
      await inParallel([
        ["clone", async () => {
          undo.record(`RBD image ${cloud.ceph.pool}/${disk}`, () => onCephClient(row.node, (r2) => removeImage(r2, rbdClient, disk)));
          await cloneImage(r, rbdClient, args.image, disk);
          if (args.diskGiB * GiB > pre.imageSizeBytes) await resizeImage(r, rbdClient, disk, args.diskGiB);
        }],
        ["seed", async () => {
          const metaData = renderMetaData({ instanceId: `${args.name}-${row.mac.replace(/:/g, "")}`, hostname: args.name });
          const userData = renderUserData({ hostname: args.name, fqdn, sshAuthorizedKeys: args.sshAuthorizedKeys ?? [], extra: args.userData });
          undo.record(`RBD image ${cloud.ceph.pool}/${seed}`, () => onCephClient(row.node, (r2) => removeImage(r2, rbdClient, seed)));
          await importSeed(r, rbdClient, seed, { metaData, userData });
        }],
      ]);
      const id = await timed("define", async () => {
        // Chosen here rather than read back from libvirt: one command less on the way to the boot.
        const uuid = crypto.randomUUID();
        const xml = renderDomainXml({
          name: args.name,
          uuid,
          domainType: cloud.domainType,
          vcpus: args.vcpus,
          memoryMiB: args.memoryMiB,
          ...limits,
          rbd: { pool: cloud.ceph.pool, monitors: cloud.ceph.monitors, clientName: rbdClient.id, secretUuid: cloud.ceph.secretUuid },
          diskImage: disk,
          seedImage: seed,
          mac: row.mac,
          ip,
          bridge: node.bridge ?? DEFAULT_BRIDGE,
          metadata: { name: args.name, stack: args.stack, image: args.image, createdAt: row.createdAt },
        });
        if (args.ha) {
          undo.record(`domain XML ${haDomainConfigPath(args.name)} on every node`, () => onEveryNode(cloud, access, (r2) => removeHaDomainXml(r2, args.name)));
          await onEveryNode(cloud, access, (r2) => writeHaDomainXml(r2, args.name, xml));
        } else {
          undo.record(`domain ${args.name} on ${row.node}`, () => access.onNode(row.node, (r2) => removeDomain(r2, args.name)));
          await defineDomain(r, xml);
        }
        return uuid;
      });
      await timed("dhcp-entry", async () => {
        onStep("dhcp-entry-written", await entry);
      });
      if (!args.ha) {
        await timed("start", () => startDomain(r, args.name));
        return { uuid: id, node: row.node };
      }
      // Pacemaker starts it, on the node asked for unless the start fails there.
      undo.record(`Pacemaker resource ${vmResourceId(args.name)}`, () =>
        onCluster(cloud, access, row.node, args.name, (r2) => removeFromPacemaker(r2, args.name)),
      );
      const ranOn = await timed("start", () => onCluster(cloud, access, row.node, args.name, (r2) => startUnderPacemaker(r2, args.name, row.node)));
      return { uuid: id, node: ranOn };
    });
    const uuid = placed.uuid;
    const runsOn = placed.node;

    const lease = await timed("boot-to-lease", () =>
      access
        .onDhcp((r) => waitForLease(r, cloud.dhcp.leaseFile, row.mac, cloud.leaseTimeoutSeconds))
        .catch(async (e) => {
          if (!(e instanceof LeaseTimeout)) throw e;
          // What the guest printed is the best clue to why it never asked: read before the undo removes the domain.
          const text = await access.onNode(runsOn, (r) => consoleTail(r, args.name)).catch(() => undefined);
          throw text === undefined ? e : new LeaseTimeout(e.mac, e.seconds, e.leaseFile, { where: `${consoleLogPath(args.name)} on ${runsOn}`, text });
        }),
    );

    if (lease.seenAfterWriteMs !== undefined) onStep("lease-seen-after-write", lease.seenAfterWriteMs);
    if (lease.ip !== ip) {
      // The node's filter admits only the assigned address: the guest would have no network.
      throw new Error(`dnsmasq leased ${lease.ip} to ${row.mac}, not the address assigned to ${args.name} (${ip}); another client held ${ip}, or dnsmasq did not read ${cloud.dhcp.hostsDir}/${args.name}`);
    }

    const state = args.state ?? "running";
    if (state !== "running") {
      // The guest boots once either way: cloud-init and the lease need it up.
      await timed(`set-state ${state}`, () =>
        args.ha
          ? onCluster(cloud, access, runsOn, args.name, (r) => setRunningUnderPacemaker(r, args.name, false)).then(() => undefined)
          : access.onNode(runsOn, (r) => (state === "stopped" ? shutdownDomain(r, args.name) : suspendDomain(r, args.name))),
      );
    }

    const recorded = await timed("record", () =>
      access.withInventory(async (inv) => {
        const rec = await recordVm(inv.sql, { ...args, node: runsOn, ip: lease.ip, state, domainUuid: uuid });
        await inv.cache.set(cacheKey(args.name), runsOn);
        undo.record(`cache key ${cacheKey(args.name)}`, () => access.withInventory(async (i) => void (await i.cache.del(cacheKey(args.name)))));
        await logOperation(inv.sql, { vm: args.name, operation: "create", outcome: "ok", startedAt: started, durationMs: Date.now() - started.getTime() });
        return rec;
      }),
    );

    return {
      ...args,
      state,
      node: runsOn,
      ip: lease.ip,
      mac: row.mac,
      domainUuid: uuid,
      disk: `${cloud.ceph.pool}/${disk}`,
      seed: `${cloud.ceph.pool}/${seed}`,
      fqdn,
      createdAt: recorded.createdAt,
      ...limits,
    };
  } catch (e) {
    const failedStep = step;
    const { removed, left } = await undo.undoAll();
    await access
      .withInventory((inv) => logOperation(inv.sql, { vm: args.name, operation: "create", outcome: "error", step: failedStep, startedAt: started, durationMs: Date.now() - started.getTime() }))
      .catch(() => undefined);
    // Bad input stays a plain ValidationError when nothing had been made: the message is the whole story.
    if (e instanceof ValidationError && removed.length + left.length === 0) throw e;
    throw new VmOperationError(args.name, failedStep, e as Error, removed, left);
  } finally {
    await lock?.release();
  }
}
