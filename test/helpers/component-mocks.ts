import * as pulumi from "@pulumi/pulumi";
import { Registered, unwrapSecrets } from "./pulumi-mocks";

/**
 * Pulumi mocks that also stand in for what the engine would return from the
 * providers the components use: a Command's stdout, a generated password, a
 * VM's address and node. Records every registration with its inputs as the
 * engine receives them (secrets still wrapped).
 */
export interface ComponentMockOptions {
  /** What a remote Command prints, by resource name. */
  readonly stdoutFor?: (name: string, inputs: Record<string, unknown>) => string | undefined;
}

const VM_TYPE = "pulumi-nodejs:dynamic/kvmcloud:VirtualMachine";
const PASSWORD_TYPE = "pulumi-nodejs:dynamic/kvmcloud:GeneratedPassword";

export function installComponentMocks(o: ComponentMockOptions = {}): Registered[] {
  const registered: Registered[] = [];
  let vmCount = 0;
  pulumi.runtime.setMocks(
    {
      newResource: (a) => {
        registered.push({ type: a.type, name: a.name, inputs: a.inputs });
        const state = unwrapSecrets(a.inputs) as Record<string, unknown>;
        delete state.__provider;
        if (a.type === "command:remote:Command") {
          state.stdout = o.stdoutFor?.(a.name, state) ?? "";
          state.stderr = "";
        } else if (a.type === PASSWORD_TYPE) {
          state.value = `generated-${a.name}-0123456789`;
        } else if (a.type === VM_TYPE) {
          vmCount++;
          state.ip = `192.0.2.${100 + vmCount}`;
          state.mac = `52:54:00:00:00:${(vmCount + 15).toString(16).padStart(2, "0")}`;
          state.node = state.node ?? "node1";
          state.fqdn = `${state.name}.cloud.example`;
        } else if (a.type === "docker:index/remoteImage:RemoteImage") {
          state.imageId = `sha256:${a.name}`;
        }
        return { id: `${a.name}-id`, state };
      },
      call: (a) => a.inputs,
    },
    "kvm-cloud",
    "dev",
    false,
  );
  return registered;
}

/** Resource options as the SDK saw them for each child (dependsOn, retainOnDelete ...), by name. */
export function optionsRecorder(): { transformations: pulumi.ResourceTransformation[]; seen: Map<string, pulumi.CustomResourceOptions> } {
  const seen = new Map<string, pulumi.CustomResourceOptions>();
  return {
    seen,
    transformations: [
      (args) => {
        seen.set(args.name, args.opts as pulumi.CustomResourceOptions);
        return undefined;
      },
    ],
  };
}

export function isSecretOutput(o: pulumi.Output<unknown>): Promise<boolean> {
  return pulumi.isSecret(o);
}
