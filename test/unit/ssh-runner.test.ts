import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { renderSshdConfig } from "../../lab/sshd";
import { HostUnreachable, SshTarget, withSsh } from "../../lib/transport/ssh-runner";
import { freePort } from "../helpers/free-port";

/**
 * The ssh2 runner against a real sshd on loopback, configured by the lab's
 * own renderer: remote commands are bounded on the host, logins do not read
 * the machine's own home, and a connection that breaks mid-handshake is a
 * typed error, never an unhandled event.
 */

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmcloud-ssh-"));
const home = path.join(dir, "home");
let sshd: ChildProcess;
let target: SshTarget;

function keygen(file: string): void {
  const r = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", file]);
  if (r.status !== 0) throw new Error(`ssh-keygen: ${r.stderr}`);
}

async function listening(port: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => resolve(true)).on("error", () => resolve(false));
      s.setTimeout(500, () => s.destroy());
      s.once("connect", () => s.end());
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`sshd did not listen on 127.0.0.1:${port} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  fs.mkdirSync(home, { mode: 0o700 });
  keygen(path.join(dir, "host"));
  keygen(path.join(dir, "client"));
  fs.copyFileSync(path.join(dir, "client.pub"), path.join(dir, "authorized_keys"));
  if (process.getuid?.() === 0) fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const port = await freePort();
  const config = path.join(dir, "sshd_config");
  const text = renderSshdConfig({
    address: "127.0.0.1",
    port,
    hostKey: path.join(dir, "host"),
    authorizedKeys: path.join(dir, "authorized_keys"),
    pidFile: path.join(dir, "sshd.pid"),
    home,
  });
  fs.writeFileSync(config, text);
  sshd = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
  await listening(port, 10_000);
  target = {
    label: "loopback",
    host: "127.0.0.1",
    port,
    user: os.userInfo().username,
    privateKey: fs.readFileSync(path.join(dir, "client"), "utf8"),
    knownHosts: `[127.0.0.1]:${port} ${fs.readFileSync(path.join(dir, "host.pub"), "utf8").trim().split(/\s+/).slice(0, 2).join(" ")}\n`,
    connectTimeoutMs: 5000,
  };
}, 30_000);

afterAll(() => {
  sshd?.kill("SIGTERM");
  fs.rmSync(dir, { recursive: true, force: true });
});

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
    const t0 = Date.now();
    const r = await withSsh(target, (run) => run.run(["sh", "-c", `sleep 60; echo ${marker}`], { timeoutMs: 1000, allowFail: true }));
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

  it("refuses a host whose key is not the known one", async () => {
    const other = path.join(dir, "other");
    keygen(other);
    const knownHosts = `[127.0.0.1]:${target.port} ${fs.readFileSync(`${other}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ")}\n`;
    await expect(withSsh({ ...target, knownHosts }, (run) => run.run(["true"]))).rejects.toThrow(/host key not in knownHosts/);
  });
});
