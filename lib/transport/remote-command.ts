import { CheckFailure, containsUnknown, UNKNOWN } from "../engine/unknown";
import { remoteInvocation } from "../core/script";
import { ValidationError } from "../core/errors";
import { isPort, PORT_ALLOWED } from "../core/network";
import type { CommandRunner } from "./command-runner";
import { knownHostsEntry } from "./known-hosts";
import { SSH_DEFAULTS, SshTarget } from "./ssh-runner";

/**
 * A rendered script run on a host over SSH, as the RemoteCommand resource
 * holds it: the model, its check and diff rules, and create/update/delete
 * over an injected SSH opener (withSsh in the provider, fakes in tests).
 *
 * Why not @pulumi/command: its provider is a Go plugin that the engine here
 * cannot get (the module proxy refuses github.com/pulumi/pulumi-command/provider,
 * see README "The Pulumi engine"), and every component needs remote scripts.
 * This one also bounds each run on the host itself (`timeout -k`, through the
 * ssh runner), and never logs or quotes stdout, which may carry keys.
 */

type Props = Record<string, unknown>;

export interface RemoteConnection {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly privateKey: string;
  /** `type base64`, as in known_hosts: any other host key is refused. */
  readonly hostKey?: string;
}

export interface RemoteCommandInputs {
  readonly connection: RemoteConnection;
  readonly script: string;
  readonly stdin?: string;
  readonly deleteScript?: string;
  readonly timeoutSeconds: number;
  /** Values whose change replaces the command (deleteScript, then script). */
  readonly triggers?: unknown[];
}

export interface RemoteCommandState extends RemoteCommandInputs {
  readonly stdout: string;
}

/** Defaults of a RemoteCommand, filled once by check(). */
export const REMOTE_COMMAND_DEFAULTS = { ...SSH_DEFAULTS, timeoutSeconds: 900 } as const;

const USER = /^[a-z_][a-z0-9_.-]{0,31}$/;
const HOST = /^[A-Za-z0-9_.:-]{1,253}$/;
const KEY_LINE = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9@.-]+) [A-Za-z0-9+/]+=*$/;
const isText = (v: unknown) => typeof v === "string" && v.trim() !== "";
const optional = (ok: (v: unknown) => boolean) => (v: unknown) => v === undefined || ok(v);
const intIn = (lo: number, hi: number) => (v: unknown) => Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi;

interface Rule {
  readonly field: string;
  readonly value: unknown;
  readonly ok: (v: unknown) => boolean;
  readonly allowed: string;
  readonly secret?: boolean;
}

/** check(): defaults filled once; each bad field named with what is allowed; unknowns (preview) wait. */
export function checkRemoteCommand(news: Props): { inputs: Props; failures: CheckFailure[] } {
  const given = news.connection;
  const c = (typeof given === "object" && given !== null ? given : {}) as Props;
  const connection = given === UNKNOWN ? given : { ...c, port: c.port ?? REMOTE_COMMAND_DEFAULTS.port, user: c.user ?? REMOTE_COMMAND_DEFAULTS.user };
  const inputs: Props = { ...news, connection, timeoutSeconds: news.timeoutSeconds ?? REMOTE_COMMAND_DEFAULTS.timeoutSeconds };
  const conn = connection as Props;
  const rules: Rule[] = [
    { field: "script", value: inputs.script, ok: isText, allowed: "a bash script (non-empty text)" },
    { field: "deleteScript", value: inputs.deleteScript, ok: optional(isText), allowed: "a bash script (non-empty text), or none" },
    { field: "stdin", value: inputs.stdin, ok: optional((v) => typeof v === "string"), allowed: "text", secret: true },
    { field: "timeoutSeconds", value: inputs.timeoutSeconds, ok: intIn(1, 86400), allowed: "an integer 1-86400" },
    { field: "triggers", value: inputs.triggers, ok: optional(Array.isArray), allowed: "a list of values" },
  ];
  if (connection !== UNKNOWN) {
    rules.push(
      { field: "connection.host", value: conn.host, ok: (v) => typeof v === "string" && HOST.test(v), allowed: "a host name or IP address" },
      { field: "connection.port", value: conn.port, ok: isPort, allowed: PORT_ALLOWED },
      { field: "connection.user", value: conn.user, ok: (v) => typeof v === "string" && USER.test(v), allowed: "a login name ([a-z_][a-z0-9_.-]*)" },
      { field: "connection.privateKey", value: conn.privateKey, ok: (v) => typeof v === "string" && v.includes("PRIVATE KEY"), allowed: "an OpenSSH or PEM private key", secret: true },
      { field: "connection.hostKey", value: conn.hostKey, ok: optional((v) => typeof v === "string" && KEY_LINE.test(v.trim())), allowed: "`type base64` as in known_hosts (e.g. ssh-ed25519 AAAA...), or none" },
    );
  }
  const failures = rules
    .filter((r) => !containsUnknown(r.value) && !r.ok(r.value))
    .map((r) => ({ property: r.field, reason: new ValidationError(r.field, r.secret ? "[secret]" : r.value, r.allowed).message }));
  return { inputs, failures };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const TARGET = ["host", "port", "user"] as const;

export interface RemoteCommandDiff {
  readonly changes: boolean;
  /** Another host or changed triggers: a new command (the old one's deleteScript runs on its own host). */
  readonly replaces: string[];
  /** The script or what it reads changed: an update runs the script again (scripts are idempotent). */
  readonly rerun: boolean;
}

export function planRemoteCommandDiff(olds: Props, news: Props): RemoteCommandDiff {
  const oc = (olds.connection ?? {}) as Props;
  const nc = (news.connection ?? {}) as Props;
  const replaces: string[] = [];
  if (news.connection === UNKNOWN || TARGET.some((k) => !same(oc[k], nc[k]))) replaces.push("connection");
  if (!same(olds.triggers, news.triggers)) replaces.push("triggers");
  const rerun = !same(olds.script, news.script) || !same(olds.stdin, news.stdin);
  // Credentials, the delete script and the bound only need storing: nothing runs.
  const stored = ["privateKey", "hostKey"].some((k) => !same(oc[k], nc[k])) || !same(olds.deleteScript, news.deleteScript) || !same(olds.timeoutSeconds, news.timeoutSeconds);
  return { changes: replaces.length > 0 || rerun || stored, replaces, rerun };
}

/** Opens an SSH session for one operation and closes it after (withSsh). */
export type SshOpener = <T>(target: SshTarget, fn: (r: CommandRunner) => Promise<T>) => Promise<T>;

export function remoteTarget(c: RemoteConnection, timeoutSeconds: number): SshTarget {
  return {
    label: `${c.user}@${c.host}:${c.port}`,
    host: c.host,
    port: c.port,
    user: c.user,
    privateKey: c.privateKey,
    knownHosts: c.hostKey === undefined ? undefined : knownHostsEntry(c.host, c.port, c.hostKey),
    connectTimeoutMs: 15_000,
    commandTimeoutMs: timeoutSeconds * 1000,
  };
}

/** A script exited non-zero or outlived its bound. Quotes stderr only: stdout may carry keys. */
export class RemoteScriptFailed extends Error {
  constructor(
    readonly target: string,
    readonly purpose: string,
    readonly code: number | null,
    stderr: string,
    timeoutSeconds: number,
  ) {
    const said = stderr.trim().split("\n").slice(-8).join("\n");
    const how = code === null ? `killed, or outlived its bound of ${timeoutSeconds} s` : `exit ${code}`;
    const message = `${purpose} on ${target} failed (${how})${said ? `: ${said}` : ""}`;
    super(message);
    this.message = message; // see ValidationError
    this.name = "RemoteScriptFailed";
  }
}

/** bashScript() puts the script's purpose on its second line. */
function purposeOf(script: string): string {
  const m = /^#!.*\n# (.+)\n/.exec(script);
  return m ? `script "${m[1]}"` : "script";
}

async function runScript(open: SshOpener, s: RemoteCommandInputs, text: string): Promise<string> {
  const target = remoteTarget(s.connection, s.timeoutSeconds);
  const r = await open(target, (run) => run.run(["sh", "-c", remoteInvocation(text)], { stdin: s.stdin ?? "", timeoutMs: s.timeoutSeconds * 1000, allowFail: true }));
  if (r.code !== 0) throw new RemoteScriptFailed(target.label, purposeOf(text), r.code, r.stderr, s.timeoutSeconds);
  return r.stdout;
}

/**
 * Runs the script. Nothing to undo on failure: the scripts are idempotent
 * and check before they act, so the next `pulumi up` runs it again from
 * wherever it stopped.
 */
export async function createRemoteCommand(open: SshOpener, inputs: RemoteCommandInputs): Promise<RemoteCommandState> {
  return { ...inputs, stdout: await runScript(open, inputs, inputs.script) };
}

/** Runs the script again only when it or its stdin changed; otherwise stores the new inputs. */
export async function updateRemoteCommand(open: SshOpener, olds: RemoteCommandState, news: RemoteCommandInputs): Promise<RemoteCommandState> {
  if (planRemoteCommandDiff(olds as unknown as Props, news as unknown as Props).rerun) return createRemoteCommand(open, news);
  return { ...news, stdout: olds.stdout };
}

/** Runs deleteScript when there is one; a command without one leaves its work in place. */
export async function deleteRemoteCommand(open: SshOpener, state: RemoteCommandState): Promise<void> {
  if (state.deleteScript !== undefined) await runScript(open, state, state.deleteScript);
}
