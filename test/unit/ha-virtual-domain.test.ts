import * as fs from "fs";
import * as path from "path";
import { parseXml } from "../../lib/core/xml";
import { memberRefusal, parseClusterView } from "../../lib/ha/crm-mon";
import { haDomainConfigPath, renderVmLocation, renderVmResource, vmResourceId } from "../../lib/ha/virtual-domain";

/**
 * What Pacemaker is given for an ha VM, and how crm_mon's answers are read:
 * the fixture is crm_mon's XML captured on the lab's node1 (Pacemaker 2.1.5)
 * while Pacemaker was starting an ha VM there.
 */

const captured = fs.readFileSync(path.join(__dirname, "..", "fixtures", "pacemaker", "crm_mon-vm-running.xml"), "utf8");
const vm = /resource id="vm-(havm-[0-9a-f]+)"/.exec(captured)![1];
const started = captured.replace(/(resource id="vm-havm-[0-9a-f]+"[^>]*) role="Starting"/, '$1 role="Started"');

function ids(xml: string): string[] {
  return [...xml.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
}

describe("an ha VM's Pacemaker resource", () => {
  it("is a VirtualDomain started from the XML file every node holds, migrating live over the nodes' SSH mesh", () => {
    const xml = renderVmResource("web1", true);
    const p = parseXml(xml).primitive as Record<string, any>;
    expect([p["@_class"], p["@_provider"], p["@_type"], p["@_id"]]).toEqual(["ocf", "heartbeat", "VirtualDomain", vmResourceId("web1")]);
    const params = Object.fromEntries(p.instance_attributes.nvpair.map((n: any) => [n["@_name"], n["@_value"]]));
    expect(params).toEqual({
      config: haDomainConfigPath("web1"),
      hypervisor: "qemu:///system",
      remoteuri: "qemu+ssh://root@%n/system?keyfile=/root/.ssh/kvmcloud_migration",
      migrate_options: "--p2p --tunnelled",
    });
    const meta = Object.fromEntries(p.meta_attributes.nvpair.map((n: any) => [n["@_name"], n["@_value"]]));
    expect(meta).toEqual({ "allow-migrate": "true", "target-role": "Started" });
    expect(p.operations.op.map((o: any) => o["@_name"]).sort()).toEqual(["migrate_from", "migrate_to", "monitor", "start", "stop"]);
  });

  it("gives every element an id of its own (the CIB refuses duplicates), and a stopped VM target-role Stopped", () => {
    const xml = renderVmResource("web1", false);
    expect(new Set(ids(xml)).size).toBe(ids(xml).length);
    expect(xml).toMatch(/name="target-role" value="Stopped"/);
  });

  it("refuses a name or node that is not a DNS label, naming the field", () => {
    expect(() => renderVmResource("web_1", true)).toThrow(/name/);
    expect(() => renderVmLocation("web1", "node 2")).toThrow(/node/);
  });

  it("prefers the declared node with a finite score, so a lost node's VMs run elsewhere", () => {
    const l = parseXml(renderVmLocation("web1", "node2")).rsc_location as Record<string, string>;
    expect(l).toEqual({ "@_id": "vm-web1-on-node", "@_rsc": "vm-web1", "@_node": "node2", "@_score": "100" });
  });
});

describe("crm_mon's view of a VM", () => {
  it("does not count a VM that is still starting as running, and names its role", () => {
    const v = parseClusterView(captured, vm);
    expect(v.role).toBe("Starting");
    expect(v.runningOn).toEqual([]);
    expect(v.members.map((m) => [m.name, m.online])).toEqual([
      ["node1", true],
      ["node2", true],
    ]);
  });

  it("reads where a started VM runs, and nothing for a VM the CIB does not hold", () => {
    expect(started).not.toEqual(captured);
    expect(parseClusterView(started, vm).runningOn).toEqual(["node1"]);
    const other = parseClusterView(started, "other");
    expect([other.runningOn, other.role]).toEqual([[], undefined]);
  });

  it("reports the VM's failed operations with the agent's reason", () => {
    const failed = started.replace(
      "</node_history>",
      `</node_history>\n  <failures>\n    <failure op_key="vm-${vm}_start_0" node="node2" exitstatus="error" exitreason="Failed to start virtual domain" exitcode="1" call="12" status="complete" task="start"/>\n    <failure op_key="kvmcloud-fence_monitor_60000" node="node1" exitstatus="error" exitcode="1" call="3" status="complete" task="monitor"/>\n  </failures>`,
    );
    expect(parseClusterView(failed, vm).failures).toEqual([`vm-${vm}_start_0 on node2: error (Failed to start virtual domain)`]);
  });

  it("says why a member cannot take a VM", () => {
    const v = parseClusterView(started, vm);
    expect(memberRefusal(v, "node1")).toBeUndefined();
    expect(memberRefusal(v, "node3")).toBe("node3 is not a member of the HA cluster (members: node1, node2)");
    const lost = parseClusterView(started.replace(/(<node name="node2" id="2") online="true"([^>]*) unclean="false"/, '$1 online="false"$2 unclean="true"'), vm);
    expect(memberRefusal(lost, "node2")).toBe("node2 is lost and not yet fenced (unclean)");
    const off = parseClusterView(started.replace(/(<node name="node2" id="2") online="true"/, '$1 online="false"'), vm);
    expect(memberRefusal(off, "node2")).toBe("node2 is offline in the HA cluster");
    const drained = parseClusterView(started.replace(/(<node name="node2" id="2"[^>]*) standby="false"/, '$1 standby="true"'), vm);
    expect(memberRefusal(drained, "node2")).toBe("node2 is in standby (drained)");
  });

  it("refuses output that is not crm_mon's", () => {
    expect(() => parseClusterView("<error>Not connected</error>", vm)).toThrow(/crm_mon/);
  });
});
