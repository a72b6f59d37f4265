import { CloudAccess } from "../../lib/vm/cloud-access";
import { ResolvedCloudSpec } from "../../lib/vm/cloud-spec";
import { getVm } from "../../lib/inventory/vm-rows";
import { VmRecord } from "../../lib/vm/vm-model";
import { LabDescription } from "../description";
import { DiscoveryWatch, queryA, watchArp, watchDns } from "../ip-discovery";
import { printTable } from "./table";

/**
 * How soon each design knows a new VM's address, counted from the end of
 * `virsh start`, on one create: ours (the provider's lease watch), a DNS
 * query for the VM's name (the first seed's `find-ip.sh`, which sleeps a
 * fixed 210 s first), an ARP answer at the address (the second seed scans
 * ARP from a cron job every minute, which adds up to a minute), and libvirt's
 * own address sources for the domain.
 */

export interface FindIpContext {
  readonly d: LabDescription;
  readonly cloud: ResolvedCloudSpec;
  readonly access: CloudAccess;
  readonly create: (name: string, onStep: (step: string, ms: number) => void) => Promise<VmRecord>;
}

/** The first seed's fixed wait before it asks DNS (its find-ip.sh). */
const SEED_SLEEP_MS = 210_000;
/** The second seed's cron period for its ARP scan. */
const CRON_PERIOD_MS = 60_000;

const secs = (ms: number) => (ms / 1000).toFixed(2);

export async function findIpSection(ctx: FindIpContext, name: string): Promise<void> {
  const { d, cloud, access } = ctx;
  const fqdn = `${name}.${cloud.dhcp.domain}`;
  let reserved: Promise<{ ip: string; mac: string }> | undefined;
  let watches: Promise<{ startedAt: number; dns: DiscoveryWatch; arp: DiscoveryWatch }> | undefined;
  let ours = NaN;
  const vm = await ctx
    .create(name, (step, ms) => {
      if (step === "reserve") {
        reserved = access.withInventory(async (inv) => {
          const row = await getVm(inv.sql, name);
          if (!row?.ip) throw new Error(`the inventory has no address reserved for ${name}`);
          return { ip: row.ip, mac: row.mac };
        });
        reserved.catch(() => undefined);
      }
      if (step === "start") {
        const startedAt = Date.now();
        watches = reserved!.then(({ ip }) => ({ startedAt, dns: watchDns(d.dhcp.host, fqdn, ip), arp: watchArp(ip) }));
        watches.catch(() => undefined);
      }
      if (step === "boot-to-lease") ours = ms;
    })
    .catch(async (e) => {
      const w = await watches?.catch(() => undefined);
      w?.dns.stop();
      w?.arp.stop();
      throw e;
    });
  if (!watches) throw new Error(`the create of ${name} reported no "start" step: nothing was watched`);
  const w = await watches;
  const offset = w.startedAt;
  // Each watch's clock starts when it was made, a few ms after the start ended.
  const since = async (watch: DiscoveryWatch, made: number) => (await watch.result()) + (made - offset);
  const [dns, arp] = await Promise.allSettled([since(w.dns, offset), since(w.arp, offset)]);
  const t0 = Date.now();
  const oneQuery = await queryA(d.dhcp.host, fqdn, 2000);
  const queryMs = Date.now() - t0;
  if (!Array.isArray(oneQuery) || !oneQuery.includes(vm.ip)) throw new Error(`DNS at ${d.dhcp.host} answers ${fqdn} with ${JSON.stringify(oneQuery)}, not ${vm.ip}, after the lease`);
  const libvirt = await access.onNode(vm.node, async (r) => {
    const said = async (source: string) => {
      const out = await r.run(["virsh", "-q", "-c", "qemu:///system", "domifaddr", "--domain", name, "--source", source], { allowFail: true, timeoutMs: 20_000 });
      const text = `${out.stdout}${out.stderr}`.trim();
      return text.includes(vm.ip) ? `sees ${vm.ip}` : `sees nothing (${text ? text.replace(/\s+/g, " ") : `exit ${out.code}, no output`})`;
    };
    return { lease: await said("lease"), arp: await said("arp") };
  });

  const cell = (r: PromiseSettledResult<number>, plus = 0) => (r.status === "fulfilled" ? secs(r.value + plus) : "never");
  const ratio = (r: PromiseSettledResult<number>, plus = 0) => (r.status === "fulfilled" ? `${((r.value + plus) / ours).toFixed(2)}` : "-");
  const ok = (ms: number): PromiseSettledResult<number> => ({ status: "fulfilled", value: ms });
  printTable(`Finding a new VM's address, seconds after \`virsh start\` ended (one TCG guest; ours is the provider's lease watch)`, ["method", "address known s", "ratio to ours"], [
    ["ours: dnsmasq's lease file watched over SSH", secs(ours), "1.00"],
    ["DNS query for the name, every 100 ms (the first seed's query, without its sleep)", cell(dns), ratio(dns)],
    ["the first seed as written: sleep 210 s, then one DNS query", secs(SEED_SLEEP_MS + queryMs), ratio(ok(SEED_SLEEP_MS + queryMs))],
    ["ARP answer at the address, pinged every 200 ms (the second seed's scan, without its cron)", cell(arp), ratio(arp)],
    ["the second seed as written, ARP scan on a one-minute cron: expected", cell(arp, CRON_PERIOD_MS / 2), ratio(arp, CRON_PERIOD_MS / 2)],
    ["the second seed as written: worst", cell(arp, CRON_PERIOD_MS), ratio(arp, CRON_PERIOD_MS)],
    ["libvirt: virsh domifaddr --source lease", libvirt.lease, "-"],
    ["libvirt: virsh domifaddr --source arp (the node's own ARP table)", libvirt.arp, "-"],
  ]);
  for (const [what, r] of [["DNS", dns], ["ARP", arp]] as const) if (r.status === "rejected") process.stdout.write(`${what} watch: ${(r.reason as Error).message}\n`);
}
