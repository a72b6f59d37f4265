import * as pulumi from "@pulumi/pulumi";
import { LoadBalancer, LoadBalancerArgs } from "../../components/load-balancer";
import { installComponentMocks } from "../helpers/component-mocks";
import { isWrappedSecret, plainInputsText, Registered, settle, unwrapSecrets, valueOf, REMOTE_COMMAND } from "../helpers/pulumi-mocks";

/**
 * LoadBalancer under Pulumi's mocks: the host gets one command carrying the
 * rendered haproxy.cfg on stdin, with backends that were Outputs; secrets stay
 * secret; bad frontends fail before anything is registered.
 */
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nh4b-lb-key\n-----END OPENSSH PRIVATE KEY-----\n";

function args(extra: Partial<LoadBalancerArgs> = {}): LoadBalancerArgs {
  return {
    connection: { host: "192.0.2.40", privateKey: KEY },
    frontends: [
      // Backends arrive the way VM IPs do: as Outputs, one of them late.
      { name: "web", port: 80, backends: [pulumi.output("192.0.2.101"), new Promise<string>((r) => setTimeout(() => r("192.0.2.102"), 5))], healthCheck: { httpPath: "/" } },
    ],
    ...extra,
  };
}

async function build(a: LoadBalancerArgs): Promise<{ reg: Registered[]; lb: LoadBalancer }> {
  const reg = installComponentMocks();
  const lb = new LoadBalancer("lb", a);
  await valueOf(lb.config);
  await settle();
  return { reg, lb };
}

const haproxyCommand = (reg: Registered[]) => reg.find((r) => r.type === REMOTE_COMMAND && r.name === "lb-haproxy")!;

describe("LoadBalancer", () => {
  it("installs HAProxy on the host with the config on stdin, backends from Outputs, round robin", async () => {
    const { reg, lb } = await build(args());
    expect(reg.map((r) => `${r.type}::${r.name}`)).toEqual(["kvmcloud:index:LoadBalancer::lb", `${REMOTE_COMMAND}::lb-haproxy`]);
    const cmd = haproxyCommand(reg);
    const stdin = String(unwrapSecrets(cmd.inputs.stdin));
    expect(stdin).toContain("server web-1 192.0.2.101:80 weight 1");
    expect(stdin).toContain("server web-2 192.0.2.102:80 weight 1");
    expect(stdin).toContain("balance roundrobin");
    expect(stdin).toContain("bind *:8404");
    expect(stdin).toContain("http-request use-service prometheus-exporter if { path /metrics }");
    expect(String(cmd.inputs.script)).toContain("haproxy -c -f");
    expect(String(cmd.inputs.deleteScript)).toContain("systemctl disable --now haproxy.service");
    expect(await valueOf(lb.statsUrl)).toBe("http://192.0.2.40:8404/stats");
    expect(await valueOf(lb.metricsUrl)).toBe("http://192.0.2.40:8404/metrics");
    expect(await valueOf(lb.frontendUrls)).toEqual({ web: "http://192.0.2.40:80" });
  });

  it("sends backends to another port and names given servers", async () => {
    const { reg } = await build(args({ frontends: [{ name: "api", port: 443, mode: "tcp", backendPort: 8443, backends: [{ name: "api-a", address: "192.0.2.11" }] }] }));
    const stdin = String(unwrapSecrets(haproxyCommand(reg).inputs.stdin));
    expect(stdin).toContain("server api-a 192.0.2.11:8443 weight 1");
    expect(stdin).toMatch(/backend api\n\s+mode tcp/);
  });

  it("keeps the SSH key secret, and the config secret when the stats page has a password", async () => {
    const { reg, lb } = await build(args({ statsAuth: { user: "ops", password: pulumi.secret("h4b-stats-password") } }));
    const cmd = haproxyCommand(reg);
    const conn = cmd.inputs.connection as Record<string, unknown>;
    // The engine may wrap the whole connection or only its key: either keeps the key secret.
    expect(isWrappedSecret(conn) || isWrappedSecret(conn.privateKey)).toBe(true);
    expect(JSON.stringify(cmd.inputs.script)).not.toContain("h4b-lb-key");
    expect(isWrappedSecret(cmd.inputs.stdin)).toBe(true);
    expect(plainInputsText(cmd)).toContain("stats auth 'ops:h4b-stats-password");
    expect(JSON.stringify(cmd.inputs.script)).not.toContain("h4b-stats-password");
    expect(await pulumi.isSecret(lb.config)).toBe(true);
  });

  it("guards the stats port to statsClients on the host, leaving the frontends open", async () => {
    const { reg } = await build(args({ statsPort: 9404, statsClients: ["192.0.2.2/32"] }));
    const script = String(haproxyCommand(reg).inputs.script);
    expect(script).toContain("elements = { 192.0.2.2/32 }");
    expect(script).toContain("tcp dport { 9404 } ip saddr != @allowed reject with tcp reset");
    expect(script).not.toMatch(/tcp dport \{[^}]*\b80\b/);
    expect(String(haproxyCommand(reg).inputs.deleteScript)).toContain("nft delete table inet kvmcloud_haproxystats");
  });

  it("leaves the config plain when there is no password", async () => {
    const { lb } = await build(args());
    expect(await pulumi.isSecret(lb.config)).toBe(false);
  });

  it.each<[string, Partial<LoadBalancerArgs>, RegExp]>([
    ["a frontend named stats", { frontends: [{ name: "stats", port: 80, backends: [pulumi.output("192.0.2.1")] }] }, /frontends\[0\]\.name: "stats"/],
    ["a frontend on the stats port", { frontends: [{ name: "web", port: 8404, backends: [pulumi.output("192.0.2.1")] }] }, /frontends\[0\]\.port: 8404 .*already bound by stats\.port/],
    ["no backends", { frontends: [{ name: "web", port: 80, backends: [] }] }, /frontends\[0\]\.servers: 0 .*at least one backend server/],
    ["a plain bad backend", { frontends: [{ name: "web", port: 80, backends: ["192.0.2.300"] }] }, /frontends\[0\]\.servers\[0\]\.address: "192.0.2.300"/],
    ["a stats client that is no network", { statsClients: ["192.0.2.2"] }, /statsClients\[0\]: "192.0.2.2"/],
    ["a short stats password", { statsAuth: { user: "ops", password: "short" } }, /stats\.auth\.password: "\[secret\]"/],
  ])("fails on %s before registering anything", async (_what, patch, message) => {
    const reg = installComponentMocks();
    expect(() => new LoadBalancer("lb", args(patch))).toThrow(message);
    await settle();
    expect(reg).toHaveLength(0);
  });
});
