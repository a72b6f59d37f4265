import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ALERT_AGENT_PATH, ALERT_ENV_PATH, alertAgentSteps, renderAlertEnv, renderAlertXml, renderHaAlertAgent } from "../../lib/ha/ha-alert";
import { LOGGED_OPERATIONS } from "../../lib/inventory/schema";
import { parseXml, XmlNode } from "../../lib/core/xml";
import { shellcheck } from "../helpers/shellcheck";

/**
 * The alert agent as Pacemaker runs it (CRM_alert_* in its environment), over
 * stand-in `psql` and `redis-cli` that log what they are given. The real
 * Postgres, Redis and Pacemaker are the lab test's (ha-vm.test.ts).
 */

const FAKE_PSQL = `#!/bin/bash
{ printf 'ARGS'; printf ' %s' "$@"; printf '\\nENV %s %s %s %s\\n' "$PGHOST" "$PGUSER" "$PGDATABASE" "$PGPASSWORD"; cat; } >> "$FAKE_DIR/psql"
n=$(cat "$FAKE_DIR/psql-fails" 2>/dev/null || echo 0)
if [ "$n" -gt 0 ]; then echo $((n - 1)) > "$FAKE_DIR/psql-fails"; echo 'psql: error: connection to server at "10.0.0.3", port 5432 failed: Connection refused' >&2; exit 2; fi
printf '%s' "\${FAKE_PSQL_OUT:-}"
`;
const FAKE_REDIS = `#!/bin/bash
echo "$* AUTH=$REDISCLI_AUTH" >> "$FAKE_DIR/redis"
echo OK
`;

const inventory = { postgresUrl: "postgres://kvmcloud:p%40ss%27w@10.0.0.3:5432/kvmcloud", redisUrl: "redis://:r%20pw@10.0.0.3:6379/0" };
let dir: string;
let agent: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-alert-"));
  fs.mkdirSync(path.join(dir, "bin"));
  fs.writeFileSync(path.join(dir, "bin", "psql"), FAKE_PSQL, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, "bin", "redis-cli"), FAKE_REDIS, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, "env"), renderAlertEnv(inventory), { mode: 0o600 });
  agent = path.join(dir, "agent");
  fs.writeFileSync(agent, renderHaAlertAgent().split(ALERT_ENV_PATH).join(path.join(dir, "env")), { mode: 0o755 });
});

afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function alert(env: Record<string, string>, psqlOut = ""): { status: number | null; stderr: string } {
  const r = spawnSync(agent, [], { encoding: "utf8", timeout: 30_000, env: { PATH: `${dir}/bin:/usr/bin:/bin`, FAKE_DIR: dir, FAKE_PSQL_OUT: psqlOut, ...env } });
  return { status: r.status, stderr: r.stderr };
}
const logOf = (f: string) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), "utf8") : "");
const resource = (task: string, extra: Record<string, string> = {}) => ({
  CRM_alert_kind: "resource",
  CRM_alert_rsc: "vm-web-1",
  CRM_alert_node: "node2",
  CRM_alert_task: task,
  CRM_alert_interval: "0",
  CRM_alert_rc: "0",
  CRM_alert_target_rc: "0",
  CRM_alert_status: "0",
  CRM_alert_exec_time: "2345",
  CRM_alert_timestamp_epoch: "1796000000",
  CRM_alert_timestamp_usec: "42",
  ...extra,
});

describe("renderAlertEnv", () => {
  it("takes the URLs apart into psql's and redis-cli's variables, decoded and quoted", () => {
    const env = renderAlertEnv(inventory);
    expect(env).toContain("PGHOST=10.0.0.3\n");
    expect(env).toContain("PGPASSWORD='p@ss'\\''w'\n");
    expect(env).toContain("PGDATABASE=kvmcloud\n");
    expect(env).toContain("REDISCLI_AUTH='r pw'\n");
    expect(env).toContain("REDIS_PORT=6379\n");
  });

  it("refuses a URL it cannot use without quoting it (it holds a password)", () => {
    expect(() => renderAlertEnv({ ...inventory, postgresUrl: "mysql://u:secretpw@h/db" })).toThrow(/inventory\.postgresUrl.*postgres:\/\//);
    expect(() => renderAlertEnv({ ...inventory, postgresUrl: "postgres://u:secretpw@h:5432/" })).toThrow(/names a database/);
    expect(() => renderAlertEnv({ ...inventory, redisUrl: "not a url secretpw" })).toThrow(/inventory\.redisUrl/);
    try {
      renderAlertEnv({ ...inventory, redisUrl: "http://:secretpw@h" });
    } catch (e) {
      expect((e as Error).message).not.toContain("secretpw");
    }
  });
});

describe("the alert agent", () => {
  it("passes shellcheck, and so do the member's steps that install it", () => {
    expect(shellcheck(renderHaAlertAgent())).toEqual("");
    expect(shellcheck(["#!/bin/bash", "set -euo pipefail", ...alertAgentSteps()].join("\n") + "\n")).toEqual("");
  });

  it("is registered for resource and fencing events only, with a bound", () => {
    const xml = parseXml(renderAlertXml()).alert as XmlNode;
    expect(xml["@_path"]).toBe(ALERT_AGENT_PATH);
    expect(renderAlertXml()).toContain('name="timeout" value="20s"');
    expect(renderAlertXml()).toContain("<select><select_resources/><select_fencing/></select>");
  });

  it("logs an HA VM's start with where and how long, moves its row there and caches the node", () => {
    expect(alert(resource("start"), "web-1\n").status).toBe(0);
    const psql = logOf("psql");
    expect(psql).toContain("-v vm=web-1 -v op=ha-start -v outcome=ok -v task=start -v at=1796000000.000042 -v ms=2345 -v node=node2 -v ref=");
    // Credentials come from the environment file, never the command line.
    expect(psql).toContain("ENV 10.0.0.3 kvmcloud kvmcloud p@ss'w");
    expect(psql.split("\n").find((l) => l.startsWith("ARGS"))).not.toContain("p@ss");
    expect(psql).toContain("INSERT INTO vm_operations");
    // One transaction per try: a retry never logs the event twice.
    expect(psql).toContain("-v ON_ERROR_STOP=1 --single-transaction -v vm=web-1");
    expect(psql).toMatch(/UPDATE vms SET node = :'node', state = 'running'.*state <> 'creating' RETURNING name/);
    expect(logOf("redis")).toBe("-h 10.0.0.3 -p 6379 --no-auth-warning SET vm:web-1 node2 AUTH=r pw\n");
  });

  it("leaves the cache alone when no row moved (a VM still being created records itself)", () => {
    expect(alert(resource("migrate_from"), "").status).toBe(0);
    expect(logOf("psql")).toContain("-v op=ha-migrate -v outcome=ok -v task=migrate_from");
    expect(logOf("redis")).toBe("");
  });

  it("logs a failed start as an error and moves nothing", () => {
    expect(alert(resource("start", { CRM_alert_rc: "1", CRM_alert_status: "0" }), "web-1\n").status).toBe(0);
    const psql = logOf("psql");
    expect(psql).toContain("-v op=ha-start -v outcome=error");
    expect(psql).not.toContain("UPDATE vms");
    expect(logOf("redis")).toBe("");
  });

  it("logs a stop without touching the row (Pacemaker stops the source after each migration), and a migration once (the target's)", () => {
    expect(alert(resource("stop"), "web-1\n").status).toBe(0);
    expect(logOf("psql")).toContain("-v op=ha-stop -v outcome=ok -v task=stop");
    expect(logOf("psql")).not.toContain("UPDATE vms");
    expect(logOf("redis")).toBe("");
    fs.rmSync(path.join(dir, "psql"));
    expect(alert(resource("migrate_to")).status).toBe(0);
    expect(logOf("psql")).toBe("");
    expect(alert(resource("migrate_to", { CRM_alert_rc: "1" })).status).toBe(0);
    expect(logOf("psql")).toContain("-v op=ha-migrate -v outcome=error -v task=migrate_to");
  });

  it("ignores what is not an HA VM's life: monitors, other resources, node events", () => {
    for (const env of <Array<Record<string, string>>>[
      resource("monitor", { CRM_alert_interval: "10000" }),
      resource("start", { CRM_alert_rsc: "kvmcloud-fence" }),
      resource("start", { CRM_alert_rsc: "vm-$(touch /tmp/x)" }),
      { CRM_alert_kind: "node", CRM_alert_node: "node1", CRM_alert_desc: "lost" },
      // Pacemaker 2.1.5's unfencing notice, as the lab's node1 passed it.
      {
        CRM_alert_kind: "fencing",
        CRM_alert_node: "node2",
        CRM_alert_task: "st_notify_fence",
        CRM_alert_rc: "0",
        CRM_alert_desc: "Operation on of node2 by node1 for stonith_admin.7809@node1: OK (ref=84ba5a1e-4e56-45fb-8dab-16f5d387d30d)",
      },
    ]) {
      expect(alert(env).status).toBe(0);
    }
    expect(logOf("psql")).toBe("");
  });

  it("logs a fence once per Pacemaker operation: its id is the row's ref", () => {
    // The summary's shape as Pacemaker 2.1.5 logged it in the lab ("Operation 'reboot' targeting node2 by node1 ...").
    const desc = "Operation reboot of node1 by node2 for pacemaker-controld.1234@node2: OK (ref=5c6e1a2b-0d1e-4f3a-9b8c-7d6e5f4a3b2c)";
    expect(alert({ CRM_alert_kind: "fencing", CRM_alert_node: "node1", CRM_alert_task: "st_notify_fence", CRM_alert_rc: "0", CRM_alert_desc: desc }).status).toBe(0);
    const psql = logOf("psql");
    expect(psql).toContain("-v vm= -v op=ha-fence -v outcome=ok -v task=reboot");
    expect(psql).toContain("-v node=node1 -v ref=5c6e1a2b-0d1e-4f3a-9b8c-7d6e5f4a3b2c");
    expect(psql).toContain("ON CONFLICT (ref) WHERE operation = 'ha-fence' DO NOTHING");
  });

  it("tries the inventory three times, then fails naming the event and quoting psql", () => {
    fs.writeFileSync(path.join(dir, "psql-fails"), "2");
    expect(alert(resource("start"), "web-1\n").status).toBe(0);
    expect(logOf("psql").match(/^ARGS/gm)).toHaveLength(3);
    fs.writeFileSync(path.join(dir, "psql-fails"), "5");
    const r = alert(resource("start"));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("ha-start of web-1 on node2 not recorded in the inventory: psql: error: connection to server");
    expect(r.stderr).not.toContain("p@ss");
  });

  it("fails clearly without its environment file", () => {
    fs.rmSync(path.join(dir, "env"));
    const r = alert(resource("start"));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot read .*env: ha-start of web-1 not recorded/);
  });

  it("logs only operations the inventory's schema allows", () => {
    for (const op of renderHaAlertAgent().match(/op=ha-[a-z]+/g)!) expect(LOGGED_OPERATIONS).toContain(op.slice(3));
  });
});
