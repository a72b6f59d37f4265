import * as fs from "fs";
import * as path from "path";
import { memberStates } from "../../lab/ha-members-online";

/**
 * lab:up's last check reads crm_mon's XML as Pacemaker 2.1.5 prints it on the
 * lab's node1 (captured): the node list, not the <node> of a resource's
 * location or of the node history.
 */

const captured = fs.readFileSync(path.join(__dirname, "..", "fixtures", "pacemaker", "crm_mon-both-online.xml"), "utf8");
/** node2 as crm_mon shows a member whose controller has not joined: in the cluster layer, not online. */
const node2Pending = captured.replace(/(<node name="node2" id="2") online="true"([^>]*) pending="false"/, '$1 online="false"$2 pending="true"');

describe("the HA members lab:up waits for", () => {
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
  });

  it("knows no member in output without a node list", () => {
    expect(memberStates("<pacemaker-result api-version=\"2.25\"><status code=\"102\" message=\"Not connected\"/></pacemaker-result>").size).toBe(0);
  });
});
