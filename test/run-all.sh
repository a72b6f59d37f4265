#!/usr/bin/env bash
# npm test: every test, in the order the lab needs.
#  1. type-check, unit and mocks tests (no root needed);
#  2. as root: the lab comes up from nothing (root namespace: it makes the namespaces);
#  3. clients of the lab, run inside the lab's manager namespace (never from the root namespace);
#  4. lab:down leaves nothing.
# Prints one closing line "N passed, N failed" over all the jest runs.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
status=0
# shellcheck disable=SC2317 # called through step
jest() { node node_modules/jest/bin/jest.js "$@"; }

step() { # name, command...
  local name=$1; shift
  echo "=== $name"
  if ! "$@"; then status=1; echo "=== $name: FAILED"; fi
}

step "type-check" npx tsc --noEmit -p tsconfig.json
step "unit + mocks" jest --selectProjects unit mocks --json --outputFile="$results/unit.json"
if [ "$(id -u)" -ne 0 ]; then
  echo "=== lab tests need root; run npm test as root (npm run test:unit runs the rest)" >&2
  status=1
else
  step "lab up" jest --selectProjects lab --runInBand --json --outputFile="$results/lab.json"
  if ip netns list | grep -q '^kcl-mgr\b'; then
    step "lab clients (in kcl-mgr)" ip netns exec kcl-mgr node node_modules/jest/bin/jest.js --selectProjects lab-client --runInBand --json --outputFile="$results/client.json"
  else
    echo "=== lab clients: skipped, the lab did not come up" >&2
    status=1
  fi
  step "lab down" jest --selectProjects lab-down --runInBand --json --outputFile="$results/down.json"
fi
node test/summarize-results.js "$results"
exit $status
