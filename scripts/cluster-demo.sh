#!/usr/bin/env bash
# The README's "Several nodes on one PostgreSQL", done on one machine: `strongroom init` writes
# the shared files, a PostgreSQL role and database are created, three nodes start with the same
# configuration (each its own listen address and data directory), HAProxy balances them with
# active /readyz checks, and the README's Python example runs through the balancer; then one
# node is killed and the example runs again.
#
#   scripts/cluster-demo.sh          (starts a throwaway PostgreSQL with scripts/with-postgres.sh)
#
# Needs HAProxy and nginx (installed from Debian's packages when missing, as root; nginx only
# to check the README's block against Debian's configuration) and the Python venv of
# sdk-tests/python (made by its run.sh when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

if [ -z "${STRONGROOM_TEST_POSTGRES_URL:-}" ]; then
    exec scripts/with-postgres.sh "$0" "$@"
fi

need=()
command -v haproxy >/dev/null || need+=(haproxy)
command -v nginx >/dev/null || need+=(nginx)
[ -e /etc/nginx/modules-enabled/50-mod-stream.conf ] || need+=(libnginx-mod-stream)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    else
        echo "missing packages: ${need[*]} (apt-get install them, as root)" >&2
        exit 1
    fi
fi
command -v psql >/dev/null || { echo "psql is not installed (apt-get install postgresql-client)" >&2; exit 1; }

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/strongroom/target}"
cargo build --locked -q -p strongroom --bin strongroom
bin="$CARGO_TARGET_DIR/debug/strongroom"
python="$repo/sdk-tests/python/.venv/bin/python"
if [ ! -x "$python" ]; then
    sdk-tests/python/run.sh --co -q >/dev/null
fi

work=$(mktemp -d /tmp/strongroom-cluster.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "${keep:-}" != 1 ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
fail() {
    echo "cluster demo failed: $*" >&2
    for log in "$work"/*.log; do echo "--- $log" >&2; tail -n 20 "$log" >&2; done
    keep=1
    exit 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() { # url
    for _ in $(seq 1 300); do
        if curl -fsS --cacert "$work/shared/tls/ca.pem" "$1/readyz" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    fail "$1 did not become ready"
}

echo "== shared files (strongroom init)"
"$bin" init --dir "$work/shared" --dns-suffix strongroom.localhost >/dev/null

echo "== PostgreSQL role and database"
psql -q "$STRONGROOM_TEST_POSTGRES_URL" -c "CREATE ROLE strongroom LOGIN PASSWORD 'secret'"
psql -q "$STRONGROOM_TEST_POSTGRES_URL" -c "CREATE DATABASE strongroom OWNER strongroom"
pg_hostport=$(python3 -c 'import sys, urllib.parse as u; p=u.urlparse(sys.argv[1]); print(f"{p.hostname}:{p.port}")' "$STRONGROOM_TEST_POSTGRES_URL")

lb_port=$(free_port)
node_ports=("$(free_port)" "$(free_port)" "$(free_port)")
for i in 0 1 2; do
    cat >"$work/node$i.toml" <<EOF
database_url  = "postgres://strongroom:secret@$pg_hostport/strongroom"
root_key_file = "$work/shared/root.key"
tls_cert_file = "$work/shared/tls/server.pem"
tls_key_file  = "$work/shared/tls/server-key.pem"
tls_ca_file   = "$work/shared/tls/ca.pem"
dns_suffix    = "strongroom.localhost"
public_port   = $lb_port
listen        = "127.0.0.1:${node_ports[$i]}"
data_dir      = "$work/node$i"
EOF
done

echo "== three nodes"
# The first node's first start creates the default vault and the administrator; the others
# join the same database.
for i in 0 1 2; do
    NO_COLOR=1 "$bin" serve --config "$work/node$i.toml" >"$work/node$i.log" 2>&1 &
    pids+=($!)
    wait_ready "https://127.0.0.1:${node_ports[$i]}"
done
grep -q "vaults: *https://<name>.vault.strongroom.localhost:$lb_port" "$work/node1.log" \
    || fail "the banner does not print the public port"

readme_block() { # language: the README's first fenced block in it
    python3 - "$repo/README.md" "$1" <<'EOF'
import sys
text = open(sys.argv[1]).read()
fence = "```" + sys.argv[2] + "\n"
start = text.index(fence) + len(fence)
print(text[start:text.index("```", start)], end="")
EOF
}

echo "== the README's balancer blocks on Debian's stock configurations"
{ cat /etc/haproxy/haproxy.cfg; echo; readme_block haproxy | sed "s|/etc/strongroom/tls/ca.pem|$work/shared/tls/ca.pem|"; } >"$work/haproxy-debian.cfg"
haproxy -c -q -f "$work/haproxy-debian.cfg" || fail "the README's HAProxy block is not valid in Debian's haproxy.cfg"
{ cat /etc/nginx/nginx.conf; echo; readme_block nginx; } >"$work/nginx-debian.conf"
nginx -t -q -c "$work/nginx-debian.conf" || fail "the README's nginx block is not valid in Debian's nginx.conf"

# The nodes run without proxy_protocol (the demo also talks to each node directly), so the
# balancer runs the README's block without its PROXY protocol options; the server side of the
# protocol is tested in crates/strongroom-server/tests/api/proxy.rs.
echo "== HAProxy on 127.0.0.1:$lb_port, with the README's block"
{
    cat <<EOF
global
    maxconn 4096

defaults
    timeout connect 5s
    timeout client 50s
    timeout server 50s

EOF
    readme_block haproxy | sed \
        -e "s|bind :443|bind 127.0.0.1:$lb_port|" \
        -e "s|10.0.0.11:8443|127.0.0.1:${node_ports[0]}|" \
        -e "s|10.0.0.12:8443|127.0.0.1:${node_ports[1]}|" \
        -e "s|10.0.0.13:8443|127.0.0.1:${node_ports[2]}|" \
        -e "s|/etc/strongroom/tls/ca.pem|$work/shared/tls/ca.pem|" \
        -e "s|kms.example|strongroom.localhost|g" \
        -e "s|server node1 |server node0 |; s|server node2 |server node1 |; s|server node3 |server node2 |" \
        -e "s|send-proxy-v2 check-send-proxy ||"
} >"$work/haproxy.cfg"
haproxy -c -q -f "$work/haproxy.cfg" || fail "invalid HAProxy configuration"
haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
pids+=($!)
wait_ready "https://127.0.0.1:$lb_port"

echo "== the README's Python example through the balancer"
admin="$work/node0/admin-credentials.json"
[ -f "$admin" ] || fail "the first node wrote no administrator credentials"
cli() { "$bin" --credentials "$admin" "$@"; }
cli vault create --name myvault --sku premium --retention-days 7 >/dev/null
secret=$(cli identity create --name myapp --role "Key Vault Crypto Officer" --vault-name myvault | python3 -c 'import json,sys; print(json.load(sys.stdin)["env"]["IDENTITY_HEADER"])')
# The example as the README prints it, on the balancer's port.
python3 - "$repo/README.md" "$work/example.py" "$lb_port" <<'EOF'
import sys
readme, out, port = sys.argv[1:]
text = open(readme).read()
start = text.index("```python\n") + len("```python\n")
code = text[start:text.index("```", start)]
assert "myvault.vault.strongroom.localhost:8443" in code
open(out, "w").write(code.replace(":8443", f":{port}"))
EOF
run_example() {
    IDENTITY_ENDPOINT="https://127.0.0.1:$lb_port/msi/token" \
    IDENTITY_HEADER="$secret" \
    AZURE_TOKEN_CREDENTIALS=ManagedIdentityCredential \
    REQUESTS_CA_BUNDLE="$work/shared/tls/ca.pem" \
    SSL_CERT_FILE="$work/shared/tls/ca.pem" \
    PYTHONPATH="$repo/sdk-tests/resolver" \
        "$python" "$work/example.py" >"$work/example.out" 2>&1 || { cat "$work/example.out" >&2; fail "the example failed"; }
    sed 's/^/    /' "$work/example.out"
    grep -q "^signature verified: True$" "$work/example.out" || fail "the example did not verify its signature"
}
run_example

echo "== node1 killed: the balancer takes it out, the example runs again"
{ kill -9 "${pids[1]}" && wait "${pids[1]}"; } 2>/dev/null || true
for _ in $(seq 1 100); do
    grep -q "node1 is DOWN" "$work/haproxy.log" && break
    sleep 0.1
done
grep -q "node1 is DOWN" "$work/haproxy.log" || fail "HAProxy's /readyz check did not take node1 out"
run_example

# Every node sees the keys created through the balancer: list them on each node directly.
for i in 0 2; do
    creds="$work/node$i-admin.json"
    python3 - "$admin" "$creds" "${node_ports[$i]}" <<'EOF'
import json, sys
src, dst, port = sys.argv[1:]
doc = json.load(open(src))
doc["server_url"] = f"https://127.0.0.1:{port}"
json.dump(doc, open(dst, "w"))
EOF
    versions=$("$bin" --credentials "$creds" key list-versions --vault-name myvault -n signing-key \
        | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["value"]))')
    [ "$versions" = 2 ] || fail "node$i lists $versions versions of signing-key, not 2"
done
echo "cluster demo passed: three nodes, HAProxy with /readyz checks, the example before and after a node died"
