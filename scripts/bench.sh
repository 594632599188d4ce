#!/usr/bin/env bash
# `npm run bench`: the benchmark of issue 7 (bench/README.md). Installs what it
# needs (scripts/setup.sh, which also builds; /usr/bin/time; matplotlib for the
# chart into .tools/), runs every scenario (bench/run.ts) and writes
# bench/results/report.md, summary.json and chart.png; raw data goes to
# bench/results/raw/ (git-ignored). Not part of `npm test`.
# Env: BENCH_REPS (3), BENCH_SIZES (24,100,500,1000), BENCH_LARGE_REPS (1) for
# synthetic fleets over BENCH_LARGE (100), BENCH_ONLY (empty,natsjs,fleet,
# synthetic,nocheckpoints), BENCH_RESULTS (bench/results): see bench/README.md.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
. "$root/scripts/env.sh"
cd "$root"

apt_install() {
  local sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
  $sudo_ apt-get update -qq && $sudo_ apt-get install -y -qq "$@" >/dev/null
}

# Provider peak memory comes from GNU time around the dynamic-provider plugin.
[ -x /usr/bin/time ] || { echo "==> installing GNU time"; apt_install time; }

# The chart: matplotlib from PyPI in a venv keyed by its pinned version, made
# before the (long) run so a problem shows at once.
pin=$(sed -n 's/^matplotlib==//p' bench/requirements.txt)
venv="$KANADE_TOOLS/bench-python-matplotlib-$pin"
if ! "$venv/bin/python" -c "import matplotlib" >/dev/null 2>&1; then
  echo "==> installing matplotlib $pin for the benchmark's chart into $venv"
  rm -rf "$venv"
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    rm -rf "$venv"
    apt_install python3 python3-venv
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install --quiet -r bench/requirements.txt
fi

node bench/run.ts
results="${BENCH_RESULTS:-bench/results}"
"$venv/bin/python" bench/chart.py "$results/summary.json" "$results/chart.png"
echo "bench: done, see $results/report.md and $results/chart.png"
