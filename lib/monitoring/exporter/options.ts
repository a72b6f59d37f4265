import { check } from "../../core/errors";
import { checkIPv4, checkPort, ipToInt } from "../../core/network";
import { DhcpRange } from "./collect-dhcp";

/**
 * The exporter's settings, from flags or environment variables (flags win).
 * The cloud itself comes from a CloudSpec JSON file, the same value the
 * VirtualMachine provider takes, so the exporter needs no separate inventory
 * of hosts.
 */
export interface ExporterOptions {
  /** Path of the CloudSpec JSON file (holds secrets: mode 0600). */
  readonly cloudSpecFile: string;
  readonly dhcpRange: DhcpRange;
  readonly listenAddress: string;
  readonly port: number;
  /** Bound of one scrape, below Prometheus' scrape_timeout. */
  readonly scrapeTimeoutMs: number;
}

export const DEFAULT_EXPORTER_PORT = 9810;

export const OPTION_HELP = `kvm-cloud exporter: Prometheus metrics of a kvm-cloud

  --cloud-spec FILE      KVMCLOUD_CLOUD_SPEC      CloudSpec JSON (required)
  --dhcp-range A-B       KVMCLOUD_DHCP_RANGE      first-last address of the DHCP range (required)
  --listen ADDR:PORT     KVMCLOUD_EXPORTER_LISTEN default 0.0.0.0:${DEFAULT_EXPORTER_PORT}
  --scrape-timeout SECS  KVMCLOUD_SCRAPE_TIMEOUT  default 8
`;

const FLAGS: Record<string, string> = {
  "--cloud-spec": "KVMCLOUD_CLOUD_SPEC",
  "--dhcp-range": "KVMCLOUD_DHCP_RANGE",
  "--listen": "KVMCLOUD_EXPORTER_LISTEN",
  "--scrape-timeout": "KVMCLOUD_SCRAPE_TIMEOUT",
};

/** Pure: options from argv (after the script name) and the environment; errors name the flag and variable. */
export function parseExporterOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ExporterOptions {
  const v: Record<string, string | undefined> = {};
  for (const name of Object.values(FLAGS)) v[name] = env[name];
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    check(flag in FLAGS, "exporter arguments", argv[i], `one of ${Object.keys(FLAGS).join(", ")}`);
    const value = inline ?? argv[++i];
    check(value !== undefined, flag, value, "a value after the flag");
    v[FLAGS[flag]] = value;
  }
  const spec = v.KVMCLOUD_CLOUD_SPEC;
  check(typeof spec === "string" && spec.length > 0, "--cloud-spec / KVMCLOUD_CLOUD_SPEC", spec, "the path of a CloudSpec JSON file");

  const range = v.KVMCLOUD_DHCP_RANGE ?? "";
  const [start, end] = range.split("-");
  checkIPv4("--dhcp-range / KVMCLOUD_DHCP_RANGE (start)", start);
  checkIPv4("--dhcp-range / KVMCLOUD_DHCP_RANGE (end)", end);
  check(ipToInt(start) <= ipToInt(end), "--dhcp-range / KVMCLOUD_DHCP_RANGE", range, "FIRST-LAST with FIRST <= LAST");

  const listen = v.KVMCLOUD_EXPORTER_LISTEN ?? `0.0.0.0:${DEFAULT_EXPORTER_PORT}`;
  const m = /^(.+):(\d{1,5})$/.exec(listen);
  check(m !== null, "--listen / KVMCLOUD_EXPORTER_LISTEN", listen, "ADDRESS:PORT, e.g. 0.0.0.0:9810");
  checkIPv4("--listen / KVMCLOUD_EXPORTER_LISTEN (address)", m![1]);
  const port = Number(m![2]);
  checkPort("--listen / KVMCLOUD_EXPORTER_LISTEN (port)", port);

  const timeout = Number(v.KVMCLOUD_SCRAPE_TIMEOUT ?? "8");
  check(Number.isFinite(timeout) && timeout >= 1 && timeout <= 120, "--scrape-timeout / KVMCLOUD_SCRAPE_TIMEOUT", v.KVMCLOUD_SCRAPE_TIMEOUT, "seconds, 1-120");

  return { cloudSpecFile: spec!, dhcpRange: { start, end }, listenAddress: m![1], port, scrapeTimeoutMs: Math.round(timeout * 1000) };
}
