import * as crypto from "crypto";

/**
 * Pure: a UUID derived from a seed text (SHA-256, formatted with the RFC 4122
 * variant and version 5 bits), so that every node computes the same libvirt
 * secret UUID from the cluster's fsid without anyone storing it.
 */
export function uuidFromSeed(seed: string): string {
  const b = crypto.createHash("sha256").update(seed).digest().subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x50;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
