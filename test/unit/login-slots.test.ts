import * as crypto from "crypto";
import * as net from "net";
import { LoginSlots, LOGINS_PER_HOST } from "../../lib/transport/login-slots";
import { HostUnreachable, withSsh } from "../../lib/transport/ssh-runner";

/**
 * At most LOGINS_PER_HOST SSH handshakes to one host at once from one
 * process: a burst of creates queues its logins instead of tripping sshd's
 * MaxStartups or timing out on a busy host.
 */

describe("LoginSlots", () => {
  it("grants up to its limit, then the oldest waiter first as slots free", async () => {
    const slots = new LoginSlots(2);
    const far = Date.now() + 10_000;
    const a = await slots.acquire(far);
    const b = await slots.acquire(far);
    const order: string[] = [];
    const c = slots.acquire(far).then((r) => (order.push("c"), r));
    const d = slots.acquire(far).then((r) => (order.push("d"), r));
    await new Promise((r) => setTimeout(r, 20));
    expect(slots.inUse).toBe(2);
    expect(order).toEqual([]);
    a();
    a(); // a second release of one slot frees nothing more
    const releaseC = await c;
    expect(order).toEqual(["c"]);
    b();
    (await d)();
    releaseC();
    expect(slots.inUse).toBe(0);
    expect(order).toEqual(["c", "d"]);
  });

  it("gives up at the deadline, saying how many logins hold the host, and leaves the queue clean", async () => {
    const slots = new LoginSlots(1);
    const held = await slots.acquire(Date.now() + 1000);
    await expect(slots.acquire(Date.now() + 50)).rejects.toThrow(/no login slot within the connect timeout: 1 logins to this host already in their handshake/);
    held();
    expect(slots.inUse).toBe(0);
    (await slots.acquire(Date.now() + 50))();
  });
});

describe("ssh logins to one host", () => {
  // Long beside the later logins' 500 ms, so a stall of the whole process does not reorder the two.
  const FIRST_BOUND_MS = 6000;

  it(`run at most ${LOGINS_PER_HOST} handshakes at once; the rest wait within their own bound and fail as HostUnreachable saying why`, async () => {
    // A host that accepts TCP and never says a word: every handshake hangs until its bound.
    const sockets: net.Socket[] = [];
    const server = net.createServer((sock) => {
      sockets.push(sock);
      sock.on("error", () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as net.AddressInfo).port;
    const key = crypto.generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } }).privateKey;
    const login = (connectTimeoutMs: number) => withSsh({ label: "mute", host: "127.0.0.1", port, privateKey: key, connectTimeoutMs }, (r) => r.run(["true"]));
    try {
      // Each login's settle time: the claim below is an order of events, which a
      // loaded machine keeps, not a wall-clock figure, which it does not (a CI
      // run saw the 500 ms logins take 4.7 s when the whole process stalled).
      const settledAt = (p: Promise<unknown>) => p.then(() => Date.now(), () => Date.now());
      const first = Array.from({ length: LOGINS_PER_HOST }, () => login(FIRST_BOUND_MS));
      // Heard at once: an assertion failing below must not leave their rejections unhandled (that crashed a CI run's jest).
      const firstSettled = Promise.allSettled(first);
      const firstDone = Promise.all(first.map(settledAt));
      await new Promise((r) => setTimeout(r, 100));
      const later = Array.from({ length: LOGINS_PER_HOST * 2 }, () => login(500));
      const laterDone = await Promise.all(later.map(settledAt));
      const rest = await Promise.allSettled(later);
      // They gave up within their own 500 ms bound, not the first logins' longer one: all of them before any first login ended.
      expect(Math.max(...laterDone)).toBeLessThan(Math.min(...(await firstDone)));
      // The later ones never reached the host: it saw only the first ones.
      expect(sockets).toHaveLength(LOGINS_PER_HOST);
      for (const r of rest) {
        expect(r.status).toBe("rejected");
        const e = (r as PromiseRejectedResult).reason;
        expect(e).toBeInstanceOf(HostUnreachable);
        expect(e.message).toMatch(new RegExp(`^cannot reach mute \\(root@127\\.0\\.0\\.1:\\d+\\): no login slot within the connect timeout: ${LOGINS_PER_HOST} logins to this host already in their handshake`));
      }
      const firstResults = await firstSettled;
      for (const r of firstResults) expect(String((r as PromiseRejectedResult).reason)).toMatch(/Timed out while waiting for handshake/);
      // Their slots are free again: a new login reaches the host.
      await expect(login(500)).rejects.toThrow(/Timed out while waiting for handshake/);
      expect(sockets).toHaveLength(LOGINS_PER_HOST + 1);
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  }, 20_000);
});
