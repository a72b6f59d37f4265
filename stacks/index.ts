import * as pulumi from "@pulumi/pulumi";
import { services, SERVICES_KEY } from "./services";
import { CLOUD_SPEC_KEY, vmsOnCloud } from "./vms-on-cloud";
import { wholeCloud } from "./whole-cloud";

/**
 * The kvm-cloud program. A stack with `kvm-cloud:cloud` builds the whole
 * cloud on its hosts and puts its VMs on it (whole-cloud.ts); a stack with
 * `kvm-cloud:cloudSpec` puts VMs on a cloud that already runs
 * (vms-on-cloud.ts); a stack with `kvm-cloud:services` makes only the
 * services it lists (services.ts). Config keys: README, "Stack
 * configuration".
 */
const config = new pulumi.Config("kvm-cloud");

function program() {
  if (pulumi.runtime.getConfig(CLOUD_SPEC_KEY) !== undefined) return vmsOnCloud(config);
  if (pulumi.runtime.getConfig(SERVICES_KEY) !== undefined) return services(config);
  return wholeCloud(config);
}

export = program();
