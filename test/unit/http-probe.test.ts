import * as http from "http";
import { AddressInfo } from "net";
import { watchAnswers } from "../../lab/http-probe";

/**
 * The answer watcher the migration tests and the bench rely on: a watch that
 * saw no answer fails instead of reporting a perfect gap, and a silence at the
 * end counts up to the moment the watch stops. Against a real HTTP server on
 * 127.0.0.1.
 */
function server(answer: () => string | undefined): Promise<{ port: number; close: () => Promise<void> }> {
  const s = http.createServer((_req, res) => {
    const a = answer();
    if (a === undefined) res.destroy();
    else res.end(a);
  });
  return new Promise((resolve) =>
    s.listen(0, "127.0.0.1", () => resolve({ port: (s.address() as AddressInfo).port, close: () => new Promise((r) => s.close(() => r())) })),
  );
}

describe("watchAnswers", () => {
  it("fails when nothing answered", async () => {
    const srv = await server(() => "someone-else");
    try {
      const w = watchAnswers("127.0.0.1", "me", 20, 10, srv.port);
      await new Promise((r) => setTimeout(r, 300));
      await expect(w.stop()).rejects.toThrow(/no answer "me" from 127\.0\.0\.1 while watching/);
    } finally {
      await srv.close();
    }
  });

  it("counts a silence at the end up to the stop", async () => {
    let up = true;
    const srv = await server(() => (up ? "me" : undefined));
    try {
      const w = watchAnswers("127.0.0.1", "me", 20, 200, srv.port);
      await new Promise((r) => setTimeout(r, 200));
      up = false;
      await new Promise((r) => setTimeout(r, 600));
      const seen = await w.stop();
      expect(seen.answers).toBeGreaterThan(2);
      expect(seen.longestGapMs).toBeGreaterThanOrEqual(550);
    } finally {
      await srv.close();
    }
  });
});
