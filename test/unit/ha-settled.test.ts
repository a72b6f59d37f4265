import * as fs from "fs";
import * as path from "path";
import { fenceEvents, memberStates, unsettled } from "../../lab/ha-settled";

/**
 * lab:up's last check reads crm_mon's XML as Pacemaker 2.1.5 prints it on the
 * lab's node1 (captured after a kill of node2 and its return): the node list,
 * not the <node> of a resource's location or of the node history, and the
 * fencing history.
 */

const captured = fs.readFileSync(path.join(__dirname, "..", "fixtures", "pacemaker", "crm_mon-both-online.xml"), "utf8");
/** node2 as crm_mon shows a member whose controller has not joined: in the cluster layer, not online. */
const node2Pending = captured.replace(/(<node name="node2" id="2") online="true"([^>]*) pending="false"/, '$1 online="false"$2 pending="true"');
/** node2 back online while the cluster's fence of it has not landed: Pacemaker 2.1 prints such an event with status "pending" and no completion time. */
const fenceUnderWay = captured.replace(
  "<fence_history>",
  '<fence_history>\n    <fence_event action="reboot" target="node2" client="pacemaker-controld.761" origin="node1" status="pending" extended-status="2" delegate="node1"/>',
);
/** The newest event for node2 is the reboot (the unfencing after it removed). */
const fencedNotUnfenced = captured.replace(/\s*<fence_event action="on" target="node2"[^>]*completed="2026-12-03 08:15:22Z"\/>\s*<fence_event action="on" target="node2"[^>]*completed="2026-12-03 08:15:07Z"\/>/, "");

describe("the HA cluster lab:up waits for", () => {
  it("reads both members online, and nothing else as a member", () => {
    expect([...memberStates(captured)]).toEqual([
      ["node1", "online"],
      ["node2", "online"],
    ]);
  });

  it("reads a pending member as pending", () => {
    expect(node2Pending).not.toEqual(captured);
    expect(memberStates(node2Pending).get("node2")).toBe("pending");
    expect(memberStates(node2Pending).get("node1")).toBe("online");
    expect(unsettled(node2Pending, ["node1", "node2"])).toEqual(["node2 pending"]);
  });

  it("knows no member in output without a node list", () => {
    const none = "<pacemaker-result api-version=\"2.25\"><status code=\"102\" message=\"Not connected\"/></pacemaker-result>";
    expect(memberStates(none).size).toBe(0);
    expect(unsettled(none, ["node1"])).toEqual(["node1 unknown", "node1: never unfenced"]);
  });

  it("reads the fencing history, newest first", () => {
    const events = fenceEvents(captured);
    expect(events.length).toBe(16);
    expect(events[0]).toEqual({ action: "on", target: "node2", status: "success", completed: "2026-12-03 08:15:22Z" });
    expect(events.some((e) => e.action === "reboot" && e.target === "node2")).toBe(true);
  });

  it("is settled when every member is online and its newest fence action is the unfencing", () => {
    expect(unsettled(captured, ["node1", "node2"])).toEqual([]);
  });

  it("waits while a fence of an online member is under way", () => {
    expect(fenceUnderWay).not.toEqual(captured);
    expect(memberStates(fenceUnderWay).get("node2")).toBe("online");
    expect(unsettled(fenceUnderWay, ["node1", "node2"])).toEqual(["node2: fencing (reboot) in progress"]);
  });

  it("waits while an online member's last fence has no unfencing after it", () => {
    expect(fencedNotUnfenced).not.toEqual(captured);
    expect(unsettled(fencedNotUnfenced, ["node1", "node2"])).toEqual(["node2: fenced (reboot) at 2026-12-03 08:15:04Z, not unfenced since"]);
  });
});
