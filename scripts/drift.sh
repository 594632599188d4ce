#!/usr/bin/env bash
# Drift check for a cron job or CI: exits 0 when the broker matches the
# program, non-zero (with the differences printed) when it does not or when
# the check itself could not run.
#   npm run drift                      the local dev stack (scripts/dev.sh)
#   npm run drift -- --stack prod      any stack, with your own Pulumi backend settings
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/scripts/env.sh"
cd "$root"
args=(preview --expect-no-changes --diff --non-interactive)
if [ "$#" -eq 0 ]; then
  bash "$root/scripts/dev.sh" pulumi "${args[@]}" && status=0 || status=$?
else
  pulumi "${args[@]}" "$@" && status=0 || status=$?
fi
if [ "$status" -eq 0 ]; then echo "no drift: the broker matches the program"; else echo "drift (or an error) above: exit $status" >&2; fi
exit "$status"
