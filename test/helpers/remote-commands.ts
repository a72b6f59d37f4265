import * as fs from "fs";
import type { LabDescription } from "../../lab/description";
import { hostKeyLine } from "../../lib/transport/known-hosts";
import { ProviderHost, serializeProvider, startProviderHost } from "./provider-host";

/**
 * RemoteCommands to one lab host through Pulumi's own dynamic-provider host,
 * as `pulumi up` would run them: the lab's key, the host's key from the lab's
 * known_hosts, check() then create().
 */
export interface RemoteCommands {
  readonly host: ProviderHost;
  /** check() (which must pass) then create() of a RemoteCommand with these props. */
  run(props: Record<string, unknown>): Promise<{ id: string; properties: Record<string, any> }>;
}

export async function remoteCommandsTo(d: LabDescription, address: string): Promise<RemoteCommands> {
  const host = await startProviderHost(serializeProvider("RemoteCommand"));
  const connection = {
    host: address,
    privateKey: fs.readFileSync(d.ssh.privateKeyPath, "utf8"),
    hostKey: hostKeyLine(fs.readFileSync(d.ssh.knownHostsPath, "utf8"), address, 22),
  };
  return {
    host,
    async run(props) {
      const checked = await host.check({}, { connection, ...props });
      if (checked.failures.length > 0) throw new Error(`check failed: ${JSON.stringify(checked.failures)}`);
      return host.create(checked.inputs);
    },
  };
}
