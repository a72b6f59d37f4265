import { Cache } from "../../lib/inventory/vm-rows";
import { bestEffortCache } from "../../lib/inventory/cache";

/** Redis down or hung never fails a VM operation: reads miss, writes are skipped, and each failure is heard. */
describe("the inventory cache, best effort", () => {
  const failing: Cache = {
    get: async () => {
      throw new Error("Connection is closed.");
    },
    set: async () => {
      throw new Error("Connection is closed.");
    },
    del: async () => {
      throw new Error("Connection is closed.");
    },
  };
  const hung: Cache = { get: () => new Promise(() => undefined), set: () => new Promise(() => undefined), del: () => new Promise(() => undefined) };

  it("reads a failing cache as a miss and skips writes, reporting each failure", async () => {
    const heard: string[] = [];
    const c = bestEffortCache(failing, (w) => heard.push(w));
    expect(await c.get("vm:a")).toBeNull();
    await expect(c.set("vm:a", "node1")).resolves.toBeUndefined();
    await expect(c.del("vm:a")).resolves.toBeUndefined();
    expect(heard).toEqual(["inventory cache get vm:a: Connection is closed.", "inventory cache set vm:a: Connection is closed.", "inventory cache del vm:a: Connection is closed."]);
  });

  it("bounds a cache that never answers", async () => {
    const heard: string[] = [];
    const c = bestEffortCache(hung, (w) => heard.push(w), 100);
    const t0 = Date.now();
    expect(await c.get("vm:a")).toBeNull();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(heard).toEqual(["inventory cache get vm:a: no answer within 100 ms"]);
  });

  it("passes answers of a working cache through, and treats no cache as always missing", async () => {
    const store = new Map<string, string>();
    const c = bestEffortCache({ get: async (k) => store.get(k) ?? null, set: async (k, v) => store.set(k, v), del: async (k) => store.delete(k) }, () => {
      throw new Error("no failure expected");
    });
    await c.set("vm:a", "node2");
    expect(await c.get("vm:a")).toBe("node2");
    await c.del("vm:a");
    expect(await c.get("vm:a")).toBeNull();
    const none = bestEffortCache(undefined, () => undefined);
    expect(await none.get("vm:a")).toBeNull();
  });
});
