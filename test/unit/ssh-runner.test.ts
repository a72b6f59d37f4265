import { spawnSync } from "child_process";
import * as net from "net";
import { HostUnreachable, SshTarget, withSsh } from "../../lib/transport/ssh-runner";
import { LoopbackSshd, startLoopbackSshd } from "../helpers/loopback-sshd";

/**
 * The ssh2 runner against a real sshd on loopback, configured by the lab's
 * own renderer: remote commands are bounded on the host, logins do not read
 * the machine's own home, and a connection that breaks mid-handshake is a
 * typed error, never an unhandled event.
 */

let sshd: LoopbackSshd;
let target: SshTarget;
let home: string;

beforeAll(async () => {
  sshd = await startLoopbackSshd();
  ({ target, home } = sshd);
}, 30_000);

afterAll(() => sshd?.stop());

function alive(marker: string): boolean {
  return spawnSync("pgrep", ["-f", marker]).status === 0;
}

describe("the ssh2 runner against a real sshd", () => {
  it("logs in with the lab host's own home, not the machine's", async () => {
    const r = await withSsh(target, (run) => run.run(["sh", "-c", 'printf %s "$HOME"']));
    expect(r.stdout).toBe(home);
  });

  it("ends a command that outlives its bound on the host itself", async () => {
    const marker = `kvmcloud-bounded-${process.pid}-${Date.now()}`;
    let t0 = 0;
    const r = await withSsh(target, (run) => {
      // Counted from the login on: the bound is the command's, whatever the handshake took.
      t0 = Date.now();
      return run.run(["sh", "-c", `sleep 60; echo ${marker}`], { timeoutMs: 1000, allowFail: true });
    });
    expect(r.code).toBeNull();
    expect(r.stderr).toMatch(/timed out after 1000 ms/);
    expect(Date.now() - t0).toBeLessThan(4000);
    // Nothing of it is left running once the bound fired (the pgrep itself matches nothing else).
    expect(alive(marker)).toBe(false);
  }, 20_000);

  it("passes a command's own exit status through, even 124", async () => {
    const r = await withSsh(target, (run) => run.run(["sh", "-c", "exit 124"], { allowFail: true, timeoutMs: 5000 }));
    expect(r.code).toBe(124);
  });

  it("turns a host that drops the connection mid-handshake into HostUnreachable, with no stray error event", async () => {
    const unhandled: unknown[] = [];
    const onUncaught = (e: unknown) => unhandled.push(e);
    process.on("uncaughtException", onUncaught);
    const server = net.createServer((sock) => {
      sock.write("SSH-2.0-OpenSSH_9.2p1\r\n");
      setTimeout(() => sock.destroy(), 50);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      for (let i = 0; i < 5; i++) {
        await expect(withSsh({ ...target, port, connectTimeoutMs: 2000 }, (run) => run.run(["true"]))).rejects.toThrow(HostUnreachable);
      }
      await new Promise((r) => setTimeout(r, 500));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("uncaughtException", onUncaught);
      server.close();
    }
  }, 20_000);

  it("logs in many times at once to an sshd that drops logins beyond its MaxStartups", async () => {
    // MaxStartups 2: sshd drops every third login still in its handshake, as a
    // busy host's default 10:30:100 does to the 16 creates of one `pulumi up`.
    const busy = await startLoopbackSshd({ MaxStartups: "2" });
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => withSsh({ ...busy.target, connectTimeoutMs: 15_000 }, (run) => run.run(["echo", String(i)]))),
      );
      const failed = results.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason));
      expect(failed).toEqual([]);
      expect(results.map((r) => (r as PromiseFulfilledResult<{ stdout: string }>).value.stdout.trim()).sort()).toEqual(["0", "1", "2", "3", "4", "5", "6", "7"]);
    } finally {
      busy.stop();
    }
  }, 40_000);

  it("does not retry a refused login", async () => {
    const other = await startLoopbackSshd();
    // From the login on: starting the other sshd is not what is measured.
    const t0 = Date.now();
    try {
      // The other sshd's client key is not ours: the login fails once, quickly, and says why.
      await expect(withSsh({ ...other.target, privateKey: target.privateKey }, (run) => run.run(["true"]))).rejects.toThrow(/authentication with the given private key failed$/);
      expect(Date.now() - t0).toBeLessThan(4000);
    } finally {
      other.stop();
    }
  }, 20_000);

  it("refuses a host whose key is not the known one", async () => {
    const knownHosts = `[127.0.0.1]:${target.port} ${sshd.otherHostKey()}\n`;
    await expect(withSsh({ ...target, knownHosts }, (run) => run.run(["true"]))).rejects.toThrow(/host key not in knownHosts/);
  });
});
