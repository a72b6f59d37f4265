import { withinMs } from "../../core/time-bound";
import { SourceResult } from "./snapshot";

/**
 * At most one collection per source (one node's libvirt, the DHCP host,
 * Ceph...) at a time, across scrapes. A scrape that finds a collection still
 * running waits for it until its own deadline, and otherwise reports the last
 * value that source gave, with its age, instead of starting another: a slow
 * host then costs one stuck command, not one more every scrape.
 */

interface Gate {
  inFlight?: Promise<unknown>;
  since: number;
  last?: { value: unknown; at: number };
}

export interface GatedResult<T> {
  /** Fresh, or the last good value when this scrape got no answer (see result.ageSeconds). */
  readonly value?: T;
  readonly result: SourceResult;
}

class NoAnswer extends Error {}

/** First line of an error, short: enough to act on, and never a command's full output. */
function reason(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split("\n")[0].slice(0, 300);
}

export class SourceGates {
  private readonly gates = new Map<string, Gate>();

  constructor(private readonly now: () => number = Date.now) {}

  /** How many collections are running right now (tests and the bench read it). */
  inFlight(): number {
    return [...this.gates.values()].filter((g) => g.inFlight).length;
  }

  async run<T>(
    source: SourceResult["source"],
    target: string,
    deadline: number,
    collect: (remainingMs: number) => Promise<T>,
  ): Promise<GatedResult<T>> {
    const key = `${source}\u0000${target}`;
    const gate = this.gates.get(key) ?? { since: 0 };
    this.gates.set(key, gate);
    const t0 = this.now();
    const remaining = Math.max(1, deadline - t0);
    const joined = gate.inFlight !== undefined;
    if (!gate.inFlight) {
      gate.since = t0;
      gate.inFlight = collect(remaining).then(
        (value) => {
          gate.last = { value, at: this.now() };
          return value;
        },
      ).finally(() => {
        gate.inFlight = undefined;
      });
      // A collection that outlives every scrape must not reject unobserved.
      gate.inFlight.catch(() => undefined);
    }
    const seconds = () => (this.now() - t0) / 1000;
    try {
      const value = (await withinMs(gate.inFlight, remaining, () => new NoAnswer())) as T;
      return { value, result: { source, target, ok: true, seconds: seconds(), ageSeconds: 0 } };
    } catch (e) {
      const error =
        e instanceof NoAnswer
          ? joined
            ? `previous collection still running after ${((this.now() - gate.since) / 1000).toFixed(1)} s; not started again`
            : `no answer within ${remaining} ms`
          : reason(e);
      // Stale data only stands in for a source that has not answered yet; one
      // that answered with an error is known to be failing now.
      const last = e instanceof NoAnswer ? gate.last : undefined;
      return {
        value: last?.value as T | undefined,
        result: { source, target, ok: false, seconds: seconds(), error, ...(last ? { ageSeconds: (this.now() - last.at) / 1000 } : {}) },
      };
    }
  }
}
