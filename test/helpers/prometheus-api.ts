import * as http from "http";

/**
 * Prometheus' HTTP API as the lab-client tests use it (inside kcl-mgr):
 * instant queries, targets, alerts and the running config.
 */
export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

function getJson<T>(base: string, path: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}${path}`, { timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        try {
          const doc = JSON.parse(text) as { status: string; data: T; error?: string };
          if (doc.status !== "success") reject(new Error(`${path}: ${doc.error ?? text.slice(0, 200)}`));
          else resolve(doc.data);
        } catch {
          reject(new Error(`${path}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
        }
      });
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${base}${path} timed out`)));
    req.on("error", reject);
  });
}

export class PrometheusApi {
  constructor(readonly base: string) {}

  async query(expr: string): Promise<PromSample[]> {
    const data = await getJson<{ resultType: string; result: PromSample[] | [number, string] }>(this.base, `/api/v1/query?query=${encodeURIComponent(expr)}`);
    // Scalars (e.g. a bare number) come as one [time, value] pair.
    return data.resultType === "scalar" ? [{ metric: {}, value: data.result as [number, string] }] : (data.result as PromSample[]);
  }

  async targets(): Promise<Array<{ scrapePool: string; health: string; labels: Record<string, string>; lastError: string }>> {
    return (await getJson<{ activeTargets: Array<{ scrapePool: string; health: string; labels: Record<string, string>; lastError: string }> }>(this.base, "/api/v1/targets?state=active")).activeTargets;
  }

  async alerts(): Promise<Array<{ labels: Record<string, string>; state: string; activeAt: string }>> {
    return (await getJson<{ alerts: Array<{ labels: Record<string, string>; state: string; activeAt: string }> }>(this.base, "/api/v1/alerts")).alerts;
  }

  async configYaml(): Promise<string> {
    return (await getJson<{ yaml: string }>(this.base, "/api/v1/status/config")).yaml;
  }
}
