#!/usr/bin/env bash
# Regenerate test/fixtures/async-nats-0.49/ from scratch: builds the harness,
# starts throwaway nats-servers on free ports (never 4222), runs the
# backend bootstrap, dumps every stream config, and stops the servers.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
HERE="$ROOT/test/compat/async-nats-bootstrap"
FIX="$ROOT/test/fixtures/async-nats-0.49"
S212="${NATS_SERVER_212:-$ROOT/.tools/nats-server-v2.12.15/bin/nats-server}"
S29="${NATS_SERVER_29:-$ROOT/.tools/nats-server-legacy/usr/sbin/nats-server}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/.tools/cargo-target}"
export RUST_BACKTRACE=0
BIN="$CARGO_TARGET_DIR/debug/kanade-bootstrap-compat"
(cd "$HERE" && cargo build --locked -q)

WORK=$(mktemp -d /tmp/kanade-compat.XXXX)
# start_server runs in $(...) subshells, so pids go to a file, not an array.
cleanup() {
  if [ -f "$WORK/pids" ]; then
    while read -r p; do kill "$p" 2>/dev/null || true; done <"$WORK/pids"
    sleep 0.3
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
# start_server BIN NAME -> echoes URL
start_server() {
  local port; port=$(free_port)
  mkdir -p "$WORK/$2"
  "$1" -js -p "$port" -sd "$WORK/$2" -a 127.0.0.1 >"$WORK/$2.log" 2>&1 &
  echo $! >>"$WORK/pids"
  for _ in $(seq 50); do
    python3 -c "import socket;socket.create_connection(('127.0.0.1',$port)).recv(1)" 2>/dev/null && break
    sleep 0.1
  done
  echo "nats://127.0.0.1:$port"
}

rm -rf "$FIX/server-2.12" "$FIX/server-2.9" "$FIX/server-2.9-replay" "$FIX/precap-server-2.12" "$FIX/requests"

# 2.12.15: full bootstrap (+ request capture), dump.
U=$(start_server "$S212" s212)
"$BIN" bootstrap --url "$U" --fleet newer --capture "$WORK/cap"
"$BIN" dump --url "$U" --out "$FIX/server-2.12"

# 2.9.10: bootstrap dies at the first KV bucket (see FINDINGS.md); dump what exists.
U=$(start_server "$S29" s29)
"$BIN" bootstrap --url "$U" --fleet newer || echo "(expected) bootstrap fails on 2.9.10"
"$BIN" dump --url "$U" --out "$FIX/server-2.9"

# 2.9.10: replay the exact captured async-nats CREATE bodies, dump.
U=$(start_server "$S29" s29r)
"$BIN" replay --url "$U" --out "$WORK/cap"
"$BIN" dump --url "$U" --out "$FIX/server-2.9-replay"

# 2.12.15: pre-#518 broker.
U=$(start_server "$S212" precap)
"$BIN" precap --url "$U" --fleet newer
"$BIN" dump --url "$U" --out "$FIX/precap-server-2.12"

# Request bodies (exact bytes) for one stream, one KV bucket, one object store.
mkdir -p "$FIX/requests/responses"
for f in "$WORK"/cap/*_STREAM.*.{EXEC,KV_schedules,OBJ_result_output}.json; do
  [ -e "$f" ] || continue
  case "$f" in *.response.json) continue ;; esac
  n=$(basename "$f"); n=${n#*_}
  cp "$f" "$FIX/requests/$n"
  r="${f%.json}.response.json"
  [ -e "$r" ] && cp "$r" "$FIX/requests/responses/$n"
done
echo "fixtures regenerated under $FIX"
