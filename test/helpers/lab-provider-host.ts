import { LabDescription } from "../../lab/description";
import { assertInManagerNamespace } from "./lab-client";
import { ProviderHost, serializeProvider, startProviderHost } from "./provider-host";

/** The suite's provider host, plus a fresh start in place of one the test killed. */
export interface LabProviderHost extends ProviderHost {
  /** Kills the host if it still runs, then starts a new one from the same provider text, as the next `pulumi up` would after a crash. */
  restart(): Promise<void>;
}

/**
 * The frame every VM suite of the lab shares: checked to run in the manager
 * namespace, one VirtualMachine provider host started as `pulumi up` starts it
 * (before the suite's own beforeAll hooks, so call this first), and after the
 * suite the host stopped and then `cleanUp` run, even when the host never started,
 * so that the suite's VMs are scrubbed whatever failed.
 */
export function labProviderHostForSuite(d: LabDescription, cleanUp: () => Promise<void>): LabProviderHost {
  let provider = "";
  let started: ProviderHost | undefined;
  const current = (): ProviderHost => {
    if (!started) throw new Error("the suite's provider host is not running (see the beforeAll error above)");
    return started;
  };

  beforeAll(async () => {
    assertInManagerNamespace(d);
    provider = serializeProvider("VirtualMachine");
    started = await startProviderHost(provider);
  });

  afterAll(async () => {
    try {
      await started?.stop();
    } finally {
      await cleanUp();
    }
  });

  return {
    check: (olds, news) => current().check(olds, news),
    diff: (id, olds, news) => current().diff(id, olds, news),
    create: (props) => current().create(props),
    read: (id, props) => current().read(id, props),
    update: (id, olds, news) => current().update(id, olds, news),
    delete: (id, props) => current().delete(id, props),
    stop: () => current().stop(),
    kill: () => current().kill(),
    stderr: () => current().stderr(),
    restart: async () => {
      await started?.kill();
      started = undefined;
      started = await startProviderHost(provider);
    },
  };
}
