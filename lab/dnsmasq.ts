import * as fs from "fs";
import * as path from "path";
import { renderDnsmasqConf } from "../lib/render/dnsmasq-conf";
import { prefixToNetmask } from "../lib/validate/network";
import { run, succeeds } from "./exec";
import { killStray, livePid, onHost } from "./host-exec";
import { hostDevice } from "./netns";
import { LabPaths } from "./paths";
import { DHCP, LabHost, PREFIX_LENGTH } from "./topology";

/**
 * The lab's dnsmasq host: DHCP and DNS for the VM segment and the VMs'
 * gateway. Its config comes from the same renderer the DnsmasqServer
 * component uses, so the lab proves the text real hosts get.
 */

export function dnsmasqFiles(p: LabPaths) {
  return {
    config: path.join(p.dns, "dnsmasq.conf"),
    leaseFile: path.join(p.dns, "dnsmasq.leases"),
    pidFile: path.join(p.dns, "dnsmasq.pid"),
    log: path.join(p.dns, "dnsmasq.log"),
  };
}

export function renderLabDnsmasqConf(p: LabPaths, h: LabHost): string {
  const f = dnsmasqFiles(p);
  return renderDnsmasqConf({
    interface: hostDevice(h),
    listenAddress: h.address,
    domain: DHCP.domain,
    upstreamServers: [],
    rangeStart: DHCP.rangeStart,
    rangeEnd: DHCP.rangeEnd,
    netmask: prefixToNetmask(PREFIX_LENGTH),
    leaseTime: DHCP.leaseTime,
    leaseFile: f.leaseFile,
    pidFile: f.pidFile,
    reservations: [],
  });
}

export async function ensureDnsmasq(p: LabPaths, h: LabHost): Promise<void> {
  const f = dnsmasqFiles(p);
  fs.mkdirSync(p.dns, { recursive: true });
  const text = renderLabDnsmasqConf(p, h);
  const changed = !fs.existsSync(f.config) || fs.readFileSync(f.config, "utf8") !== text;
  fs.writeFileSync(f.config, text);
  if (!fs.existsSync(f.leaseFile)) {
    fs.writeFileSync(f.leaseFile, "", { mode: 0o644 });
  }
  // The VMs' router: forwarding on, as the DnsmasqServer component does on real hosts.
  await run(onHost(h, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]));
  killStray(f.pidFile, "dnsmasq", h.ns);
  const pid = livePid(f.pidFile, "dnsmasq", h.ns);
  if (pid !== undefined && !changed) {
    return;
  }
  if (pid !== undefined) {
    await run(["kill", String(pid)], { allowFail: true });
    await new Promise((r) => setTimeout(r, 300));
  }
  await run(onHost(h, ["dnsmasq", `--conf-file=${f.config}`, `--log-facility=${f.log}`]));
}

export async function dnsmasqHealthy(p: LabPaths, h: LabHost): Promise<string | undefined> {
  const f = dnsmasqFiles(p);
  if (livePid(f.pidFile, "dnsmasq", h.ns) === undefined) {
    return "dnsmasq is not running";
  }
  // A real DNS query proves it answers, not just that it lives (localhost comes from /etc/hosts).
  const ok = await succeeds(onHost(h, ["busybox", "nslookup", "localhost", h.address]), { timeoutMs: 5000 });
  return ok ? undefined : `dnsmasq on ${h.address} does not answer DNS`;
}
