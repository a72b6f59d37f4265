import { findNode, ResolvedCloudSpec } from "./cloud-spec";
import { ValidationError } from "../core/errors";
import { parseImageSpec, validateVmArgs } from "./vm-args";
import { CloudAccess, VmLock } from "./cloud-access";
import { getVm } from "../inventory/vm-rows";
import { readLeases } from "./lease-watch";
import { rbdClientOf, rbdExists, rbdSize } from "./rbd-ops";
import { nodeHolding, surveyNodes } from "./survey";
import { ImageSpec, rootImageName, seedImageName, VmInputs } from "./vm-model";

/**
 * The image's size, and the VM's own images a create that died may have left
 * (taken over only with that create's 'creating' row; see deadCreate): three
 * channels of one SSH connection at once, since each rbd start-up costs a
 * Ceph client's handshake.
 */
async function imageFacts(cloud: ResolvedCloudSpec, access: CloudAccess, node: string, args: VmInputs, spec: ImageSpec) {
  const rbdClient = rbdClientOf(cloud);
  return access.onNode(node, async (r) => {
    const mine = [rootImageName(args.name), seedImageName(args.name)];
    const [exist, size] = await Promise.all([Promise.all(mine.map((img) => rbdExists(r, rbdClient, img))), rbdSize(r, { id: cloud.ceph.clientName, pool: spec.pool }, args.image)]);
    return { size, leftImages: mine.filter((_, i) => exist[i]) };
  });
}

/**
 * Everything that can be refused is checked before anything is made: the
 * inputs, every node (reachable? which domains?), the image, the DHCP host.
 * Called with the VM name's lock held: a 'creating' row of that name then
 * belongs to a create that died, and its domain and images may be taken over
 * (`deadCreate`); without such a row, a domain or image of the name is
 * someone else's and refused.
 */
export async function preflight(cloud: ResolvedCloudSpec, access: CloudAccess, args: VmInputs, lock: VmLock) {
  if (args.node !== undefined) findNode(cloud, args.node);
  // The DHCP host's leases depend on nothing else here: read them meanwhile.
  const leases = access.onDhcp((r) => readLeases(r, cloud.dhcp.leaseFile));
  leases.catch(() => undefined); // awaited below; a refusal before then must not go unhandled
  // Read over the lock's own session: no second inventory connection (nor a wait on a hung cache).
  const recorded = await getVm(lock.sql, args.name);
  const deadCreate = recorded?.state === "creating";
  const spec = parseImageSpec(args.image); // a malformed image is refused before any node is asked
  // The image's facts come from one node's Ceph client while every node is surveyed: a guess
  // of the node (the pinned one, else the first), asked again on a reachable one if it is down.
  const guess = args.node ?? cloud.nodes[0].name;
  const guessed = imageFacts(cloud, access, guess, args, spec);
  guessed.catch(() => undefined); // awaited below, or dropped when the guess is unreachable
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
  if (holder && !deadCreate) throw new ValidationError("name", args.name, `a name not used by another VM (a domain of that name exists on ${holder})`);

  const probe = reachable.some((s) => s.name === guess) ? guess : reachable[0].name;
  const { size, leftImages } = await (probe === guess ? guessed : imageFacts(cloud, access, probe, args, spec));
  if (size === undefined) throw new ValidationError("image", args.image, `an existing RBD snapshot (rbd on ${probe} finds no ${args.image})`);
  validateVmArgs(args, { imageSizeBytes: size });
  const leaseList = await leases;
  if (leftImages.length > 0 && !deadCreate) {
    throw new ValidationError("name", args.name, `a name whose RBD images do not exist yet (${leftImages.map((i) => `${cloud.ceph.pool}/${i}`).join(", ")} exist and no VM record claims them; remove them or pick another name)`);
  }
  const unreachable = survey.filter((s) => !s.view).map((s) => `${s.name}: ${s.error}`);
  if (deadCreate && unreachable.length > 0) {
    throw new Error(`taking over the unfinished create of ${args.name} (started ${recorded!.createdAt}) needs every node to answer (its domain could be on one): ${unreachable.join("; ")}`);
  }
  return { survey, imageSizeBytes: size, leases: leaseList, deadCreate, leftDomainOn: deadCreate ? holder : undefined, leftImages, probe };
}
