import * as http from "http";

/**
 * Plain HTTP to a lab guest (run inside a lab namespace), and a watcher that
 * measures how long a guest stops answering while something happens to it
 * (a live migration). Shared by the tests and the benchmark.
 */

export function httpGet(ip: string, path = "/", timeoutMs = 2000, port = 80): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // A fresh connection each time (Node 20's default agent keeps sockets alive): a probe
    // must ask "can a client reach the guest now", not reuse a socket from before a move.
    const req = http.get({ host: ip, port, path, timeout: timeoutMs, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("timeout", () => req.destroy(new Error(`GET http://${ip}${path} timed out`)));
    req.on("error", reject);
  });
}

export interface AnswerWatch {
  /**
   * Stops polling; resolves with the answers counted and the longest gap
   * between two of them, the last one running to this stop. Rejects when no
   * answer came at all: a watch that saw nothing measured nothing.
   */
  stop(): Promise<{ answers: number; longestGapMs: number }>;
}

/** Polls `GET /` every `everyMs` until stopped (at most `maxPolls` times), counting answers equal to `body`. */
export function watchAnswers(ip: string, body: string, everyMs = 100, maxPolls = 5000, port = 80): AnswerWatch {
  let running = true;
  let answers = 0;
  let longestGapMs = 0;
  let last = Date.now();
  const loop = (async () => {
    for (let i = 0; running && i < maxPolls; i++) {
      const ok = await httpGet(ip, "/", 1000, port).then((r) => r.body.trim() === body, () => false);
      if (ok) {
        answers++;
        longestGapMs = Math.max(longestGapMs, Date.now() - last);
        last = Date.now();
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      if (answers === 0) throw new Error(`no answer "${body}" from ${ip} while watching: nothing was measured`);
      return { answers, longestGapMs: Math.max(longestGapMs, Date.now() - last) };
    },
  };
}
