import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { Cloud } from "../../components/cloud";
import { CloudConfig } from "../../lib/cloud/cloud-config";
import { cloudStdout, installComponentMocks } from "../helpers/component-mocks";
import { stackFileConfig } from "../helpers/dev-config";
import { settle, unwrapSecrets, valueOf, REMOTE_COMMAND, isWrappedSecret } from "../helpers/pulumi-mocks";

/**
 * With `knownHosts`, every command a Cloud runs connects with that host's own
 * key (the RemoteCommand provider refuses any other; remote-command-host.test.ts),
 * its private key stays secret, and a host that known_hosts does not list fails
 * before anything is registered.
 */
jest.setTimeout(60_000);

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nhost-keys-test\n-----END OPENSSH PRIVATE KEY-----\n";
const devCloud = stackFileConfig("dev")["kvm-cloud:cloud"] as CloudConfig;
const hosts = [devCloud.dns, devCloud.database, devCloud.loadBalancer!, ...devCloud.ceph.hosts, ...devCloud.nodes].map((h) => h.address);
/** A distinct fake ed25519 key per address, as `ssh-keyscan` would list it. */
const keyOf = (address: string) => Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from("ssh-ed25519"), crypto.createHash("sha256").update(address).digest()]).toString("base64");
const knownHosts = hosts.map((a) => `${a} ssh-ed25519 ${keyOf(a)}`).join("\n") + "\n";

describe("Cloud with knownHosts", () => {
  it("pins every command's connection to its host's key and keeps its private key secret", async () => {
    const reg = installComponentMocks({ stdoutFor: cloudStdout });
    const cloud = new Cloud("kvmcloud", { config: devCloud, sshPrivateKey: pulumi.secret(KEY), knownHosts });
    await valueOf(cloud.cloud);
    await settle();
    const commands = reg.filter((r) => r.type === REMOTE_COMMAND);
    expect(commands.length).toBeGreaterThan(10);
    for (const c of commands) {
      const conn = unwrapSecrets(c.inputs.connection) as { host: string; hostKey?: string };
      expect(`${c.name}: ${conn.hostKey}`).toBe(`${c.name}: ssh-ed25519 ${keyOf(conn.host)}`);
      const raw = c.inputs.connection as Record<string, unknown>;
      expect(`${c.name}: ${isWrappedSecret(raw) || isWrappedSecret(raw.privateKey)}`).toBe(`${c.name}: true`);
    }
  });

  it("fails naming the host that known_hosts does not list, before anything is registered", async () => {
    const reg = installComponentMocks({ stdoutFor: cloudStdout });
    const missing = devCloud.nodes[1].address;
    const partial = knownHosts.split("\n").filter((l) => !l.startsWith(`${missing} `)).join("\n");
    expect(() => new Cloud("kvmcloud", { config: devCloud, sshPrivateKey: pulumi.secret(KEY), knownHosts: partial })).toThrow(
      new RegExp(`^knownHosts: "${missing.replace(/\./g, "\\.")}" is not allowed; expected a known_hosts line for every host of the cloud \\(none for ${missing.replace(/\./g, "\\.")}:22\\)`),
    );
    await settle();
    expect(reg).toHaveLength(0);
  });

  it("accepts any host key without knownHosts (trust on every use), as the README says", async () => {
    const reg = installComponentMocks({ stdoutFor: cloudStdout });
    const cloud = new Cloud("kvmcloud", { config: devCloud, sshPrivateKey: pulumi.secret(KEY) });
    await valueOf(cloud.cloud);
    await settle();
    const conn = unwrapSecrets(reg.find((r) => r.type === REMOTE_COMMAND)!.inputs.connection) as { hostKey?: string };
    expect(conn.hostKey).toBeUndefined();
  });
});
