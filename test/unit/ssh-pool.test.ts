import { spawnSync } from "child_process";
import { CHANNELS_PER_CONNECTION, CONNECTIONS_PER_HOST, leaseHost } from "../../lib/transport/ssh-pool";
import { LoopbackSshd, startLoopbackSshd } from "../helpers/loopback-sshd";

/**
 * The shared SSH connections against a real sshd with sshd's default
 * MaxSessions (10). Which connection a command used is the client port sshd
 * reports in $SSH_CONNECTION; how many ran at once on one connection comes
 * from the commands' own start and end times on the host.
 */

jest.setTimeout(60_000);

let sshd: LoopbackSshd;

beforeAll(async () => {
  sshd = await startLoopbackSshd({ MaxSessions: String(CHANNELS_PER_CONNECTION) });
}, 30_000);

afterAll(() => sshd?.stop());

/** Prints "clientPort startNs endNs" around a sleep. */
const timedSleep = (seconds: number) => ["sh", "-c", `s=$(date +%s%N); sleep ${seconds}; set -- $SSH_CONNECTION; echo "$2 $s $(date +%s%N)"`];

interface Span {
  port: string;
  start: number;
  end: number;
}

const span = (stdout: string): Span => {
  const [port, start, end] = stdout.trim().split(" ");
  return { port, start: Number(start) / 1e6, end: Number(end) / 1e6 };
};

/** The most spans that overlapped at once, per client port. */
function peakPerPort(spans: readonly Span[]): Map<string, number> {
  const peak = new Map<string, number>();
  for (const s of spans) {
    const overlapping = spans.filter((o) => o.port === s.port && o.start <= s.start && o.end > s.start).length;
    peak.set(s.port, Math.max(peak.get(s.port) ?? 0, overlapping));
  }
  return peak;
}

function openConnections(): string {
  return spawnSync("ss", ["-Htn", "state", "established", `( dport = :${sshd.target.port} )`], { encoding: "utf8" }).stdout.trim();
}

describe("leaseHost", () => {
  it("runs two leases' commands over the same connection and closes it with the last lease", async () => {
    const a = leaseHost(sshd.target);
    const b = leaseHost(sshd.target);
    const pa = span((await a.runner.run(timedSleep(0))).stdout).port;
    const pb = span((await b.runner.run(timedSleep(0))).stdout).port;
    expect(pb).toBe(pa);
    a.release();
    expect(span((await b.runner.run(timedSleep(0))).stdout).port).toBe(pa);
    b.release();
    await new Promise((r) => setTimeout(r, 500));
    expect(openConnections()).toBe("");
    await expect(a.runner.run(["true"])).rejects.toThrow(/used after release\(\)/);
    const c = leaseHost(sshd.target);
    try {
      expect(span((await c.runner.run(timedSleep(0))).stdout).port).not.toBe(pa);
    } finally {
      c.release();
    }
  });

  it("spreads many commands at once over a few connections, each within sshd's MaxSessions, queueing the rest", async () => {
    const capacity = CHANNELS_PER_CONNECTION * CONNECTIONS_PER_HOST;
    const count = capacity + 8;
    const lease = leaseHost(sshd.target);
    try {
      const t0 = Date.now();
      const spans = (await Promise.all(Array.from({ length: count }, () => lease.runner.run(timedSleep(1))))).map((r) => span(r.stdout));
      const took = Date.now() - t0;
      const ports = new Set(spans.map((s) => s.port));
      expect(ports.size).toBe(CONNECTIONS_PER_HOST);
      for (const [, peak] of peakPerPort(spans)) expect(peak).toBeLessThanOrEqual(CHANNELS_PER_CONNECTION);
      // The 8 beyond capacity waited for a channel: two rounds of one-second sleeps.
      expect(took).toBeGreaterThanOrEqual(2000);
    } finally {
      lease.release();
    }
  });

  it("fills a connection before opening another", async () => {
    const lease = leaseHost(sshd.target);
    try {
      const spans = (await Promise.all(Array.from({ length: CHANNELS_PER_CONNECTION }, () => lease.runner.run(timedSleep(0.2))))).map((r) => span(r.stdout));
      expect(new Set(spans.map((s) => s.port)).size).toBe(1);
    } finally {
      lease.release();
    }
  });

  it("says so when no channel frees within the command's bound", async () => {
    const lease = leaseHost(sshd.target);
    const capacity = CHANNELS_PER_CONNECTION * CONNECTIONS_PER_HOST;
    try {
      const busy = Array.from({ length: capacity }, () => lease.runner.run(timedSleep(3)));
      const late = lease.runner.run(["true"], { timeoutMs: 1000 });
      await expect(late).rejects.toThrow(new RegExp(`no free SSH channel to loopback .* within 1000 ms: ${CONNECTIONS_PER_HOST} connections`));
      expect((await Promise.allSettled(busy)).every((r) => r.status === "fulfilled")).toBe(true);
    } finally {
      lease.release();
    }
  });
});
