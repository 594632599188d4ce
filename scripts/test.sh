#!/usr/bin/env bash
# The whole test suite, as CI runs it: set-up (idempotent, installs what is
# missing), type checking, then unit, integration and end-to-end tests, run
# from the .ts sources as Pulumi runs them. The
# integration suites run every scenario on every nats-server line (2.9, 2.10,
# 2.11, 2.12), the e2e suites on 2.9 and 2.12, unless KANADE_SERVER_VERSIONS
# narrows them, e.g. "2.12".
# Extra arguments go to node's test runner (e.g. a single file).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
. "$root/scripts/env.sh"
cd "$root"
echo "==> type checking (tsc --noEmit)"
npm run --silent typecheck
if [ "$#" -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(find test -name '*.test.ts' | sort)
fi
# Suites start their own brokers and Pulumi backends on free ports and temp
# dirs, so files can run side by side; the bound keeps two cores responsive.
# The spec report goes to the terminal; a TAP copy gives the closing count.
tap="$(mktemp)"
trap 'rm -f "$tap"' EXIT
status=0
node --test --test-concurrency="${KANADE_TEST_CONCURRENCY:-2}" --test-timeout=900000 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" \
  "${files[@]}" || status=$?
count() { awk -v k="$1" '$1 == "#" && $2 == k { n = $3 } END { print n + 0 }' "$tap"; }
echo "$(count pass) passed, $(count fail) failed, $(count skipped) skipped"
exit "$status"
