import { renderInventoryPackagesScript } from "./lib/render/scripts/inventory-packages";
process.stdout.write(renderInventoryPackagesScript({ bindAddress: "0.0.0.0", postgresPort: 5432, redisPort: 6379, user: "kvmcloud", database: "kvmcloud", postgresVersion: 15 }));
