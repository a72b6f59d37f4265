import { promises as fs } from "fs";
import * as path from "path";
import { output, run } from "./exec";

/**
 * Which kernel modules the lab's guest ships and in which order its /init
 * loads them. The guest has no modules.dep and no modprobe data, so the order
 * is fixed here from `modinfo` at build time.
 */

/**
 * Drivers the guest needs: virtio for disk and network, AHCI/ATAPI for the
 * seed CD-ROM libvirt attaches on SATA, ata_piix for an IDE CD-ROM, sd_mod for
 * a seed attached as a SATA disk, the power button for `virsh shutdown`, and
 * the balloon so `virsh setmem --live` changes what the guest sees.
 * Their dependencies are added from modinfo.
 */
const REQUIRED_MODULES = ["virtio_pci", "virtio_net", "virtio_blk", "ahci", "sr_mod", "isofs"] as const;
const OPTIONAL_MODULES = ["ata_piix", "sd_mod", "vfat", "nls_cp437", "nls_ascii", "nls_utf8", "button", "evdev", "virtio_balloon"] as const;

/** One kernel module: its file and the module names it needs loaded first. */
export interface ModuleInfo {
  readonly name: string;
  readonly filename: string;
  readonly depends: readonly string[];
}

/** Module names compare equal across "-" and "_", as the kernel treats them. */
function canonical(name: string): string {
  return name.replace(/-/g, "_");
}

/**
 * Pure: the load order of `modules`, each after everything it depends on.
 * Dependencies absent from `modules` are taken as built in.
 */
export function moduleLoadOrder(modules: readonly ModuleInfo[]): ModuleInfo[] {
  const byName = new Map(modules.map((m) => [canonical(m.name), m]));
  const done = new Set<string>();
  const visiting: string[] = [];
  const order: ModuleInfo[] = [];
  const visit = (m: ModuleInfo): void => {
    const key = canonical(m.name);
    if (done.has(key)) {
      return;
    }
    if (visiting.includes(key)) {
      throw new Error(`module dependencies: cycle ${[...visiting, key].join(" -> ")}; allowed: an acyclic graph`);
    }
    visiting.push(key);
    for (const dep of m.depends) {
      const d = byName.get(canonical(dep));
      if (d) {
        visit(d);
      }
    }
    visiting.pop();
    done.add(key);
    order.push(m);
  };
  modules.forEach(visit);
  return order;
}

async function builtinModules(kver: string): Promise<Set<string>> {
  const text = await fs.readFile(`/lib/modules/${kver}/modules.builtin`, "utf8").catch(() => "");
  return new Set(
    text
      .split("\n")
      .filter(Boolean)
      .map((l) => canonical(path.basename(l).replace(/\.ko.*$/, ""))),
  );
}

async function modinfo(kver: string, name: string): Promise<{ filename: string; depends: string[] } | undefined> {
  const filename = (await run(["modinfo", "-k", kver, "-F", "filename", name], { allowFail: true })).stdout.trim();
  if (!filename) {
    return undefined;
  }
  const depends = (await output(["modinfo", "-k", kver, "-F", "depends", name])).trim();
  return { filename, depends: depends ? depends.split(",").map((d) => d.trim()).filter(Boolean) : [] };
}

/** The modules to ship: the wanted ones and their dependencies, minus built-ins. */
export async function collectModules(kver: string): Promise<ModuleInfo[]> {
  const builtin = await builtinModules(kver);
  const found = new Map<string, ModuleInfo>();
  const queue: { name: string; required: boolean }[] = [
    ...REQUIRED_MODULES.map((name) => ({ name, required: true })),
    ...OPTIONAL_MODULES.map((name) => ({ name, required: false })),
  ];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const { name, required } = queue.shift() as { name: string; required: boolean };
    const key = canonical(name);
    if (seen.has(key) || builtin.has(key)) {
      continue;
    }
    seen.add(key);
    const info = await modinfo(kver, name);
    if (!info) {
      if (required) {
        throw new Error(`kernel module ${name}: not found for kernel ${kver}; allowed: a kernel with this module or built in`);
      }
      continue;
    }
    if (info.filename === "(builtin)") {
      continue;
    }
    found.set(key, { name, ...info });
    queue.push(...info.depends.map((d) => ({ name: d, required })));
  }
  return moduleLoadOrder([...found.values()]);
}

