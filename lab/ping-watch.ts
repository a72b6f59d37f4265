import { spawn } from "child_process";

/**
 * The guest's own downtime, seen with ICMP echo every 10 ms (run inside a lab
 * namespace, as root: intervals under 200 ms need it). An HTTP probe cannot
 * see under a second: a SYN lost while the guest is paused waits for TCP's
 * first retransmission (1 s), so every HTTP gap that loses a packet reads
 * about 1 s. The longest interval between two replies (by ping's own
 * timestamps), or from the last reply to the stop, is the figure.
 */

export interface PingWatch {
  /** Stops pinging; resolves with the replies and the longest interval between two of them (ms). Rejects when fewer than two replies came. */
  stop(): Promise<{ replies: number; sent: number; longestGapMs: number }>;
}

/** Epoch ms of each echo reply in `ping -D` output, from `ip` only when given; unreachable reports are not replies. */
export function replyStampsMs(pingOutput: string, ip?: string): number[] {
  const from = ip === undefined ? ".*" : `${ip.replace(/\./g, "\\.")}:`;
  return [...pingOutput.matchAll(new RegExp(`^\\[(\\d+\\.\\d+)\\] \\d+ bytes from ${from} icmp_seq=\\d+`, "gm"))].map((m) => Number(m[1]) * 1000);
}

/**
 * Longest interval between consecutive replies in `ping -D` output, the last
 * one running to `stoppedAtMs` (epoch ms): a guest that stopped answering
 * before the watch ended has a gap that ends with it.
 */
export function longestReplyGap(pingOutput: string, stoppedAtMs: number): { replies: number; longestGapMs: number } {
  const stamps = replyStampsMs(pingOutput);
  let longest = 0;
  for (let i = 1; i < stamps.length; i++) longest = Math.max(longest, stamps[i] - stamps[i - 1]);
  if (stamps.length > 0) longest = Math.max(longest, stoppedAtMs - stamps[stamps.length - 1]);
  return { replies: stamps.length, longestGapMs: Math.round(longest) };
}

/** Pings `ip` every `everyMs` until stopped, at most `maxSeconds` (ping's own deadline bounds it too). */
export function watchPings(ip: string, everyMs = 10, maxSeconds = 300): PingWatch {
  const child = spawn("ping", ["-n", "-D", "-i", (everyMs / 1000).toFixed(3), "-W", "1", "-w", String(maxSeconds), ip], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
  child.stderr.on("data", (c: Buffer) => (err += c.toString("utf8")));
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  return {
    async stop() {
      const stoppedAt = Date.now();
      child.kill("SIGINT");
      await exited;
      const sent = Number(/(\d+) packets transmitted/.exec(out)?.[1] ?? 0);
      const { replies, longestGapMs } = longestReplyGap(out, stoppedAt);
      if (replies < 2) throw new Error(`ping ${ip}: ${replies} replies to ${sent} echoes${err.trim() ? ` (${err.trim()})` : ""}: nothing was measured`);
      return { replies, sent, longestGapMs };
    },
  };
}
