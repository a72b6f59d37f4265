import * as fs from "fs";
import * as path from "path";

/**
 * Where this project's own Pulumi engine lives (lab/engine/build-engine.sh
 * builds it from Go modules and links it here) and the environment every
 * engine command gets: the engine never downloads a plugin, never phones
 * home, and finds the dynamic-provider plugin that ships in @pulumi/pulumi.
 */
export const ENGINE_BIN = "/var/cache/kvm-cloud/engine/bin";

/** PATH with the project's engine first, when it is built; a Pulumi CLI installed the usual way works too. */
export function enginePath(current = process.env.PATH ?? ""): string {
  const dirs = current.split(":").filter((d) => d && d !== ENGINE_BIN);
  return fs.existsSync(path.join(ENGINE_BIN, "pulumi")) ? [ENGINE_BIN, ...dirs].join(":") : dirs.join(":");
}

export function engineEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...base,
    PATH: enginePath(base.PATH),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    // The program is type-checked by `npm run build` (and npm test); the engine's run need not do it again.
    PULUMI_NODEJS_TRANSPILE_ONLY: base.PULUMI_NODEJS_TRANSPILE_ONLY ?? "true",
  };
}
