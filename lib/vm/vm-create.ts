import * as crypto from "crypto";
import { findNode, ResolvedCloudSpec } from "../cloud/cloud-spec";
import { generateMac } from "../operations/mac";
import { placeVm } from "../operations/placement";
import { renderMetaData, renderUserData } from "../render/cloud-init";
import { renderDomainXml } from "../render/domain-xml";
import { ValidationError } from "../validate/errors";
import { parseImageSpec, validateVmArgs } from "../validate/vm-args";
import { CloudAccess } from "./cloud-access";
import { cacheKey, deleteVmRow, logOperation, recordVm, reserveVm } from "./inventory";
import { readLeases, waitForLease } from "./lease-watch";
import { defineDomain, domainFacts, removeDomain, shutdownDomain, startDomain, suspendDomain } from "./node-ops";
import { cloneImage, importSeed, rbdClientOf, rbdExists, rbdSize, removeImage, resizeImage } from "./rbd-ops";
import { capacities, nodeHolding, surveyNodes, takenMacs } from "./survey";
import { UndoLog, VmOperationError } from "./undo-log";
import { growthLimits, rootImageName, seedImageName, VmInputs, VmRecord } from "./vm-record";

/** Called after each step with its duration, for the benchmark and logs. */
export type StepHook = (step: string, ms: number) => void;

const GiB = 2 ** 30;

/**
 * Longer than any create can last: every remote step is bounded (see
 * ssh-runner) and the boot wait by leaseTimeoutSeconds. A 'creating' row
 * older than this belongs to a create that died, and is taken over.
 */
export function createBoundSeconds(cloud: ResolvedCloudSpec): number {
  return cloud.leaseTimeoutSeconds + 600;
}

/**
 * Everything that can be refused is checked before anything is made: the
 * inputs, every node (reachable? which domains?), the image, the DHCP host.
 */
async function preflight(cloud: ResolvedCloudSpec, access: CloudAccess, args: VmInputs) {
  if (args.node !== undefined) findNode(cloud, args.node);
  const survey = await surveyNodes(cloud, access);
  if (args.node !== undefined) {
    const pinned = survey.find((s) => s.name === args.node)!;
    if (!pinned.view) throw new Error(`node ${args.node} is unreachable: ${pinned.error}`);
  }
  const reachable = survey.filter((s) => s.view);
  if (reachable.length === 0) {
    throw new Error(`no node is reachable: ${survey.map((s) => `${s.name}: ${s.error}`).join("; ")}`);
  }
  const holder = nodeHolding(survey, args.name);
  if (holder) throw new ValidationError("name", args.name, `a name not used by another VM (a domain of that name exists on ${holder})`);

  const spec = parseImageSpec(args.image);
  const probe = args.node ?? reachable[0].name;
  const rbdClient = rbdClientOf(cloud);
  // One connection: the image's size, and the VM's own images a create that died may have left
  // (taken over only with its stale row; see reserve).
  const { size, leftImages } = await access.onNode(probe, async (r) => {
    const left: string[] = [];
    for (const img of [rootImageName(args.name), seedImageName(args.name)]) if (await rbdExists(r, rbdClient, img)) left.push(img);
    return { size: await rbdSize(r, { id: cloud.ceph.clientName, pool: spec.pool }, args.image), leftImages: left };
  });
  if (size === undefined) throw new ValidationError("image", args.image, `an existing RBD snapshot (rbd on ${probe} finds no ${args.image})`);
  validateVmArgs(args, { imageSizeBytes: size });
  const leaseMacs = (await access.onDhcp((r) => readLeases(r, cloud.dhcp.leaseFile))).map((l) => l.mac);
  const unreachable = survey.filter((s) => !s.view).map((s) => `${s.name}: ${s.error}`);
  return { survey, imageSizeBytes: size, leaseMacs, leftImages, probe, unreachable };
}

/**
 * Creates a VM: reserve (name, node, MAC) in the inventory under a lock,
 * clone and size the root disk, write the seed, define and start the domain,
 * wait for its lease, record it. Any failure removes whatever was made and
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
  const rbdClient = rbdClientOf(cloud);
  const disk = rootImageName(args.name);
  const seed = seedImageName(args.name);
  try {
    const pre = await timed("preflight", () => preflight(cloud, access, args));

    const row = await timed("reserve", () =>
      access.withInventory((inv) =>
        reserveVm(
          inv.sql,
          async (rows, reclaimed) => {
            const held = rows.find((r) => r.name === args.name);
            if (held) {
              const since = held.state === "creating" ? ` (a create started at ${held.createdAt} and not finished; taken over after ${createBoundSeconds(cloud)} s)` : "";
              throw new ValidationError("name", args.name, `a name not used by another VM (the inventory already has ${args.name}${since})`);
            }
            if (pre.leftImages.length > 0 && !reclaimed) {
              throw new ValidationError("name", args.name, `a name whose RBD images do not exist yet (${pre.leftImages.map((i) => `${cloud.ceph.pool}/${i}`).join(", ")} exist and no VM record claims them; remove them or pick another name)`);
            }
            if (reclaimed && pre.unreachable.length > 0) {
              throw new Error(`taking over the unfinished create of ${args.name} needs every node to answer (a domain of that name could be on it): ${pre.unreachable.join("; ")}`);
            }
          const node = placeVm(capacities(pre.survey, rows), { name: args.name, memoryMiB: args.memoryMiB, vcpus: args.vcpus, node: args.node });
          const mac = generateMac([...takenMacs(pre.survey, rows), ...pre.leaseMacs], () => crypto.randomBytes(3));
            const { name, stack, vcpus, memoryMiB, diskGiB, image } = args;
            return { name, stack, vcpus, memoryMiB, diskGiB, image, node, mac };
          },
          { name: args.name, olderThanSeconds: createBoundSeconds(cloud) },
        ),
      ),
    );
    for (const img of pre.leftImages) {
      // Only reached after the stale row was taken over: the dead create's images.
      await timed("reclaim", () => access.onNode(pre.probe, (r) => removeImage(r, rbdClient, img)));
    }
    undo.record("inventory row", () => access.withInventory((inv) => deleteVmRow(inv.sql, args.name)));

    const limits = growthLimits(args.vcpus, args.memoryMiB);
    const fqdn = `${args.name}.${cloud.dhcp.domain}`;
    const node = findNode(cloud, row.node);
    const uuid = await access.onNode(row.node, async (r) => {
      // Undo is recorded before each step: a step that times out may still have made its thing.
      // Preflight made sure no image of these names existed, so removing them touches nothing older.
      await timed("clone", async () => {
        undo.record(`RBD image ${cloud.ceph.pool}/${disk}`, () => access.onNode(row.node, (r2) => removeImage(r2, rbdClient, disk)));
        await cloneImage(r, rbdClient, args.image, disk);
        if (args.diskGiB * GiB > pre.imageSizeBytes) await resizeImage(r, rbdClient, disk, args.diskGiB);
      });
      await timed("seed", async () => {
        const metaData = renderMetaData({ instanceId: `${args.name}-${row.mac.replace(/:/g, "")}`, hostname: args.name });
        const userData = renderUserData({ hostname: args.name, fqdn, sshAuthorizedKeys: args.sshAuthorizedKeys ?? [], extra: args.userData });
        undo.record(`RBD image ${cloud.ceph.pool}/${seed}`, () => access.onNode(row.node, (r2) => removeImage(r2, rbdClient, seed)));
        await importSeed(r, rbdClient, seed, { metaData, userData });
      });
      const id = await timed("define", async () => {
        const xml = renderDomainXml({
          name: args.name,
          domainType: cloud.domainType,
          vcpus: args.vcpus,
          memoryMiB: args.memoryMiB,
          ...limits,
          rbd: { pool: cloud.ceph.pool, monitors: cloud.ceph.monitors, clientName: rbdClient.id, secretUuid: cloud.ceph.secretUuid },
          diskImage: disk,
          seedImage: seed,
          mac: row.mac,
          bridge: node.bridge ?? "br0",
          metadata: { name: args.name, stack: args.stack, image: args.image, createdAt: row.createdAt },
        });
        undo.record(`domain ${args.name} on ${row.node}`, () => access.onNode(row.node, (r2) => removeDomain(r2, args.name)));
        await defineDomain(r, xml);
        return (await domainFacts(r, args.name))!.uuid;
      });
      await timed("start", () => startDomain(r, args.name));
      return id;
    });

    const lease = await timed("boot-to-lease", () =>
      access.onDhcp((r) => waitForLease(r, cloud.dhcp.leaseFile, row.mac, cloud.leaseTimeoutSeconds)),
    );

    if (lease.seenAfterWriteMs !== undefined) onStep("lease-seen-after-write", lease.seenAfterWriteMs);

    const state = args.state ?? "running";
    if (state !== "running") {
      // The guest boots once either way: cloud-init and the lease need it up.
      await timed(`set-state ${state}`, () =>
        access.onNode(row.node, (r) => (state === "stopped" ? shutdownDomain(r, args.name) : suspendDomain(r, args.name))),
      );
    }

    const recorded = await timed("record", () =>
      access.withInventory(async (inv) => {
        const rec = await recordVm(inv.sql, { ...args, node: row.node, ip: lease.ip, state, domainUuid: uuid });
        await inv.cache.set(cacheKey(args.name), row.node);
        undo.record(`cache key ${cacheKey(args.name)}`, () => access.withInventory(async (i) => void (await i.cache.del(cacheKey(args.name)))));
        await logOperation(inv.sql, { vm: args.name, operation: "create", outcome: "ok", startedAt: started, durationMs: Date.now() - started.getTime() });
        return rec;
      }),
    );

    return {
      ...args,
      state,
      node: row.node,
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
  }
}
