import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { HaproxyConfig, renderHaproxyCfg, validateHaproxyPlan } from "../../lib/haproxy/haproxy-cfg";
import { freePort } from "../helpers/free-port";

/**
 * The haproxy.cfg renderer: what it writes, what it refuses, and that the
 * real haproxy accepts (`haproxy -c`) and serves what it renders. The live
 * check runs haproxy on 127.0.0.1 only, in front of two local HTTP servers.
 */

const base: HaproxyConfig = {
  frontends: [
    {
      name: "web",
      port: 8080,
      servers: [
        { name: "web-1", address: "192.0.2.21", port: 80 },
        { name: "web-2", address: "192.0.2.22", port: 80 },
      ],
    },
  ],
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "h4b-haproxy-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function haproxyCheck(text: string): { status: number | null; output: string } {
  const file = path.join(tmp, `check-${Math.random().toString(36).slice(2)}.cfg`);
  fs.writeFileSync(file, text);
  const r = spawnSync("haproxy", ["-c", "-f", file], { encoding: "utf8" });
  if (r.error) throw new Error(`cannot run haproxy (install it: sudo bash lab/setup.sh): ${r.error.message}`);
  return { status: r.status, output: r.stdout + r.stderr };
}

function lines(text: string): string[] {
  return text.split("\n").map((l) => l.trim());
}

/** The lines of one section ("backend web"), up to the next blank line. */
function section(text: string, header: string): string[] {
  const all = lines(text);
  const start = all.indexOf(header);
  expect(start).toBeGreaterThanOrEqual(0);
  const end = all.indexOf("", start);
  return all.slice(start + 1, end === -1 ? undefined : end);
}

describe("renderHaproxyCfg", () => {
  it.each<[string, HaproxyConfig]>([
    ["the minimal config", base],
    [
      "http checks, a TCP frontend, stats auth, privileges, chroot, admin socket and logging",
      {
        frontends: [
          { ...base.frontends[0], balance: "leastconn", healthCheck: { httpPath: "/healthz", expectStatus: 204, intervalMs: 500, rise: 1, fall: 2 } },
          { name: "pg", mode: "tcp", bindAddress: "192.0.2.5", port: 5432, balance: "source", servers: [{ name: "pg-1", address: "192.0.2.31", port: 5432, weight: 10 }] },
        ],
        stats: { bindAddress: "192.0.2.5", port: 9000, uri: "/haproxy", metricsPath: "/prom", auth: { user: "ops", password: "not-a-real-password" } },
        maxConnections: 2000,
        timeouts: { connectMs: 1000, clientMs: 5000, serverMs: 5000 },
        runAs: { user: "haproxy", group: "haproxy" },
        chroot: "/var/lib/haproxy",
        adminSocket: "/run/haproxy/admin.sock",
        logTarget: "/dev/log",
      },
    ],
  ])("is valid for the real haproxy -c: %s", (_what, cfg) => {
    const r = haproxyCheck(renderHaproxyCfg(cfg));
    expect(r.output).toContain("Configuration file is valid");
    expect(r.status).toBe(0);
  });

  it("is checked for real: haproxy -c rejects the rendered text with a broken server line", () => {
    const broken = renderHaproxyCfg(base).replace("192.0.2.22:80", "192.0.2.22:notaport");
    expect(haproxyCheck(broken).status).not.toBe(0);
  });

  it("balances round robin by default and health-checks every server", () => {
    const backend = section(renderHaproxyCfg(base), "backend web");
    expect(backend).toContain("balance roundrobin");
    expect(backend).toContain("default-server check inter 2000ms rise 2 fall 3");
    expect(backend).toContain("server web-1 192.0.2.21:80 weight 1");
    expect(backend).toContain("server web-2 192.0.2.22:80 weight 1");
    expect(backend.some((l) => l.startsWith("option httpchk"))).toBe(false);
  });

  it("sends an HTTP check with the path and expected status when given", () => {
    const cfg = { frontends: [{ ...base.frontends[0], healthCheck: { httpPath: "/ready", expectStatus: 204 } }] };
    const backend = section(renderHaproxyCfg(cfg), "backend web");
    expect(backend).toEqual(expect.arrayContaining(["option httpchk", "http-check send meth GET uri /ready", "http-check expect status 204"]));
  });

  it("serves the stats page and the Prometheus exporter on the stats frontend", () => {
    const stats = section(renderHaproxyCfg(base), "frontend stats");
    expect(stats).toContain("bind *:8404");
    expect(stats).toContain("http-request use-service prometheus-exporter if { path /metrics }");
    expect(stats).toContain("stats uri /stats");
  });

  it("treats fields given as undefined (unset Inputs) as their defaults", () => {
    const text = renderHaproxyCfg({
      frontends: [{ ...base.frontends[0], mode: undefined, balance: undefined, healthCheck: { intervalMs: undefined, rise: undefined } }],
      stats: { port: undefined, uri: undefined, auth: undefined },
      timeouts: { connectMs: undefined },
    });
    expect(text).toBe(renderHaproxyCfg(base));
  });

  it("is deterministic", () => {
    expect(renderHaproxyCfg(base)).toBe(renderHaproxyCfg(JSON.parse(JSON.stringify(base))));
  });

  const web = base.frontends[0];
  it.each<[string, Partial<HaproxyConfig>, RegExp]>([
    ["no frontend", { frontends: [] }, /^frontends: 0 .*at least one frontend/],
    ["a frontend named stats", { frontends: [{ ...web, name: "stats" }] }, /frontends\[0\]\.name: "stats" .*not "stats"/],
    ["a bad port", { frontends: [{ ...web, port: 70000 }] }, /frontends\[0\]\.port: 70000 .*1-65535/],
    ["an unknown balance", { frontends: [{ ...web, balance: "random" as never }] }, /frontends\[0\]\.balance: "random" .*roundrobin, leastconn, source/],
    ["no servers", { frontends: [{ ...web, servers: [] }] }, /frontends\[0\]\.servers: 0 .*at least one backend server/],
    ["a DNS name as server", { frontends: [{ ...web, servers: [{ name: "a", address: "vm.example", port: 80 }] }] }, /frontends\[0\]\.servers\[0\]\.address: "vm.example" .*IPv4/],
    ["a server name twice", { frontends: [{ ...web, servers: [web.servers[0], web.servers[0]] }] }, /frontends\[0\]\.servers\[1\]\.name: "web-1" .*once per frontend/],
    ["an HTTP check in TCP mode", { frontends: [{ ...web, mode: "tcp", healthCheck: { httpPath: "/" } }] }, /healthCheck\.httpPath: "\/" .*mode "tcp"/],
    ["a check path with a space", { frontends: [{ ...web, healthCheck: { httpPath: "/a b" } }] }, /healthCheck\.httpPath: "\/a b" .*URL path/],
    ["a fall of 0", { frontends: [{ ...web, healthCheck: { fall: 0 } }] }, /healthCheck\.fall: 0 .*1-100/],
    ["two frontends on one port", { frontends: [web, { ...web, name: "web2" }] }, /frontends\[1\]\.port: 8080 .*already bound by frontends\[0\]\.port/],
    ["a frontend on the stats port", { frontends: [{ ...web, port: 8404 }] }, /frontends\[0\]\.port: 8404 .*already bound by stats\.port/],
    ["a frontend named twice", { frontends: [web, { ...web, port: 8081 }] }, /frontends\[1\]\.name: "web" .*used once/],
    ["stats and metrics on one path", { stats: { uri: "/m", metricsPath: "/m" } }, /stats\.metricsPath: "\/m" .*other than stats\.uri/],
    ["a bad bind address", { frontends: [{ ...web, bindAddress: "0.0.0.256" }] }, /frontends\[0\]\.bindAddress: "0\.0\.0\.256" .*"\*"/],
  ])("refuses %s, naming the field, the value and what is allowed", (_what, change, message) => {
    expect(() => renderHaproxyCfg({ ...base, ...change })).toThrow(message);
  });

  it("never shows the stats password in its error", () => {
    const secret = "short pw";
    let message = "";
    try {
      renderHaproxyCfg({ ...base, stats: { auth: { user: "ops", password: secret } } });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/stats\.auth\.password: "\[secret\]"/);
    expect(message).not.toContain(secret);
  });
});


// Every character haproxy.cfg could misread unquoted: a comment, a variable, quotes and escapes.
const STATS_PASSWORD = `#x$HOME"\\q;y`;

function get(port: number, p: string, auth?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: p, timeout: 2000, auth, agent: false }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

describe("validateHaproxyPlan: the rules on a config whose backend addresses are not known yet", () => {
  const web = { name: "web", port: 8080 };
  it("checks a frontend without its servers, and servers without their addresses", () => {
    expect(() => validateHaproxyPlan({ frontends: [web] })).not.toThrow();
    expect(() => validateHaproxyPlan({ frontends: [{ ...web, servers: [{ name: "web-1", port: 80 }] }] })).not.toThrow();
  });

  it.each<[string, Parameters<typeof validateHaproxyPlan>[0], RegExp]>([
    ["a frontend on the stats port", { frontends: [{ ...web, port: 8404 }] }, /frontends\[0\]\.port: 8404 .*already bound by stats\.port/],
    ["a known list of no servers", { frontends: [{ ...web, servers: [] }] }, /frontends\[0\]\.servers: 0 .*at least one backend server/],
    ["two servers of one name", { frontends: [{ ...web, servers: [{ name: "a", port: 80 }, { name: "a", port: 80 }] }] }, /servers\[1\]\.name: "a"/],
    ["a known bad address", { frontends: [{ ...web, servers: [{ name: "a", port: 80, address: "192.0.2.300" }] }] }, /servers\[0\]\.address: "192.0.2.300"/],
  ])("refuses %s", (_what, plan, message) => {
    expect(() => validateHaproxyPlan(plan)).toThrow(message);
  });

  it("is not the whole check: the full config still needs every address", () => {
    const noAddress = { frontends: [{ ...web, servers: [{ name: "a", port: 80 }] }] };
    expect(() => renderHaproxyCfg(noAddress as unknown as HaproxyConfig)).toThrow(/servers\[0\]\.address: undefined/);
  });
});

describe("the rendered config in a real haproxy on 127.0.0.1", () => {
  const servers: http.Server[] = [];
  let haproxy: ChildProcess | undefined;
  let front = 0;
  let statsPort = 0;

  beforeAll(async () => {
    const backendPorts: number[] = [];
    for (const who of ["one", "two"]) {
      const s = http.createServer((_req, res) => res.end(who));
      await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
      servers.push(s);
      backendPorts.push((s.address() as net.AddressInfo).port);
    }
    front = await freePort();
    statsPort = await freePort();
    const file = path.join(tmp, "live.cfg");
    fs.writeFileSync(
      file,
      renderHaproxyCfg({
        frontends: [
          {
            name: "web",
            bindAddress: "127.0.0.1",
            port: front,
            servers: backendPorts.map((port, i) => ({ name: `b${i}`, address: "127.0.0.1", port })),
            // fall 3: one check slowed by a busy machine must not take a backend out mid-test.
            healthCheck: { httpPath: "/", intervalMs: 500, rise: 1, fall: 3 },
          },
        ],
        stats: { bindAddress: "127.0.0.1", port: statsPort, auth: { user: "ops", password: STATS_PASSWORD } },
      }),
    );
    haproxy = spawn("haproxy", ["-db", "-f", file], { stdio: "ignore" });
    // Bounded wait until both backends are up by HAProxy's own count: at most 100 tries, 100 ms apart.
    const bothUp = () => get(statsPort, "/metrics").then((m) => /^haproxy_backend_active_servers\{proxy="web"\} 2$/m.test(m.body), () => false);
    for (let i = 0; i < 100; i++) {
      if (await bothUp()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("haproxy did not report both backends up within 10 s");
  });

  afterAll(async () => {
    if (haproxy?.pid !== undefined && haproxy.exitCode === null) haproxy.kill("SIGKILL");
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });

  it("alternates between the two backends", async () => {
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) answers.push((await get(front, "/")).body);
    for (let i = 1; i < answers.length; i++) expect(answers[i]).not.toBe(answers[i - 1]);
    expect(new Set(answers)).toEqual(new Set(["one", "two"]));
  });

  it("serves Prometheus metrics and the stats page", async () => {
    const metrics = await get(statsPort, "/metrics");
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^haproxy_backend_active_servers\{proxy="web"\} 2$/m);
    const stats = await get(statsPort, "/stats;csv", `ops:${STATS_PASSWORD}`);
    expect(stats.status).toBe(200);
    expect(stats.body).toContain("web,b0,");
  });

  it("asks for the stats password exactly as given, # and all", async () => {
    expect((await get(statsPort, "/stats;csv")).status).toBe(401);
    expect((await get(statsPort, "/stats;csv", "ops:")).status).toBe(401);
    expect((await get(statsPort, "/stats;csv", "ops:#x")).status).toBe(401);
    expect((await get(statsPort, "/stats;csv", `ops:${STATS_PASSWORD}`)).status).toBe(200);
  });
});
