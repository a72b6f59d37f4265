import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** Runs Debian's promtool on files written to a fresh temporary directory. */
export function promtool(args: (dir: string) => string[], files: Record<string, string>): { code: number | null; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmcloud-promtool-"));
  try {
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    const r = spawnSync("promtool", args(dir), { cwd: dir, encoding: "utf8", timeout: 60_000 });
    if (r.error) throw new Error(`promtool could not run (is the prometheus package installed?): ${r.error.message}`);
    return { code: r.status, output: r.stdout + r.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
