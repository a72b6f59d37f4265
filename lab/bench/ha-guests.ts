import { cloudSpecFromLab } from "../cloud-spec";
import { LabDescription } from "../description";
import { httpGet } from "../http-probe";
import { haRunningOn, runStandbyScript } from "../ha-ops";
import { cloudAccess } from "../../lib/vm/cloud-access";
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

  /** Where Pacemaker runs the guest, asked on `from`; [] when it cannot say. */
  runningOn(guest: HaGuest, from: string): Promise<readonly string[]> {
    return haRunningOn(this.d, from, guest.name);
  }

  /** The node the inventory records for the guest (what Pacemaker's alert agent sets), or undefined. */
  async recordedNode(guest: HaGuest): Promise<string | undefined> {
    const rows = await cloudAccess(cloudSpecFromLab(this.d)).withInventory(async (inv) => (await inv.sql.query("SELECT node FROM vms WHERE name = $1", [guest.name])).rows);
    return rows[0]?.node as string | undefined;
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
    return (await runStandbyScript(this.d, node, drain)).seconds;
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
