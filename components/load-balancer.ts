import * as pulumi from "@pulumi/pulumi";
import { RemoteCommand } from "../dynamic-providers/remote-command";
import {
  HaproxyBalance,
  checkStatsAuth,
  HaproxyConfig,
  HaproxyFrontend,
  HaproxyHealthCheck,
  HaproxyMode,
  HaproxyPlan,
  renderHaproxyCfg,
  STATS_DEFAULTS,
  validateHaproxyPlan,
} from "../lib/haproxy/haproxy-cfg";
import { renderHaproxyRemoveScript, renderHaproxySetupScript } from "../lib/haproxy/load-balancer-host";
import { checkClientNetworks } from "../lib/core/cidr";
import { HostConnection } from "./connection";
import { isKnown, resolveArgs } from "./inputs";

/** One backend server: an address (e.g. a VM's `ip` output), or a name and an address. */
export type LoadBalancerBackend = string | { readonly name: string; readonly address: string };

export interface LoadBalancerFrontend {
  /** Frontend/backend name in haproxy.cfg and the stats page: [A-Za-z0-9_.-], not "stats". */
  readonly name: pulumi.Input<string>;
  /** Port clients connect to. */
  readonly port: pulumi.Input<number>;
  /** Port the backends serve on (default: `port`). */
  readonly backendPort?: pulumi.Input<number>;
  /** Backend servers; plain addresses are named `<frontend>-1`, `<frontend>-2` ... */
  readonly backends: pulumi.Input<pulumi.Input<LoadBalancerBackend>[]>;
  /** Default "http". */
  readonly mode?: pulumi.Input<HaproxyMode>;
  /** Default "roundrobin". */
  readonly balance?: pulumi.Input<HaproxyBalance>;
  /** IPv4 address to listen on (default "*", every address). */
  readonly bindAddress?: pulumi.Input<string>;
  /** Default: TCP connect checks every 2 s, rise 2, fall 3; give httpPath for HTTP checks. */
  readonly healthCheck?: pulumi.Input<HaproxyHealthCheck>;
}

export interface LoadBalancerArgs {
  /** SSH access to the load balancer host (Debian/Ubuntu; root or passwordless sudo). */
  readonly connection: HostConnection;
  /** At least one frontend. */
  readonly frontends: pulumi.Input<pulumi.Input<LoadBalancerFrontend>[]>;
  /** Stats port (default 8404); the page is at /stats and Prometheus metrics at /metrics. */
  readonly statsPort?: pulumi.Input<number>;
  /** Basic auth for the stats page (default none). The password is kept secret. */
  readonly statsAuth?: pulumi.Input<{ readonly user: pulumi.Input<string>; readonly password: pulumi.Input<string> }>;
  /**
   * Networks (CIDR) allowed to reach the stats port, e.g. Prometheus' host:
   * an nftables table resets any other source (the frontends stay open).
   * Default: any. Plain: it is checked before anything is registered.
   */
  readonly statsClients?: readonly string[];
  /** Address clients and Prometheus use in the output URLs (default: connection.host). */
  readonly address?: pulumi.Input<string>;
}

type PlainFrontend = pulumi.Unwrap<LoadBalancerFrontend>;

/** A frontend's HAProxy settings; its servers only when its backends are given. */
function haproxyFrontend(f: PlainFrontend): HaproxyPlan["frontends"][number] {
  const port = f.backendPort ?? f.port;
  return {
    name: f.name,
    port: f.port,
    mode: f.mode,
    balance: f.balance,
    bindAddress: f.bindAddress,
    healthCheck: f.healthCheck,
    servers: f.backends?.map((b, i) => (typeof b === "string" ? { name: `${f.name}-${i + 1}`, address: b, port } : { ...b, port })),
  };
}

/** Pure: HAProxy's config from unwrapped args, with Debian's service layout; a frontend whose backends are not known yet has no servers. */
export function loadBalancerPlan(frontends: readonly PlainFrontend[], statsPort?: number): HaproxyPlan {
  return {
    frontends: frontends.map(haproxyFrontend),
    stats: { port: statsPort },
    runAs: { user: "haproxy", group: "haproxy" },
    chroot: "/var/lib/haproxy",
    adminSocket: "/run/haproxy/admin.sock",
    logTarget: "/dev/log",
  };
}

/** Pure: the whole config once every backend is known. */
export function loadBalancerConfig(frontends: readonly PlainFrontend[], statsPort?: number, statsAuth?: { user: string; password: string }): HaproxyConfig {
  const plan = loadBalancerPlan(frontends.map((f) => ({ ...f, backends: f.backends ?? [] })), statsPort);
  return { ...plan, frontends: plan.frontends as HaproxyFrontend[], stats: { ...plan.stats, auth: statsAuth } };
}

/**
 * The frontends as far as they are known now: a backend list that is not
 * plain yet (VM addresses) is left out, to be checked when it resolves, and
 * the rest is checked before anything is registered.
 */
function knownNow(frontends: LoadBalancerArgs["frontends"]): LoadBalancerArgs["frontends"] {
  if (!Array.isArray(frontends)) return frontends;
  const plainObject = (f: unknown): f is LoadBalancerFrontend => typeof f === "object" && f !== null && !pulumi.Output.isInstance(f) && !(f instanceof Promise);
  return frontends.map((f) => (plainObject(f) && !isKnown(f.backends) ? { ...f, backends: undefined as never } : f));
}

/**
 * HAProxy on one host: health-checked frontends (round robin by default) in
 * front of backends given as Outputs, a stats page and HAProxy's Prometheus
 * exporter. The config is rendered by lib/haproxy/haproxy-cfg.ts and checked
 * with `haproxy -c` on the host before it replaces a working one.
 */
export class LoadBalancer extends pulumi.ComponentResource {
  /** Address clients use. */
  public readonly address: pulumi.Output<string>;
  /** The rendered haproxy.cfg (a secret when the stats page has a password). */
  public readonly config: pulumi.Output<string>;
  /** http://address:port/stats */
  public readonly statsUrl: pulumi.Output<string>;
  /** http://address:port/metrics, HAProxy's Prometheus exporter. */
  public readonly metricsUrl: pulumi.Output<string>;
  /** name -> http://address:port of every frontend. */
  public readonly frontendUrls: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: LoadBalancerArgs, opts: pulumi.ComponentResourceOptions = {}) {
    if (args.statsClients !== undefined) checkClientNetworks("statsClients", args.statsClients);
    const plan = resolveArgs({ frontends: knownNow(args.frontends), statsPort: args.statsPort }, (v) => validateHaproxyPlan(loadBalancerPlan(v.frontends as PlainFrontend[], v.statsPort)));
    const auth = args.statsAuth === undefined ? undefined : resolveArgs(args.statsAuth, (a) => (checkStatsAuth(a), a));
    super("kvmcloud:index:LoadBalancer", name, {}, opts);
    this.address = pulumi.output(args.address ?? args.connection.host);
    this.config = this.renderConfig(args, plan, auth);
    const install = this.installHaproxy(name, args);
    const statsPort = pulumi.output(args.statsPort ?? STATS_DEFAULTS.port);
    this.statsUrl = pulumi.interpolate`http://${this.address}:${statsPort}${STATS_DEFAULTS.uri}`;
    this.metricsUrl = pulumi.interpolate`http://${this.address}:${statsPort}${STATS_DEFAULTS.metricsPath}`;
    this.frontendUrls = pulumi
      .all([this.address, pulumi.output(args.frontends)])
      .apply(([address, fs]) => Object.fromEntries(fs.map((f) => [f.name, `${f.mode === "tcp" ? "tcp" : "http"}://${address}:${f.port}`])));
    this.registerOutputs({ address: this.address, config: this.config, statsUrl: this.statsUrl, metricsUrl: this.metricsUrl, frontendUrls: this.frontendUrls, install: install.id });
  }

  /** `plan` is the early check's Output: the config waits for it, so a late failure of that check fails the config. */
  private renderConfig(args: LoadBalancerArgs, plan: pulumi.Output<void>, auth: pulumi.Output<{ user: string; password: string }> | undefined): pulumi.Output<string> {
    const text = pulumi
      .all([pulumi.output(args.frontends), pulumi.output(args.statsPort), auth, plan])
      .apply(([fs, port, a]) => renderHaproxyCfg(loadBalancerConfig(fs, port, a)));
    return args.statsAuth === undefined ? text : pulumi.secret(text);
  }

  private installHaproxy(name: string, args: LoadBalancerArgs): RemoteCommand {
    return new RemoteCommand(
      `${name}-haproxy`,
      {
        connection: args.connection,
        script: pulumi.output(args.statsPort ?? STATS_DEFAULTS.port).apply((port) => renderHaproxySetupScript({ port, clients: args.statsClients })),
        // The config travels on stdin; a new config text runs the script again (an update).
        stdin: this.config,
        deleteScript: renderHaproxyRemoveScript(),
      },
      { parent: this },
    );
  }
}
