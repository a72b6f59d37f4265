import { ChildProcess, spawn } from "child_process";
import * as dgram from "dgram";
import { freePort } from "../helpers/free-port";
import { firstReplyAtMs, watchArp, watchDns } from "../../lab/ip-discovery";

/**
 * The bench's watches of the peers' ways to find a VM's address: a real
 * dnsmasq on loopback answers the DNS watch, ping of loopback the reply
 * watch; a server that never answers must make the watch fail, not report a
 * time.
 */

jest.setTimeout(30_000);

const PING_OUTPUT = [
  "PING 10.77.100.14 (10.77.100.14) 56(84) bytes of data.",
  "[1796310800.003723] From 10.77.0.2 icmp_seq=1 Destination Host Unreachable",
  "[1796310801.250100] 64 bytes from 10.77.100.14: icmp_seq=7 ttl=64 time=2.10 ms",
  "[1796310801.450100] 64 bytes from 10.77.100.14: icmp_seq=8 ttl=64 time=1.90 ms",
].join("\n");

describe("firstReplyAtMs", () => {
  it("takes the first echo reply from the address, not an unreachable report", () => {
    expect(firstReplyAtMs(PING_OUTPUT, "10.77.100.14")).toBe(1796310801250);
  });
  it("sees nothing in replies from another address or in no reply at all", () => {
    expect(firstReplyAtMs(PING_OUTPUT, "10.77.100.1")).toBeUndefined();
    expect(firstReplyAtMs(PING_OUTPUT.split("\n").slice(0, 2).join("\n"), "10.77.100.14")).toBeUndefined();
  });
});

describe("watchDns", () => {
  let dnsmasq: ChildProcess | undefined;
  afterEach(() => dnsmasq?.kill());

  it("reports when a real dnsmasq first answers the name with the address", async () => {
    const port = await freePort();
    dnsmasq = spawn("dnsmasq", ["-k", "--conf-file=/dev/null", `--port=${port}`, "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts", "--address=/vm1.lab.test/127.0.0.7", "--pid-file="], { stdio: "ignore" });
    const w = watchDns(`127.0.0.1:${port}`, "vm1.lab.test", "127.0.0.7", 50, 10_000);
    const ms = await w.result();
    expect(ms).toBeGreaterThanOrEqual(0);
    expect(ms).toBeLessThan(10_000);
  });

  it("fails naming the server and what it last got when nobody answers", async () => {
    const silent = dgram.createSocket("udp4");
    await new Promise<void>((r) => silent.bind(0, "127.0.0.1", r));
    const server = `127.0.0.1:${silent.address().port}`;
    try {
      await expect(watchDns(server, "vm1.lab.test", "127.0.0.7", 100, 1000).result()).rejects.toThrow(new RegExp(`DNS at ${server} did not answer vm1.lab.test with 127.0.0.7 within \\d+ ms \\(last: ETIMEOUT\\)`));
    } finally {
      silent.close();
    }
  });
});

describe("watchArp", () => {
  it("reports the first reply of the address", async () => {
    const ms = await watchArp("127.0.0.1", 200, 10_000).result();
    expect(ms).toBeGreaterThanOrEqual(0);
    expect(ms).toBeLessThan(5_000);
  });

  it("fails, saying so, when stopped before any reply", async () => {
    // 127.0.0.1 answers at once; a bound of 0 ms lets no ping start.
    await expect(watchArp("127.0.0.1", 200, 0).result()).rejects.toThrow(/ping 127\.0\.0\.1: no reply within \d+ ms over 0 runs of ping \(last said: nothing\)/);
  });
});
