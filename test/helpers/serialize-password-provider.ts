/**
 * Prints the GeneratedPassword provider as `pulumi up` stores it (the
 * `__provider` input pulumi.dynamic.Resource serializes). Run with ts-node in
 * its own process, as a Pulumi program runs.
 */
import * as pulumi from "@pulumi/pulumi";

let serialized: string | undefined;
pulumi.runtime.setMocks(
  {
    newResource(args) {
      if (args.type === "pulumi-nodejs:dynamic/kvmcloud:GeneratedPassword") serialized = args.inputs.__provider;
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
const { GeneratedPassword } = require("../../dynamic-providers/generated-password") as typeof import("../../dynamic-providers/generated-password");
const pw = new GeneratedPassword("serialize-probe");
pw.urn.apply(() => {
  setTimeout(() => {
    if (!serialized) {
      process.stderr.write("the GeneratedPassword resource registered no __provider\n");
      process.exit(1);
    }
    process.stdout.write(serialized);
  }, 100);
});
