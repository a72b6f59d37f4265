import { UNKNOWN } from "../../lib/engine/unknown";
import type { CommandResult } from "../../lib/transport/command-runner";
import {
  checkRemoteCommand,
  createRemoteCommand,
  deleteRemoteCommand,
  planRemoteCommandDiff,
  RemoteCommandInputs,
  RemoteScriptFailed,
  SshOpener,
  updateRemoteCommand,
} from "../../lib/transport/remote-command";
import type { SshTarget } from "../../lib/transport/ssh-runner";

/**
 * RemoteCommand's rules over a fake SSH opener: what check() refuses and
 * fills in, what diff() calls a replacement or a re-run, and that only a
 * changed script or stdin runs anything again. The real sshd and Pulumi's
 * provider host: remote-command-host.test.ts.
 */

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n";
const base: RemoteCommandInputs = {
  connection: { host: "192.0.2.10", port: 22, user: "root", privateKey: KEY },
  script: "#!/bin/bash\n# set up the thing\ntrue\n",
  timeoutSeconds: 900,
};

function fakeOpener(answer: CommandResult = { stdout: "out\n", stderr: "", code: 0 }) {
  const calls: Array<{ target: SshTarget; argv: readonly string[]; stdin?: string | Buffer; timeoutMs?: number }> = [];
  const open: SshOpener = async (target, fn) =>
    fn({
      target: target.label,
      run: async (argv, o = {}) => {
        calls.push({ target, argv, stdin: o.stdin, timeoutMs: o.timeoutMs });
        return answer;
      },
    });
  return { open, calls };
}

describe("check", () => {
  it("fills the defaults once: port 22, user root, a 900 s bound", () => {
    const { inputs, failures } = checkRemoteCommand({ connection: { host: "h1", privateKey: KEY }, script: "true" });
    expect(failures).toEqual([]);
    expect(inputs.connection).toMatchObject({ host: "h1", port: 22, user: "root" });
    expect(inputs.timeoutSeconds).toBe(900);
  });

  it.each([
    [{ connection: { host: "h1", privateKey: KEY }, script: "" }, "script", /expected a bash script/],
    [{ connection: { host: "h 1", privateKey: KEY }, script: "true" }, "connection.host", /"h 1" is not allowed; expected a host name or IP address/],
    [{ connection: { host: "h1", port: 0, privateKey: KEY }, script: "true" }, "connection.port", /expected an integer 1-65535/],
    [{ connection: { host: "h1", user: "Root;", privateKey: KEY }, script: "true" }, "connection.user", /expected a login name/],
    [{ connection: { host: "h1", privateKey: KEY, hostKey: "AAAA" }, script: "true" }, "connection.hostKey", /expected `type base64`/],
    [{ connection: { host: "h1", privateKey: KEY }, script: "true", timeoutSeconds: 0 }, "timeoutSeconds", /expected an integer 1-86400/],
  ])("refuses %p naming %s", (news, field, reason) => {
    const { failures } = checkRemoteCommand(news);
    expect(failures.map((f) => f.property)).toEqual([field]);
    expect(failures[0].reason).toMatch(reason);
  });

  it("never shows a bad private key or stdin, only that it is bad", () => {
    const { failures } = checkRemoteCommand({ connection: { host: "h1", privateKey: "hunter2-not-a-key" }, script: "true", stdin: 42 });
    expect(failures.map((f) => f.property).sort()).toEqual(["connection.privateKey", "stdin"]);
    expect(JSON.stringify(failures)).not.toContain("hunter2");
    expect(failures[0].reason).toContain("[secret]");
  });

  it("waits for values the engine does not know yet (preview)", () => {
    expect(checkRemoteCommand({ connection: UNKNOWN, script: UNKNOWN }).failures).toEqual([]);
    expect(checkRemoteCommand({ connection: { host: UNKNOWN, privateKey: KEY }, script: "true" }).failures).toEqual([]);
  });
});

describe("diff", () => {
  const with_ = (o: Record<string, unknown>) => ({ ...base, ...o }) as unknown as Record<string, unknown>;
  const conn = (o: Record<string, unknown>) => with_({ connection: { ...base.connection, ...o } });
  const b = base as unknown as Record<string, unknown>;

  it("sees no change in the same inputs", () => {
    expect(planRemoteCommandDiff(b, with_({}))).toEqual({ changes: false, replaces: [], rerun: false });
  });

  it.each([
    ["another host", conn({ host: "192.0.2.11" })],
    ["another port", conn({ port: 2222 })],
    ["another user", conn({ user: "deploy" })],
    ["a host not known yet", with_({ connection: UNKNOWN })],
  ])("replaces the command for %s", (_what, news) => {
    expect(planRemoteCommandDiff(b, news).replaces).toEqual(["connection"]);
  });

  it("replaces it when triggers change", () => {
    expect(planRemoteCommandDiff(with_({ triggers: ["a"] }), with_({ triggers: ["b"] })).replaces).toEqual(["triggers"]);
  });

  it.each([
    ["a new script", with_({ script: "true\ntrue\n" }), true],
    ["new stdin", with_({ stdin: "s3cret\n" }), true],
    ["a new private key", conn({ privateKey: KEY + "x" }), false],
    ["a host key", conn({ hostKey: "ssh-ed25519 AAAA" }), false],
    ["a delete script", with_({ deleteScript: "rm -f /x" }), false],
    ["another bound", with_({ timeoutSeconds: 60 }), false],
  ])("updates in place for %s (re-run: %s)", (_what, news, rerun) => {
    expect(planRemoteCommandDiff(b, news)).toEqual({ changes: true, replaces: [], rerun });
  });
});

describe("create, update, delete", () => {
  it("runs the script through bash (sudo when not root), with stdin, bounded by timeoutSeconds", async () => {
    const { open, calls } = fakeOpener();
    const s = await createRemoteCommand(open, { ...base, stdin: "pw\n", timeoutSeconds: 30 });
    expect(s.stdout).toBe("out\n");
    expect(calls).toHaveLength(1);
    expect(calls[0].argv[0]).toBe("sh");
    expect(calls[0].argv[2]).toContain("sudo -n");
    expect(calls[0].stdin).toBe("pw\n");
    expect(calls[0].timeoutMs).toBe(30_000);
    expect(calls[0].target).toMatchObject({ label: "root@192.0.2.10:22", commandTimeoutMs: 30_000, knownHosts: undefined });
  });

  it("checks the host key when one is given", async () => {
    const { open, calls } = fakeOpener();
    await createRemoteCommand(open, { ...base, connection: { ...base.connection, port: 2222, hostKey: "ssh-ed25519 AAAAC3" } });
    expect(calls[0].target.knownHosts).toBe("[192.0.2.10]:2222 ssh-ed25519 AAAAC3\n");
  });

  it("fails naming the script's purpose and host, quoting stderr and never stdout", async () => {
    const { open } = fakeOpener({ stdout: "admin_key=AQ-SECRET\n", stderr: "E: Unable to locate package dnsmasq\n", code: 100 });
    const e = await createRemoteCommand(open, base).catch((x) => x);
    expect(e).toBeInstanceOf(RemoteScriptFailed);
    expect(e.message).toBe('script "set up the thing" on root@192.0.2.10:22 failed (exit 100): E: Unable to locate package dnsmasq');
    expect(e.message).not.toContain("AQ-SECRET");
  });

  it("says a killed run outlived its bound", async () => {
    const { open } = fakeOpener({ stdout: "", stderr: "", code: null });
    await expect(createRemoteCommand(open, { ...base, timeoutSeconds: 5 })).rejects.toThrow(/killed, or outlived its bound of 5 s/);
  });

  it("runs nothing on an update of credentials only, and keeps the old stdout", async () => {
    const { open, calls } = fakeOpener();
    const olds = { ...base, stdout: "before\n" };
    const s = await updateRemoteCommand(open, olds, { ...base, connection: { ...base.connection, privateKey: KEY + "new" } });
    expect(calls).toHaveLength(0);
    expect(s.stdout).toBe("before\n");
    expect(s.connection.privateKey).toBe(KEY + "new");
  });

  it("runs the new script on an update that changes it", async () => {
    const { open, calls } = fakeOpener();
    const s = await updateRemoteCommand(open, { ...base, stdout: "before\n" }, { ...base, script: "echo new\n" });
    expect(calls).toHaveLength(1);
    expect(calls[0].argv[2]).toContain("echo new");
    expect(s.stdout).toBe("out\n");
  });

  it("deletes by running deleteScript, and opens no connection without one", async () => {
    const { open, calls } = fakeOpener();
    await deleteRemoteCommand(open, { ...base, stdout: "" });
    expect(calls).toHaveLength(0);
    await deleteRemoteCommand(open, { ...base, deleteScript: "rm -f /etc/thing\n", stdout: "" });
    expect(calls).toHaveLength(1);
    expect(calls[0].argv[2]).toContain("rm -f /etc/thing");
  });
});
