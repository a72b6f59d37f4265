/**
 * cloud-init NoCloud seed files (meta-data, user-data). Pure and
 * deterministic: the same input always renders the same bytes, so a seed
 * image only changes when the VM's intent changes.
 *
 * No YAML library is used: every scalar is written as a JSON string, number,
 * boolean or null, which YAML 1.2 reads back unchanged. That sidesteps YAML's
 * implicit typing ("no" -> false, "012" -> octal) and any quoting pitfalls.
 */

import { isDnsLabel } from "../core/network";

export interface MetaDataInput {
  readonly instanceId: string;
  readonly hostname: string;
}

export interface UserDataInput {
  readonly hostname: string;
  readonly fqdn?: string;
  readonly sshAuthorizedKeys: readonly string[];
  /** Further top-level #cloud-config keys (packages, runcmd, write_files ...). */
  readonly extra?: Readonly<Record<string, unknown>>;
}

const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
// An authorized_keys line: optional options, then "<type> <base64> [comment]".
const SSH_KEY = /(^|\s)(ssh-[a-z0-9@.-]+|ecdsa-sha2-[a-z0-9@.-]+|sk-[a-z0-9@.-]+)\s+[A-Za-z0-9+/]+={0,3}(\s|$)/;
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const MAX_DEPTH = 32;

/** The keys renderUserData owns; `extra` may not override them. */
const RESERVED_KEYS = ["hostname", "fqdn", "ssh_authorized_keys"] as const;

function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

function validateHostname(field: string, value: unknown): string {
  if (typeof value !== "string" || !isDnsLabel(value)) {
    throw new Error(
      `${field}: ${show(value)} is not a valid hostname; allowed: a DNS label of 1-63 characters ` +
        `[a-z0-9-], not starting or ending with '-'`,
    );
  }
  return value;
}

function validateFqdn(field: string, value: unknown): string {
  const labels = typeof value === "string" ? value.replace(/\.$/, "").split(".") : [];
  if (typeof value !== "string" || value.length > 253 || labels.length < 2 || !labels.every((l) => isDnsLabel(l))) {
    throw new Error(
      `${field}: ${show(value)} is not a valid FQDN; allowed: at most 253 characters, two or more ` +
        `dot-separated DNS labels of 1-63 characters [a-z0-9-], not starting or ending with '-'`,
    );
  }
  return value;
}

function validateInstanceId(field: string, value: unknown): string {
  if (typeof value !== "string" || !INSTANCE_ID.test(value)) {
    throw new Error(
      `${field}: ${show(value)} is not a valid instance id; allowed: 1-128 characters [A-Za-z0-9._-], ` +
        `starting with a letter or digit`,
    );
  }
  return value;
}

function validateSshKey(field: string, value: unknown): string {
  if (typeof value !== "string" || /[\r\n\0]/.test(value) || value.length > 16384 || !SSH_KEY.test(value)) {
    throw new Error(
      `${field}: ${show(value)} is not a valid SSH public key; allowed: one authorized_keys line ` +
        `"[options] <type> <base64> [comment]" with type ssh-*, ecdsa-sha2-* or sk-*, at most 16384 characters`,
    );
  }
  return value;
}

function scalar(field: string, value: unknown): string | undefined {
  if (value === null) {
    return "null";
  }
  switch (typeof value) {
    case "string":
      if (LONE_SURROGATE.test(value)) {
        throw new Error(`${field}: ${show(value)} contains an unpaired UTF-16 surrogate; allowed: well-formed Unicode text`);
      }
      return JSON.stringify(value);
    case "boolean":
      return String(value);
    case "number":
      if (!Number.isFinite(value)) {
        throw new Error(`${field}: ${value} is not allowed; allowed: finite numbers`);
      }
      return JSON.stringify(value);
    default:
      return undefined;
  }
}

function typeName(value: unknown): string {
  if (typeof value === "object" && value !== null) {
    return (value as { constructor?: { name?: string } }).constructor?.name ?? "object";
  }
  return typeof value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) {
    return false;
  }
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function yamlKey(field: string, key: string): string {
  if (key.length === 0) {
    throw new Error(`${field}: empty keys are not allowed; allowed: non-empty strings`);
  }
  return PLAIN_KEY.test(key) ? key : (scalar(field, key) as string);
}

/** Block-YAML lines for `value` placed after "key:" or "-" at `indent`. */
function node(field: string, value: unknown, indent: number, seen: Set<object>): { inline?: string; lines: string[] } {
  const s = scalar(field, value);
  if (s !== undefined) {
    return { inline: s, lines: [] };
  }
  if (seen.size >= MAX_DEPTH) {
    throw new Error(`${field}: nested deeper than ${MAX_DEPTH} levels; allowed: at most ${MAX_DEPTH}`);
  }
  if (typeof value === "object" && value !== null && seen.has(value)) {
    throw new Error(`${field}: refers to itself; allowed: acyclic data`);
  }
  const pad = " ".repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) {
      return { inline: "[]", lines: [] };
    }
    const nested = new Set(seen).add(value);
    const lines: string[] = [];
    value.forEach((item, i) => {
      const sub = node(`${field}[${i}]`, item, indent + 2, nested);
      // "-" alone on its line followed by a deeper block is valid YAML and
      // avoids the column arithmetic of "- key: value" compact forms.
      lines.push(sub.inline !== undefined ? `${pad}- ${sub.inline}` : `${pad}-`, ...sub.lines);
    });
    return { lines };
  }
  if (isPlainObject(value)) {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort();
    if (keys.length === 0) {
      return { inline: "{}", lines: [] };
    }
    const nested = new Set(seen).add(value);
    const lines: string[] = [];
    for (const k of keys) {
      const sub = node(`${field}.${k}`, value[k], indent + 2, nested);
      const key = yamlKey(`${field}.${k}`, k);
      lines.push(sub.inline !== undefined ? `${pad}${key}: ${sub.inline}` : `${pad}${key}:`, ...sub.lines);
    }
    return { lines };
  }
  throw new Error(
    `${field}: a value of type ${typeName(value)} is not allowed; ` +
      `allowed: string, finite number, boolean, null, arrays and plain objects of these`,
  );
}

/** NoCloud `meta-data`. Values are validated to a charset that needs no quoting. */
export function renderMetaData(input: MetaDataInput): string {
  const instanceId = validateInstanceId("instanceId", input.instanceId);
  const hostname = validateHostname("hostname", input.hostname);
  return `instance-id: ${instanceId}\nlocal-hostname: ${hostname}\n`;
}

/** NoCloud `user-data` as a `#cloud-config` document with sorted top-level keys. */
export function renderUserData(input: UserDataInput): string {
  const doc: Record<string, unknown> = {};
  doc.hostname = validateHostname("hostname", input.hostname);
  if (input.fqdn !== undefined) {
    doc.fqdn = validateFqdn("fqdn", input.fqdn);
  }
  if (!Array.isArray(input.sshAuthorizedKeys)) {
    throw new Error(`sshAuthorizedKeys: ${show(input.sshAuthorizedKeys)} is not allowed; allowed: an array of SSH public keys`);
  }
  doc.ssh_authorized_keys = input.sshAuthorizedKeys.map((k, i) => validateSshKey(`sshAuthorizedKeys[${i}]`, k));
  const extra = input.extra ?? {};
  if (!isPlainObject(extra)) {
    throw new Error(`extra: ${show(extra)} is not allowed; allowed: a plain object of top-level cloud-config keys`);
  }
  for (const key of Object.keys(extra)) {
    if ((RESERVED_KEYS as readonly string[]).includes(key)) {
      throw new Error(
        `extra.${key}: is set by renderUserData itself; allowed: any key except ${RESERVED_KEYS.join(", ")}`,
      );
    }
    doc[key] = extra[key];
  }
  const lines = ["#cloud-config"];
  for (const key of Object.keys(doc).sort()) {
    if (doc[key] === undefined) {
      continue;
    }
    const field = (RESERVED_KEYS as readonly string[]).includes(key) ? key : `extra.${key}`;
    const sub = node(field, doc[key], 2, new Set());
    const k = yamlKey(field, key);
    lines.push(sub.inline !== undefined ? `${k}: ${sub.inline}` : `${k}:`, ...sub.lines);
  }
  return lines.join("\n") + "\n";
}
