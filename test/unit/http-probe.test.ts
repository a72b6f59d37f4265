import * as http from "http";
import { AddressInfo } from "net";
import { AnswerWatch, watchAnswers, watchRequests } from "../../lab/http-probe";

/**
 * The answer watcher the migration tests and the bench rely on: a watch that
 * saw no answer fails instead of reporting a perfect gap, and a silence at the
 * end counts up to the moment the watch stops. Against a real HTTP server on
 * 127.0.0.1.
 */
function server(answer: () => string | undefined, delayMs: () => number = () => 0): Promise<{ port: number; close: () => Promise<void> }> {
  const s = http.createServer((_req, res) => {
    const a = answer();
    setTimeout(() => (a === undefined ? res.destroy() : res.end(a)), delayMs());
  });
  return new Promise((resolve) =>
    s.listen(0, "127.0.0.1", () => resolve({ port: (s.address() as AddressInfo).port, close: () => new Promise((r) => s.close(() => r())) })),
  );
}

/** Both watchers over one server, asking every 20 ms, at most `max` times. */
const WATCHERS: Array<[string, (port: number, max: number) => AnswerWatch]> = [
  ["watchAnswers", (port, max) => watchAnswers("127.0.0.1", "me", 20, max, port)],
  ["watchRequests", (port, max) => watchRequests("127.0.0.1", "me", 20, max, 1000, port)],
];

describe.each(WATCHERS)("%s", (_name, watch) => {
  it("fails when nothing answered", async () => {
    const srv = await server(() => "someone-else");
    try {
      const w = watch(srv.port, 10);
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
      const w = watch(srv.port, 200);
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

describe("watchRequests against watchAnswers", () => {
  it("does not wait for a slow answer: the requests after it answer, and the gap stays short", async () => {
    // One request in the middle is held 700 ms (as a SYN lost in a pause is answered a second later).
    let n = 0;
    const srv = await server(() => "me", () => (++n === 8 ? 700 : 0));
    try {
      const slow = watchAnswers("127.0.0.1", "me", 20, 200, srv.port);
      await new Promise((r) => setTimeout(r, 1200));
      expect((await slow.stop()).longestGapMs).toBeGreaterThanOrEqual(650);
      n = 0;
      const w = watchRequests("127.0.0.1", "me", 20, 200, 2000, srv.port);
      await new Promise((r) => setTimeout(r, 1200));
      const seen = await w.stop();
      expect(seen.answers).toBeGreaterThan(20);
      expect(seen.longestGapMs).toBeLessThan(300);
    } finally {
      await srv.close();
    }
  });
});
