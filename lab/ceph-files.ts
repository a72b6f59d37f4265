import * as path from "path";
import { renderCephClientConf } from "../lib/ceph/ceph-conf";
import { LabPaths } from "./paths";
import { writeIfChanged } from "./write-if-changed";

/**
 * The lab's client files for the cluster the product built on the Ceph hosts
 * (the whole stack, lab/lab-stack.ts): what an operator copies off a monitor host to run `ceph`
 * and `rbd` elsewhere, here for the lab's own tools and tests (in the manager
 * namespace), and the client identity's files for the KVM nodes.
 */
export interface CephFiles {
  readonly dir: string;
  /** ceph.conf for the lab's tools: fsid, mon_host and the admin keyring below. */
  readonly conf: string;
  readonly adminKeyring: string;
  /** ceph.conf for the KVM nodes: fsid, mon_host, keyring in /etc/ceph. */
  readonly clientConf: string;
  clientKeyring(client: string): string;
}

export function cephFiles(p: LabPaths): CephFiles {
  const dir = p.ceph;
  return {
    dir,
    conf: path.join(dir, "ceph.conf"),
    adminKeyring: path.join(dir, "ceph.client.admin.keyring"),
    clientConf: path.join(dir, "client", "ceph.conf"),
    clientKeyring: (client) => path.join(dir, `ceph.client.${client}.keyring`),
  };
}

/** The cluster as the stack reports it, with the admin keyring as its first monitor host holds it. */
export interface CephClientSource {
  readonly fsid: string;
  readonly monitors: readonly string[];
  readonly clientName: string;
  readonly clientKey: string;
  readonly adminKeyring: string;
}

/** Writes the lab's and the nodes' client files; says which changed. */
export function writeCephClientFiles(f: CephFiles, c: CephClientSource): string[] {
  // Client confs name no monitor: mon_host holds addresses only.
  const monitors = c.monitors.map((address, i) => ({ name: `m${i}`, address }));
  const written = [
    [f.conf, renderCephClientConf({ fsid: c.fsid, monitors, keyring: f.adminKeyring }), 0o644],
    [f.adminKeyring, c.adminKeyring, 0o600],
    [f.clientConf, renderCephClientConf({ fsid: c.fsid, monitors }), 0o644],
    [f.clientKeyring(c.clientName), `[client.${c.clientName}]\n\tkey = ${c.clientKey}\n`, 0o600],
  ] as const;
  return written.filter(([file, text, mode]) => writeIfChanged(file, text, mode)).map(([file]) => file);
}
