import { quote } from "../../lib/core/shell";

/**
 * The content a rendered script's writeFileStep writes to `path`, read back
 * from the script text (the one quoted word printf gets), for tests that
 * look at a file a RemoteCommand will write.
 */
export function writtenFile(script: string, path: string): string {
  const dir = path.replace(/\/[^/]+$/, "");
  const tmp = quote(`${dir}/.${path.slice(dir.length + 1)}.kvmcloud-new`);
  const escaped = tmp.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const m = new RegExp(`printf '%s' ('(?:[^']|'\\\\'')*'|[^\\s']+) > ${escaped}\\n`).exec(script);
  if (!m) throw new Error(`the script writes no ${path}`);
  const word = m[1];
  return word.startsWith("'") ? word.slice(1, -1).replace(/'\\''/g, "'") : word;
}
