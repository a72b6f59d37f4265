#!/usr/bin/env bash
# One-time set-up of a Debian 12 machine for kvm-cloud and its lab (run as root):
# the Debian packages in lab/packages.txt, the npm dependencies, then the
# Pulumi engine built from Go modules (cached by version under
# /var/cache/kvm-cloud/engine: a second run builds nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t wanted < <(sed -e 's/#.*//' -e '/^\s*$/d' lab/packages.txt)
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
bash lab/engine/build-engine.sh
