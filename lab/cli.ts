import { labDown } from "./lab-down";
import { formatStatus, labStatus } from "./lab-status";
import { labUp } from "./lab-up";

/** `npm run lab:up | lab:down | lab:status`. Needs root on Debian 12. */
async function main(cmd: string | undefined): Promise<number> {
  if (process.getuid && process.getuid() !== 0) {
    console.error("the lab needs root: it creates network namespaces and runs daemons");
    return 2;
  }
  switch (cmd) {
    case "up":
      await labUp();
      return 0;
    case "down":
      await labDown();
      return 0;
    case "status": {
      const parts = await labStatus();
      console.log(formatStatus(parts));
      return parts.every((s) => s.ok) ? 0 : 1;
    }
    default:
      console.error("usage: ts-node lab/cli.ts up|down|status");
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(e.message);
    process.exit(1);
  },
);
