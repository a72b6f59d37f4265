import { ChildProcess, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderClientFilter } from "../../lib/core/nftables-clients";
import { renderInventoryPackagesScript } from "../../lib/inventory/inventory-packages";
import { shellcheck } from "../helpers/shellcheck";

/**
 * Who may reach the inventory: the nftables table the InventoryDatabase's
 * packages runtime loads, checked by the real nft and then enforced by the
 * kernel between two throwaway network namespaces (a client at an allowed
 * address connects, one at another address is reset, an unguarded port is
 * untouched), and the managed pg_hba.conf block rewritten by the script's own
 * bash on a scratch copy. Needs root (namespaces).
 */

jest.setTimeout(60_000);

const sh = (argv: string[]) => {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", timeout: 20_000 });
  if (r.status !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

describe("renderClientFilter", () => {
  it("is accepted by the real nft -c", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmcloud-clients-"));
    try {
      fs.writeFileSync(path.join(dir, "r.nft"), renderClientFilter({ allowed: ["10.77.0.2/32", "10.77.0.0/28"], ports: [5432, 6379] }));
      expect(spawnSync("nft", ["-c", "-f", path.join(dir, "r.nft")], { encoding: "utf8" }).stderr).toBe("");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [{ allowed: [], ports: [5432] }, /allowed: \[\] .*non-empty list of networks/],
    [{ allowed: ["10.0.0.1"], ports: [5432] }, /allowed\[0\]: "10.0.0.1"/],
    [{ allowed: ["10.0.0.1/32"], ports: [0] }, /ports\[0\]: 0 /],
  ])("refuses %j naming the field", (o, msg) => {
    expect(() => renderClientFilter(o)).toThrow(msg);
  });
});

describe("the client filter in the kernel", () => {
  const tag = crypto.randomBytes(3).toString("hex");
  const srv = `kcf-s-${tag}`;
  const cli = `kcf-c-${tag}`;
  let server: ChildProcess | undefined;
  let dir = "";

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmcloud-clients-"));
    sh(["ip", "netns", "add", srv]);
    sh(["ip", "netns", "add", cli]);
    sh(["ip", "link", "add", "kcfs", "netns", srv, "type", "veth", "peer", "name", "kcfc", "netns", cli]);
    for (const [ns, dev, addrs] of [[srv, "kcfs", ["10.99.0.1/24"]], [cli, "kcfc", ["10.99.0.2/24", "10.99.0.3/24"]]] as const) {
      for (const a of addrs) sh(["ip", "-n", ns, "addr", "add", a, "dev", dev]);
      sh(["ip", "-n", ns, "link", "set", dev, "up"]);
      sh(["ip", "-n", ns, "link", "set", "lo", "up"]);
    }
    fs.writeFileSync(path.join(dir, "r.nft"), renderClientFilter({ allowed: ["10.99.0.2/32"], ports: [5432, 6379] }));
    sh(["ip", "netns", "exec", srv, "nft", "-f", path.join(dir, "r.nft")]);
    const listen = "const net=require('net');for(const p of [5432,6379,7000])net.createServer((s)=>s.end('hi')).listen(p,'10.99.0.1',()=>console.log('up '+p));";
    server = spawn("ip", ["netns", "exec", srv, process.execPath, "-e", listen], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`server did not listen: ${out}`)), 10_000);
      server!.stdout!.on("data", (b: Buffer) => {
        out += b.toString();
        if ((out.match(/^up /gm) ?? []).length === 3) {
          clearTimeout(t);
          resolve();
        }
      });
    });
  });

  afterAll(() => {
    server?.kill("SIGKILL");
    for (const ns of [srv, cli]) spawnSync("ip", ["netns", "del", ns]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** What a client at `from` gets from 10.99.0.1:port: the greeting, or the error code. */
  function connect(from: string, port: number): string {
    const js = `const s=require('net').connect({host:'10.99.0.1',port:${port},localAddress:'${from}',timeout:3000});s.on('data',(d)=>{console.log(String(d));s.destroy()});s.on('error',(e)=>console.log(e.code));s.on('timeout',()=>{console.log('TIMEOUT');s.destroy()});`;
    return sh(["ip", "netns", "exec", cli, process.execPath, "-e", js]).trim();
  }

  it("lets an allowed address in and resets any other, on the guarded ports only", () => {
    expect([connect("10.99.0.2", 5432), connect("10.99.0.2", 6379)]).toEqual(["hi", "hi"]);
    expect([connect("10.99.0.3", 5432), connect("10.99.0.3", 6379)]).toEqual(["ECONNREFUSED", "ECONNREFUSED"]);
    expect(connect("10.99.0.3", 7000)).toBe("hi");
  });
});

describe("the managed pg_hba.conf block", () => {
  const o = { bindAddress: "0.0.0.0", postgresPort: 5432, redisPort: 6379, user: "kvmcloud", database: "kvmcloud", postgresVersion: 15 };

  /** The script's pg_hba step alone, on a scratch copy: the same bash text the host runs. */
  function runHbaStep(file: string, allowedClients?: string[]): string {
    const script = renderInventoryPackagesScript({ ...o, allowedClients });
    const from = script.indexOf("{ awk -v legacy=");
    const to = script.indexOf("\n", script.indexOf("if cmp -s", from));
    const step = script.slice(from, to).split("/etc/postgresql/15/main/pg_hba.conf").join(file).replace(/chown postgres:postgres [^;]+; /, "");
    const r = spawnSync("bash", ["-euo", "pipefail", "-c", `pg_changed=0\n${step}\necho "changed=$pg_changed"`], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout.trim();
  }

  it("is shellcheck-clean with and without allowed clients", () => {
    expect(shellcheck(renderInventoryPackagesScript({ ...o, allowedClients: ["10.77.0.2/32"] }))).toBe("");
    expect(shellcheck(renderInventoryPackagesScript(o))).toBe("");
  });

  it("replaces the line older versions appended, admits only the allowed networks, and changes nothing on a second run", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmcloud-hba-"));
    const file = path.join(dir, "pg_hba.conf");
    try {
      fs.writeFileSync(file, "local all postgres peer\nhost kvmcloud kvmcloud 0.0.0.0/0 scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\n");
      expect(runHbaStep(file, ["10.77.0.2/32", "10.77.0.3/32"])).toBe("changed=1");
      expect(fs.readFileSync(file, "utf8")).toBe(
        "local all postgres peer\nhost all all 127.0.0.1/32 scram-sha-256\n# kvm-cloud begin\nhost kvmcloud kvmcloud 10.77.0.2/32 scram-sha-256\nhost kvmcloud kvmcloud 10.77.0.3/32 scram-sha-256\n# kvm-cloud end\n",
      );
      expect(runHbaStep(file, ["10.77.0.2/32", "10.77.0.3/32"])).toBe("changed=0");
      expect(runHbaStep(file)).toBe("changed=1");
      expect(fs.readFileSync(file, "utf8")).toMatch(/# kvm-cloud begin\nhost kvmcloud kvmcloud 0\.0\.0\.0\/0 scram-sha-256\n# kvm-cloud end\n$/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses an allowed client that is no network, naming the field", () => {
    expect(() => renderInventoryPackagesScript({ ...o, allowedClients: ["10.0.0.2"] })).toThrow(/allowedClients\[0\]: "10.0.0.2"/);
  });
});
