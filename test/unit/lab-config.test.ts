import { labCloudConfig } from "../../lab/lab-stack";
import { CloudConfig } from "../../lib/cloud/cloud-config";
import { stackFileConfig } from "../helpers/dev-config";

/**
 * One description of the lab's cloud: the config lab:up hands the whole stack
 * (written from the lab's topology) is Pulumi.lab.yaml's `kvm-cloud:cloud`,
 * but for what a user adds by hand (the load balancer for the file's VMs) and
 * the guest image's place in this checkout.
 */
describe("the lab's cloud config", () => {
  it("is Pulumi.lab.yaml's, bar its load balancer and the image file's path", () => {
    const { loadBalancer, ...file } = stackFileConfig("lab")["kvm-cloud:cloud"] as CloudConfig;
    expect(loadBalancer?.address).toBe("10.77.0.4");
    expect(labCloudConfig({ diskPath: file.baseImage.source })).toEqual(file);
  });

  it("imports the guest image of this checkout, with the sha256 given", () => {
    const c = labCloudConfig({ diskPath: "/var/tmp/guest.img", sha256: "a".repeat(64) });
    expect(c.baseImage).toMatchObject({ source: "/var/tmp/guest.img", sha256: "a".repeat(64), format: "raw" });
    expect(labCloudConfig().baseImage.source).toMatch(/\/lab\/\.state\/images\/kvmcloud-tiny\.img$/);
  });
});
