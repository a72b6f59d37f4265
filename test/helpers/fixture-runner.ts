import * as fs from "fs";
import * as path from "path";
import { SshEndpoint } from "../../lib/vm/cloud-spec";
import { CommandFailed, CommandResult, CommandRunner } from "../../lib/transport/command-runner";
import { OnHost } from "../../lib/monitoring/exporter/scrape";

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

/** OnHost over fixtures; hosts listed in `down` refuse the connection like an unreachable host. */
export function fixtureOnHost(answers: Answers, down: readonly string[] = []): OnHost & { calls: string[] } {
  const calls: string[] = [];
  const f = async <T>(label: string, ssh: SshEndpoint, fn: (r: CommandRunner) => Promise<T>): Promise<T> => {
    calls.push(ssh.host);
    if (down.includes(ssh.host)) throw new Error(`cannot reach ${label} (root@${ssh.host}:22): connect ECONNREFUSED`);
    return fn(fixtureRunner(ssh.host, answers));
  };
  return Object.assign(f, { calls });
}
