import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { bashScript } from "../../lib/core/script";
import { LoopbackSshd, startLoopbackSshd } from "../helpers/loopback-sshd";
import { DIFF, ProviderHost, serializeProvider, startProviderHost } from "../helpers/provider-host";

/**
 * The RemoteCommand provider as `pulumi up` runs it: the serialized shim in
 * Pulumi's own dynamic-provider host, against a real sshd on loopback.
 * Scripts really run; their bound is enforced on the host; a wrong host key
 * runs nothing; secrets never reach an error.
 */
jest.setTimeout(60_000);

let sshd: LoopbackSshd;
let host: ProviderHost;
let shim: string;
let connection: Record<string, unknown>;

beforeAll(async () => {
  sshd = await startLoopbackSshd();
  shim = serializeProvider("RemoteCommand");
  host = await startProviderHost(shim);
  const t = sshd.target;
  connection = { host: t.host, port: t.port, user: t.user, privateKey: t.privateKey, hostKey: sshd.hostKey };
}, 60_000);

afterAll(async () => {
  await host?.stop();
  sshd?.stop();
});

const inHome = (f: string) => path.join(sshd.home, f);

/** check() then create(), as the engine calls them. */
async function create(news: Record<string, unknown>) {
  const checked = await host.check({}, { connection, ...news });
  expect(checked.failures).toEqual([]);
  return { inputs: checked.inputs, made: await host.create(checked.inputs) };
}

describe("RemoteCommand through Pulumi's dynamic-provider host and a real sshd", () => {
  it("stores a small shim, not the implementation", () => {
    expect(shim.length).toBeLessThan(4096);
    expect(shim).toContain("@kvm-cloud/dynamic-providers/");
    expect(shim).not.toContain("remoteInvocation");
  });

  it("runs the script on the host with its stdin, returns stdout, and an update of the script runs it again", async () => {
    const script = bashScript("write a file", ['IFS= read -r v', 'printf %s "$v" > "$HOME/made"', 'echo "wrote $(wc -c < "$HOME/made")"']);
    const { inputs, made } = await create({ script, stdin: "s3cret-value\n", deleteScript: bashScript("remove it", ['rm -f "$HOME/made"']) });
    expect(made.properties.stdout).toBe("wrote 12\n");
    expect(fs.readFileSync(inHome("made"), "utf8")).toBe("s3cret-value");

    const news = { ...inputs, script: script.replace("write a file", "write the file") };
    expect((await host.diff(made.id, made.properties, news)).changes).toBe(DIFF.SOME);
    fs.rmSync(inHome("made"));
    await host.update(made.id, made.properties, news);
    expect(fs.existsSync(inHome("made"))).toBe(true);

    await host.delete(made.id, { ...made.properties, ...news });
    expect(fs.existsSync(inHome("made"))).toBe(false);
  });

  it("fails with the host's stderr and the script's purpose, never its stdout", async () => {
    const script = bashScript("print a key then fail", ["echo admin_key=AQ-not-for-logs", 'echo "no such package: dnsmasq" >&2', "exit 100"]);
    await expect(create({ script })).rejects.toThrow(/script "print a key then fail" on .*@127\.0\.0\.1:\d+ failed \(exit 100\): no such package: dnsmasq/);
    await expect(create({ script })).rejects.not.toThrow(/AQ-not-for-logs/);
  });

  it("ends a run that outlives timeoutSeconds on the host itself", async () => {
    const marker = `kvmcloud-rc-bound-${process.pid}-${Date.now()}`;
    const t0 = Date.now();
    await expect(create({ script: bashScript("hang", [`sleep 120 # ${marker}`]), timeoutSeconds: 2 })).rejects.toThrow(/outlived its bound of 2 s/);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(spawnSync("pgrep", ["-f", marker]).status).not.toBe(0);
  });

  it("runs nothing on a host whose key is not the one given", async () => {
    const script = bashScript("touch", ['touch "$HOME/should-not-exist"']);
    await expect(create({ script, connection: { ...connection, hostKey: sshd.otherHostKey() } })).rejects.toThrow(/host key not in knownHosts/);
    expect(fs.existsSync(inHome("should-not-exist"))).toBe(false);
  });

  it("refuses bad input in check, naming the field, before any host is reached", async () => {
    const r = await host.check({}, { connection: { ...connection, port: 70000 }, script: "true" });
    expect(r.failures).toEqual([{ property: "connection.port", reason: "connection.port: 70000 is not allowed; expected an integer 1-65535" }]);
  });
});
