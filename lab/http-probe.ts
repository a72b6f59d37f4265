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

/**
 * Starts `GET /` every `everyMs` without waiting for the last one (as many
 * independent clients would), each on a fresh connection bounded by
 * `timeoutMs`, at most `maxRequests` in all, until stopped. The longest gap
 * is between two answers' arrivals, the last one running to the stop: a
 * request whose SYN was lost in a pause answers a second later (TCP's first
 * retransmission), but those sent after the pause answer at once, so the gap
 * is the guest's pause plus at most one period, not the client's back-off.
 */
export function watchRequests(ip: string, body: string, everyMs = 50, maxRequests = 5000, timeoutMs = 2000, port = 80): AnswerWatch {
  let answers = 0;
  let longestGapMs = 0;
  let last = Date.now();
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  const ask = () => {
    sent++;
    const p: Promise<void> = httpGet(ip, "/", timeoutMs, port)
      .then((r) => {
        if (r.body.trim() !== body) return;
        answers++;
        longestGapMs = Math.max(longestGapMs, Date.now() - last);
        last = Date.now();
      }, () => undefined)
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  ask();
  const timer = setInterval(() => (sent < maxRequests ? ask() : clearInterval(timer)), everyMs);
  return {
    async stop() {
      clearInterval(timer);
      const stoppedAt = Date.now();
      // Requests still out are waited for (each is bounded), but the gap runs to the stop only.
      await Promise.all([...inFlight]);
      if (answers === 0) throw new Error(`no answer "${body}" from ${ip} while watching: nothing was measured`);
      return { answers, longestGapMs: Math.max(longestGapMs, stoppedAt - last) };
    },
  };
}
