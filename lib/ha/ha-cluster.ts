import { checkCephUser } from "../ceph/ceph-user";
import { check } from "../core/errors";
import { checkDnsLabel, checkIPv4 } from "../core/network";
import { checkDrain } from "./standby";

/**
 * lib/ha: the high-availability cluster of the KVM nodes (Corosync for
 * membership and quorum, a Corosync quorum device on a third host, Pacemaker
 * for recovery). This folder holds its model, checks, renderers and scripts;
 * it imports lib/core and lib/ceph only (see README.md here).
 *
 * This file: the cluster's shape with every default filled once.
 */

/** What the cloud config's `ha` section holds (plain data: it decides resources). */
export interface HaSection {
  /** Corosync's cluster_name (default "kvmcloud"). */
  readonly clusterName?: string;
  /**
   * Corosync's token timeout in ms: how long a silent node stays a member
   * (default 3000: detection in about 3.6 s with the consensus time).
   */
  readonly tokenMs?: number;
  /**
   * Where corosync-qnetd runs, the tie-breaking vote that lets one of two
   * nodes keep quorum: "database" (the database host, the default) or "none"
   * (two nodes then run with two_node, and an even split is decided by
   * fencing alone).
   */
  readonly quorumDevice?: "database" | "none";
  /**
   * Nodes in standby (drained): Pacemaker live-migrates every HA VM off them
   * and starts none there, and placement puts no new VM there. A node taken
   * out of the list returns, and its HA VMs go back to it. Default none.
   */
  readonly drain?: string[];
}

export const DEFAULT_CLUSTER_NAME = "kvmcloud";
export const DEFAULT_TOKEN_MS = 3000;
export const QUORUM_DEVICE_HOSTS = ["database", "none"] as const;
export const DEFAULT_QUORUM_DEVICE: (typeof QUORUM_DEVICE_HOSTS)[number] = "database";

/** One cluster member: its name (the KvmNode's, also Pacemaker's node name) and the address knet uses. */
export interface HaMember {
  readonly name: string;
  readonly address: string;
}

/** The cluster as the renderers take it: every default filled. */
export interface HaClusterPlan {
  readonly clusterName: string;
  readonly tokenMs: number;
  readonly members: readonly HaMember[];
  /** corosync-qnetd's address; none: two_node for two members. */
  readonly quorumDeviceAddress?: string;
  /** The cephx user of the fence agent; none: no fence device (Pacemaker then runs nothing, as fencing is required). */
  readonly fenceClient?: string;
  /** Whether the members run kvm-cloud's alert agent, which records HA events in the inventory (lib/ha/ha-alert.ts). */
  readonly alerts: boolean;
}

export function checkHaSection(field: string, s: HaSection, nodes: readonly string[]): void {
  const nodeCount = nodes.length;
  check(typeof s === "object" && s !== null, field, s, "an object { clusterName?, tokenMs?, quorumDevice?, drain? }");
  if (s.clusterName !== undefined) checkClusterName(`${field}.clusterName`, s.clusterName);
  if (s.tokenMs !== undefined) checkTokenMs(`${field}.tokenMs`, s.tokenMs);
  const device = s.quorumDevice ?? DEFAULT_QUORUM_DEVICE;
  check(QUORUM_DEVICE_HOSTS.includes(device), `${field}.quorumDevice`, device, '"database" or "none"');
  check(nodeCount >= 2, "nodes", nodeCount, `at least two KVM nodes for ${field} (one node has nothing to fail over to)`);
  if (s.drain !== undefined) checkDrain(`${field}.drain`, s.drain, nodes);
}

function checkClusterName(field: string, v: unknown): void {
  // Corosync takes up to 32 characters; the name is also part of the qnetd's view of clusters.
  check(typeof v === "string" && /^[a-z0-9][a-z0-9-]{0,30}$/.test(v), field, v, "1-31 characters of [a-z0-9-], starting with a letter or digit");
}

function checkTokenMs(field: string, v: unknown): void {
  check(Number.isInteger(v) && (v as number) >= 1000 && (v as number) <= 60000, field, v, "an integer 1000-60000 (ms)");
}

/** The settings beside the members, checked as soon as they are known (a component's early check). */
/** The cluster's own settings, every default filled. */
export interface HaSettings {
  readonly clusterName: string;
  readonly tokenMs: number;
  readonly quorumDeviceAddress?: string;
}

/** Pure: the settings that do not depend on the members, with their defaults, each checked. */
export function resolveHaSettings(v: { clusterName?: string; tokenMs?: number; quorumDeviceAddress?: string }): HaSettings {
  const r = { clusterName: v.clusterName ?? DEFAULT_CLUSTER_NAME, tokenMs: v.tokenMs ?? DEFAULT_TOKEN_MS, quorumDeviceAddress: v.quorumDeviceAddress };
  checkClusterName("clusterName", r.clusterName);
  checkTokenMs("tokenMs", r.tokenMs);
  if (r.quorumDeviceAddress !== undefined) checkIPv4("quorumDeviceAddress", r.quorumDeviceAddress);
  return r;
}

export function planHaCluster(p: { clusterName?: string; tokenMs?: number; members: readonly HaMember[]; quorumDeviceAddress?: string; fenceClient?: string; alerts?: boolean }): HaClusterPlan {
  const { clusterName, tokenMs } = resolveHaSettings(p);
  check(Array.isArray(p.members) && p.members.length >= 2, "members", p.members?.length, "at least two cluster members");
  const names = new Set<string>();
  const addresses = new Set<string>();
  p.members.forEach((m, i) => {
    checkDnsLabel(`members[${i}].name`, m.name);
    checkIPv4(`members[${i}].address`, m.address);
    check(!names.has(m.name), `members[${i}].name`, m.name, "a name no other member has");
    check(!addresses.has(m.address), `members[${i}].address`, m.address, "an address no other member has");
    names.add(m.name);
    addresses.add(m.address);
  });
  if (p.quorumDeviceAddress !== undefined) {
    check(!addresses.has(p.quorumDeviceAddress), "quorumDeviceAddress", p.quorumDeviceAddress, "a host that is not a cluster member (its vote breaks their ties)");
  }
  if (p.fenceClient !== undefined) checkCephUser("fenceClient", p.fenceClient);
  return { clusterName, tokenMs, members: p.members.map((m) => ({ name: m.name, address: m.address })), quorumDeviceAddress: p.quorumDeviceAddress, fenceClient: p.fenceClient, alerts: p.alerts ?? false };
}
