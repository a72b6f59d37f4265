import { ValidationError } from "../core/errors";
import { UUID } from "../core/network";

/**
 * What the first monitor's bootstrap script prints: the cluster's fsid, the
 * initial keys and the initial monmap (base64). Errors never quote a key.
 */
export interface CephBootstrapSecrets {
  readonly fsid: string;
  readonly monKey: string;
  readonly adminKey: string;
  readonly bootstrapOsdKey: string;
  /** The initial monmap, base64. */
  readonly monmap: string;
}

/** A cephx secret as ceph-authtool prints it: 16 bytes of header and key, base64. */
export const CEPHX_KEY = /^[A-Za-z0-9+/]{38}==$/;

const FIELDS = { fsid: "fsid", mon_key: "monKey", admin_key: "adminKey", bootstrap_osd_key: "bootstrapOsdKey", monmap: "monmap" } as const;

export function parseCephBootstrap(stdout: string): CephBootstrapSecrets {
  const found: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const m = /^([a-z_]+)=(.*)$/.exec(line.trim());
    if (m && m[1] in FIELDS) {
      found[FIELDS[m[1] as keyof typeof FIELDS]] = m[2];
    }
  }
  for (const [printed, field] of Object.entries(FIELDS)) {
    if (!found[field]) {
      throw new ValidationError(`bootstrap output ${printed}`, "[missing]", `a line ${printed}=... from the first monitor's bootstrap script`);
    }
  }
  if (!UUID.test(found.fsid)) {
    throw new ValidationError("bootstrap output fsid", found.fsid, "a lower-case UUID");
  }
  for (const field of ["monKey", "adminKey", "bootstrapOsdKey"]) {
    if (!CEPHX_KEY.test(found[field])) {
      throw new ValidationError(`bootstrap output ${field}`, "[secret]", "a cephx key (40 base64 characters)");
    }
  }
  if (!/^[A-Za-z0-9+/]+=*$/.test(found.monmap)) {
    throw new ValidationError("bootstrap output monmap", "[binary]", "base64 text");
  }
  return found as unknown as CephBootstrapSecrets;
}
