import { execFileSync } from "child_process";
import { commandLine, quote } from "../../lib/core/shell";

/** Quoting is proved by a real shell: what goes in comes out byte for byte. */
describe("shell quoting", () => {
  const tricky = ["plain", "with space", "it's", "$(reboot)", "`id`", "a;b|c&d", "new\nline", "", "*", "~root", "-n", "\\", "'\"'"];

  it.each(tricky)("passes %j through sh unchanged", (arg) => {
    const out = execFileSync("sh", ["-c", `printf '%s' ${quote(arg)}`]).toString();
    expect(out).toBe(arg);
  });

  it("keeps argv boundaries in a command line", () => {
    const argv = ["printf", "%s|", "a b", "c'd", "$HOME"];
    const out = execFileSync("sh", ["-c", commandLine(argv)]).toString();
    expect(out).toBe("a b|c'd|$HOME|");
  });

  it("leaves safe words bare and refuses an empty argv", () => {
    expect(quote("libvirt-pool/vm-1@base")).toBe("libvirt-pool/vm-1@base");
    expect(() => commandLine([])).toThrow(/argv must not be empty/);
  });
});
