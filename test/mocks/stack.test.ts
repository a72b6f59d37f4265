import * as pulumi from "@pulumi/pulumi";

/**
 * The stack program under Pulumi's own mocks, with the config a user writes in
 * Pulumi.dev.yaml: its outputs, and the error a bad DHCP range gives.
 */

function setConfig(network: unknown): void {
  pulumi.runtime.setAllConfig({ "kvm-cloud:network": JSON.stringify(network) });
}

const good = {
  bridge: "br0",
  gateway: "192.0.2.1",
  netmask: "255.255.255.0",
  domain: "cloud.example",
  dhcpRange: { start: "192.0.2.100", end: "192.0.2.200" },
};

async function loadStack(): Promise<Record<string, unknown>> {
  pulumi.runtime.setMocks(
    { newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: (a) => a.inputs },
    "kvm-cloud",
    "dev",
    false,
  );
  let mod: Record<string, unknown> = {};
  jest.isolateModules(() => {
    mod = require("../../stacks/index");
  });
  return mod;
}

describe("stacks/index.ts", () => {
  it("publishes the DHCP plan rendered from config", async () => {
    setConfig(good);
    const stack = await loadStack();
    expect(stack.vmNetwork).toEqual({ gateway: "192.0.2.1", domain: "cloud.example", dhcpRange: "192.0.2.100-192.0.2.200" });
    expect(String(stack.dnsmasqConfig)).toContain("dhcp-range=192.0.2.100,192.0.2.200,255.255.255.0,12h");
  });

  it("fails before registering anything when the range leaves the subnet", async () => {
    setConfig({ ...good, dhcpRange: { start: "192.0.2.100", end: "198.51.100.9" } });
    await expect(loadStack()).rejects.toThrow(/rangeEnd: "198.51.100.9".*subnet/);
  });
});
