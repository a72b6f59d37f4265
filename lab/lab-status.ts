import * as fs from "fs";
import { baseImageHealthy } from "./base-image";
import { cephArgv, cephHealth, cephTarget, LAB_OSDS } from "./ceph";
import { dnsmasqHealthy, postgresHealthy, redisHealthy } from "./lab-stack";
import { LabDescription, readLabDescription } from "./description";
import { inNetns, run } from "./exec";
import { labSshArgv } from "./ssh-client";
import { quote } from "../lib/core/shell";
import { prometheusProblem } from "./prometheus-status";
import { hostDevice, listNamespaces } from "./netns";
import { LabPaths, labPaths } from "./paths";
import { HOSTS, hostByName, LabHost, NODES, SWITCH_NS } from "./topology";

export interface PartStatus {
  readonly part: string;
  readonly ok: boolean;
  readonly detail: string;
}

type Probe = () => Promise<string | undefined>;

async function probe(part: string, f: Probe, okDetail: string | (() => string)): Promise<PartStatus> {
  try {
    const problem = await f();
    return problem === undefined
      ? { part, ok: true, detail: typeof okDetail === "string" ? okDetail : okDetail() }
      : { part, ok: false, detail: problem };
  } catch (e) {
    return { part, ok: false, detail: (e as Error).message.split("\n")[0] };
  }
}

async function networkProblem(h: LabHost, namespaces: string[]): Promise<string | undefined> {
  if (!namespaces.includes(h.ns)) return `namespace ${h.ns} is missing`;
  const r = await run(["ip", "-n", h.ns, "-o", "-4", "addr", "show", "dev", hostDevice(h)], { allowFail: true });
  return r.stdout.includes(`inet ${h.address}/`) ? undefined : `${h.address} is not on ${hostDevice(h)} in ${h.ns}`;
}

/** SSH from the manager namespace with the lab key: the path the provider takes. */
async function sshProblem(p: LabPaths, h: LabHost): Promise<string | undefined> {
  const d = readLabDescription(p.description);
  const r = await run(inNetns(d.managerNamespace, labSshArgv(d.ssh, h.address, ["hostname"])), { allowFail: true, timeoutMs: 15_000 });
  return r.code === 0 ? undefined : `ssh root@${h.address} failed: ${r.stderr.trim().split("\n").pop()}`;
}

/** libvirtd running, the cephx secret defined and the RBD pool running, as KvmNode left them: asked over SSH. */
async function kvmNodeProblem(d: LabDescription, h: LabHost): Promise<string | undefined> {
  const script = [
    "systemctl is-active --quiet libvirtd.service || { echo 'libvirtd is not running'; exit 1; }",
    `virsh -q secret-list | grep -qF ${quote(d.ceph.secretUuid)} || { echo ${quote(`cephx secret ${d.ceph.secretUuid} is not defined`)}; exit 1; }`,
    `virsh pool-info ${quote(d.ceph.pool)} 2>&1 | grep -q '^State:.*running' || { echo ${quote(`storage pool ${d.ceph.pool} is not running`)}; exit 1; }`,
  ].join("\n");
  const r = await run(inNetns(d.managerNamespace, labSshArgv(d.ssh, h.address, ["timeout", "20", "sh", "-c", script])), { allowFail: true, timeoutMs: 30_000 });
  return r.code === 0 ? undefined : (r.stdout.trim() || r.stderr.trim().split("\n").pop());
}

export async function labStatus(p: LabPaths = labPaths()): Promise<PartStatus[]> {
  const out: PartStatus[] = [];
  if (!fs.existsSync(p.description)) {
    out.push({ part: "description", ok: false, detail: `${p.description} is missing: run npm run lab:up` });
  }
  const namespaces = await listNamespaces();
  out.push(await probe("switch", async () => (namespaces.includes(SWITCH_NS) ? undefined : `namespace ${SWITCH_NS} is missing`), SWITCH_NS));
  for (const h of HOSTS) {
    out.push(await probe(`net ${h.name}`, () => networkProblem(h, namespaces), `${h.ns} ${h.address}`));
  }
  const dns = hostByName("dns");
  const db = hostByName("db");
  out.push(await probe("dnsmasq", () => dnsmasqHealthy(dns), `DHCP and DNS on ${dns.address}`));
  let cephDetail = "";
  out.push(
    await probe("ceph", async () => {
      const h = await cephHealth(cephTarget(p));
      cephDetail = `${h.status}, ${h.monsInQuorum} mons in quorum, ${h.osdsUp}/${h.osdsIn} OSDs up/in`;
      if (h.status === "HEALTH_ERR" || h.osdsUp < LAB_OSDS || h.monsInQuorum < 1) return `${cephDetail}: ${h.checks.join("; ")}`;
      return undefined;
    }, () => cephDetail),
  );
  const d = fs.existsSync(p.description) ? readLabDescription(p.description) : undefined;
  if (d) {
    out.push(await probe("postgres", () => postgresHealthy(d.inventory.postgresUrl, db), `SELECT 1 on ${db.address}`));
    out.push(await probe("redis", () => redisHealthy(d.inventory.redisUrl, db), `PING on ${db.address}`));
    const rbd = (...args: string[]) => cephArgv(cephTarget(p), "rbd", ...args);
    out.push(await probe("base image", () => baseImageHealthy(rbd, d.baseImage.spec), `${d.baseImage.spec} protected`));
    for (const n of NODES) {
      out.push(await probe(`libvirt ${n.name}`, () => kvmNodeProblem(d, n), `libvirtd, cephx secret and pool on ${n.address}`));
    }
    for (const h of HOSTS.filter((x) => x.bare)) {
      out.push(await probe(`sshd ${h.name}`, () => sshProblem(p, h), `ssh root@${h.address} from ${d.managerNamespace}`));
    }
    const prometheusUrl = d.monitoring?.prometheusUrl;
    let promDetail = "";
    out.push(
      await probe("prometheus", async () => {
        if (!prometheusUrl) return "the lab description has no monitoring";
        const r = await prometheusProblem(d, prometheusUrl);
        promDetail = r.detail;
        return r.problem;
      }, () => promDetail),
    );
  }
  return out;
}

export function formatStatus(parts: readonly PartStatus[]): string {
  const width = Math.max(...parts.map((s) => s.part.length));
  return parts.map((s) => `${s.part.padEnd(width)}  ${s.ok ? "OK  " : "FAIL"}  ${s.detail}`).join("\n");
}
