import { withDefaults } from "../../lib/core/defaults";

describe("withDefaults", () => {
  const DEFAULTS = { port: 9090, address: "0.0.0.0", enabled: true };

  it("takes what is given, even a falsy value, and the default where nothing or undefined is", () => {
    expect(withDefaults({ port: 0, enabled: false, address: undefined }, DEFAULTS)).toEqual({ port: 0, address: "0.0.0.0", enabled: false });
  });

  it("returns exactly the defaults' keys, and leaves the defaults as they were", () => {
    const wider = { port: 1, other: "x" } as { port: number };
    expect(withDefaults(wider, DEFAULTS)).toEqual({ port: 1, address: "0.0.0.0", enabled: true });
    expect(DEFAULTS).toEqual({ port: 9090, address: "0.0.0.0", enabled: true });
  });
});
