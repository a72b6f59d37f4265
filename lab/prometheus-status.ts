import { alertRules } from "../lib/monitoring/alert-rules";
import { LabDescription } from "./description";
import { inNetns, run, waitFor } from "./exec";

/**
 * The lab's monitoring, which the stack's Monitoring component runs on the
 * database host, seen as a user sees it: through Prometheus' HTTP API from
 * the manager namespace.
 */

/** GET from the manager namespace (curl, bounded). */
export async function labHttpGet(d: LabDescription, url: string, timeoutSeconds = 5): Promise<{ ok: boolean; body: string; error: string }> {
  const r = await run(inNetns(d.managerNamespace, ["curl", "-sS", "-f", "-m", String(timeoutSeconds), url]), { allowFail: true, timeoutMs: (timeoutSeconds + 5) * 1000 });
  return { ok: r.code === 0, body: r.stdout, error: r.stderr.trim().split("\n").pop() ?? "" };
}

interface ActiveTarget {
  readonly health: "up" | "down" | "unknown";
  readonly scrapePool: string;
  readonly lastError: string;
  readonly labels: { readonly host?: string };
}

async function activeTargets(d: LabDescription, prometheusUrl: string): Promise<ActiveTarget[]> {
  const r = await labHttpGet(d, `${prometheusUrl}/api/v1/targets?state=active`);
  if (!r.ok) throw new Error(`Prometheus at ${prometheusUrl} does not answer: ${r.error}`);
  return (JSON.parse(r.body).data?.activeTargets ?? []) as ActiveTarget[];
}

const name = (t: ActiveTarget) => `${t.scrapePool}/${t.labels.host}`;

/** undefined when Prometheus answers with every target up; else what is not. */
export async function prometheusProblem(d: LabDescription, prometheusUrl: string): Promise<{ problem?: string; detail: string }> {
  const all = await activeTargets(d, prometheusUrl);
  const notUp = all.filter((t) => t.health !== "up");
  const detail = `${prometheusUrl}: ${all.length - notUp.length}/${all.length} targets up, ${alertRules().length} alert rules`;
  if (all.length === 0) return { problem: `${prometheusUrl} has no targets`, detail };
  return notUp.length === 0 ? { detail } : { problem: `${detail}; not up: ${notUp.map((t) => `${name(t)} ${t.health} ${t.lastError}`.trim()).join(", ")}`, detail };
}

/**
 * Waits (bounded) until Prometheus has every target up, so that lab:status
 * right after lab:up tells the truth (a host lab:up just booted again is up
 * at the next scrape). A target that stays down costs metrics, not the lab:
 * it is logged, and lab:status says so.
 */
export async function waitTargetsUp(d: LabDescription, prometheusUrl: string, log: (l: string) => void, timeoutMs = 60_000): Promise<void> {
  await waitFor("every Prometheus target up", async () => ((await prometheusProblem(d, prometheusUrl).catch(() => ({ problem: "no answer" }))).problem ? undefined : true), timeoutMs, 1000).catch(
    async (e: Error) => log(`monitoring: ${(await prometheusProblem(d, prometheusUrl).catch(() => ({ problem: e.message }))).problem}`),
  );
}
