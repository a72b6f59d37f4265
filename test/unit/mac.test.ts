import { generateMac, MAC_ATTEMPTS } from "../../lib/vm/mac";
import { isMac } from "../../lib/core/network";

/** A random source that returns the given 3-byte sequences in turn, counting calls. */
function scripted(...seq: number[][]) {
  const r = { calls: 0, fn: () => Buffer.from(seq[Math.min(r.calls++, seq.length - 1)]) };
  return r;
}

describe("generateMac", () => {
  it("formats 52:54:00 plus three lower-case zero-padded bytes", () => {
    const mac = generateMac([], scripted([0xab, 0x0c, 0x01]).fn);
    expect(mac).toBe("52:54:00:ab:0c:01");
    expect(isMac(mac)).toBe(true);
  });

  it("retries when the first draw is taken, comparing case-insensitively", () => {
    const r = scripted([0xab, 0xcd, 0xef], [0x00, 0x00, 0x01]);
    expect(generateMac(["52:54:00:AB:CD:EF"], r.fn)).toBe("52:54:00:00:00:01");
    expect(r.calls).toBe(2);
  });

  it("accepts any iterable of taken MACs", () => {
    const taken = new Set(["52:54:00:00:00:01"]);
    expect(generateMac(taken.values(), scripted([0, 0, 1], [0, 0, 2]).fn)).toBe("52:54:00:00:00:02");
  });

  it("gives up after a bounded number of attempts with a clear error", () => {
    const r = scripted([1, 2, 3]);
    expect(() => generateMac(["52:54:00:01:02:03"], r.fn)).toThrow(/no free MAC under 52:54:00 after 64 attempts/);
    expect(r.calls).toBe(MAC_ATTEMPTS);
  });

  it("rejects a random source that returns too few bytes", () => {
    expect(() => generateMac([], () => Buffer.from([1, 2]))).toThrow(/3 are needed/);
  });
});
