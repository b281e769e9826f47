#!/usr/bin/env bash
# Runs Strongroom's whole test suite: formatting and lints, unit and integration tests of
# every crate, a smoke run of every fuzz target, and the official Azure SDK suites against a
# real server.
# Installs what it needs: Debian packages (as root, when missing) and a Python venv.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/strongroom/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

need_apt=()
command -v python3 >/dev/null || need_apt+=(python3 python3-venv python3-pip)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
command -v cc >/dev/null || need_apt+=(build-essential)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need_apt+=(postgresql)
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt-get install -y -qq "${need_apt[@]}"
    else
        echo "missing packages: ${need_apt[*]} (run as root to install them)" >&2
        exit 1
    fi
fi

echo "== cargo fmt"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings
echo "== cargo build"
cargo build --locked --workspace --bins
# The tests run with a throwaway PostgreSQL cluster, so the storage conformance suite, the
# crash test and the multi-node tests cover both backends.
echo "== cargo test (SQLite and PostgreSQL)"
if cargo nextest --version >/dev/null 2>&1; then
    scripts/with-postgres.sh cargo nextest run --locked --workspace --no-fail-fast
else
    scripts/with-postgres.sh cargo test --locked --workspace --no-fail-fast
fi
echo "== fuzz (each target of fuzz/ for a few seconds)"
scripts/fuzz-smoke.sh
echo "== sdk-tests/python"
scripts/with-postgres.sh sdk-tests/python/run.sh -q
echo "== sdk-tests/azure-cli"
sdk-tests/azure-cli/run.sh -q
echo "== scripts/cluster-demo.sh (three nodes behind HAProxy)"
scripts/cluster-demo.sh
