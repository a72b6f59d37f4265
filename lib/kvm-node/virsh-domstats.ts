/**
 * `virsh domstats --state --cpu-total --balloon --vcpu --interface --block`:
 * blocks of `Domain: 'NAME'` followed by indented `key=value` lines. Pure, so
 * the exporter's unit tests feed it output captured from the lab.
 */

/** libvirt's virDomainState numbers, as `state.state` prints them. */
export const DOMAIN_STATES: Readonly<Record<number, string>> = {
  0: "nostate",
  1: "running",
  2: "blocked",
  3: "paused",
  4: "shutdown",
  5: "shutoff",
  6: "crashed",
  7: "pmsuspended",
};

export interface DomainDiskStats {
  /** Target device, e.g. "vda". */
  readonly device: string;
  readonly readBytes: number;
  readonly writtenBytes: number;
}

export interface DomainInterfaceStats {
  /** Host-side device, e.g. "vnet0". */
  readonly device: string;
  readonly receiveBytes: number;
  readonly transmitBytes: number;
}

export interface DomainStats {
  readonly name: string;
  /** One of DOMAIN_STATES' names. */
  readonly state: string;
  /** Running in the sense "the guest executes": running or blocked (idle vCPUs). */
  readonly running: boolean;
  readonly cpuSeconds?: number;
  readonly vcpus?: number;
  readonly memoryBytes?: number;
  readonly maxMemoryBytes?: number;
  readonly disks: readonly DomainDiskStats[];
  readonly interfaces: readonly DomainInterfaceStats[];
}

function num(fields: Map<string, string>, key: string): number | undefined {
  const v = fields.get(key);
  if (v === undefined || !/^-?\d+(\.\d+)?$/.test(v)) return undefined;
  return Number(v);
}

function indexed<T>(fields: Map<string, string>, prefix: "block" | "net", make: (i: number, name: string) => T): T[] {
  const count = num(fields, `${prefix}.count`) ?? 0;
  const out: T[] = [];
  for (let i = 0; i < count; i++) {
    const name = fields.get(`${prefix}.${i}.name`);
    if (name !== undefined) out.push(make(i, name));
  }
  return out;
}

function toStats(name: string, f: Map<string, string>): DomainStats {
  const code = num(f, "state.state") ?? 0;
  const state = DOMAIN_STATES[code] ?? "nostate";
  const cpuNs = num(f, "cpu.time");
  const kib = num(f, "balloon.current");
  const maxKib = num(f, "balloon.maximum");
  return {
    name,
    state,
    running: state === "running" || state === "blocked",
    cpuSeconds: cpuNs === undefined ? undefined : cpuNs / 1e9,
    vcpus: num(f, "vcpu.current"),
    memoryBytes: kib === undefined ? undefined : kib * 1024,
    maxMemoryBytes: maxKib === undefined ? undefined : maxKib * 1024,
    // A shut-off domain lists its disks without counters: they are left out rather than reported as 0.
    disks: indexed(f, "block", (i, device) => ({ device, readBytes: num(f, `block.${i}.rd.bytes`), writtenBytes: num(f, `block.${i}.wr.bytes`) }))
      .filter((d): d is DomainDiskStats => d.readBytes !== undefined && d.writtenBytes !== undefined),
    interfaces: indexed(f, "net", (i, device) => ({ device, receiveBytes: num(f, `net.${i}.rx.bytes`), transmitBytes: num(f, `net.${i}.tx.bytes`) }))
      .filter((n): n is DomainInterfaceStats => n.receiveBytes !== undefined && n.transmitBytes !== undefined),
  };
}

export function parseDomStats(text: string): DomainStats[] {
  const out: DomainStats[] = [];
  let name: string | undefined;
  let fields = new Map<string, string>();
  const flush = () => {
    if (name !== undefined) out.push(toStats(name, fields));
  };
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const head = /^Domain: '(.*)'$/.exec(line);
    if (head) {
      flush();
      name = head[1];
      fields = new Map();
      continue;
    }
    const eq = line.indexOf("=");
    if (name !== undefined && eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 1));
  }
  flush();
  return out;
}
