import * as pulumi from "@pulumi/pulumi";
import { RemoteCommand } from "../dynamic-providers/remote-command";
import { parseCephBootstrap } from "../lib/ceph/bootstrap-secrets";
import { CephMonitor } from "../lib/ceph/ceph-conf";
import { renderCephBootstrapScript } from "../lib/ceph/bootstrap-script";
import {
  renderCephHostConfigScript,
  renderCephMgrScript,
  renderCephMonScript,
  renderCephFileOsdScript,
  renderCephOsdScript,
  renderCephPackagesScript,
} from "../lib/ceph/daemons-script";
import { renderCephPoolScript } from "../lib/ceph/pool-script";
import { stdinPayload } from "../lib/core/script";
import { CephClusterSettings, CephPlan, planCephCluster } from "../lib/ceph/ceph-cluster";
import { HostConnection } from "./connection";
import { requireKnown } from "./inputs";

export interface CephClusterHostArgs {
  /** Daemon id of the host's mon/mgr: 1-32 lower-case letters and digits. */
  readonly name: string;
  /** SSH access (root or a passwordless-sudo user). */
  readonly connection: HostConnection;
  /** Address on the public network; monitors bind it. */
  readonly address: string;
  /** Whole block devices for OSDs, one OSD each; their data is lost. Default none. */
  readonly devices?: readonly string[];
  /** Files for OSDs (made sparse, of osdFileSizeGiB), one OSD each; for hosts without a spare disk. Default none. */
  readonly osdFiles?: readonly string[];
}

/**
 * The cluster's shape decides which resources exist and is checked before any
 * is registered, so these fields are plain values (from stack config), not
 * Outputs; only the hosts' connections may hold Outputs.
 */
export interface CephClusterArgs extends CephClusterSettings {
  /** Ceph hosts; monitors and managers go to the first ones. No default. */
  readonly hosts: readonly CephClusterHostArgs[];
}

/**
 * A Ceph cluster bootstrapped by hand from distribution packages (no
 * cephadm): monitors, managers, one BlueStore OSD per device, the RBD pool
 * for VM disks and a cephx client limited to it.
 */
export class CephCluster extends pulumi.ComponentResource {
  readonly fsid: pulumi.Output<string>;
  readonly monitorAddresses: pulumi.Output<string[]>;
  readonly monitors: pulumi.Output<CephMonitor[]>;
  readonly pool: pulumi.Output<string>;
  readonly clientName: pulumi.Output<string>;
  /** The client's cephx key. A secret. */
  readonly clientKey: pulumi.Output<string>;

  constructor(name: string, args: CephClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    const plan = planCephCluster({
      ...requireKnown("CephClusterArgs", { ...args, hosts: args.hosts.map(({ connection: _c, ...h }) => ({ ...h, devices: h.devices ?? [] })) }),
    });
    super("kvmcloud:index:CephCluster", name, {}, opts);
    const hosts = new Map(args.hosts.map((h) => [h.name, h]));
    const first = args.hosts[0];
    const part = (host: string, what: string) => `${name}-${host}-${what}`;

    const packages = this.installPackages(name, plan, args.hosts);
    const bootstrap = new RemoteCommand(`${name}-bootstrap`, {
      connection: first.connection,
      script: renderCephBootstrapScript({ monitors: plan.monitors }),
      secretStdout: true,
    }, { parent: this, dependsOn: [packages.get(first.name)!] });
    const secrets = bootstrap.stdout.apply(parseCephBootstrap);
    this.fsid = pulumi.unsecret(secrets.apply((s) => s.fsid));

    const configs = new Map<string, RemoteCommand>();
    for (const h of args.hosts) {
      configs.set(h.name, new RemoteCommand(part(h.name, "config"), {
        connection: h.connection,
        script: this.fsid.apply((fsid) =>
          renderCephHostConfigScript({ fsid, monitors: plan.monitors, publicNetwork: plan.publicNetwork, osdPoolDefaultSize: plan.replicaSize, extra: plan.confOverrides }),
        ),
        stdin: secrets.apply((s) => stdinPayload([s.adminKey, s.bootstrapOsdKey])),
      }, { parent: this, dependsOn: [packages.get(h.name)!] }));
    }
    const mons = plan.monitors.map((m) =>
      new RemoteCommand(part(m.name, "mon"), {
        connection: hosts.get(m.name)!.connection,
        script: renderCephMonScript({ id: m.name }),
        stdin: secrets.apply((s) => stdinPayload([s.monKey, s.adminKey, s.bootstrapOsdKey, s.monmap])),
      }, { parent: this, dependsOn: [configs.get(m.name)!] }),
    );
    const mgrs = plan.managers.map((id) =>
      new RemoteCommand(part(id, "mgr"), { connection: hosts.get(id)!.connection, script: renderCephMgrScript({ id }) }, { parent: this, dependsOn: [...mons, configs.get(id)!] }),
    );
    const osds = this.createOsds(name, plan, hosts, [...mons, ...configs.values()]);
    const pool = new RemoteCommand(`${name}-pool`, {
      connection: first.connection,
      script: renderCephPoolScript(plan),
      secretStdout: true,
    }, { parent: this, dependsOn: [...mgrs, ...osds] });

    this.monitors = pulumi.output(plan.monitors.map((m) => ({ ...m })));
    this.monitorAddresses = pulumi.output(plan.monitors.map((m) => m.address));
    this.pool = pulumi.output(plan.pool);
    this.clientName = pulumi.output(plan.clientName);
    this.clientKey = pulumi.secret(pool.stdout.apply((s) => s.trim()));
    this.registerOutputs({
      fsid: this.fsid,
      monitorAddresses: this.monitorAddresses,
      monitors: this.monitors,
      pool: this.pool,
      clientName: this.clientName,
      clientKey: this.clientKey,
    });
  }

  private installPackages(name: string, plan: CephPlan, hosts: readonly CephClusterHostArgs[]): Map<string, RemoteCommand> {
    const out = new Map<string, RemoteCommand>();
    for (const h of hosts) {
      const roles = {
        mon: plan.monitors.some((m) => m.name === h.name),
        mgr: plan.managers.includes(h.name),
        osd: plan.osds.some((o) => o.host === h.name),
      };
      out.set(h.name, new RemoteCommand(`${name}-${h.name}-packages`, { connection: h.connection, script: renderCephPackagesScript(roles) }, { parent: this }));
    }
    return out;
  }

  /** One resource per OSD; a host's OSDs are made one after another (ceph-volume, LVM and `osd new` ids are not made for parallel runs). */
  private createOsds(name: string, plan: CephPlan, hosts: Map<string, CephClusterHostArgs>, after: pulumi.Resource[]): RemoteCommand[] {
    const last = new Map<string, RemoteCommand>();
    const all: RemoteCommand[] = [];
    const index = new Map<string, number>();
    for (const o of plan.osds) {
      const i = index.get(o.host) ?? 0;
      index.set(o.host, i + 1);
      const previous = last.get(o.host);
      const osd = new RemoteCommand(`${name}-${o.host}-osd-${i}`, { connection: hosts.get(o.host)!.connection, script: "device" in o ? renderCephOsdScript({ device: o.device }) : renderCephFileOsdScript({ file: o.file, sizeGiB: plan.osdFileSizeGiB }) }, {
        parent: this,
        dependsOn: previous ? [...after, previous] : after,
      });
      last.set(o.host, osd);
      all.push(osd);
    }
    return all;
  }
}
