/**
 * Prints the VirtualMachine provider exactly as `pulumi up` stores it: the
 * `__provider` input that pulumi.dynamic.Resource serializes when the
 * resource is constructed. Run with ts-node in its own process (as a Pulumi
 * program runs), because closure serialization inspects live functions.
 */
import * as pulumi from "@pulumi/pulumi";

let serialized: string | undefined;
pulumi.runtime.setMocks(
  {
    newResource(args) {
      if (args.type === "pulumi-nodejs:dynamic/kvmcloud:VirtualMachine") serialized = args.inputs.__provider;
      return { id: `${args.name}-id`, state: args.inputs };
    },
    call: () => ({}),
  },
  "kvm-cloud",
  "serialize",
  false,
);

// Loaded after setMocks so the resource registers against the mock monitor.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { VirtualMachine } = require("../../dynamic-providers/virtual-machine") as typeof import("../../dynamic-providers/virtual-machine");
const vm = new VirtualMachine("serialize-probe", { cloud: {} as never, vcpus: 1, memoryMiB: 64, diskGiB: 1, image: "p/i@s" });
vm.urn.apply(() => {
  setTimeout(() => {
    if (!serialized) {
      process.stderr.write("the VirtualMachine resource registered no __provider\n");
      process.exit(1);
    }
    process.stdout.write(serialized);
  }, 100);
});
