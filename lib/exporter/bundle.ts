import * as fs from "fs";
import { builtinModules } from "module";
import * as path from "path";
import * as ts from "typescript";

/**
 * The kvm-cloud exporter as files for a plain `node` container: every module
 * lib/exporter/main.ts reaches through relative imports, transpiled to
 * CommonJS, plus a package.json naming the npm packages they require at the
 * versions this repo uses. Deterministic, so an unchanged exporter never
 * replaces its container.
 */
export interface BundleFile {
  /** Path inside the bundle directory, e.g. "lib/exporter/main.js". */
  readonly path: string;
  readonly content: string;
}

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
export const EXPORTER_ENTRY = "lib/exporter/main.ts";
/** The bundle's entry point, relative to its directory. */
export const EXPORTER_MAIN = "lib/exporter/main.js";

const BUILTIN = new Set(builtinModules);

function isBuiltin(spec: string): boolean {
  return spec.startsWith("node:") || BUILTIN.has(spec.split("/")[0]);
}

/** The package a bare import names ("@scope/pkg/x" -> "@scope/pkg"). */
function packageOf(spec: string): string {
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

function resolveRelative(fromFile: string, spec: string, root: string): string {
  const base = path.resolve(path.dirname(path.join(root, fromFile)), spec);
  for (const candidate of [`${base}.ts`, path.join(base, "index.ts")]) {
    if (fs.existsSync(candidate)) return path.relative(root, candidate);
  }
  throw new Error(`exporter bundle: ${fromFile} imports ${spec}, which is no .ts file under ${root}`);
}

export function exporterBundle(root = REPO_ROOT, entry = EXPORTER_ENTRY): { files: BundleFile[]; packageJson: string } {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = fs.readFileSync(path.join(root, file), "utf8");
    // readImportFiles + detectJavaScriptImports: `import`, `export from` and `require()` alike.
    for (const imp of ts.preProcessFile(text, true, true).importedFiles) {
      const spec = imp.fileName;
      if (spec.startsWith(".")) queue.push(resolveRelative(file, spec, root));
      else if (!isBuiltin(spec)) packages.add(packageOf(spec));
    }
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
  const deps: Record<string, string> = {};
  for (const p of [...packages].sort()) {
    const version = manifest.dependencies?.[p];
    // Type-only packages (@types/...) never reach the transpiled code's require().
    if (p.startsWith("@types/")) continue;
    if (version === undefined) throw new Error(`exporter bundle: the exporter requires ${p}, which is not a dependency in package.json`);
    deps[p] = version;
  }
  const files = [...seen].sort().map((file) => ({
    path: file.replace(/\.ts$/, ".js"),
    content: ts.transpileModule(fs.readFileSync(path.join(root, file), "utf8"), {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020, esModuleInterop: true, sourceMap: false },
    }).outputText,
  }));
  const packageJson = JSON.stringify({ name: "kvm-cloud-exporter", private: true, main: EXPORTER_MAIN, dependencies: deps }, null, 2) + "\n";
  return { files, packageJson };
}
