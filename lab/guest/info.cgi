#!/bin/sh
# GET /cgi-bin/info of the lab's tiny guest: what the VM sees of itself,
# read at request time so that live changes (a grown disk) show at once.

# "0-1,4" -> 3: the online CPU list is a comma-separated set of ranges.
count_cpus() {
  awk -F, '{
    n = 0
    for (i = 1; i <= NF; i++) {
      if (split($i, r, "-") == 2) { n += r[2] - r[1] + 1 } else if ($i != "") { n++ }
    }
    print n
  }'
}

if [ -r /sys/devices/system/cpu/online ]; then
  vcpus=$(count_cpus </sys/devices/system/cpu/online)
else
  vcpus=$(grep -c '^processor' /proc/cpuinfo)
fi
memory=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)

disks=
for dir in /sys/block/vd* /sys/block/sd*; do
  [ -r "$dir/size" ] || continue
  sectors=$(cat "$dir/size")
  disks="$disks${disks:+,}\"${dir##*/}\":$((sectors * 512))"
done

# Quotes and backslashes dropped: the kernel's command line never needs them here.
cmdline=$(tr -d '"\\\n' </proc/cmdline)

printf 'Content-Type: application/json\r\nCache-Control: no-store\r\n\r\n'
# The hostname was checked to be a DNS label at boot, so it needs no escaping.
printf '{"hostname":"%s","vcpus":%s,"memoryKiB":%s,"disks":{%s},"cmdline":"%s"}\n' \
  "$(hostname)" "${vcpus:-0}" "${memory:-0}" "$disks" "$cmdline"
