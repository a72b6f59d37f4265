import * as pulumi from "@pulumi/pulumi";
import { CLOUD_SPEC_KEY, vmsOnCloud } from "./vms-on-cloud";
import { wholeCloud } from "./whole-cloud";

/**
 * The kvm-cloud program. A stack with `kvm-cloud:cloud` builds the whole
 * cloud on its hosts and puts its VMs on it (whole-cloud.ts); a stack with
 * `kvm-cloud:cloudSpec` puts VMs on a cloud that already runs
 * (vms-on-cloud.ts). Config keys: README, "Stack configuration".
 */
const config = new pulumi.Config("kvm-cloud");

export = pulumi.runtime.getConfig(CLOUD_SPEC_KEY) !== undefined ? vmsOnCloud(config) : wholeCloud(config);
