import * as pulumi from "@pulumi/pulumi";
import type { HostConnection } from "../components/connection";
import { LoadBalancer } from "../components/load-balancer";
import type { StackFrontend } from "../lib/cloud/stack-config";

/**
 * The stack's load balancer: `kvm-cloud:frontends` in front of the stack's
 * VMs, each backend the VM's address once it has leased one. Shared by both
 * kinds of stack (whole-cloud.ts, vms-on-cloud.ts); undefined without frontends.
 */
export function frontendsLoadBalancer(args: {
  readonly connection: HostConnection | undefined;
  readonly statsPort?: number;
  readonly statsClients?: readonly string[];
  readonly statsPassword?: pulumi.Output<string>;
  readonly frontends: readonly StackFrontend[];
  /** Each VM's address, by VM name (names were checked against `frontends`). */
  readonly vmAddresses: ReadonlyMap<string, pulumi.Output<string>>;
}): LoadBalancer | undefined {
  if (args.frontends.length === 0) return undefined;
  return new LoadBalancer("lb", {
    connection: args.connection!,
    statsPort: args.statsPort,
    statsClients: args.statsClients,
    statsAuth: args.statsPassword === undefined ? undefined : { user: "admin", password: args.statsPassword },
    frontends: args.frontends.map((f) => ({
      name: f.name,
      port: f.port,
      backendPort: f.backendPort,
      mode: f.mode,
      balance: f.balance,
      healthCheck: f.healthCheckPath === undefined ? undefined : { httpPath: f.healthCheckPath },
      backends: f.vms.map((name) => args.vmAddresses.get(name)!.apply((address) => ({ name, address }))),
    })),
  });
}
