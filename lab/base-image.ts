import { output, run, succeeds } from "./exec";

/**
 * The base image every lab VM is cloned from: imported into RBD, then
 * snapshotted and protected so that copy-on-write clones can hang off it.
 * The guest image's build hash is kept in the image's metadata; when the
 * guest changes, the old image is renamed aside (its clones keep working,
 * they reference it by id) and the new one takes the name. Retired images
 * are removed once no clone uses them.
 */

const HASH_KEY = "kvmcloud.guest-hash";
const RETIRED = "-retired-";

async function protectedSnapshot(rbd: (...args: string[]) => string[], spec: string, snapshot: string): Promise<boolean | undefined> {
  if (!(await succeeds(rbd("snap", "ls", spec)))) return undefined;
  const list = JSON.parse((await run(rbd("snap", "ls", "--format", "json", spec))).stdout) as Array<{ name: string; protected?: string }>;
  const s = list.find((x) => x.name === snapshot);
  return s === undefined ? undefined : s.protected === "true";
}

/** Removes retired base images that no clone depends on any more. */
async function dropUnusedRetired(rbd: (...args: string[]) => string[], o: { pool: string; image: string; snapshot: string }): Promise<void> {
  const images = (await output(rbd("ls", o.pool))).split("\n").map((s) => s.trim());
  for (const img of images.filter((i) => i.startsWith(`${o.image}${RETIRED}`))) {
    const snap = `${o.pool}/${img}@${o.snapshot}`;
    const children = await run(rbd("children", snap), { allowFail: true });
    if (children.code !== 0 || children.stdout.trim() !== "") continue;
    await run(rbd("snap", "unprotect", snap), { allowFail: true });
    await run(rbd("snap", "purge", "--no-progress", `${o.pool}/${img}`), { allowFail: true });
    await run(rbd("rm", "--no-progress", `${o.pool}/${img}`), { allowFail: true });
  }
}

export async function ensureBaseImage(
  rbd: (...args: string[]) => string[],
  o: { pool: string; image: string; snapshot: string; diskPath: string; hash: string },
): Promise<void> {
  const spec = `${o.pool}/${o.image}`;
  const snap = `${spec}@${o.snapshot}`;
  const state = await protectedSnapshot(rbd, spec, o.snapshot);
  if (state === true) {
    const current = await run(rbd("image-meta", "get", spec, HASH_KEY), { allowFail: true });
    if (current.code === 0 && current.stdout.trim() === o.hash) {
      await dropUnusedRetired(rbd, o);
      return;
    }
    await run(rbd("rename", spec, `${spec}${RETIRED}${Date.now().toString(36)}`));
  } else if (state === false || (await succeeds(rbd("info", spec)))) {
    // An import that died before its snapshot was protected: the image may be partial.
    await run(rbd("snap", "purge", "--no-progress", spec), { allowFail: true });
    await run(rbd("rm", "--no-progress", spec));
  }
  await run(rbd("import", "--no-progress", o.diskPath, spec), { timeoutMs: 300_000 });
  await run(rbd("image-meta", "set", spec, HASH_KEY, o.hash));
  await run(rbd("snap", "create", snap));
  await run(rbd("snap", "protect", snap));
  await dropUnusedRetired(rbd, o);
}

export async function baseImageHealthy(rbd: (...args: string[]) => string[], snapSpec: string): Promise<string | undefined> {
  const r = await run(rbd("info", "--format", "json", snapSpec), { allowFail: true, timeoutMs: 20_000 });
  if (r.code !== 0) return `base image ${snapSpec} not found: ${r.stderr.trim()}`;
  const info = JSON.parse(r.stdout) as { protected?: string };
  return info.protected === "true" ? undefined : `snapshot ${snapSpec} is not protected`;
}
