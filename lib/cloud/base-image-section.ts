import { validateBaseImageOptions } from "../vm/base-image-script";
import { check, within } from "../core/errors";
import type { CloudConfig } from "./cloud-config";

/** The `baseImage` section: imported by one of the nodes, into the Ceph section's pool as its client. */
export function checkBaseImageSection(img: CloudConfig["baseImage"], nodes: CloudConfig["nodes"], ceph: Pick<CloudConfig["ceph"], "pool" | "clientName">): void {
  check(typeof img === "object" && img !== null, "baseImage", img, "an object { source, format?, sha256?, name?, snapshot?, node? }");
  const names = nodes.map((n) => n.name);
  const importer = img.node ?? names[0];
  check(names.includes(importer), "baseImage.node", importer, `one of the nodes: ${names.join(", ")}`);
  within("baseImage.", () =>
    validateBaseImageOptions({
      pool: ceph.pool ?? "libvirt-pool",
      image: img.name ?? "base-image",
      snapshot: img.snapshot ?? "base",
      source: img.source,
      format: img.format ?? "qcow2",
      cephClient: ceph.clientName ?? "libvirt",
      sha256: img.sha256,
    }),
    { image: "name" },
  );
}
