import { spawn } from "child_process";
import { CommandFailed, CommandResult, CommandRunner } from "../../lib/transport/command-runner";

/**
 * A CommandRunner on this machine, with the given environment: scripts the
 * provider runs on a host, tried against stand-ins of the host's tools.
 */
export function localRunner(env: NodeJS.ProcessEnv): CommandRunner {
  return {
    target: "local",
    run: (argv, opts = {}) =>
      new Promise<CommandResult>((resolve, reject) => {
        const p = spawn(argv[0], argv.slice(1), { env });
        let stdout = "";
        let stderr = "";
        p.stdout.on("data", (d) => (stdout += d));
        p.stderr.on("data", (d) => (stderr += d));
        p.on("close", (code) => {
          const res = { stdout, stderr, code };
          if (code !== 0 && !opts.allowFail) reject(new CommandFailed("local", argv, res));
          else resolve(res);
        });
      }),
  };
}
