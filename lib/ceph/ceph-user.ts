import { check } from "../core/errors";

/** The cephx user libvirt and the VM provider use, without `client.`. */
export const DEFAULT_CEPH_CLIENT = "libvirt";

/** A cephx user name without the `client.` prefix, as every script and spec of the cloud takes it. */
export function checkCephUser(field: string, v: unknown): asserts v is string {
  // "client.libvirt" is the usual slip: ceph adds the prefix itself.
  check(typeof v === "string" && /^(?!client\.)[A-Za-z0-9_.-]{1,64}$/.test(v), field, v, "a cephx user name without the client. prefix, 1-64 characters [A-Za-z0-9_.-]");
}
