/**
 * Prints a dynamic provider exactly as `pulumi up` stores it: the
 * `__provider` input that pulumi.dynamic.Resource serializes when the
 * resource is constructed. Run with ts-node in its own process (as a Pulumi
 * program runs), because closure serialization inspects live functions.
 *
 *   ts-node serialize-provider.ts VirtualMachine|GeneratedPassword|RemoteCommand
 */
import * as pulumi from "@pulumi/pulumi";

/** Each resource, constructed with placeholder inputs: only its provider matters here. */
const PROBES: Record<string, () => pulumi.Resource> = {
  VirtualMachine: () => {
    const { VirtualMachine } = require("../../dynamic-providers/virtual-machine") as typeof import("../../dynamic-providers/virtual-machine");
    return new VirtualMachine("serialize-probe", { cloud: {} as never, vcpus: 1, memoryMiB: 64, diskGiB: 1, image: "p/i@s" });
  },
  RemoteCommand: () => {
    const { RemoteCommand } = require("../../dynamic-providers/remote-command") as typeof import("../../dynamic-providers/remote-command");
    return new RemoteCommand("serialize-probe", { connection: { host: "h", privateKey: "k" }, script: "true" });
  },
  GeneratedPassword: () => {
    const { GeneratedPassword } = require("../../dynamic-providers/generated-password") as typeof import("../../dynamic-providers/generated-password");
    return new GeneratedPassword("serialize-probe");
  },
};

const kind = process.argv[2];
const probe = PROBES[kind];
if (!probe) {
  process.stderr.write(`usage: serialize-provider.ts ${Object.keys(PROBES).join("|")}\n`);
  process.exit(2);
}

let serialized: string | undefined;
pulumi.runtime.setMocks(
  {
    newResource(args) {
      if (args.type === `pulumi-nodejs:dynamic/kvmcloud:${kind}`) serialized = args.inputs.__provider;
      return { id: `${args.name}-id`, state: args.inputs };
    },
    call: () => ({}),
  },
  "kvm-cloud",
  "serialize",
  false,
);

// Constructed after setMocks so the resource registers against the mock monitor.
probe().urn.apply(() => {
  setTimeout(() => {
    if (!serialized) {
      process.stderr.write(`the ${kind} resource registered no __provider\n`);
      process.exit(1);
    }
    process.stdout.write(serialized);
  }, 100);
});
