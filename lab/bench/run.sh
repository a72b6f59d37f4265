#!/usr/bin/env bash
# npm run bench: bring the lab up (or mend it), then run the VM benchmark and
# the HA and engine benchmarks inside the lab's manager namespace, the only place lab
# addresses exist.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then
  echo "bench: run as root (the lab makes namespaces)" >&2
  exit 2
fi
node node_modules/ts-node/dist/bin.js --transpile-only lab/cli.ts up
ip netns exec kcl-mgr node node_modules/ts-node/dist/bin.js --transpile-only lab/bench/vm-bench.ts
# Kills and cuts off node2; mends the lab from this shell's namespaces (lab/node-loss.ts).
ip netns exec kcl-mgr node node_modules/ts-node/dist/bin.js --transpile-only lab/bench/ha-bench.ts
exec ip netns exec kcl-mgr node node_modules/ts-node/dist/bin.js --transpile-only lab/bench/engine-bench.ts
