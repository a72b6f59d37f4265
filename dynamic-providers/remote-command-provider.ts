import * as crypto from "crypto";
import type * as pulumi from "@pulumi/pulumi";
import {
  checkRemoteCommand,
  createRemoteCommand,
  deleteRemoteCommand,
  planRemoteCommandDiff,
  RemoteCommandInputs,
  RemoteCommandState,
  updateRemoteCommand,
} from "../lib/transport/remote-command";
import { withSsh } from "../lib/transport/ssh-runner";

/**
 * The RemoteCommand provider's implementation, loaded by name by the shim in
 * remote-command.ts. Logic lives in lib/transport/remote-command.ts; here it
 * only meets the real SSH transport.
 */

type Props = Record<string, any>;

function inputsOf(p: Props): RemoteCommandInputs {
  const { __provider, stdout, ...inputs } = p;
  void __provider;
  void stdout;
  return inputs as RemoteCommandInputs;
}

export const remoteCommandProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds: Props, news: Props) {
    return checkRemoteCommand(news);
  },

  async diff(_id: string, olds: Props, news: Props) {
    const d = planRemoteCommandDiff(olds, news);
    return { changes: d.changes, replaces: d.replaces, deleteBeforeReplace: false };
  },

  async create(inputs: Props) {
    return { id: crypto.randomUUID(), outs: await createRemoteCommand(withSsh, inputsOf(inputs)) };
  },

  // Only reads: what a script did is not something a later read can see, so state stands.
  async read(id: string, props: Props) {
    return { id, props };
  },

  async update(_id: string, olds: Props, news: Props) {
    return { outs: await updateRemoteCommand(withSsh, olds as RemoteCommandState, inputsOf(news)) };
  },

  async delete(_id: string, props: Props) {
    await deleteRemoteCommand(withSsh, props as RemoteCommandState);
  },
};
