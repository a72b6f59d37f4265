import { run, succeeds } from "./exec";

/**
 * The base image every lab VM is cloned from: imported once into RBD, then
 * snapshotted and protected so that copy-on-write clones can hang off it.
 */
export async function ensureBaseImage(
  rbd: (...args: string[]) => string[],
  o: { pool: string; image: string; snapshot: string; diskPath: string },
): Promise<void> {
  const spec = `${o.pool}/${o.image}`;
  const snap = `${spec}@${o.snapshot}`;
  if (await succeeds(rbd("snap", "ls", spec))) {
    const snaps = await run(rbd("snap", "ls", "--format", "json", spec));
    const list = JSON.parse(snaps.stdout) as Array<{ name: string; protected?: string }>;
    const s = list.find((x) => x.name === o.snapshot);
    if (s && s.protected === "true") {
      return;
    }
    if (!s) {
      // An import that died before its snapshot: the image may be partial.
      await run(rbd("rm", "--no-progress", spec));
    }
  }
  if (!(await succeeds(rbd("info", spec)))) {
    await run(rbd("import", "--no-progress", o.diskPath, spec), { timeoutMs: 300_000 });
  }
  if (!(await succeeds(rbd("info", snap)))) {
    await run(rbd("snap", "create", snap));
  }
  await run(rbd("snap", "protect", snap), { allowFail: true });
}

export async function baseImageHealthy(rbd: (...args: string[]) => string[], snapSpec: string): Promise<string | undefined> {
  const r = await run(rbd("info", "--format", "json", snapSpec), { allowFail: true, timeoutMs: 20_000 });
  if (r.code !== 0) return `base image ${snapSpec} not found: ${r.stderr.trim()}`;
  const info = JSON.parse(r.stdout) as { protected?: string };
  return info.protected === "true" ? undefined : `snapshot ${snapSpec} is not protected`;
}
