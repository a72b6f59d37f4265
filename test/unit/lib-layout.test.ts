import * as fs from "fs";
import * as path from "path";

/**
 * lib/ is sorted by the part of the cloud each file serves; each folder's README
 * says which other folders it may import ("May import: ..."). This reads the
 * real tree, so a new import across a forbidden line fails here, not in review.
 */

const LIB = path.join(__dirname, "..", "..", "lib");
const SPECIFIER = /(?:\bfrom|\bimport|\brequire)\s*\(?\s*["'](\.{1,2}\/[^"']*)["']/g;

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : [p];
  });
}

function folders(): string[] {
  return fs.readdirSync(LIB, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

/** The folders a folder's README allows, or an error naming what is wrong with it. */
function allowedImports(folder: string): Set<string> {
  const readme = path.join(LIB, folder, "README.md");
  if (!fs.existsSync(readme)) throw new Error(`lib/${folder} has no README.md saying what it may import`);
  const m = /^May import: (.+)$/m.exec(fs.readFileSync(readme, "utf8"));
  if (!m) throw new Error(`lib/${folder}/README.md has no 'May import: ...' line`);
  return new Set(m[1].trim() === "nothing" ? [] : m[1].split(",").map((s) => s.trim()));
}

/** Every relative import of every .ts file under lib, as [file, folder it lands in or a path outside lib]. */
function crossings(): Array<{ file: string; from: string; to: string }> {
  return filesUnder(LIB)
    .filter((f) => f.endsWith(".ts"))
    .flatMap((file) => {
      const from = path.relative(LIB, file).split(path.sep)[0];
      return [...fs.readFileSync(file, "utf8").matchAll(SPECIFIER)].map((m) => {
        const target = path.relative(LIB, path.resolve(path.dirname(file), m[1]));
        return { file: path.relative(LIB, file), from, to: target.startsWith("..") ? target : target.split(path.sep)[0] };
      });
    })
    .filter((c) => c.to !== c.from);
}

describe("lib/ layout", () => {
  test("every folder says what it may import, and names only folders that exist", () => {
    const known = new Set(folders());
    expect(known.size).toBeGreaterThan(5);
    for (const f of known) for (const dep of allowedImports(f)) expect({ folder: f, dep, known: known.has(dep) }).toEqual({ folder: f, dep, known: true });
  });

  test("no file imports a folder its folder's README does not allow, nor anything outside lib", () => {
    const all = crossings();
    expect(all.length).toBeGreaterThan(20);
    const broken = all.filter((c) => c.to.startsWith("..") || !allowedImports(c.from).has(c.to));
    expect(broken.map((c) => `lib/${c.file} imports ${c.to}`)).toEqual([]);
  });

  test("the allowed imports form layers: no folder can reach itself", () => {
    const deps = new Map(folders().map((f) => [f, allowedImports(f)]));
    const reaches = (from: string, seen = new Set<string>()): Set<string> => {
      for (const d of deps.get(from) ?? []) if (!seen.has(d)) reaches(d, seen.add(d));
      return seen;
    };
    const cyclic = [...deps.keys()].filter((f) => reaches(f).has(f));
    expect(cyclic).toEqual([]);
  });

  test("a file's name says what it holds once: no two files of lib share a name", () => {
    const byName = new Map<string, string[]>();
    for (const f of filesUnder(LIB).filter((p) => p.endsWith(".ts"))) {
      const n = path.basename(f);
      byName.set(n, [...(byName.get(n) ?? []), path.relative(LIB, f)]);
    }
    expect([...byName.values()].filter((v) => v.length > 1)).toEqual([]);
  });
});
