#!/usr/bin/env bash
# Benchmarks N Strongroom nodes sharing one throwaway PostgreSQL (under with-postgres.sh):
#   scripts/with-postgres.sh scripts/bench-nodes.sh 2 [bench flags...]
# Builds the release binary, starts the nodes with a shared root key and certificate, runs
# `strongroom bench --servers ...` across them, and stops them.
set -euo pipefail
cd "$(dirname "$0")/.."
nodes=${1:-1}
shift || true
: "${STRONGROOM_TEST_POSTGRES_URL:?run under scripts/with-postgres.sh}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/strongroom/target}"
cargo build --release --locked -p strongroom -q
bin="$CARGO_TARGET_DIR/release/strongroom"
work=$(mktemp -d /tmp/strongroom-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

db="bench_$$"
psql -q "$STRONGROOM_TEST_POSTGRES_URL" -c "CREATE DATABASE $db"
export STRONGROOM_DATABASE_URL="${STRONGROOM_TEST_POSTGRES_URL%/*}/$db"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
first_port=$(port)
export STRONGROOM_PUBLIC_PORT=$first_port STRONGROOM_LOG=warn
servers=()
for i in $(seq 1 "$nodes"); do
    p=$first_port
    [ "$i" -gt 1 ] && p=$(port)
    extra=()
    if [ "$i" -gt 1 ]; then
        extra=(env STRONGROOM_ROOT_KEY_FILE="$work/n1/root.key" STRONGROOM_TLS_CERT_FILE="$work/n1/tls/server.pem" STRONGROOM_TLS_KEY_FILE="$work/n1/tls/server-key.pem")
    fi
    "${extra[@]}" "$bin" serve --data-dir "$work/n$i" --listen "127.0.0.1:$p" >"$work/n$i.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 200); do
        curl -sf --cacert "$work/n1/tls/ca.pem" "https://127.0.0.1:$p/readyz" >/dev/null 2>&1 && break
        sleep 0.1
    done
    servers+=("https://127.0.0.1:$p")
done
STRONGROOM_CREDENTIALS="$work/n1/admin-credentials.json" "$bin" bench --servers "$(IFS=,; echo "${servers[*]}")" "$@"
