import { readCloudSpecFile } from "./cloud-spec-file";
import { check } from "../core/errors";
import { operationAccess } from "./cloud-access";
import { reconcileVms } from "./vm-reconcile";

/**
 * `npm run reconcile -- --cloud-spec FILE [--vm NAME]...`: brings the
 * inventory in line with what the nodes run (vm-reconcile.ts), prints what it
 * changed, and exits 2 when some VM could not be checked (a node silent).
 */
const USAGE = "usage: npm run reconcile -- --cloud-spec FILE [--vm NAME]...\n";

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(USAGE);
    return 0;
  }
  let spec: string | undefined;
  const only: string[] = [];
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    check(flag === "--cloud-spec" || flag === "--vm", "argument", flag, "--cloud-spec FILE or --vm NAME");
    check(typeof value === "string" && value.length > 0 && !value.startsWith("--"), flag, value, flag === "--vm" ? "a VM name" : "the path of a CloudSpec JSON file");
    if (flag === "--cloud-spec") spec = value;
    else only.push(value);
  }
  check(spec !== undefined, "--cloud-spec", spec, "the path of a CloudSpec JSON file");
  const cloud = readCloudSpecFile(spec!);
  // One SSH connection per node for the whole pass.
  const access = operationAccess(cloud);
  const r = await reconcileVms(cloud, access, only.length > 0 ? only : undefined).finally(() => access.close());
  for (const m of r.mended) process.stdout.write(`mended  ${m}\n`);
  for (const m of r.removed) process.stdout.write(`removed ${m} (its domain is on no node)\n`);
  for (const m of r.unknown) process.stdout.write(`unknown ${m}\n`);
  process.stdout.write(`${r.inLine} in line, ${r.mended.length} mended, ${r.removed.length} removed, ${r.unknown.length} not checked\n`);
  return r.unknown.length > 0 ? 2 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`reconcile: ${e.message}\n`);
    process.exit(1);
  },
);
