import * as pulumi from "@pulumi/pulumi";

/**
 * Pulumi's own mocks, recording every resource a program registers with the
 * inputs exactly as the engine would receive them (secrets still wrapped), so
 * tests can assert both the resource graph and that secrets stay secret.
 */
export interface Registered {
  readonly type: string;
  readonly name: string;
  /** Inputs as serialized for the engine: secret values are wrapped objects. */
  readonly inputs: Record<string, unknown>;
}

/** The type token of a RemoteCommand (a kvm-cloud dynamic resource). */
export const REMOTE_COMMAND = "pulumi-nodejs:dynamic/kvmcloud:RemoteCommand";

/** What a RemoteCommand prints, by resource name (the mocks stand in for the host). */
export type StdoutFor = (name: string, inputs: Record<string, unknown>) => string | undefined;

export function unwrapSecrets(v: unknown): unknown {
  if (pulumi.runtime.isRpcSecret(v)) {
    return unwrapSecrets(pulumi.runtime.unwrapRpcSecret(v));
  }
  if (Array.isArray(v)) {
    return v.map(unwrapSecrets);
  }
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
  }
  return v;
}

export function isWrappedSecret(v: unknown): boolean {
  return pulumi.runtime.isRpcSecret(v);
}

export function installMocks(stdoutFor: StdoutFor = () => undefined): Registered[] {
  const registered: Registered[] = [];
  pulumi.runtime.setMocks(
    {
      newResource: (a) => {
        registered.push({ type: a.type, name: a.name, inputs: a.inputs });
        const state = unwrapSecrets(a.inputs) as Record<string, unknown>;
        if (a.type === REMOTE_COMMAND) {
          state.stdout = stdoutFor(a.name, state) ?? "";
        }
        return { id: `${a.name}-id`, state };
      },
      call: (a) => a.inputs,
    },
    "kvm-cloud",
    "test",
    false,
  );
  return registered;
}

/** The value of an Output (under mocks, every Output resolves). */
export function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply((v) => resolve(v)));
}

/** Waits until the registrations queued so far have reached the mocks. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setImmediate(r));
  }
}

/** Secret-wrapped inputs of a registered resource, as plain text (for "did the secret leak into X" checks). */
export function plainInputsText(r: Registered): string {
  return JSON.stringify(unwrapSecrets(r.inputs));
}
