import { spawn } from "child_process";
import { Resolver } from "dns/promises";
import { replyStampsMs } from "./ping-watch";

/**
 * The ways other designs learn a new VM's address, watched from a lab
 * namespace while our provider waits for the DHCP lease, so that the bench can
 * set them side by side: a DNS query for the VM's name at dnsmasq (what a
 * script that sleeps and then asks DNS finds), and the first answer of the
 * guest at its address over ARP (the best an ARP-table scan can do; a scan on
 * a cron adds its period on top). Each watch reports the time from its start
 * to the first answer naming the VM's address, or fails saying what it saw.
 */

export interface DiscoveryWatch {
  /** Waits for the first answer (at most the watch's bound) and stops. */
  result(): Promise<number>;
  /** Stops early; result() then rejects unless the answer had come. */
  stop(): void;
}

/** One DNS query: the A records of `fqdn` at `server`, or the resolver's error code. */
export async function queryA(server: string, fqdn: string, timeoutMs: number): Promise<string[] | string> {
  const r = new Resolver({ timeout: timeoutMs, tries: 1 });
  r.setServers([server]);
  try {
    return await r.resolve4(fqdn);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  }
}

/** Asks `server` for `fqdn` every `everyMs` until it answers `ip`, at most `withinMs`. */
export function watchDns(server: string, fqdn: string, ip: string, everyMs = 100, withinMs = 300_000): DiscoveryWatch {
  const t0 = Date.now();
  let stopped = false;
  let last = "no query yet";
  const run = async (): Promise<number> => {
    while (!stopped && Date.now() - t0 < withinMs) {
      const asked = Date.now();
      const got = await queryA(server, fqdn, Math.max(everyMs, 300));
      if (Array.isArray(got) && got.includes(ip)) return asked - t0;
      last = Array.isArray(got) ? `answered ${got.join(", ") || "no address"}` : got;
      await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (Date.now() - asked))));
    }
    throw new Error(`DNS at ${server} did not answer ${fqdn} with ${ip} within ${Date.now() - t0} ms (last: ${last})`);
  };
  const done = run();
  done.catch(() => undefined);
  return { result: () => done, stop: () => void (stopped = true) };
}

/**
 * The first echo reply from `ip` in `ping -D` output, as epoch ms: the guest
 * answered its address, so ARP resolved it first.
 */
export function firstReplyAtMs(pingOutput: string, ip: string): number | undefined {
  const [first] = replyStampsMs(pingOutput, ip);
  return first === undefined ? undefined : Math.round(first);
}

/** One `ping` run until its first reply from `ip` (epoch ms) or its exit without one. */
function pingOnce(ip: string, everyMs: number, deadlineS: number, onChild: (c: ReturnType<typeof spawn>) => void): Promise<{ at?: number; out: string; err: string }> {
  const child = spawn("ping", ["-n", "-D", "-i", (everyMs / 1000).toFixed(3), "-W", "1", "-w", String(deadlineS), ip], { stdio: ["ignore", "pipe", "pipe"] });
  onChild(child);
  let out = "";
  let err = "";
  return new Promise((resolve) => {
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString("utf8");
      const at = firstReplyAtMs(out, ip);
      if (at !== undefined) {
        child.kill("SIGINT");
        resolve({ at, out, err });
      }
    });
    child.stderr!.on("data", (c: Buffer) => (err += c.toString("utf8")));
    child.on("error", (e) => resolve({ out, err: `${err}${e.message}` }));
    child.on("close", () => resolve({ out, err }));
  });
}

/**
 * Pings `ip` every `everyMs` (root, in a lab namespace) until its first reply,
 * at most `withinMs`. ping gives up after about 3 s of unanswered ARP
 * ("Destination Host Unreachable"), so it is run again until the bound. The
 * kernel asks ARP again at most once a second (retrans_time), so the figure
 * can be up to a second late.
 */
export function watchArp(ip: string, everyMs = 200, withinMs = 300_000): DiscoveryWatch {
  const t0 = Date.now();
  let stopped = false;
  let current: ReturnType<typeof spawn> | undefined;
  const run = async (): Promise<number> => {
    let last = { out: "", err: "" };
    let runs = 0;
    while (!stopped && Date.now() - t0 < withinMs) {
      runs++;
      const r = await pingOnce(ip, everyMs, Math.max(1, Math.ceil((withinMs - (Date.now() - t0)) / 1000)), (c) => (current = c));
      if (r.at !== undefined) return r.at - t0;
      last = r;
    }
    const tail = `${last.out.trim().split("\n").pop() ?? ""}${last.err.trim() ? `; ${last.err.trim()}` : ""}`;
    throw new Error(`ping ${ip}: no reply within ${Date.now() - t0} ms over ${runs} runs of ping (last said: ${tail || "nothing"})`);
  };
  const done = run();
  done.catch(() => undefined);
  return {
    result: () => done,
    stop: () => {
      stopped = true;
      current?.kill("SIGINT");
    },
  };
}
