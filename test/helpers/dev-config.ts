import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

/**
 * The config of a stack file (Pulumi.dev.yaml, Pulumi.lab.yaml) as the Pulumi
 * CLI hands it to the program: key -> value, objects as JSON text.
 */
export function stackFileConfig(stack: "dev" | "lab"): Record<string, unknown> {
  const file = path.resolve(__dirname, "../..", `Pulumi.${stack}.yaml`);
  return (parse(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> }).config;
}

/** A deep copy, for tests that break one field. */
export function copy<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}
