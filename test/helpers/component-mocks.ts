import * as pulumi from "@pulumi/pulumi";
import { Registered, unwrapSecrets, REMOTE_COMMAND } from "./pulumi-mocks";

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
        if (a.type === REMOTE_COMMAND) {
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

const FSID = "4a0e8b1c-2d3f-4a5b-8c6d-7e8f9a0b1c2d";
const cephKey = (who: string) => `AQAAAAAAAAAAABAAh4b${who.padEnd(19, "A")}==`;
const publicKey = (s: string) => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${s.replace(/[^A-Za-z0-9]/g, "").padEnd(43, "A").slice(0, 43)}`;

/** What the hosts of a whole cloud print, by command name suffix (Ceph bootstrap, pool key, node facts and keys, image size). */
export function cloudStdout(name: string): string | undefined {
  if (name.endsWith("-bootstrap")) {
    return `fsid=${FSID}\nmon_key=${cephKey("Mon")}\nadmin_key=${cephKey("Admin")}\nbootstrap_osd_key=${cephKey("Osd")}\nmonmap=AAECAw==\n`;
  }
  if (name.endsWith("-pool")) return cephKey("Client");
  if (name.endsWith("-facts")) return "vcpus=8\nmemory_kib=16384000\nnic_mac=52:54:00:0a:0b:0c\n";
  if (name.endsWith("-migration-key")) return `migration_key=${publicKey(`m${name}`)}\nhost_key=${publicKey(`h${name}`)}\n`;
  if (name.endsWith("-import")) return "size=2147483648\n";
  return undefined;
}

/** The Ceph client key cloudStdout hands out (to check it stays secret). */
export const MOCK_CEPH_CLIENT_KEY = cephKey("Client");

/** Custom resources an Output's value depends on, with components expanded to their children (what the engine is told). */
export async function dependenciesOf(o: pulumi.Output<unknown>): Promise<pulumi.Resource[]> {
  // Internal SDK functions: the same expansion the SDK applies when it registers a resource.
  const resources = await (o as unknown as { allResources(): Promise<Set<pulumi.Resource>> }).allResources();
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { getAllTransitivelyReferencedResources } = require("@pulumi/pulumi/runtime/dependsOn");
  return getAllTransitivelyReferencedResources(resources, new Set());
}

/** The name a resource was registered under. */
export function resourceName(r: pulumi.Resource): string {
  return (r as unknown as { __name: string }).__name;
}
