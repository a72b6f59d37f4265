import * as pulumi from "@pulumi/pulumi";

/**
 * A password made once, on create, and kept in state as a secret. A dynamic
 * resource rather than a remote command: a command's stdout is logged by the
 * command provider, and a password generated in the program would change on
 * every run.
 */

export interface GeneratedPasswordArgs {
  /** Characters of [A-Za-z0-9] (default 32, at least 16). Changing it makes a new password. */
  readonly length?: pulumi.Input<number>;
}

const provider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    const length = news.length ?? 32;
    const ok = Number.isInteger(length) && length >= 16 && length <= 128;
    return ok ? { inputs: { length } } : { inputs: news, failures: [{ property: "length", reason: `length: ${length} is not allowed; expected an integer 16-128` }] };
  },
  async create(inputs) {
    // Required here: the provider runs serialized, in Pulumi's dynamic-provider host.
    const crypto = require("crypto") as typeof import("crypto");
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let value = "";
    while (value.length < inputs.length) {
      for (const b of crypto.randomBytes(64)) {
        // Rejection sampling keeps every character equally likely.
        if (b < 248 && value.length < inputs.length) value += alphabet[b % 62];
      }
    }
    return { id: crypto.randomUUID(), outs: { length: inputs.length, value } };
  },
  async diff(_id, olds, news) {
    const changed = olds.length !== news.length;
    return { changes: changed, replaces: changed ? ["length"] : [] };
  },
};

export class GeneratedPassword extends pulumi.dynamic.Resource {
  /** The password. A secret. */
  public readonly value!: pulumi.Output<string>;
  public readonly length!: pulumi.Output<number>;

  constructor(name: string, args: GeneratedPasswordArgs = {}, opts: pulumi.CustomResourceOptions = {}) {
    super(provider, name, { length: args.length ?? 32, value: undefined }, { ...opts, additionalSecretOutputs: ["value"] }, "kvmcloud", "GeneratedPassword");
  }
}
