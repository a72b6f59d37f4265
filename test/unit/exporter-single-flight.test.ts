import { DOMSTATS_ARGV } from "../../lib/monitoring/exporter/collect-libvirt";
import { Exporter } from "../../lib/monitoring/exporter/server";
import { SourceGates } from "../../lib/monitoring/exporter/source-gate";
import { parseExposition, value } from "../helpers/exposition";
import { fixtureAccess } from "../helpers/fixture-runner";
import { answers, CAPTURED_MS, cloud, dhcpRange, inventory, key } from "../helpers/exporter-fixture-output";

/**
 * A slow source costs one collection, not one more per scrape: the issue's
 * pile-up (60 SSH commands queued behind a slow login) cannot come back.
 */

const NODE1 = "10.77.0.21";

/** node1's domstats answers only when released, and counts how often it was asked. */
function slowNode1() {
  const ans = answers();
  const original = (ans[NODE1] as Record<string, unknown>)[key(DOMSTATS_ARGV)] as string;
  const state = { calls: 0, release: () => undefined as void };
  (ans[NODE1] as Record<string, unknown>)[key(DOMSTATS_ARGV)] = () => {
    state.calls++;
    return new Promise<string>((resolve) => {
      state.release = () => resolve(original);
    });
  };
  return { ans, state };
}

describe("the exporter's sources never run twice at once", () => {
  it("does not start a second collection of a source still running, and says so", async () => {
    const { ans, state } = slowNode1();
    const e = new Exporter({ cloud, dhcpRange, access: fixtureAccess(cloud, ans, inventory()), timeoutMs: 200, now: () => CAPTURED_MS });
    for (let i = 0; i < 4; i++) {
      const m = parseExposition(await e.collect());
      expect(value(m, "kvmcloud_scrape_source_up", { source: "libvirt", target: "node1" })).toBe(0);
      expect(value(m, "kvmcloud_node_up", { node: "node2" })).toBe(1);
    }
    expect(state.calls).toBe(1);
    expect(e.gates.inFlight()).toBe(1);
    state.release();
    const m = parseExposition(await e.collect());
    expect(value(m, "kvmcloud_node_up", { node: "node1" })).toBe(1);
    expect(value(m, "kvmcloud_scrape_source_age_seconds", { source: "libvirt", target: "node1" })).toBe(0);
    expect(state.calls).toBe(1);
    expect(e.gates.inFlight()).toBe(0);
  });

  it("reports the last good data with its age while a newer collection is stuck", async () => {
    let clock = 1_000_000;
    const gates = new SourceGates(() => clock);
    let answer: () => Promise<number> = async () => 7;
    const first = await gates.run("libvirt", "node1", clock + 1000, () => answer());
    expect(first.value).toBe(7);
    expect(first.result).toMatchObject({ ok: true, ageSeconds: 0 });

    clock += 30_000;
    answer = () => new Promise<number>(() => undefined);
    const stuck = await gates.run("libvirt", "node1", clock + 50, () => answer());
    expect(stuck.value).toBe(7);
    expect(stuck.result.ok).toBe(false);
    expect(stuck.result.ageSeconds).toBe(30);
    expect(stuck.result.error).toMatch(/no answer within 50 ms/);

    let calls = 0;
    const again = await gates.run("libvirt", "node1", clock + 50, async () => {
      calls++;
      return 8;
    });
    expect(calls).toBe(0);
    expect(again.value).toBe(7);
    expect(again.result.error).toMatch(/previous collection still running after .* s; not started again/);
  });

  it("gives no stale data for a source that answered with an error", async () => {
    const gates = new SourceGates();
    await gates.run("dhcp", "h", Date.now() + 1000, async () => 1);
    const failed = await gates.run("dhcp", "h", Date.now() + 1000, async () => {
      throw new Error("cannot reach h: ECONNREFUSED\nmore");
    });
    expect(failed.value).toBeUndefined();
    expect(failed.result).toMatchObject({ ok: false, error: "cannot reach h: ECONNREFUSED" });
    expect(failed.result.ageSeconds).toBeUndefined();
  });
});
