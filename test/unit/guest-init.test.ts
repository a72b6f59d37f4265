import { spawnSync } from "child_process";
import * as path from "path";
import { moduleLoadOrder } from "../../lab/guest-modules";

const ROOT = path.resolve(__dirname, "../..");
const SCRIPTS = ["lab/guest/init", "lab/guest/udhcpc.script", "lab/guest/info.cgi", "lab/guest/cpu-online", "lab/guest/run-commands"];
// shellcheck is in lab/packages.txt: a machine set up by lab/setup.sh has it.
describe("guest shell scripts", () => {
  it.each(SCRIPTS)("%s is shellcheck-clean as POSIX sh", (script) => {
    const r = spawnSync("shellcheck", ["-s", "sh", script], { cwd: ROOT, encoding: "utf8" });
    if (r.error) {
      throw new Error(`cannot run shellcheck (install it: sudo bash lab/setup.sh): ${r.error.message}`);
    }
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});

describe("guest module load order", () => {
  const mod = (name: string, ...depends: string[]) => ({ name, filename: `/m/${name}.ko`, depends });

  it("loads every module after its dependencies", () => {
    const order = moduleLoadOrder([
      mod("sr_mod", "scsi_mod", "cdrom", "scsi_common"),
      mod("scsi_mod", "scsi_common"),
      mod("cdrom"),
      mod("scsi_common"),
      mod("isofs", "cdrom"),
    ]).map((m) => m.name);
    expect(order).toEqual(["scsi_common", "scsi_mod", "cdrom", "sr_mod", "isofs"]);
  });

  it("treats '-' and '_' alike and skips dependencies it does not ship (built in)", () => {
    const order = moduleLoadOrder([mod("t10-pi", "crc_t10dif", "builtin_thing"), mod("crc-t10dif")]).map((m) => m.name);
    expect(order).toEqual(["crc-t10dif", "t10-pi"]);
  });

  it("names the cycle when dependencies loop", () => {
    expect(() => moduleLoadOrder([mod("a", "b"), mod("b", "a")])).toThrow(/cycle a -> b -> a/);
  });
});
