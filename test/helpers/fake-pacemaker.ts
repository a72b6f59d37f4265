import type { CommandResult } from "../../lib/transport/command-runner";

/**
 * Pacemaker in memory, for FakeCloud: the CIB's VM resources and locations,
 * the HA domain XML files on each node, and the answers of crm_node, crm_mon,
 * cibadmin and crm_resource as the ha VM steps ask them. A resource set
 * Started runs its domain (through `start`) on its preferred node; Stopped or
 * a location change stops it there (and starts it on the new node).
 */
export class FakePacemaker {
  /** Resource id -> target role. */
  readonly resources = new Map<string, { started: boolean; runningOn?: string }>();
  /** Resource id -> preferred node. */
  readonly locations = new Map<string, string>();
  /** "node:path" -> XML. */
  readonly files = new Map<string, string>();

  constructor(
    private readonly nodes: () => readonly string[],
    private readonly isDown: (node: string) => boolean,
    private readonly start: (node: string, xml: string) => void,
    private readonly stop: (node: string, name: string) => void,
  ) {}

  /** The answer to a cluster command, or undefined when argv is not one. */
  handle(node: string, argv: readonly string[], stdin: string | undefined): CommandResult | undefined {
    const ok = (stdout = ""): CommandResult => ({ stdout, stderr: "", code: 0 });
    const fail = (stderr: string, code = 1): CommandResult => ({ stdout: "", stderr, code });
    if (argv[0] === "sh" && argv[3] === "write-ha-domain") return this.files.set(`${node}:${argv[5]}`, String(stdin)), ok();
    if (argv[0] === "rm" && String(argv[2]).includes("/ha-domains/")) return this.files.delete(`${node}:${argv[2]}`), ok();
    if (argv[0] === "crm_node") return ok("1\n");
    if (argv[0] === "crm_mon") return ok(this.crmMon());
    if (argv[0] === "crm_resource") {
      const id = argv[argv.indexOf("--resource") + 1];
      const r = this.resources.get(id);
      if (!r) return fail(`crm_resource: Resource '${id}' not found`, 105);
      r.started = argv[argv.length - 1] === "Started";
      this.settle(id);
      return ok();
    }
    if (argv[0] === "cibadmin") {
      const xpathId = /@id='([^']+)'/.exec(argv.join(" "))?.[1];
      const textId = /id="([^"]+)"/.exec(argv.includes("--xml-text") ? argv[argv.indexOf("--xml-text") + 1] : String(stdin))?.[1] ?? "";
      const constraints = argv.includes("constraints");
      if (argv.includes("--query")) return (constraints ? this.locations.has(xpathId!) : this.resources.has(xpathId!)) ? ok("<found/>") : fail("", 105);
      if (argv.includes("--delete")) {
        if (constraints) this.locations.delete(textId);
        else if (this.locations.has(`${textId}-on-node`)) return fail("Call cib_delete failed: Update does not conform to the configured schema", 78);
        else this.resources.delete(textId);
        return ok();
      }
      if (argv.includes("--modify")) {
        const xml = String(stdin);
        if (constraints) {
          const rsc = /rsc="([^"]+)"/.exec(xml)![1];
          this.locations.set(textId, /node="([^"]+)"/.exec(xml)![1]);
          this.settle(rsc);
        } else {
          this.resources.set(textId, { started: /name="target-role" value="Started"/.test(xml) });
          this.settle(textId);
        }
        return ok();
      }
    }
    return undefined;
  }

  /** Runs the resource where its role and location say, as Pacemaker would. */
  private settle(id: string): void {
    const r = this.resources.get(id);
    if (!r) return;
    const want = r.started ? this.locations.get(`${id}-on-node`) : undefined;
    if (r.runningOn === want) return;
    const name = id.replace(/^vm-/, "");
    if (r.runningOn !== undefined) this.stop(r.runningOn, name);
    r.runningOn = undefined;
    if (want !== undefined && !this.isDown(want)) {
      const xml = this.files.get(`${want}:/etc/kvmcloud/ha-domains/${name}.xml`);
      if (xml === undefined) return;
      this.start(want, xml);
      r.runningOn = want;
    }
  }

  private crmMon(): string {
    const nodes = this.nodes()
      .map((n, i) => `    <node name="${n}" id="${i + 1}" online="${!this.isDown(n)}" standby="false" pending="false" unclean="false" type="member"/>`)
      .join("\n");
    const resources = [...this.resources]
      .map(([id, r]) =>
        r.runningOn !== undefined
          ? `    <resource id="${id}" resource_agent="ocf:heartbeat:VirtualDomain" role="Started" active="true" nodes_running_on="1">\n      <node name="${r.runningOn}" id="1" cached="true"/>\n    </resource>`
          : `    <resource id="${id}" resource_agent="ocf:heartbeat:VirtualDomain" role="Stopped" active="false" nodes_running_on="0"/>`,
      )
      .join("\n");
    return `<pacemaker-result api-version="2.25" request="crm_mon">\n  <nodes>\n${nodes}\n  </nodes>\n  <resources>\n${resources}\n  </resources>\n  <status code="0" message="OK"/>\n</pacemaker-result>\n`;
  }
}
