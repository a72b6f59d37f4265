import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/**
 * Runs the real shellcheck on a rendered script and returns its findings
 * ("" when clean). A missing shellcheck fails the test: it is in
 * lab/packages.txt, so a machine set up by lab/setup.sh has it.
 */
export function shellcheck(text: string, shell: "bash" | "sh" = "bash"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "h4a-shellcheck-"));
  try {
    const file = path.join(dir, "script");
    fs.writeFileSync(file, text);
    const r = spawnSync("shellcheck", ["-s", shell, "-f", "gcc", file], { encoding: "utf8" });
    if (r.error) {
      throw new Error(`cannot run shellcheck (install it: sudo bash lab/setup.sh): ${r.error.message}`);
    }
    return (r.stdout + r.stderr).trim();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
