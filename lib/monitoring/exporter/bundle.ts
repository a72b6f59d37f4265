import * as crypto from "crypto";
import * as esbuild from "esbuild";
import * as path from "path";

/**
 * The kvm-cloud exporter as one self-contained JavaScript file: main.ts, every
 * module it imports and the npm packages they need (pg, ioredis, prom-client,
 * ssh2), bundled by esbuild for Node.js 18 (Debian 12's `nodejs`). The
 * monitoring host runs it with plain `node`: no npm install, no registry, no
 * lockfile to drift from this repo's. ssh2's and pg's optional native addons
 * stay out (both fall back to JavaScript when they are missing).
 * Deterministic, so an unchanged exporter never restarts its service.
 */
export interface ExporterBundle {
  /** File name on the host, e.g. "kvm-cloud-exporter.js". */
  readonly fileName: string;
  readonly content: string;
  /** sha256 of content, hex. */
  readonly sha256: string;
}

export const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");
export const EXPORTER_ENTRY = "lib/monitoring/exporter/main.ts";
export const EXPORTER_FILE = "kvm-cloud-exporter.js";
/** The oldest Node.js the bundle runs on: Debian 12's package. */
export const EXPORTER_NODE_TARGET = "node18";

const cache = new Map<string, ExporterBundle>();

export function exporterBundle(root = REPO_ROOT, entry = EXPORTER_ENTRY): ExporterBundle {
  const key = `${root}\0${entry}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const r = esbuild.buildSync({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    target: EXPORTER_NODE_TARGET,
    format: "cjs",
    minify: true,
    legalComments: "none",
    write: false,
    logLevel: "silent",
    // Optional native parts, each required inside a try by its package.
    external: ["pg-native", "cpu-features", "*.node"],
  });
  if (r.errors.length > 0) throw new Error(`exporter bundle: ${r.errors.map((e) => e.text).join("; ")}`);
  const content = r.outputFiles[0].text;
  const bundle = { fileName: EXPORTER_FILE, content, sha256: crypto.createHash("sha256").update(content).digest("hex") };
  cache.set(key, bundle);
  return bundle;
}
