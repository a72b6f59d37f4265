import * as fs from "fs";
import * as path from "path";

/** Writes file only when its content changes, atomically (mode on creation), and says whether it did. */
export function writeIfChanged(file: string, content: string, mode = 0o644): boolean {
  try {
    if (fs.readFileSync(file, "utf8") === content) return false;
  } catch {
    // Missing: written below.
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file + ".tmp", content, { mode });
  fs.renameSync(file + ".tmp", file);
  return true;
}
