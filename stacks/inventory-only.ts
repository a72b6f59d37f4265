import * as pulumi from "@pulumi/pulumi";
import { InventoryDatabase } from "../components/inventory-database";
import { checkDatabaseHost, DatabaseHost } from "../lib/cloud/cloud-config";
import { requireHostKey } from "../lib/transport/known-hosts";

/**
 * The inventory alone: Postgres and Redis on one database host
 * (`kvm-cloud:inventoryHost`, shaped like the whole cloud's `database`
 * section), reached with the secret `kvm-cloud:sshPrivateKey` and checked
 * against `kvm-cloud:knownHosts` when given. For a cloud whose other parts
 * were built by other means (the lab's, until it is built by the whole
 * stack); its `inventory` output goes into that cloud's CloudSpec.
 */
export const INVENTORY_HOST_KEY = "kvm-cloud:inventoryHost";

export function inventoryOnly(config: pulumi.Config) {
  const host = config.requireObject<DatabaseHost>("inventoryHost");
  checkDatabaseHost("inventoryHost", host);
  const port = host.port ?? 22;
  const hostKey = requireHostKey(config.get("knownHosts"), host.address, port);
  const inventory = new InventoryDatabase("inventory", {
    runtime: host.runtime,
    postgresVersion: host.postgresVersion,
    postgresPort: host.postgresPort,
    redisPort: host.redisPort,
    database: host.database,
    dockerSshOptions: host.dockerSshOptions ? [...host.dockerSshOptions] : undefined,
    connection: { host: host.address, port, user: host.user ?? "root", privateKey: config.requireSecret("sshPrivateKey"), hostKey },
    postgresPassword: config.getSecret("postgresPassword"),
    redisPassword: config.getSecret("redisPassword"),
  });
  return {
    /** Inventory URLs carry passwords: secret outputs (`pulumi stack output --show-secrets`). */
    inventory: { postgresUrl: inventory.postgresUrl, redisUrl: inventory.redisUrl },
  };
}
