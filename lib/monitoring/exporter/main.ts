import * as http from "http";
import { readCloudSpecFile } from "../../vm/cloud-spec-file";
import { pooledAccess } from "../../vm/pooled-access";
import { OPTION_HELP, parseExporterOptions } from "./options";
import { Exporter } from "./server";

/**
 * `npm run exporter -- --cloud-spec FILE --dhcp-range A-B`: the kvm-cloud
 * exporter as a service. It reaches the cloud the way the VirtualMachine
 * provider does (SSH with the CloudSpec's keys, the inventory's Postgres URL),
 * through the pooled CloudAccess (lib/vm/pooled-access.ts). Secrets from the spec are never logged.
 */

const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);

function main(): void {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(OPTION_HELP);
    return;
  }
  const opts = parseExporterOptions(argv, process.env);
  const cloud = readCloudSpecFile(opts.cloudSpecFile);
  // Each wait ends a little before the scrape's own bound, so the scrape can still report it.
  const access = pooledAccess(cloud, { boundMs: Math.max(1000, opts.scrapeTimeoutMs - 500), warn: log });
  const exporter = new Exporter({ cloud, dhcpRange: opts.dhcpRange, access, timeoutMs: opts.scrapeTimeoutMs }, log);
  const server = http.createServer(exporter.handler());
  server.listen(opts.port, opts.listenAddress, () =>
    log(`kvm-cloud exporter on http://${opts.listenAddress}:${opts.port}/metrics: ${cloud.nodes.length} nodes, pool ${cloud.ceph.pool}, DHCP ${opts.dhcpRange.start}-${opts.dhcpRange.end}`),
  );
  const stop = () => {
    server.close();
    void access.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

try {
  main();
} catch (e) {
  log((e as Error).message);
  process.exit(2);
}
