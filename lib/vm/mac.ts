/** QEMU/KVM's conventional prefix; locally administered, so it clashes with no vendor. */
export const MAC_PREFIX = "52:54:00";

/**
 * Enough that a collision streak means the space is effectively exhausted (or
 * the random source is broken), not bad luck: 16.7M suffixes per prefix.
 */
export const MAC_ATTEMPTS = 64;

const hex = (b: number) => b.toString(16).padStart(2, "0");

/**
 * A `52:54:00:xx:xx:xx` MAC, lower case, not in `taken` (compared case-
 * insensitively, since libvirt and dnsmasq disagree on case). `random` returns
 * 3 random bytes; it is injected so tests and callers control the source.
 */
export function generateMac(taken: Iterable<string>, random: () => Buffer): string {
  const used = new Set<string>();
  for (const m of taken) used.add(m.toLowerCase());
  for (let i = 0; i < MAC_ATTEMPTS; i++) {
    const b = random();
    if (b.length < 3) {
      throw new Error(`generateMac: random source returned ${b.length} bytes; 3 are needed`);
    }
    const mac = `${MAC_PREFIX}:${hex(b[0])}:${hex(b[1])}:${hex(b[2])}`;
    if (!used.has(mac)) return mac;
  }
  throw new Error(`generateMac: no free MAC under ${MAC_PREFIX} after ${MAC_ATTEMPTS} attempts (${used.size} MACs taken); is the random source working?`);
}
