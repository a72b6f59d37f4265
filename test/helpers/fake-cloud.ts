import { CloudSpec, ResolvedCloudSpec, validateCloudSpec } from "../../lib/vm/cloud-spec";
import type { CommandResult, CommandRunner } from "../../lib/transport/command-runner";
import type { CloudAccess } from "../../lib/vm/cloud-access";
import { parseDomainXmlFacts } from "../../lib/vm/virsh-output";
import { FakePacemaker } from "./fake-pacemaker";

/** A CloudSpec of documentation addresses for `nodes`, as the VM operations' unit tests use it. */
export function fakeCloudSpec(nodes: readonly string[] = ["node1", "node2"], extra: Partial<CloudSpec> = {}): ResolvedCloudSpec {
  const privateKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----";
  return validateCloudSpec({
    nodes: nodes.map((name, i) => ({ name, ssh: { host: `192.0.2.${21 + i}`, privateKey }, libvirtUri: `qemu+ssh://root@192.0.2.${21 + i}/system` })),
    ceph: { pool: "libvirt-pool", monitors: ["192.0.2.11"], secretUuid: "3f0e8a34-1c2b-4d5e-9f60-718293a4b5c6" },
    dhcp: { ssh: { host: "192.0.2.1", privateKey }, leaseFile: "/var/lib/misc/dnsmasq.leases", domain: "cloud.example", range: { start: "192.0.2.100", end: "192.0.2.199" } },
    inventory: { postgresUrl: "postgres://u:p@192.0.2.3:5432/kvmcloud", redisUrl: "redis://:p@192.0.2.3:6379/0" },
    ...extra,
  });
}

/**
 * A cloud in memory for fast tests of the VM operations over their seams
 * (CloudAccess): nodes that answer virsh and rbd as libvirt and Ceph do, a
 * DHCP host whose lease file gains a line when a domain starts (the address
 * of the MAC's hostsdir entry, as dnsmasq gives it), and an
 * inventory that keeps rows and a cache. `failOn` makes one command fail as
 * the daemon would; `down` makes a node unreachable (from then on).
 */
export interface FakeDomain {
  xml: string;
  state: "running" | "shut off" | "paused";
}

export class FakeCloud {
  readonly domains = new Map<string, Map<string, FakeDomain>>();
  readonly images = new Set<string>();
  readonly rows = new Map<string, Record<string, unknown>>();
  readonly cache = new Map<string, string>();
  readonly leases: string[] = [];
  /** The DHCP host's dhcp-hostsdir: file name -> text. */
  readonly hostEntries = new Map<string, string>();
  /** dnsmasq reloads (SIGHUP) asked for. */
  dnsmasqReloads = 0;
  readonly operations: Array<{ vm: unknown; operation: unknown; outcome: unknown; step: unknown }> = [];
  /** The schema's mark on the VM table (as `COMMENT ON TABLE` leaves it), and how often the schema was applied. */
  schemaMark: string | null = null;
  schemaApplied = 0;
  readonly down = new Set<string>();
  /** argv (joined) pattern -> the daemon's stderr for a command that must fail. */
  readonly failOn = new Map<RegExp, string>();
  /** Runs after each command (e.g. to kill a node right after a step). */
  afterCommand: (node: string, argv: readonly string[]) => void = () => undefined;
  locksHeld = 0;
  /** Guests that boot but never ask DHCP: start writes no lease. */
  silentGuests = false;
  /** What each node's console log file of a domain holds (by "node:name"), as `tail` would find it. */
  readonly consoles = new Map<string, string>();

  constructor(nodes: readonly string[], images: readonly string[] = []) {
    for (const n of nodes) this.domains.set(n, new Map());
    for (const i of images) this.images.add(i);
  }

  /** Every domain of every node, as "node:name". */
  domainNames(): string[] {
    return [...this.domains].flatMap(([n, d]) => [...d.keys()].map((k) => `${n}:${k}`));
  }

  /** The cluster's CIB and HA domain files; its resources run domains on these nodes. */
  readonly pacemaker = new FakePacemaker(
    () => [...this.domains.keys()],
    (n) => this.down.has(n),
    (node, xml) => {
      const name = parseDomainXmlFacts(xml).name;
      this.domains.get(node)!.set(name, { xml, state: "running" });
      this.boot(name, xml);
    },
    (node, name) => void this.domains.get(node)!.delete(name),
  );

  /** A guest that boots asks DHCP: a lease, at the hostsdir entry's address for its MAC as dnsmasq gives it, else one from the range. */
  private boot(name: string, xml: string): void {
    if (this.silentGuests) return;
    const mac = parseDomainXmlFacts(xml).macs[0];
    const fixed = [...this.hostEntries.values()].map((e) => e.trim().split(",")).find((e) => e[0] === mac)?.[1];
    this.leases.push(`${Math.floor(Date.now() / 1000) + 3600} ${mac} ${fixed ?? `192.0.2.${150 + this.leases.length}`} ${name} *`);
  }

  private runner(node: string): CommandRunner {
    const ok = (stdout = ""): CommandResult => ({ stdout, stderr: "", code: 0 });
    const fail = (stderr: string, code = 1): CommandResult => ({ stdout: "", stderr, code });
    const run = async (argv: readonly string[], opts: { stdin?: string | Buffer } = {}): Promise<CommandResult> => {
      const line = argv.join(" ");
      for (const [re, stderr] of this.failOn) if (re.test(line)) return fail(stderr);
      const cluster = this.pacemaker.handle(node, argv, opts.stdin === undefined ? undefined : String(opts.stdin));
      if (cluster) return cluster;
      const doms = this.domains.get(node)!;
      if (argv[0] === "sh" && argv[3] === "seed") {
        this.images.add(argv[argv.length - 1]);
        return ok();
      }
      if (argv[0] === "sh" && String(argv[2]).includes("v nodeinfo")) {
        // As the survey's one virsh prints it: each domain's definition and state after this call's marker.
        const m = argv[4];
        const domains = [...doms.values()].map((d) => `@@D-${m}@@${d.xml}\n@@S-${m}@@${d.state}\n`).join("");
        return ok(`@@NODEINFO@@\nCPU(s):              4\nMemory size:         8388608 KiB\n${domains}`);
      }
      if (argv[0] === "rbd") {
        const verb = argv[3];
        const image = argv[argv.length - 1];
        if (verb === "info") return this.images.has(image) ? ok(JSON.stringify({ size: 1024 ** 3 })) : fail("rbd: error opening image: (2) No such file or directory", 2);
        if (verb === "clone") return this.images.has(argv[4]) ? (this.images.add(image), ok()) : fail("rbd: error opening snapshot: (2) No such file or directory", 2);
        if (verb === "resize") return ok();
        if (verb === "rm") return this.images.delete(image) ? ok() : fail("rbd: delete error: (2) No such file or directory", 2);
      }
      if (argv[0] === "virsh") {
        const verb = argv[4];
        if (verb === "define") {
          const xml = String(opts.stdin);
          doms.set(parseDomainXmlFacts(xml).name, { xml: xml.includes("<uuid>") ? xml : xml.replace("<name>", "<uuid>3f0e8a34-1c2b-4d5e-9f60-718293a4b5c7</uuid><name>"), state: "shut off" });
          return ok();
        }
        const name = argv[argv.indexOf("--domain") + 1];
        const d = doms.get(name);
        if (!d) return fail(`error: failed to get domain '${name}'`);
        if (verb === "domstate") return ok(`${d.state}\n`);
        if (verb === "dumpxml") return ok(d.xml);
        if (verb === "start") {
          d.state = "running";
          this.boot(name, d.xml);
          return ok();
        }
        if (verb === "destroy") return (d.state = "shut off"), ok();
        if (verb === "undefine") return doms.delete(name), ok();
      }
      if (argv[0] === "sh" && argv[3] === "write-entry") {
        const before = this.hostEntries.get(argv[5]);
        if (before !== undefined && before !== String(opts.stdin)) this.dnsmasqReloads++;
        this.hostEntries.set(argv[5], String(opts.stdin));
        return ok();
      }
      if (argv[0] === "sh" && argv[3] === "remove-entry") {
        this.hostEntries.delete(argv[5]);
        this.dnsmasqReloads++;
        return ok();
      }
      if (argv[0] === "cat") return ok(this.leases.join("\n") + "\n");
      if (argv[0] === "tail") {
        const name = /\/([^/]+)-console\.log$/.exec(String(argv[argv.length - 1]))?.[1] ?? "";
        const text = this.consoles.get(`${node}:${name}`);
        return text === undefined ? fail(`tail: cannot open '${argv[argv.length - 1]}' for reading: No such file or directory`) : ok(text.split("\n").slice(-Number(argv[2])).join("\n"));
      }
      if (argv[0] === "sh" && argv[3] === "watch") {
        const mac = argv[5];
        return this.leases.some((l) => l.includes(` ${mac} `)) ? ok(`${this.leases.join("\n")}\n`) : fail("", 3);
      }
      throw new Error(`fake cloud: unexpected command on ${node}: ${line.slice(0, 120)}`);
    };
    return {
      target: node,
      run: async (queued, opts = {}) => {
        const argv = withoutStartQueue(queued);
        const r = await run(argv, opts);
        this.afterCommand(node, argv);
        if (r.code !== 0 && !opts.allowFail) throw new Error(`${argv.slice(0, 5).join(" ")} on ${node} failed (exit ${r.code}): ${r.stderr}`);
        return r;
      },
    };
  }

  private sql() {
    const toResult = (rows: Array<Record<string, unknown>>) => ({ rows, rowCount: rows.length });
    return {
      query: async (text: string, params: unknown[] = []) => {
        const t = text.trim();
        if (t.includes("CREATE TABLE")) {
          this.schemaApplied++;
          this.schemaMark = /COMMENT ON TABLE vms IS '([^']*)'/.exec(t)?.[1] ?? this.schemaMark;
          return toResult([]);
        }
        if (t.startsWith("SELECT obj_description")) return toResult([{ mark: this.schemaMark }]);
        if (/^(BEGIN|COMMIT|ROLLBACK)$/.test(t) || t.startsWith("SELECT pg_advisory") || t.startsWith("CREATE")) return toResult([]);
        if (t.startsWith("SELECT pg_try_advisory_lock")) return toResult([{ held: true }]);
        if (t.startsWith("SELECT * FROM vms WHERE name")) return toResult(this.rows.has(String(params[0])) ? [this.rows.get(String(params[0]))!] : []);
        if (t.startsWith("SELECT * FROM vms")) return toResult([...this.rows.values()]);
        if (t.startsWith("DELETE FROM vms")) {
          const r = this.rows.get(String(params[0]));
          if (r && (!t.includes("'creating'") || r.state === "creating")) this.rows.delete(String(params[0]));
          return toResult([]);
        }
        if (t.startsWith("INSERT INTO vms")) {
          const [name, stack, vcpus, memory_mib, disk_gib, image, node, mac, ip] = params;
          const row = { name, stack, vcpus, memory_mib, disk_gib, image, node, mac, ip, state: "creating", domain_uuid: null, created_at: new Date().toISOString(), updated_at: new Date().toISOString() };
          this.rows.set(String(name), row);
          return toResult([row]);
        }
        if (t.startsWith("UPDATE vms")) {
          const [name, vcpus, memory_mib, disk_gib, node, ip, state, domain_uuid] = params;
          const r = this.rows.get(String(name));
          if (!r) return toResult([]);
          Object.assign(r, { vcpus, memory_mib, disk_gib, node, ip, state, domain_uuid });
          return toResult([r]);
        }
        if (t.startsWith("INSERT INTO vm_operations")) {
          const [vm, operation, outcome, step] = params;
          this.operations.push({ vm, operation, outcome, step });
          return toResult([]);
        }
        throw new Error(`fake inventory: unexpected statement ${t.slice(0, 80)}`);
      },
    };
  }

  access(): CloudAccess {
    const cache = {
      get: async (k: string) => this.cache.get(k) ?? null,
      set: async (k: string, v: string) => this.cache.set(k, v),
      del: async (k: string) => this.cache.delete(k),
    };
    return {
      onNode: async (node, fn) => {
        if (this.down.has(node)) throw new Error(`cannot reach ${node}: connect ECONNREFUSED`);
        return fn(this.runner(node));
      },
      onDhcp: async (fn) => fn(this.runner("dhcp")),
      withInventory: async (fn) => fn({ sql: this.sql(), cache }),
      lockVm: async () => {
        this.locksHeld++;
        return { held: true, sql: this.sql(), release: async () => void this.locksHeld-- };
      },
    };
  }
}

/**
 * The command a node runs once its start queue lets it through: fakes answer
 * `virsh start` alike whether or not it waited on the node's lock first.
 */
export function withoutStartQueue(argv: readonly string[]): readonly string[] {
  return argv[0] === "flock" ? argv.slice(argv.indexOf("virsh")) : argv;
}
