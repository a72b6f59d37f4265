import * as fs from "fs";
import * as http from "http";
import { Pool } from "pg";
import { CloudSpec, validateCloudSpec } from "../cloud/cloud-spec";
import { withSsh } from "../transport/ssh-runner";
import { OPTION_HELP, parseExporterOptions } from "./options";
import { Query } from "./query";
import { OnHost } from "./scrape";
import { Exporter } from "./server";

/**
 * `npm run exporter -- --cloud-spec FILE --dhcp-range A-B`: the kvm-cloud
 * exporter as a service. It reaches the cloud the way the VirtualMachine
 * provider does (SSH with the CloudSpec's keys, the inventory's Postgres URL)
 * and opens its connections per scrape, so a host that comes back is seen on
 * the next scrape. Secrets from the spec are never logged.
 */

const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);

function readSpec(file: string): CloudSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    // The parser's message may quote the file's text: name the file only.
    throw new Error(`cannot read the CloudSpec at ${file}: ${(e as NodeJS.ErrnoException).code ?? "not valid JSON"}`);
  }
  return validateCloudSpec(raw as CloudSpec);
}

function main(): void {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(OPTION_HELP);
    return;
  }
  const opts = parseExporterOptions(argv, process.env);
  const cloud = readSpec(opts.cloudSpecFile);
  const bound = Math.max(1000, opts.scrapeTimeoutMs - 500);
  const pool = new Pool({
    connectionString: cloud.inventory.postgresUrl,
    max: 2,
    connectionTimeoutMillis: bound,
    statement_timeout: bound,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its server must not take the exporter down.
  pool.on("error", (e) => log(`inventory connection lost: ${e.message}`));
  const query: Query = async (sql, params) => (await pool.query(sql, params as unknown[] | undefined)).rows;
  const onHost: OnHost = (label, ssh, fn) =>
    withSsh(
      { label, host: ssh.host, port: ssh.port, user: ssh.user, privateKey: ssh.privateKey, knownHosts: cloud.knownHosts, connectTimeoutMs: bound, commandTimeoutMs: bound },
      fn,
    );
  const exporter = new Exporter({ cloud, dhcpRange: opts.dhcpRange, onHost, query, timeoutMs: opts.scrapeTimeoutMs }, log);
  const server = http.createServer(exporter.handler());
  server.listen(opts.port, opts.listenAddress, () =>
    log(`kvm-cloud exporter on http://${opts.listenAddress}:${opts.port}/metrics: ${cloud.nodes.length} nodes, pool ${cloud.ceph.pool}, DHCP ${opts.dhcpRange.start}-${opts.dhcpRange.end}`),
  );
  const stop = () => {
    server.close();
    void pool.end().finally(() => process.exit(0));
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
