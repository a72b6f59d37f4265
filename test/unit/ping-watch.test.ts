import { longestReplyGap } from "../../lab/ping-watch";

/** The bench's ICMP downtime figure, read from iputils ping's -D output (as ping 20221126 prints it). */

const out = [
  "PING 10.77.100.33 (10.77.100.33) 56(84) bytes of data.",
  "[1796297631.101000] 64 bytes from 10.77.100.33: icmp_seq=1 ttl=64 time=0.412 ms",
  "[1796297631.111500] 64 bytes from 10.77.100.33: icmp_seq=2 ttl=64 time=0.398 ms",
  "[1796297631.478250] 64 bytes from 10.77.100.33: icmp_seq=39 ttl=64 time=0.520 ms",
  "[1796297631.488300] 64 bytes from 10.77.100.33: icmp_seq=40 ttl=64 time=0.501 ms",
  "",
  "--- 10.77.100.33 ping statistics ---",
  "40 packets transmitted, 4 received, 90% packet loss, time 410ms",
].join("\n");

describe("the ICMP gap of a live migration", () => {
  it("is the longest interval between two replies, by ping's own timestamps", () => {
    expect(longestReplyGap(out, 1796297631488.3 + 10)).toEqual({ replies: 4, longestGapMs: 367 });
  });

  it("runs the last gap to the stop: a guest that went silent before the watch ended", () => {
    expect(longestReplyGap(out, 1796297631488.3 + 5000)).toEqual({ replies: 4, longestGapMs: 5000 });
  });

  it("counts no reply in output with none (an unreachable guest: the watch then fails)", () => {
    expect(longestReplyGap("PING 10.77.100.33 (10.77.100.33) 56(84) bytes of data.\n\n--- 10.77.100.33 ping statistics ---\n5 packets transmitted, 0 received, 100% packet loss", Date.now())).toEqual({ replies: 0, longestGapMs: 0 });
  });
});
