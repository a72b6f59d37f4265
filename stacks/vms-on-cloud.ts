import * as pulumi from "@pulumi/pulumi";
import { CloudSpec, validateCloudSpec } from "../lib/vm/cloud-spec";
import { checkLoadBalancerHost, LoadBalancerHost } from "../lib/cloud/cloud-config";
import { StackFrontend, StackVm, validateStackFrontends, validateStackVms } from "../lib/cloud/stack-config";
import { check, ValidationError } from "../lib/core/errors";
import { parseImageSpec } from "../lib/vm/vm-args";
import { connectionTo } from "../components/connection";
import { VirtualMachine } from "../dynamic-providers/virtual-machine";
import { frontendsLoadBalancer } from "./frontends";

/**
 * VMs on a cloud that already runs: the stack's config gives the cloud as a
 * CloudSpec (`kvm-cloud:cloudSpec`, a secret: it holds the SSH key and the
 * inventory's passwords), the base image to clone and the VMs, and optionally
 * a load balancer host (`kvm-cloud:loadBalancer`, reached with the secret
 * `kvm-cloud:sshPrivateKey`) with `kvm-cloud:frontends` in front of the VMs.
 * For a team whose cloud is run by another stack or was built by hand, and
 * for the lab. Everything is checked before any resource is registered.
 */
export const CLOUD_SPEC_KEY = "kvm-cloud:cloudSpec";

function readCloudSpec(): CloudSpec {
  // The raw text: Config.getObject would warn that the value is a secret; it stays secret below.
  const raw = pulumi.runtime.getConfig(CLOUD_SPEC_KEY);
  let spec: unknown;
  try {
    spec = JSON.parse(raw ?? "");
  } catch {
    // JSON.parse's message may quote the text, which holds a private key: say only where.
    throw new ValidationError("cloudSpec", "(not shown: secret)", "a CloudSpec as JSON (kvm-cloud:cloudSpec, set with --secret)");
  }
  return spec as CloudSpec;
}

export function vmsOnCloud(config: pulumi.Config) {
  const spec = readCloudSpec();
  const cloud = validateCloudSpec(spec);
  const image = config.require("image");
  parseImageSpec(image);
  const vms = config.getObject<StackVm[]>("vms") ?? [];
  validateStackVms(vms, cloud.nodes.map((n) => n.name), image);
  const keys = config.getObject<string[]>("sshAuthorizedKeys") ?? [];
  check(Array.isArray(keys) && keys.every((k) => typeof k === "string"), "sshAuthorizedKeys", typeof keys, "a list of authorized_keys lines");

  const frontends = config.getObject<StackFrontend[]>("frontends") ?? [];
  const lb = config.getObject<LoadBalancerHost>("loadBalancer");
  if (lb !== undefined) checkLoadBalancerHost("loadBalancer", lb);
  validateStackFrontends(frontends, vms.map((v) => v.name), lb, "loadBalancer");
  // The host key is looked up (and a host known_hosts lacks refused) before anything is registered.
  const lbConnection = lb && connectionTo(lb, { privateKey: config.requireSecret("sshPrivateKey"), knownHosts: cloud.knownHosts });

  const secretSpec = pulumi.secret(spec);
  const made = vms.map(
    (v) =>
      new VirtualMachine(v.name, {
        cloud: secretSpec,
        name: v.name,
        vcpus: v.vcpus,
        memoryMiB: v.memoryMiB,
        diskGiB: v.diskGiB,
        image,
        node: v.node,
        state: v.state,
        ha: v.ha,
        sshAuthorizedKeys: keys,
      }),
  );
  const loadBalancer = frontendsLoadBalancer({
    connection: lbConnection,
    statsPort: lb?.statsPort,
    statsClients: lb?.statsClients,
    statsPassword: config.getSecret("lbStatsPassword"),
    frontends,
    vmAddresses: new Map(made.map((vm, i) => [vms[i].name, vm.ip])),
  });
  return {
    /** Every VM: name, address, node. */
    virtualMachines: pulumi.all(made.map((vm) => pulumi.all({ name: vm.name, ip: vm.ip, node: vm.node, fqdn: vm.fqdn, state: vm.state }))),
    loadBalancerAddress: loadBalancer?.address,
    loadBalancerUrls: loadBalancer?.frontendUrls,
  };
}
