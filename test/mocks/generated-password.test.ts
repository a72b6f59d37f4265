import { DIFF, ProviderHost, serializeProvider, startProviderHost } from "../helpers/provider-host";

/**
 * GeneratedPassword's provider serialized as `pulumi up` stores it and run in
 * Pulumi's own dynamic-provider host: it checks the length, makes a fresh
 * [A-Za-z0-9] password on each create, and only a new length replaces it.
 */
jest.setTimeout(120_000);

let host: ProviderHost;

beforeAll(async () => {
  host = await startProviderHost(serializeProvider("GeneratedPassword"));
});

afterAll(async () => host?.stop());

describe("GeneratedPassword in the dynamic-provider host", () => {
  it("makes a different 32-character [A-Za-z0-9] password on each create", async () => {
    const a = await host.create({ name: "a", length: 32 });
    const b = await host.create({ name: "b", length: 32 });
    expect(a.properties.value).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(b.properties.value).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(a.properties.value).not.toBe(b.properties.value);
    expect(a.id).not.toBe(b.id);
  });

  it("honours another length", async () => {
    expect((await host.create({ name: "c", length: 20 })).properties.value).toMatch(/^[A-Za-z0-9]{20}$/);
  });

  it("refuses a length below 16, naming it", async () => {
    const r = await host.check({}, { name: "d", length: 8 });
    expect(r.failures).toEqual([{ property: "length", reason: expect.stringMatching(/^length: 8 is not allowed; expected an integer 16-128/) }]);
  });

  it("keeps the password unless the length changes, which replaces it", async () => {
    const same = await host.diff("x", { length: 32, value: "v" }, { length: 32 });
    expect(same.changes).toBe(DIFF.NONE);
    const longer = await host.diff("x", { length: 32, value: "v" }, { length: 40 });
    expect(longer.changes).toBe(DIFF.SOME);
    expect(longer.replaces).toEqual(["length"]);
  });
});
