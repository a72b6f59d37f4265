import { renderDhcpHostEntry } from "./address";
import { CommandRunner } from "../transport/command-runner";

/**
 * The VM's entry in dnsmasq's dhcp-hostsdir, on the DHCP host: written before
 * the guest boots, so dnsmasq hands it the address the provider chose and the
 * node's traffic filter knows that address from the first packet.
 */

// dnsmasq reads a file when it is closed or moved in (inotify) and skips names starting
// with a dot: a dot-file renamed into place is never read half-written. A file that
// replaces another (a create taking over a dead one's name) only adds its entry: the old
// one stays until SIGHUP and would make the address a duplicate, so dnsmasq is reloaded.
const WRITE_SCRIPT = [
  'set -e; umask 022; f="$1/$2"; t="$1/.$2.new"; cat > "$t"',
  'if [ ! -e "$f" ]; then mv -f -- "$t" "$f"; exit 0; fi',
  'if cmp -s "$t" "$f"; then rm -f -- "$t"; exit 0; fi',
  'mv -f -- "$t" "$f"; systemctl reload dnsmasq.service',
].join("\n");

// dnsmasq keeps what it read from a removed file until SIGHUP; a stale entry would make the
// address a duplicate when the next VM gets it (dnsmasq then drops the address from both).
// Reloaded on every call, so a delete retried after a failed reload still reloads.
const REMOVE_SCRIPT = 'set -e; rm -f -- "$1/$2"; systemctl reload dnsmasq.service';

export async function writeHostEntry(r: CommandRunner, dir: string, e: { name: string; mac: string; ip: string }): Promise<void> {
  const res = await r.run(["sh", "-c", WRITE_SCRIPT, "write-entry", dir, e.name], { stdin: renderDhcpHostEntry(e), allowFail: true, timeoutMs: 30_000 });
  if (res.code !== 0) throw new Error(`writing the DHCP entry of ${e.name} into ${dir} on ${r.target}: ${res.stderr.trim() || `exit ${res.code}`}`);
}

export async function removeHostEntry(r: CommandRunner, dir: string, name: string): Promise<void> {
  const res = await r.run(["sh", "-c", REMOVE_SCRIPT, "remove-entry", dir, name], { allowFail: true, timeoutMs: 30_000 });
  if (res.code !== 0) throw new Error(`removing the DHCP entry of ${name} from ${dir} on ${r.target} (dnsmasq reload): ${res.stderr.trim() || `exit ${res.code}`}`);
}
