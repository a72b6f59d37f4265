import { resolveBaseImageSection } from "./base-image-section";
import { HaproxyBalance, HaproxyMode, validateHaproxyPlan } from "../haproxy/haproxy-cfg";
import { check, ValidationError } from "../core/errors";
import { formatImageSpec, validateVmArgs } from "../vm/vm-args";
import { VmArgs } from "../vm/vm-model";
import { CloudConfig, validateCloudConfig } from "./cloud-config";

/**
 * The stack program's config (Pulumi.<stack>.yaml, namespace kvm-cloud): the
 * cloud, the VMs on it and the load balancer's frontends in front of them.
 * Validated as a whole, purely, before the program registers anything.
 */

/** A VM of the stack config: the VirtualMachine's own inputs, its image being the cloud's base image. */
export type StackVm = Pick<VmArgs, "name" | "vcpus" | "memoryMiB" | "diskGiB" | "node" | "state" | "ha">;

export interface StackFrontend {
  readonly name: string;
  readonly port: number;
  /** Default: `port`. */
  readonly backendPort?: number;
  /** Default "http". */
  readonly mode?: HaproxyMode;
  /** Default "roundrobin". */
  readonly balance?: HaproxyBalance;
  /** Names of the VMs behind it (from `vms`). */
  readonly vms: readonly string[];
  /** HTTP health-check path (default: TCP connect checks). */
  readonly healthCheckPath?: string;
}

export interface StackConfig {
  readonly cloud: CloudConfig;
  readonly vms: readonly StackVm[];
  readonly frontends: readonly StackFrontend[];
}

function prefixed(prefix: string, validate: () => void): void {
  try {
    validate();
  } catch (e) {
    if (e instanceof ValidationError) throw new ValidationError(`${prefix}${e.field}`, e.value, e.allowed);
    throw e;
  }
}

/** Pure: the VM list of a stack (kvm-cloud:vms), every VM cloned from `image`, against the cloud's node names; errors name vms[i].field. */
export function validateStackVms(vms: readonly StackVm[], nodes: readonly string[], image: string): void {
  check(Array.isArray(vms), "vms", vms, "a list of VMs { name, vcpus, memoryMiB, diskGiB, node?, state?, ha? }");
  const names: string[] = [];
  vms.forEach((vm, i) => {
    prefixed(`vms[${i}].`, () => validateVmArgs({ ...vm, image }, { knownNodes: nodes, existingNames: names }));
    names.push(vm.name);
  });
}

/** Pure: throws a ValidationError naming the first bad field (cloud.*, vms[i].*, frontends[i].*). */
export function validateStackConfig(s: StackConfig): void {
  check(s.cloud !== undefined && s.cloud !== null, "cloud", s.cloud, "the cloud's description (kvm-cloud:cloud)");
  prefixed("cloud.", () => validateCloudConfig(s.cloud));
  const image = formatImageSpec(resolveBaseImageSection(s.cloud.baseImage, s.cloud.nodes, s.cloud.ceph).options);
  validateStackVms(s.vms, s.cloud.nodes.map((n) => n.name), image);
  const ha = s.vms.findIndex((vm) => vm.ha === true);
  // Refused before anything is made, not at the VM's start after its disks are cloned.
  if (ha >= 0 && s.cloud.ha === undefined) throw new ValidationError(`vms[${ha}].ha`, true, "false, unless the cloud config has an `ha` section: Pacemaker runs ha VMs");
  validateStackFrontends(s.frontends, s.vms.map((vm) => vm.name), s.cloud.loadBalancer, "cloud.loadBalancer");
}

/**
 * Pure: the load balancer's frontends (kvm-cloud:frontends) against the VM
 * names and the load balancer host (`lbField` names where it is configured).
 */
export function validateStackFrontends(frontends: readonly StackFrontend[], names: readonly string[], loadBalancer: { statsPort?: number } | undefined, lbField: string): void {
  check(Array.isArray(frontends), "frontends", frontends, "a list of frontends { name, port, vms, ... }");
  if (frontends.length === 0) return;
  check(loadBalancer !== undefined, lbField, undefined, "a load balancer host { address } when frontends are given");
  // VM addresses are known only after they boot: HAProxy's rules check everything else now.
  frontends.forEach((f, i) => {
    check(Array.isArray(f.vms) && f.vms.length > 0, `frontends[${i}].vms`, f.vms, "a non-empty list of VM names from vms");
    f.vms.forEach((vm, j) => check(names.includes(vm), `frontends[${i}].vms[${j}]`, vm, `one of the VMs: ${names.join(", ") || "(none declared)"}`));
  });
  validateHaproxyPlan({
    frontends: frontends.map((f) => ({
      name: f.name,
      port: f.port,
      mode: f.mode,
      balance: f.balance,
      servers: f.vms.map((vm) => ({ name: vm, port: f.backendPort ?? f.port })),
      healthCheck: f.healthCheckPath === undefined ? undefined : { httpPath: f.healthCheckPath },
    })),
    stats: { port: loadBalancer!.statsPort },
  });
}
