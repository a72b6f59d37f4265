import * as fs from "fs";
import * as path from "path";
import { output, run } from "./exec";

/** Debian packages the lab needs: lab/packages.txt, the list .ci/run installs too. */
export const LAB_PACKAGES: readonly string[] = fs
  .readFileSync(path.join(__dirname, "packages.txt"), "utf8")
  .split("\n")
  .map((l) => l.replace(/#.*/, "").trim())
  .filter(Boolean);

export async function missingPackages(names: readonly string[] = LAB_PACKAGES): Promise<string[]> {
  const text = await output(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\\n", ...names], { allowFail: true });
  const installed = new Set(
    text
      .split("\n")
      .map((l) => l.trim().split(" "))
      .filter(([, status]) => status === "installed")
      .map(([name]) => name),
  );
  return names.filter((n) => !installed.has(n));
}

/** Installs what is missing; says nothing and touches nothing when all is there. */
export async function ensurePackages(log: (s: string) => void): Promise<void> {
  const missing = await missingPackages();
  if (missing.length === 0) {
    return;
  }
  log(`installing Debian packages: ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  await run(["apt-get", "update", "-q"], { env, timeoutMs: 600_000 });
  await run(["apt-get", "install", "-y", "-q", "--no-install-recommends", ...missing], { env, timeoutMs: 1_800_000 });
}
