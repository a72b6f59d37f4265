import { BaseImageOptions, resolveBaseImageOptions } from "../vm/base-image-script";
import { DEFAULT_CEPH_CLIENT } from "../ceph/ceph-user";
import { check, within } from "../core/errors";
import type { CloudConfig } from "./cloud-config";

/** The image's RBD name when the section names none. */
export const DEFAULT_BASE_IMAGE_NAME = "base-image";

/**
 * Pure: the `baseImage` section resolved: imported by one of the nodes (the
 * first by default), into the Ceph section's pool as its client; every default
 * filled, every rule checked (errors name baseImage.*).
 */
export function resolveBaseImageSection(
  img: CloudConfig["baseImage"],
  nodes: CloudConfig["nodes"],
  ceph: Pick<CloudConfig["ceph"], "pool" | "clientName">,
): { readonly importer: string; readonly options: BaseImageOptions } {
  check(typeof img === "object" && img !== null, "baseImage", img, "an object { source, format?, sha256?, name?, snapshot?, node? }");
  const names = nodes.map((n) => n.name);
  const importer = img.node ?? names[0];
  check(names.includes(importer), "baseImage.node", importer, `one of the nodes: ${names.join(", ")}`);
  const options = within(
    "baseImage.",
    () =>
      resolveBaseImageOptions(
        { pool: ceph.pool, image: img.name, snapshot: img.snapshot, source: img.source, format: img.format, cephClient: ceph.clientName, sha256: img.sha256 },
        { image: DEFAULT_BASE_IMAGE_NAME, cephClient: DEFAULT_CEPH_CLIENT },
      ),
    { image: "name" },
  );
  return { importer, options };
}
