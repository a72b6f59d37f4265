import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { run, succeeds, waitFor } from "./exec";
import { killStray, livePid, onHost } from "./host-exec";
import { LabPaths } from "./paths";
import { LabHost, NETWORK, POSTGRES, PREFIX_LENGTH, REDIS } from "./topology";

/**
 * The lab's database host: Debian's PostgreSQL and Redis in the db namespace,
 * each with a generated password kept in the state directory (mode 0600).
 */

const PG_BIN = "/usr/lib/postgresql/15/bin";

export function databaseFiles(p: LabPaths) {
  return {
    pgData: path.join(p.pgData, "data"),
    pgLog: path.join(p.pgData, "run", "postgres.log"),
    pgSocketDir: path.join(p.pgData, "run"),
    redisDir: path.join(p.db, "redis"),
    redisConf: path.join(p.db, "redis", "redis.conf"),
    redisPid: path.join(p.db, "redis", "redis.pid"),
    postgresPassword: path.join(p.secrets, "postgres-password"),
    redisPassword: path.join(p.secrets, "redis-password"),
  };
}

function secret(file: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  if (!fs.existsSync(file)) {
    fs.writeFileSync(file, crypto.randomBytes(18).toString("hex"), { mode: 0o600 });
  }
  return fs.readFileSync(file, "utf8").trim();
}

export function postgresUrl(p: LabPaths, h: LabHost): string {
  const pw = secret(databaseFiles(p).postgresPassword);
  return `postgres://${POSTGRES.user}:${pw}@${h.address}:${POSTGRES.port}/${POSTGRES.database}`;
}

export function redisUrl(p: LabPaths, h: LabHost): string {
  const pw = secret(databaseFiles(p).redisPassword);
  return `redis://:${pw}@${h.address}:${REDIS.port}/0`;
}

function asPostgres(argv: string[]): string[] {
  return ["runuser", "-u", "postgres", "--", ...argv];
}

async function postgresReady(p: LabPaths, h: LabHost): Promise<boolean> {
  return succeeds(onHost(h, [`${PG_BIN}/pg_isready`, "-q", "-h", h.address, "-p", String(POSTGRES.port)]), { timeoutMs: 5000 });
}

export async function ensurePostgres(p: LabPaths, h: LabHost): Promise<void> {
  const f = databaseFiles(p);
  const password = secret(f.postgresPassword);
  const pidFile = path.join(f.pgData, "postmaster.pid");
  for (const dir of [path.dirname(p.pgData), p.pgData]) {
    fs.mkdirSync(dir, { recursive: true });
    fs.chmodSync(dir, 0o755);
  }
  if (fs.existsSync(f.pgData) && !fs.existsSync(path.join(f.pgData, "PG_VERSION"))) {
    fs.rmSync(f.pgData, { recursive: true, force: true }); // initdb died half-way
  }
  if (!fs.existsSync(f.pgData)) {
    fs.mkdirSync(f.pgData, { recursive: true, mode: 0o700 });
    await run(["chown", "postgres:postgres", f.pgData]);
    await run(asPostgres([`${PG_BIN}/initdb`, "-D", f.pgData, "-U", "postgres", "--auth-local=peer", "--auth-host=scram-sha-256", "-E", "UTF8"]), { timeoutMs: 120_000 });
    fs.appendFileSync(path.join(f.pgData, "postgresql.conf"), "include_if_exists = 'kvmcloud.conf'\n");
    fs.appendFileSync(path.join(f.pgData, "pg_hba.conf"), `host all all ${NETWORK}/${PREFIX_LENGTH} scram-sha-256\n`);
  }
  fs.writeFileSync(
    path.join(f.pgData, "kvmcloud.conf"),
    [`listen_addresses = '${h.address}'`, `port = ${POSTGRES.port}`, `unix_socket_directories = '${f.pgSocketDir}'`, "max_connections = 100", ""].join("\n"),
  );
  fs.mkdirSync(f.pgSocketDir, { recursive: true });
  await run(["chown", "postgres:postgres", f.pgSocketDir]);
  if (!(await postgresReady(p, h))) {
    killStray(pidFile, "postgres", h.ns);
    if (livePid(pidFile, "postgres", h.ns) === undefined) {
      fs.rmSync(pidFile, { force: true }); // left by a killed run
    }
    await run(onHost(h, asPostgres([`${PG_BIN}/pg_ctl`, "-D", f.pgData, "-l", f.pgLog, "-w", "-t", "60", "start"])), { timeoutMs: 90_000 });
  }
  // Role and database are made idempotently; the password travels as a psql
  // variable, quoted by psql itself.
  const sql = [
    `\\set pw '${password}'`, // hex from crypto.randomBytes: nothing to escape
    "SELECT format('CREATE ROLE %I LOGIN', :'role') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \\gexec",
    "SELECT format('ALTER ROLE %I PASSWORD %L', :'role', :'pw') \\gexec",
    "SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \\gexec",
    "",
  ].join("\n");
  await run(
    onHost(h, asPostgres(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", f.pgSocketDir, "-p", String(POSTGRES.port), "-U", "postgres", "-d", "postgres",
      "-v", `role=${POSTGRES.user}`, "-v", `db=${POSTGRES.database}`])),
    { input: sql },
  );
}

/** Pure: redis.conf of the lab's cache. */
export function renderRedisConf(o: { address: string; port: number; dir: string; pidFile: string; password: string }): string {
  return [
    `bind ${o.address}`,
    `port ${o.port}`,
    "protected-mode yes",
    "daemonize yes",
    `pidfile ${o.pidFile}`,
    `dir ${o.dir}`,
    `logfile ${path.join(o.dir, "redis.log")}`,
    `requirepass ${o.password}`,
    // A cache of VM placement: rebuilt from libvirt, never worth an fsync.
    'save ""',
    "appendonly no",
    "",
  ].join("\n");
}

export async function ensureRedis(p: LabPaths, h: LabHost): Promise<void> {
  const f = databaseFiles(p);
  fs.mkdirSync(f.redisDir, { recursive: true, mode: 0o700 });
  const text = renderRedisConf({ address: h.address, port: REDIS.port, dir: f.redisDir, pidFile: f.redisPid, password: secret(f.redisPassword) });
  fs.writeFileSync(f.redisConf, text, { mode: 0o600 });
  killStray(f.redisPid, "redis-server", h.ns);
  if (livePid(f.redisPid, "redis-server", h.ns) === undefined) {
    fs.rmSync(f.redisPid, { force: true });
    await run(onHost(h, ["redis-server", f.redisConf]));
  }
  await waitFor("redis to answer", async () => ((await redisHealthy(p, h)) === undefined ? true : undefined), 20_000);
}

export async function postgresHealthy(p: LabPaths, h: LabHost): Promise<string | undefined> {
  const pw = secret(databaseFiles(p).postgresPassword);
  const url = `postgres://${POSTGRES.user}@${h.address}:${POSTGRES.port}/${POSTGRES.database}`;
  const r = await run(onHost(h, ["psql", "-X", "-tA", "-c", "SELECT 1", url]), {
    allowFail: true,
    timeoutMs: 10_000,
    env: { ...process.env, PGCONNECT_TIMEOUT: "5", PGPASSWORD: pw },
  });
  return r.code === 0 && r.stdout.trim() === "1" ? undefined : `postgres does not answer: ${r.stderr.trim().split("\n").pop()}`;
}

export async function redisHealthy(p: LabPaths, h: LabHost): Promise<string | undefined> {
  const pw = secret(databaseFiles(p).redisPassword);
  const r = await run(onHost(h, ["redis-cli", "-h", h.address, "-p", String(REDIS.port), "PING"]), {
    allowFail: true,
    env: { ...process.env, REDISCLI_AUTH: pw },
    timeoutMs: 5000,
  });
  return r.code === 0 && r.stdout.trim() === "PONG" ? undefined : `redis does not answer PING: ${(r.stdout + r.stderr).trim()}`;
}

export async function ensureDatabase(p: LabPaths, h: LabHost): Promise<void> {
  await ensurePostgres(p, h);
  await ensureRedis(p, h);
}
