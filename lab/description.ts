import * as fs from "fs";
import { labPaths } from "./paths";

/**
 * The machine-readable description of a running lab (`lab/.state/lab.json`).
 * Later code and tests read only this file to find the lab.
 */
export interface LabDescription {
  readonly version: 1;
  readonly stateDir: string;
  readonly network: { readonly cidr: string; readonly gateway: string; readonly switchNamespace: string };
  readonly managerNamespace: string;
  readonly hosts: Record<string, { readonly namespace: string; readonly address: string }>;
  readonly ssh: {
    readonly user: string;
    readonly privateKeyPath: string;
    readonly publicKey: string;
    readonly port: number;
    readonly knownHostsPath: string;
  };
  readonly dhcp: {
    readonly host: string;
    readonly namespace: string;
    readonly rangeStart: string;
    readonly rangeEnd: string;
    readonly domain: string;
    readonly leaseFile: string;
    /** dnsmasq's dhcp-hostsdir: the provider's per-VM entries. */
    readonly hostsDir: string;
    readonly bridge: string;
  };
  readonly ceph: {
    readonly namespace: string;
    readonly fsid: string;
    readonly monitors: readonly string[];
    readonly pool: string;
    readonly clientName: string;
    readonly secretUuid: string;
    readonly configPath: string;
    readonly adminKeyringPath: string;
    readonly clientKeyringPath: string;
  };
  readonly nodes: ReadonlyArray<{
    readonly name: string;
    readonly namespace: string;
    readonly address: string;
    /** Where other nodes migrate guests to (the product's qemu+ssh, with the nodes' migration keys). */
    readonly libvirtUri: string;
    /** libvirt for clients in the manager namespace (tests, virsh by hand), with the lab key. */
    readonly clientUri: string;
    readonly sshHost: string;
    readonly bridge: string;
    readonly vcpus: number;
    readonly memoryMiB: number;
  }>;
  readonly inventory: {
    readonly host: string;
    readonly namespace: string;
    readonly postgresUrl: string;
    readonly redisUrl: string;
  };
  readonly baseImage: { readonly pool: string; readonly image: string; readonly snapshot: string; readonly spec: string; readonly sizeBytes: number };
  /** Prometheus (and the kvm-cloud exporter beside it, on its loopback) on the database host; node exporters on every host. */
  readonly monitoring?: { readonly prometheusUrl: string; readonly nodeExporterPort: number };
}

export function readLabDescription(file = labPaths().description): LabDescription {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`no lab description at ${file}: run "npm run lab:up" first (${(e as Error).message})`);
  }
  return JSON.parse(text) as LabDescription;
}

export function writeLabDescription(d: LabDescription, file = labPaths().description): void {
  fs.writeFileSync(file + ".tmp", JSON.stringify(d, null, 2) + "\n", { mode: 0o600 });
  fs.renameSync(file + ".tmp", file);
}
