import * as http from "http";
import { Registry } from "prom-client";
import { ExporterMetrics } from "./metrics";
import { scrape, ScrapeResult, ScrapeSources } from "./scrape";
import { SourceGates } from "./source-gate";

export type Log = (line: string) => void;

/**
 * The exporter's HTTP side: GET /metrics runs one bounded scrape and answers
 * with its metrics. Scrapes that arrive while one is running share it, so a
 * slow cloud never piles up SSH sessions.
 */
export class Exporter {
  readonly metrics = new ExporterMetrics();
  private inFlight?: Promise<string>;
  /** Per-source collections outlive a scrape that gave up on them: the next scrape waits on them instead of starting more. */
  readonly gates = new SourceGates();

  constructor(
    private readonly sources: Omit<ScrapeSources, "afterOperationId">,
    private readonly log: Log = () => undefined,
  ) {}

  /** The exposition text of one scrape. Never rejects for a source's failure. */
  collect(): Promise<string> {
    if (!this.inFlight) {
      this.inFlight = this.once().finally(() => {
        this.inFlight = undefined;
      });
    }
    return this.inFlight;
  }

  private async once(): Promise<string> {
    const s: ScrapeResult = await scrape({ ...this.sources, gates: this.gates, afterOperationId: this.metrics.lastOperationId });
    for (const src of s.sources) {
      if (!src.ok) this.log(`scrape: ${src.source} ${src.target} failed: ${src.error}`);
    }
    if (s.operations) this.metrics.countOperations(s.operations);
    return this.metrics.render(s);
  }

  handler(): http.RequestListener {
    return (req, res) => {
      const url = (req.url ?? "/").split("?")[0];
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { Allow: "GET, HEAD" }).end();
      } else if (url === "/metrics") {
        this.collect().then(
          (text) => res.writeHead(200, { "Content-Type": Registry.PROMETHEUS_CONTENT_TYPE }).end(text),
          (e: Error) => res.writeHead(500, { "Content-Type": "text/plain" }).end(`scrape failed: ${e.message}\n`),
        );
      } else if (url === "/healthz") {
        res.writeHead(200, { "Content-Type": "text/plain" }).end("ok\n");
      } else if (url === "/") {
        res.writeHead(200, { "Content-Type": "text/html" }).end('<html><body><h1>kvm-cloud exporter</h1><a href="/metrics">metrics</a></body></html>\n');
      } else {
        res.writeHead(404).end();
      }
    };
  }
}
