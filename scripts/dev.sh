#!/usr/bin/env bash
# The local dev stack: a JetStream server with its data in .dev/, a file
# state backend in .dev/state and the `dev` stack of Pulumi.dev.yaml.
#   scripts/dev.sh up       install what is missing, start the broker, pulumi up
#   scripts/dev.sh stop     stop the broker (data stays in .dev/)
#   scripts/dev.sh destroy  pulumi destroy the dev stack, then stop the broker
#   scripts/dev.sh pulumi … any pulumi command against the dev stack
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dev="$root/.dev"
# Ports of Pulumi.dev.yaml; far from 4222 so a system broker is never touched.
port=14222
monitor=18222

export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$dev/state}"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-dev}"
export PULUMI_HOME="${PULUMI_HOME:-$dev/pulumi-home}"

env_ready() { . "$root/scripts/env.sh"; }

broker_running() { [ -f "$dev/nats.pid" ] && kill -0 "$(cat "$dev/nats.pid")" 2>/dev/null; }

start_broker() {
  mkdir -p "$dev/jetstream"
  if broker_running; then return; fi
  cat > "$dev/nats.conf" <<CONF
listen: 127.0.0.1:$port
http: 127.0.0.1:$monitor
server_name: kanade-dev
jetstream {
  store_dir: "$dev/jetstream"
  max_file_store: 1GB
  max_memory_store: 256MB
}
CONF
  "$NATS_SERVER_BIN" -c "$dev/nats.conf" >>"$dev/nats.log" 2>&1 &
  echo $! > "$dev/nats.pid"
  for _ in $(seq 50); do
    curl -fsS "http://127.0.0.1:$monitor/healthz?js-enabled-only=true" >/dev/null 2>&1 && { echo "dev broker up on nats://127.0.0.1:$port (log: .dev/nats.log)"; return; }
    sleep 0.2
  done
  echo "dev broker did not become ready; see $dev/nats.log" >&2
  exit 1
}

stop_broker() {
  if broker_running; then kill "$(cat "$dev/nats.pid")" && echo "dev broker stopped"; fi
  rm -f "$dev/nats.pid"
}

pulumi_dev() {
  mkdir -p "$dev/state"
  cd "$root"
  pulumi stack select dev >/dev/null 2>&1 || pulumi stack init dev >/dev/null
  pulumi "$@" --stack dev
}

case "${1:-}" in
  up)
    bash "$root/scripts/setup.sh"
    env_ready
    start_broker
    pulumi_dev up --yes --non-interactive
    ;;
  stop)
    stop_broker
    ;;
  destroy)
    env_ready
    start_broker
    pulumi_dev destroy --yes --non-interactive
    stop_broker
    ;;
  pulumi)
    shift
    env_ready
    start_broker
    pulumi_dev "$@"
    ;;
  *)
    echo "usage: scripts/dev.sh up|stop|destroy|pulumi <args>" >&2
    exit 2
    ;;
esac
