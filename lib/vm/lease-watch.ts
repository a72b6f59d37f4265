import { DhcpLease, leaseForMac, parseDnsmasqLeases } from "../dnsmasq/leases";
import { CommandRunner } from "../transport/command-runner";

/**
 * Waits on the DHCP host for a MAC's lease. dnsmasq rewrites its lease file
 * on every DHCPACK; a loop on that host checks it five times a second, so the
 * address is known well within a second of the acknowledgement, at the cost
 * of one SSH session instead of one per poll.
 */
const WATCH_SCRIPT = [
  "set -u",
  'f=$1 mac=$2 end=$(( $(date +%s) + $3 ))',
  'while [ "$(date +%s)" -lt "$end" ]; do',
  // First line: when dnsmasq last wrote the file and when this loop saw it, for the latency figure.
  '  if grep -qi -- " $mac " "$f" 2>/dev/null; then echo "@@SEEN@@ $(stat -c %.3Y -- "$f") $(date +%s.%N)"; cat -- "$f"; exit 0; fi',
  "  sleep 0.2",
  "done",
  "exit 3",
].join("\n");

export class LeaseTimeout extends Error {
  /** `console`: the last lines the guest printed on its console, and where they were read. */
  constructor(
    readonly mac: string,
    readonly seconds: number,
    readonly leaseFile: string,
    console?: { readonly where: string; readonly text: string },
  ) {
    let message = `no DHCP lease for MAC ${mac} in ${leaseFile} after ${seconds} s (cloud.leaseTimeoutSeconds); the guest may not have booted or reached dnsmasq`;
    if (console) message += console.text ? `; its console (the end of ${console.where}):\n${console.text}` : `; its console (${console.where}) is empty`;
    super(message);
    this.message = message; // see ValidationError
    this.name = "LeaseTimeout";
  }
}

export async function readLeases(r: CommandRunner, leaseFile: string): Promise<DhcpLease[]> {
  const res = await r.run(["cat", "--", leaseFile], { allowFail: true });
  // No lease file yet means no leases yet.
  if (res.code !== 0 && /No such file/.test(res.stderr)) return [];
  if (res.code !== 0) throw new Error(`reading ${leaseFile} on ${r.target}: ${res.stderr.trim()}`);
  return parseDnsmasqLeases(res.stdout);
}

/** A lease, and how long after dnsmasq wrote it the watch saw it (ms, on the DHCP host's clock). */
export type WatchedLease = DhcpLease & { readonly seenAfterWriteMs?: number };

export async function waitForLease(r: CommandRunner, leaseFile: string, mac: string, timeoutSeconds: number): Promise<WatchedLease> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  // A stale (expired) line for the same MAC ends one watch early; the loop watches again.
  for (let round = 0; round < 1000; round++) {
    const left = Math.ceil((deadline - Date.now()) / 1000);
    if (left <= 0) break;
    const res = await r.run(["sh", "-c", WATCH_SCRIPT, "watch", leaseFile, mac.toLowerCase(), String(left)], {
      allowFail: true,
      timeoutMs: (left + 30) * 1000,
    });
    if (res.code === 3) break;
    if (res.code !== 0) throw new Error(`watching ${leaseFile} on ${r.target}: ${res.stderr.trim() || `exit ${res.code}`}`);
    const lease = leaseForMac(parseDnsmasqLeases(res.stdout), mac, Date.now() / 1000);
    const seen = /^@@SEEN@@ ([\d.]+) ([\d.]+)$/m.exec(res.stdout);
    if (lease) return seen ? { ...lease, seenAfterWriteMs: Math.max(0, Math.round((Number(seen[2]) - Number(seen[1])) * 1000)) } : lease;
    await new Promise((res2) => setTimeout(res2, 200));
  }
  throw new LeaseTimeout(mac, timeoutSeconds, leaseFile);
}
