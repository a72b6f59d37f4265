import * as fs from "fs";
import { CloudSpec, ResolvedCloudSpec, validateCloudSpec } from "./cloud-spec";

/** A CloudSpec JSON file (e.g. `pulumi stack output cloud --show-secrets`), checked. */
export function readCloudSpecFile(file: string): ResolvedCloudSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    // The parser's message may quote the file's text, secrets included: name the file only.
    throw new Error(`cannot read the CloudSpec at ${file}: ${(e as NodeJS.ErrnoException).code ?? "not valid JSON"}`);
  }
  return validateCloudSpec(raw as CloudSpec);
}
