import * as fs from "fs";
import * as path from "path";
import { parseDomainXmlFacts } from "../../lib/vm/virsh-output";
import { placeVm } from "../../lib/vm/placement";
import { VmRow } from "../../lib/inventory/vm-rows";
import { capacities, nodeHolding, NodeSurvey, takenMacs } from "../../lib/vm/survey";
import { UndoLog, VmOperationError } from "../../lib/vm/undo-log";

const facts = parseDomainXmlFacts(fs.readFileSync(path.join(__dirname, "../fixtures/virsh/dumpxml-running.xml"), "utf8"));
const row = (name: string, node: string, memoryMiB: number, mac: string): VmRow => ({
  name, node, memoryMiB, mac, stack: "dev", vcpus: 1, diskGiB: 1, image: "p/i@s", ip: null, state: "creating", domainUuid: null, createdAt: "", updatedAt: "",
});
const survey: NodeSurvey[] = [
  { name: "node1", view: { info: { cpus: 2, memoryMiB: 4096 }, domains: [{ name: facts.name, state: "running", facts }] } },
  { name: "node2", view: { info: { cpus: 2, memoryMiB: 4096 }, domains: [] } },
  { name: "node3", error: "cannot reach node3 (root@192.0.2.23:22): connect ETIMEDOUT" },
];

describe("node survey", () => {
  it("charges inventoried VMs (even ones still being created) and foreign domains to their nodes", () => {
    const rows = [row("a", "node2", 1000, "52:54:00:00:00:01"), row("b", "node2", 500, "52:54:00:00:00:02")];
    const caps = capacities(survey, rows);
    expect(caps.find((c) => c.name === "node1")).toMatchObject({ allocatedMemoryMiB: 192, reachable: true });
    expect(caps.find((c) => c.name === "node2")).toMatchObject({ allocatedMemoryMiB: 1500, reachable: true });
    expect(caps.find((c) => c.name === "node3")).toMatchObject({ reachable: false, unreachableReason: expect.stringContaining("ETIMEDOUT") });
    // node1 has more free memory now, so it gets the next VM.
    expect(placeVm(caps, { memoryMiB: 256, vcpus: 1 })).toBe("node1");
  });

  it("does not count a domain twice when the inventory already has it", () => {
    const caps = capacities(survey, [row(facts.name, "node1", 192, facts.macs[0])]);
    expect(caps.find((c) => c.name === "node1")!.allocatedMemoryMiB).toBe(192);
  });

  it("knows every MAC in use and where a name is taken", () => {
    expect(takenMacs(survey, [row("a", "node2", 1, "52:54:00:00:00:01")]).sort()).toEqual([...facts.macs, "52:54:00:00:00:01"].sort());
    expect(nodeHolding(survey, facts.name)).toBe("node1");
    expect(nodeHolding(survey, "nope")).toBeUndefined();
  });
});

describe("undo log", () => {
  it("undoes newest first, goes on past a failure, and the error says what is left", async () => {
    const done: string[] = [];
    const log = new UndoLog();
    log.record("disk", async () => void done.push("disk"));
    log.record("seed", async () => {
      throw new Error("rbd: connection refused");
    });
    log.record("domain", async () => void done.push("domain"));
    const r = await log.undoAll();
    expect(done).toEqual(["domain", "disk"]);
    const e = new VmOperationError("web-1", "boot-to-lease", new Error("no lease"), r.removed, r.left);
    expect(e.message).toBe('creating VM web-1 failed at step "boot-to-lease": no lease\nremoved domain, disk; could NOT remove seed (rbd: connection refused)');
  });

  it("keeps a claim while anything newer is left, and removes it when all is gone", async () => {
    const done: string[] = [];
    const failing = new UndoLog();
    failing.recordClaim("row", async () => void done.push("row"));
    failing.record("domain", async () => {
      throw new Error("cannot reach node2");
    });
    failing.record("disk", async () => void done.push("disk"));
    const r = await failing.undoAll();
    expect(done).toEqual(["disk"]);
    expect(r.left.map((l) => l.what)).toEqual(["domain", "row"]);
    expect(r.left[1].why).toMatch(/^kept: it claims what could not be removed/);

    const clean = new UndoLog();
    clean.recordClaim("row", async () => void done.push("row"));
    clean.record("disk", async () => void done.push("disk again"));
    expect((await clean.undoAll()).left).toEqual([]);
    expect(done).toEqual(["disk", "disk again", "row"]);
  });
});
