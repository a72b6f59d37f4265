import { cloudSpecFromLab } from "../cloud-spec";
import { LabDescription } from "../description";
import { httpGet } from "../http-probe";
import { inNetns, run } from "../exec";
import { labSshArgv } from "../ssh-client";
import { hostByName } from "../topology";
import { parseClusterView } from "../../lib/ha/crm-mon";
import { renderStandbyScript } from "../../lib/ha/standby";
import { ProviderHost, serializeProvider, startProviderHost } from "../../test/helpers/provider-host";

/**
 * HA guests for the HA bench: VMs with `ha: true` made through Pulumi's
 * dynamic-provider host, asked where Pacemaker runs them, and HaCluster's
 * standby script run on a node as RemoteCommand runs it.
 */

export interface HaGuest {
  readonly name: string;
  readonly ip: string;
  readonly props: Record<string, unknown>;
}

export class HaGuests {
  private constructor(
    private readonly d: LabDescription,
    private readonly host: ProviderHost,
    readonly guests: HaGuest[],
  ) {}

  /** Makes one HA VM per name on `node`, each answering over HTTP before this returns. */
  static async make(d: LabDescription, names: readonly string[], node: string): Promise<HaGuests> {
    const host = await startProviderHost(serializeProvider("VirtualMachine"));
    const g = new HaGuests(d, host, []);
    try {
      for (const name of names) {
        const { inputs, failures } = await host.check({}, { cloud: cloudSpecFromLab(d), name, vcpus: 1, memoryMiB: 192, diskGiB: 1, image: d.baseImage.spec, stack: "bench", node, ha: true });
        if (failures.length > 0) throw new Error(`check of ${name}: ${JSON.stringify(failures)}`);
        const made = await host.create(inputs);
        g.guests.push({ name, ip: made.properties.ip as string, props: made.properties });
        await g.firstAnswer(g.guests[g.guests.length - 1], Date.now(), 180_000);
      }
      return g;
    } catch (e) {
      await g.remove();
      throw e;
    }
  }

  async on(node: string, argv: readonly string[], input?: string, timeoutMs = 30_000): Promise<{ code: number; out: string }> {
    const address = this.d.nodes.find((n) => n.name === node)!.sshHost;
    const seconds = String(Math.ceil(timeoutMs / 1000) - 5);
    const r = await run(inNetns(hostByName("mgr").ns, labSshArgv(this.d.ssh, address, ["timeout", seconds, ...argv])), { allowFail: true, timeoutMs, input });
    return { code: r.code, out: r.stdout + r.stderr };
  }

  /** Where Pacemaker runs the guest, asked on `from`; [] when it cannot say. */
  async runningOn(guest: HaGuest, from: string): Promise<readonly string[]> {
    const r = await this.on(from, ["crm_mon", "--one-shot", "--inactive", "--output-as=xml"]);
    try {
      return parseClusterView(r.out.slice(r.out.indexOf("<")), guest.name).runningOn;
    } catch {
      return [];
    }
  }

  /** Seconds from t0 to the guest's first answer as itself; throws when none came within the bound. */
  async firstAnswer(guest: HaGuest, t0: number, boundMs: number): Promise<number> {
    while (Date.now() - t0 < boundMs) {
      const ok = await httpGet(guest.ip, "/", 1000).then((r) => r.body.trim() === guest.name, () => false);
      if (ok) return (Date.now() - t0) / 1000;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`no answer from ${guest.name} at ${guest.ip} within ${boundMs / 1000} s`);
  }

  /** HaCluster's standby script for `drain`, on `node`; returns its seconds. */
  async standby(node: string, drain: string[]): Promise<number> {
    const t0 = Date.now();
    const script = renderStandbyScript({ members: this.d.nodes.map((n) => n.name), drain, waitSeconds: 600 });
    const r = await this.on(node, ["bash", "-s"], script, 660_000);
    if (r.code !== 0) throw new Error(`standby script on ${node}: ${r.out}`);
    return (Date.now() - t0) / 1000;
  }

  /** Deletes every guest made (each where Pacemaker runs it now) and stops the provider host. */
  async remove(): Promise<void> {
    try {
      for (const g of this.guests) {
        const read = await this.host.read(g.name, g.props);
        await this.host.delete(g.name, read.properties.name ? read.properties : g.props);
      }
    } finally {
      await this.host.stop();
    }
  }
}
