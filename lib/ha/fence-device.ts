import { buildXml } from "../core/xml";
import { checkCephUser } from "../ceph/ceph-user";
import { checkIPv4 } from "../core/network";
import { FENCE_AGENT_NAME, fenceClientKeyringPath } from "./fence-agent";
import { HaMember } from "./ha-cluster";

/** The stonith resource's id in Pacemaker's CIB. */
export const FENCE_DEVICE_ID = "kvmcloud-fence";
/** How often Pacemaker checks that the device can still reach Ceph. */
const MONITOR_INTERVAL = "60s";

/**
 * Pure: the CIB primitive of the fence device. One device fences every
 * member: pcmk_host_map gives the agent each node's address; a reboot request
 * becomes `off`, since cutting storage off cannot power-cycle a host; and
 * `provides=unfencing` makes Pacemaker run `on` for a node before it runs
 * anything there, so a node fenced while it was away is let back in by the
 * cluster, never by itself.
 */
export function renderFenceDevicePrimitive(p: { members: readonly HaMember[]; clientName: string }): string {
  checkCephUser("clientName", p.clientName);
  p.members.forEach((m, i) => checkIPv4(`members[${i}].address`, m.address));
  const hostMap = p.members.map((m) => `${m.name}:${m.address}`).join(";");
  const nv = (name: string, value: string) => ({ "@_id": `${FENCE_DEVICE_ID}-${name.replace(/_/g, "-")}`, "@_name": name, "@_value": value });
  return buildXml({
    primitive: {
      "@_id": FENCE_DEVICE_ID,
      "@_class": "stonith",
      "@_type": FENCE_AGENT_NAME,
      instance_attributes: {
        "@_id": `${FENCE_DEVICE_ID}-params`,
        nvpair: [
          nv("pcmk_host_map", hostMap),
          nv("pcmk_reboot_action", "off"),
          nv("ceph_id", p.clientName),
          nv("keyring", fenceClientKeyringPath(p.clientName)),
        ],
      },
      meta_attributes: { "@_id": `${FENCE_DEVICE_ID}-meta`, nvpair: [nv("provides", "unfencing")] },
      operations: { op: { "@_id": `${FENCE_DEVICE_ID}-monitor`, "@_name": "monitor", "@_interval": MONITOR_INTERVAL, "@_timeout": "30s" } },
    },
  });
}
