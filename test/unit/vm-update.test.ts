import type { CommandResult } from "../../lib/transport/command-runner";
import type { CloudAccess } from "../../lib/vm/cloud-access";
import { updateVm } from "../../lib/vm/vm-update";
import { migrateDomain } from "../../lib/vm/node-ops";
import type { VmRecord } from "../../lib/vm/vm-model";
import { fakeCloudSpec, withoutStartQueue } from "../helpers/fake-cloud";

/**
 * updateVm over fake nodes and a fake inventory: it starts from the node the
 * domain is on now (a migration that finished after its provider died is not
 * attempted again from the old node), migrates from there when it must, and
 * says so when no node has the domain.
 */

const cloud = fakeCloudSpec();

const olds = {
  name: "web-1", stack: "dev", vcpus: 1, memoryMiB: 192, diskGiB: 1, image: "libvirt-pool/base@v1", node: "node1", state: "running",
  maxVcpus: 2, maxMemoryMiB: 384, ip: "192.0.2.100", mac: "52:54:00:00:00:01", domainUuid: "3f0e8a34-1c2b-4d5e-9f60-718293a4b5c7",
  sshAuthorizedKeys: [], fqdn: "web-1.cloud.example", disk: "libvirt-pool/web-1-root", createdAt: "2026-12-01T00:00:00Z",
} as unknown as VmRecord;

/**
 * Nodes that know which domains they hold and answer virsh like libvirt; a
 * migration moves the domain, shutdown/start/suspend/resume change its state.
 * `failVerb` makes that virsh verb fail as libvirt would.
 */
function fakeCloud(holder: Record<string, string | undefined>, failVerb?: { verb: string; stderr: string }, job?: { polls: number; to: string }) {
  const calls: string[] = [];
  const states: Record<string, string> = {};
  const recorded: Array<Record<string, unknown>> = [];
  const ok = (stdout = ""): CommandResult => ({ stdout, stderr: "", code: 0 });
  const access: CloudAccess = {
    onNode: async (node, fn) =>
      fn({
        target: node,
        async run(queued) {
          const argv = withoutStartQueue(queued);
          const verb = argv[4];
          calls.push(`${node}: ${verb}`);
          const name = argv[argv.indexOf("--domain") + 1];
          // A migration started before: under way for `polls` answers, then done (the domain on `job.to`).
          if (verb === "domjobinfo" && job && holder[name] === node) {
            if (job.polls-- > 0) return ok("Job type:         Unbounded\nOperation:        Outgoing migration\n");
            holder[name] = job.to;
          }
          if (holder[name] !== node) return { stdout: "", stderr: `error: failed to get domain '${name}'`, code: 1 };
          if (verb === failVerb?.verb) throw new Error(`virsh ${verb} on ${node} failed (exit 1): ${failVerb.stderr}`);
          if (verb === "domstate") return ok(`${states[name] ?? "running"}\n`);
          if (verb === "migrate") holder[name] = argv[argv.length - 1].includes("192.0.2.22") ? "node2" : "node1";
          if (verb === "shutdown" || verb === "destroy") states[name] = "shut off";
          if (verb === "start" || verb === "resume") states[name] = "running";
          if (verb === "suspend") states[name] = "paused";
          return ok();
        },
      }),
    onDhcp: async () => {
      throw new Error("not used");
    },
    withInventory: async (fn) => fn({ sql: { query: fakeSql(recorded) }, cache: { set: async () => "OK", get: async () => null, del: async () => 1 } }),
    lockVm: async () => {
      throw new Error("not used");
    },
  };
  return { access, calls, recorded, states };
}

/** The inventory's UPDATE ... RETURNING answers with the row it was given; other statements with nothing. */
function fakeSql(recorded: Array<Record<string, unknown>>) {
  return async (text: string, params: unknown[] = []) => {
    if (!text.startsWith("UPDATE")) return { rows: [], rowCount: 0 };
    const [name, vcpus, memory_mib, disk_gib, node, ip, state, domain_uuid] = params;
    const row = { name, stack: "dev", vcpus, memory_mib, disk_gib, image: "i", node, mac: "m", ip, state, domain_uuid, created_at: 0, updated_at: 0 };
    recorded.push(row);
    return { rows: [row], rowCount: 1 };
  };
}

describe("updateVm", () => {
  it("migrates from the recorded node when the domain is there", async () => {
    const { access, calls } = fakeCloud({ "web-1": "node1" });
    const r = await updateVm(cloud, access, olds, { ...olds, node: "node2" } as never);
    expect(r.node).toBe("node2");
    expect(calls).toContain("node1: migrate");
  });

  it("waits for a migration still under way from a killed provider, and does not migrate again once it has ended", async () => {
    const { access, calls } = fakeCloud({ "web-1": "node1" }, undefined, { polls: 2, to: "node2" });
    const r = await updateVm(cloud, access, olds, { ...olds, node: "node2" } as never);
    expect(r.node).toBe("node2");
    expect(calls.filter((c) => c === "node1: domjobinfo")).toHaveLength(3);
    expect(calls).not.toContain("node1: migrate");
  });

  it("finishes at once when an earlier migration already moved the domain (state still names the old node)", async () => {
    const { access, calls, recorded } = fakeCloud({ "web-1": "node2" });
    const r = await updateVm(cloud, access, olds, { ...olds, node: "node2" } as never);
    expect(r.node).toBe("node2");
    expect(calls.filter((c) => c.endsWith("migrate"))).toEqual([]);
    expect(calls[0]).toBe("node1: domstate");
    expect(recorded.map((x) => x.node)).toEqual(["node2"]);
  });

  it("applies other changes on the node the domain is on, for a VM not pinned to a node", async () => {
    const { access, calls } = fakeCloud({ "web-1": "node2" });
    const r = await updateVm(cloud, access, olds, { ...olds, node: undefined, state: "suspended" } as never);
    expect(r.node).toBe("node2");
    expect(calls).toContain("node2: suspend");
  });

  it("moves a VM pinned to node1 back there from where it is now", async () => {
    const { access, calls } = fakeCloud({ "web-1": "node2" });
    const r = await updateVm(cloud, access, olds, { ...olds, state: "suspended" } as never);
    expect(r.node).toBe("node1");
    expect(calls).toEqual(expect.arrayContaining(["node2: migrate", "node1: suspend"]));
  });

  it("starts a guest it shut down for a change again when the change fails, and keeps the first error as the cause", async () => {
    const { access, calls, states } = fakeCloud({ "web-1": "node1" }, { verb: "setmaxmem", stderr: "error: invalid argument: cannot set max memory lower than current memory" });
    // 512 MiB is past the domain's maximum (384): a change made with the guest off.
    const err = (await updateVm(cloud, access, olds, { ...olds, memoryMiB: 512 } as never).then(() => undefined, (e: Error) => e))!;
    expect(err.message).toBe(
      "updating VM web-1 (memoryMiB) on node1: virsh setmaxmem on node1 failed (exit 1): error: invalid argument: cannot set max memory lower than current memory; the guest, shut down for the change, is running again",
    );
    expect((err as Error & { cause?: Error }).cause?.message).toMatch(/^virsh setmaxmem on node1 failed/);
    expect(calls).toEqual(expect.arrayContaining(["node1: shutdown", "node1: start"]));
    expect(states["web-1"]).toBe("running");
  });

  it("says the guest stays off when it cannot be started again either", async () => {
    const { access, states } = fakeCloud({ "web-1": "node1" }, { verb: "setmaxmem", stderr: "error: out of memory" });
    // libvirt refuses the start as well.
    const failing: typeof access = {
      ...access,
      onNode: (node, fn) =>
        access.onNode(node, (r) =>
          fn({
            target: r.target,
            run: async (argv, o) => {
              if (withoutStartQueue(argv)[4] === "start") throw new Error("virsh start on node1 failed (exit 1): error: Failed to start domain 'web-1'");
              return r.run(argv, o);
            },
          }),
        ),
    };
    const err = (await updateVm(cloud, failing, olds, { ...olds, memoryMiB: 512 } as never).then(() => undefined, (e: Error) => e))!;
    expect(err.message).toMatch(/error: out of memory; the guest, shut down for the change, could not be brought back \(virsh start on node1 failed \(exit 1\): error: Failed to start domain 'web-1'\): it is off$/);
    expect(states["web-1"]).toBe("shut off");
  });

  it("says so when no node has the domain", async () => {
    const { access } = fakeCloud({});
    await expect(updateVm(cloud, access, olds, { ...olds, node: "node2" } as never)).rejects.toThrow(
      "updating VM web-1: its domain is on no reachable node (refresh drops a VM that is gone)",
    );
  });
});

describe("migrateDomain", () => {
  const recorder = () => {
    const argvs: string[][] = [];
    return { argvs, runner: { target: "node1", run: async (argv: string[]) => (argvs.push([...withoutStartQueue(argv)]), { stdout: "", stderr: "", code: 0 }) } };
  };

  it("migrates a running domain live, peer to peer and tunnelled through libvirt's connection, with its definition", async () => {
    const { argvs, runner } = recorder();
    await migrateDomain(runner, "web-1", { destUri: "qemu+ssh://root@192.0.2.22/system", offline: false }, 60_000);
    expect(argvs.map((a) => a.slice(4).join(" "))).toEqual(["migrate --live --p2p --tunnelled --persistent --undefinesource --domain web-1 --desturi qemu+ssh://root@192.0.2.22/system"]);
  });

  it("moves a stopped domain's definition alone", async () => {
    const { argvs, runner } = recorder();
    await migrateDomain(runner, "web-1", { destUri: "qemu+ssh://root@192.0.2.22/system", offline: true }, 60_000);
    expect(argvs.map((a) => a.slice(4).join(" "))).toEqual(["migrate --offline --persistent --undefinesource --domain web-1 --desturi qemu+ssh://root@192.0.2.22/system"]);
  });
});
