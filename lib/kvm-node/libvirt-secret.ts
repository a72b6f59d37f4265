import { check } from "../core/errors";
import { UUID } from "../core/network";
import { buildXml } from "../core/xml";


/**
 * Pure: the libvirt secret that holds a cephx key. Only the envelope: the key
 * itself goes in with `virsh secret-set-value`, never into XML or logs.
 */
export function renderCephSecretXml(o: { uuid: string; clientName: string }): string {
  check(UUID.test(o.uuid), "uuid", o.uuid, "a lower-case UUID like 3f0e8a34-1c2b-4d5e-9f60-718293a4b5c6");
  check(/^[a-z0-9_.-]{1,64}$/.test(o.clientName), "clientName", o.clientName, "a cephx client id like libvirt (without the client. prefix)");
  return buildXml({
    secret: {
      "@_ephemeral": "no",
      "@_private": "yes",
      uuid: o.uuid,
      description: `cephx key of client.${o.clientName}`,
      usage: { "@_type": "ceph", name: `client.${o.clientName} secret` },
    },
  });
}
