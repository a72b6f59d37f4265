import * as fs from "fs";
import * as path from "path";
import { CloudSpec, findNode } from "../../lib/vm/cloud-spec";
import { CloudAccess } from "../../lib/vm/cloud-access";
import { Sql } from "../../lib/inventory/vm-rows";
import { bestEffortCache } from "../../lib/inventory/cache";
import { CommandFailed, CommandResult, CommandRunner } from "../../lib/transport/command-runner";

/**
 * A CommandRunner that answers the exporter's commands with output captured
 * from the lab (test/fixtures/monitoring), keyed by host and command line.
 * An unexpected command fails the way a real one would, so a collector that
 * changes its command breaks its test.
 */
export const FIXTURES = path.join(__dirname, "..", "fixtures", "monitoring");

export function fixture(name: string): string {
  return fs.readFileSync(path.join(FIXTURES, name), "utf8");
}

export type Answers = Record<string, Record<string, string | (() => Promise<string>)>>;

export function fixtureRunner(host: string, answers: Answers): CommandRunner {
  return {
    target: host,
    async run(argv) {
      const key = argv.join(" ");
      const a = answers[host]?.[key];
      if (a === undefined) {
        const r: CommandResult = { stdout: "", stderr: `sh: unexpected command in test: ${key}`, code: 127 };
        throw new CommandFailed(host, argv, r);
      }
      return { stdout: typeof a === "string" ? a : await a(), stderr: "", code: 0 };
    },
  };
}

/**
 * A CloudAccess over fixtures: each host of `cloud` answers from `answers`,
 * hosts listed in `down` refuse the connection like an unreachable host, and
 * the inventory is `sql` (with no cache: the exporter never uses it).
 */
export function fixtureAccess(cloud: CloudSpec, answers: Answers, sql: Sql, down: readonly string[] = []): CloudAccess & { calls: string[] } {
  const calls: string[] = [];
  const on = async <T>(label: string, host: string, fn: (r: CommandRunner) => Promise<T>): Promise<T> => {
    calls.push(host);
    if (down.includes(host)) throw new Error(`cannot reach ${label} (root@${host}:22): connect ECONNREFUSED`);
    return fn(fixtureRunner(host, answers));
  };
  return {
    calls,
    onNode: (node, fn) => on(node, findNode(cloud, node).ssh.host, fn),
    onDhcp: (fn) => on("the DHCP host", cloud.dhcp.ssh.host, fn),
    withInventory: (fn) => fn({ sql, cache: bestEffortCache(undefined, () => undefined) }),
    lockVm: () => Promise.reject(new Error("fixtureAccess: the exporter takes no VM lock")),
  };
}
