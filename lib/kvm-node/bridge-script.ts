import { BridgeSetup, renderBridgeConfig } from "./bridge-config";
import { quote } from "../core/shell";
import { aptInstallStep, bashScript, writeFileStep } from "../core/script";

/**
 * Moves a KVM node's address from its NIC onto a bridge without cutting the
 * SSH session that runs the script: the bridge takes the NIC's MAC (so the
 * neighbours' ARP entries stay right), then one `ip -batch` enslaves the NIC,
 * moves the address and restores the default route in a single process,
 * milliseconds apart. If the gateway does not answer afterwards the same
 * batch is reversed. Then the host's network stack gets files that make the
 * bridge permanent (they are not applied now: that is what could cut us off),
 * with the same MAC. The MAC was read by an earlier command (the node's
 * facts); a NIC that now shows another one stops the script before the files
 * could pin a stale address.
 */
export function renderBridgeSetupScript(o: BridgeSetup): string {
  const files = renderBridgeConfig(o);
  const cidr = `${o.address}/${o.prefixLength}`;
  const nic = quote(o.nic);
  const br = quote(o.bridge);
  const forward = [`link set dev ${o.nic} master ${o.bridge}`, `address del ${cidr} dev ${o.nic}`, `address add ${cidr} dev ${o.bridge}`];
  const back = [`address del ${cidr} dev ${o.bridge}`, `address add ${cidr} dev ${o.nic}`, `link set dev ${o.nic} nomaster`];
  if (o.gateway) {
    forward.push(`route replace default via ${o.gateway} dev ${o.bridge}`);
    back.push(`route replace default via ${o.gateway} dev ${o.nic}`);
  }
  const steps = [
    aptInstallStep(o.backend === "ifupdown" ? ["iproute2", "iputils-ping", "bridge-utils", "ifupdown"] : ["iproute2", "iputils-ping"]),
    `mac=$(cat ${quote(`/sys/class/net/${o.nic}/address`)})`,
    `[ "$mac" = ${quote(o.nicMac)} ] || { echo ${quote(`kvm-cloud: ${o.nic} has MAC `)}"$mac"${quote(`, but the node facts read ${o.nicMac}: replace the facts command of the node (pulumi up --replace) to read it again`)} >&2; exit 1; }`,
    `if ip -o -4 address show dev ${br} 2>/dev/null | grep -F ${quote(` ${cidr} `)} >/dev/null; then`,
    `  echo ${quote(`kvm-cloud: ${cidr} is already on ${o.bridge}`)}`,
    // A bridge made at boot by files of an older version may carry another MAC.
    `  [ "$(cat ${quote(`/sys/class/net/${o.bridge}/address`)})" = "$mac" ] || ip link set dev ${br} address "$mac"`,
    "else",
    `  ip -o -4 address show dev ${nic} | grep -F ${quote(` ${cidr} `)} >/dev/null || { echo ${quote(`kvm-cloud: ${cidr} is on neither ${o.nic} nor ${o.bridge}`)} >&2; exit 1; }`,
    `  ip link show dev ${br} >/dev/null 2>&1 || ip link add name ${br} type bridge stp_state 0 forward_delay 0`,
    `  ip link set dev ${br} address "$mac"`,
    `  ip link set dev ${br} up`,
    `  printf '%s\\n' ${forward.map(quote).join(" ")} | ip -batch -`,
  ];
  if (o.gateway) {
    steps.push(
      "  reached=0",
      "  for _ in 1 2 3 4 5; do",
      `    if ping -c 1 -W 1 ${quote(o.gateway)} >/dev/null 2>&1; then reached=1; break; fi`,
      "  done",
      '  if [ "$reached" != 1 ]; then',
      `    printf '%s\\n' ${back.map(quote).join(" ")} | ip -force -batch -`,
      `    echo ${quote(`kvm-cloud: gateway ${o.gateway} unreachable over ${o.bridge}; moved ${cidr} back to ${o.nic}`)} >&2`,
      "    exit 1",
      "  fi",
    );
  }
  steps.push("fi");
  if (o.backend === "ifupdown") {
    steps.push(ifupdownMainFileStep(o.nic));
  }
  steps.push(...files.map((f) => writeFileStep(f.path, f.content, { mode: f.mode })));
  if (o.backend === "networkd") {
    // Debian 12 ships systemd-networkd disabled: without this the bridge is gone after a reboot.
    // Enabled, not started: applying it now is what could cut this session off.
    steps.push("systemctl enable systemd-networkd.service >/dev/null 2>&1");
  }
  return bashScript(`bridge ${o.bridge} over ${o.nic} carrying ${cidr} (${o.backend})`, steps);
}

/**
 * ifupdown reads /etc/network/interfaces before interfaces.d: the NIC's own
 * stanza there would still configure the address on the NIC at boot, so it is
 * commented out (a copy of the original is kept once).
 */
function ifupdownMainFileStep(nic: string): string {
  const awk = [
    '$1 == "iface" { skip = ($2 == nic) }',
    '/^[^ \\t#]/ && $1 != "iface" { skip = 0 }',
    '(($1 == "auto" || $1 == "allow-hotplug") && $2 == nic && NF == 2) || skip { print "# kvm-cloud (now a bridge port): " $0; next }',
    "{ print }",
  ].join("\n");
  return [
    "main=/etc/network/interfaces",
    'if [ -f "$main" ]; then',
    '  [ -e "$main.kvmcloud-orig" ] || cp -p "$main" "$main.kvmcloud-orig"',
    `  awk -v nic=${quote(nic)} ${quote(awk)} "$main" > "$main.kvmcloud-new"`,
    "  grep -Eq '^(source /etc/network/interfaces\\.d/\\*|source-directory /etc/network/interfaces\\.d)' \"$main.kvmcloud-new\" || echo 'source /etc/network/interfaces.d/*' >> \"$main.kvmcloud-new\"",
    '  if cmp -s "$main.kvmcloud-new" "$main"; then rm -f "$main.kvmcloud-new"; else mv -f "$main.kvmcloud-new" "$main"; fi',
    "fi",
  ].join("\n");
}
