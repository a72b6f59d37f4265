import { ResolvedCloudSpec } from "./cloud-spec";
import { CommandRunner } from "../transport/command-runner";

/**
 * RBD work on a KVM node as the cloud's cephx client (the node has its
 * keyring): clone the base snapshot, size it, import the seed, remove.
 */

export interface RbdClient {
  /** cephx id without "client." */
  readonly id: string;
  readonly pool: string;
}

/** The cloud's cephx client on its VM pool. */
export function rbdClientOf(cloud: ResolvedCloudSpec): RbdClient {
  return { id: cloud.ceph.clientName, pool: cloud.ceph.pool };
}

const rbd = (c: RbdClient, ...args: string[]) => ["rbd", "--id", c.id, ...args];
// The errno, not "error opening image": a fenced node gets that too, with (108).
const NOT_FOUND = /\(2\) No such file or directory|does not exist/i;
/** What every Ceph call of a node in the OSD blocklist gets (ESHUTDOWN). */
const FENCED = /\(108\) Cannot send after transport endpoint shutdown/;

/** rbd's refusal, saying plainly when the node is fenced rather than leaving the user to decode errno 108. */
function rbdError(what: string, r: CommandRunner, stderr: string): Error {
  const fenced = FENCED.test(stderr)
    ? " (the node is fenced: its address is in Ceph's OSD blocklist, and the HA cluster lifts that when the node rejoins; 'crm_mon -1' on a node says where that stands)"
    : "";
  return new Error(`${what} on ${r.target}: ${stderr.trim()}${fenced}`);
}

/** Size in bytes of an image or snapshot (`pool/image@snap`), or undefined when it does not exist. */
export async function rbdSize(r: CommandRunner, c: RbdClient, spec: string): Promise<number | undefined> {
  const res = await r.run(rbd(c, "info", "--format", "json", spec), { allowFail: true });
  if (res.code !== 0) {
    if (NOT_FOUND.test(res.stderr)) return undefined;
    throw rbdError(`rbd info ${spec}`, r, res.stderr);
  }
  return Number((JSON.parse(res.stdout) as { size: number }).size);
}

export async function rbdExists(r: CommandRunner, c: RbdClient, image: string): Promise<boolean> {
  return (await rbdSize(r, c, `${c.pool}/${image}`)) !== undefined;
}

export async function cloneImage(r: CommandRunner, c: RbdClient, snapshotSpec: string, image: string): Promise<void> {
  await r.run(rbd(c, "clone", snapshotSpec, `${c.pool}/${image}`));
}

export async function resizeImage(r: CommandRunner, c: RbdClient, image: string, gib: number): Promise<void> {
  await r.run(rbd(c, "resize", "--no-progress", "--size", `${gib}G`, `${c.pool}/${image}`));
}

const WATCHED = /still has watchers/;

/**
 * Removes an image; one that is already gone is fine. An image that a client
 * still watches is tried again for a while: a QEMU whose node died holds its
 * watch until the OSDs time it out (osd_client_watch_timeout, 30 s by
 * default), and the undo of a create on that node comes here at once.
 */
export async function removeImage(r: CommandRunner, c: RbdClient, image: string, o: { watchedForMs?: number; pauseMs?: number } = {}): Promise<void> {
  const until = Date.now() + (o.watchedForMs ?? 45_000);
  for (;;) {
    const res = await r.run(rbd(c, "rm", "--no-progress", `${c.pool}/${image}`), { allowFail: true });
    if (res.code === 0 || NOT_FOUND.test(res.stderr)) return;
    const watched = WATCHED.test(res.stderr);
    if (!watched || Date.now() >= until) {
      const waited = watched ? ` (still watched after ${o.watchedForMs ?? 45_000} ms: a live client must close it first)` : "";
      throw new Error(`${rbdError(`rbd rm ${c.pool}/${image}`, r, res.stderr).message}${waited}`);
    }
    await new Promise((resolve) => setTimeout(resolve, o.pauseMs ?? 3000));
  }
}

/**
 * Builds the NoCloud seed ISO (volume `cidata`) on the node and imports it as
 * an RBD image, so the guest's CD-ROM lives on shared storage and never pins
 * it to one node. The files travel on stdin (user-data may hold secrets, so
 * never in argv), base64 per line so any bytes survive the shell.
 */
const SEED_SCRIPT = [
  "set -eu",
  'd=$(mktemp -d)',
  'trap \'rm -rf "$d"\' EXIT',
  "read -r meta",
  "read -r user",
  'printf %s "$meta" | base64 -d >"$d/meta-data"',
  'printf %s "$user" | base64 -d >"$d/user-data"',
  'cd "$d"',
  "genisoimage -quiet -output seed.iso -volid cidata -joliet -rock meta-data user-data",
  'rbd --id "$1" import --no-progress seed.iso "$2"',
].join("\n");

export async function importSeed(r: CommandRunner, c: RbdClient, image: string, files: { metaData: string; userData: string }): Promise<void> {
  const stdin = `${Buffer.from(files.metaData).toString("base64")}\n${Buffer.from(files.userData).toString("base64")}\n`;
  await r.run(["sh", "-c", SEED_SCRIPT, "seed", c.id, `${c.pool}/${image}`], { stdin });
}
