import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import { remoteInvocation } from "../lib/render/scripts/script";
import { COMMAND_LOGGING, commandConnection, HostConnection } from "./connection";

/**
 * One rendered script run on a host over SSH as a @pulumi/command resource.
 * The trigger is a digest of the script (and of stdin, when given), so the
 * script runs again exactly when what it would do changes.
 */
export interface RemoteScriptArgs {
  readonly connection: HostConnection;
  /** Bash text from a pure renderer (lib/render/scripts). */
  readonly script: pulumi.Input<string>;
  /** Values the script reads on stdin (secrets). Always stored as a secret. */
  readonly stdin?: pulumi.Input<string>;
  /** The script prints a secret: its stdout is stored as a secret. */
  readonly secretStdout?: boolean;
}

function digest(text: string): string {
  return crypto.createHash("sha256").update(text).digest("hex");
}

export function remoteScript(name: string, args: RemoteScriptArgs, opts: pulumi.CustomResourceOptions): remote.Command {
  const script = pulumi.output(args.script);
  const stdin = args.stdin === undefined ? undefined : pulumi.secret(args.stdin);
  // A digest of a secret is still kept secret: the apply inherits secretness.
  const triggers: pulumi.Input<string>[] = [script.apply(digest)];
  if (stdin) {
    triggers.push(stdin.apply(digest));
  }
  return new remote.Command(
    name,
    {
      connection: commandConnection(args.connection),
      logging: COMMAND_LOGGING,
      create: script.apply(remoteInvocation),
      stdin,
      triggers,
    },
    { ...opts, additionalSecretOutputs: args.secretStdout ? ["stdout", ...(opts.additionalSecretOutputs ?? [])] : opts.additionalSecretOutputs },
  );
}
