import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import type { SshTarget } from "../../lib/transport/ssh-runner";
import { freePort } from "./free-port";

/**
 * A real sshd on 127.0.0.1 (logins get
 * a home of their own, never the machine's /root), for tests of what runs
 * over SSH. Loopback only: no lab or outside address is touched.
 */
export interface LoopbackSshd {
  /** Where to reach it, as the current user, with its host key known. */
  readonly target: SshTarget;
  /** The logins' $HOME. */
  readonly home: string;
  /** Scratch folder of this sshd (keys, config), removed by stop(). */
  readonly dir: string;
  /** The host key as `type base64`. */
  readonly hostKey: string;
  /** A freshly made key of another host, as `type base64`. */
  otherHostKey(): string;
  stop(): void;
}

function keygen(file: string): void {
  const r = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", file]);
  if (r.status !== 0) throw new Error(`ssh-keygen: ${r.stderr}`);
}

const keyLine = (pubFile: string) => fs.readFileSync(pubFile, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");

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

/** The sshd_config of a test sshd, as hardened as the lab hosts' (no PAM, no passwords, a home of its own). */
function renderSshdConfig(o: { address: string; port: number; hostKey: string; authorizedKeys: string; pidFile: string; home: string }): string {
  return [
    `ListenAddress ${o.address}:${o.port}`,
    `HostKey ${o.hostKey}`,
    `PidFile ${o.pidFile}`,
    `AuthorizedKeysFile ${o.authorizedKeys}`,
    "PermitRootLogin prohibit-password",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    // The scratch folder may sit under a checkout owned by whoever cloned it.
    "StrictModes no",
    "MaxStartups 64:30:128",
    "MaxSessions 64",
    "Subsystem sftp internal-sftp",
    // Logins get a home of the lab host's own: root's home on this machine
    // has start-up files (pyenv) that cost a second per command and can hang
    // every login for a minute on a lock left by a killed shell.
    `SetEnv HOME=${o.home}`,
    "",
  ].join("\n");
}

/** options: sshd settings that take the place of the lab's (e.g. { MaxStartups: "1" }). */
export async function startLoopbackSshd(options: Record<string, string> = {}): Promise<LoopbackSshd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmcloud-ssh-"));
  const home = path.join(dir, "home");
  fs.mkdirSync(home, { mode: 0o700 });
  keygen(path.join(dir, "host"));
  keygen(path.join(dir, "client"));
  fs.copyFileSync(path.join(dir, "client.pub"), path.join(dir, "authorized_keys"));
  if (process.getuid?.() === 0) fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const port = await freePort();
  const config = path.join(dir, "sshd_config");
  const rendered = renderSshdConfig({ address: "127.0.0.1", port, hostKey: path.join(dir, "host"), authorizedKeys: path.join(dir, "authorized_keys"), pidFile: path.join(dir, "sshd.pid"), home });
  // In place of the rendered line, not beside it: sshd keeps the first value of some
  // keywords and the last of others (MaxStartups), and -o does not override the file.
  const replaced = new Set(Object.keys(options).map((k) => k.toLowerCase()));
  const kept = rendered.split("\n").filter((l) => !replaced.has(l.split(" ")[0].toLowerCase()));
  fs.writeFileSync(config, [...Object.entries(options).map(([k, v]) => `${k} ${v}`), ...kept].join("\n"));
  const sshd: ChildProcess = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
  await listening(port, 10_000);
  const hostKey = keyLine(path.join(dir, "host.pub"));
  let others = 0;
  return {
    target: {
      label: "loopback",
      host: "127.0.0.1",
      port,
      user: os.userInfo().username,
      privateKey: fs.readFileSync(path.join(dir, "client"), "utf8"),
      knownHosts: `[127.0.0.1]:${port} ${hostKey}\n`,
      // Generous: a login on a loaded CI machine (two jest workers, the engine tests) once took longer than 5 s.
      connectTimeoutMs: 15_000,
    },
    home,
    dir,
    hostKey,
    otherHostKey() {
      const file = path.join(dir, `other-${++others}`);
      keygen(file);
      return keyLine(`${file}.pub`);
    },
    stop() {
      sshd.kill("SIGTERM");
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
