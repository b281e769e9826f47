#!/usr/bin/env bash
# Run the Azure CLI end-to-end tests: the unmodified `az` (azure-cli, pinned below) drives a
# real Strongroom server. The venv lives outside the clone, in
# ${STRONGROOM_CACHE:-$HOME/.cache/strongroom}/azure-cli-venv, and is reused while it holds
# the pinned version. The tests build the workspace's strongroom binary with cargo
# (STRONGROOM_BIN may name another one); extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"

AZURE_CLI_VERSION=2.91.0
CACHE="${STRONGROOM_CACHE:-$HOME/.cache/strongroom}"
VENV="$CACHE/azure-cli-venv"
MARKER="$VENV/.strongroom-azure-cli-$AZURE_CLI_VERSION"

installed_version() {
    "$VENV/bin/python" -m pip show azure-cli 2>/dev/null | sed -n 's/^Version: //p'
}

if [ ! -f "$MARKER" ] || [ ! -x "$VENV/bin/az" ] || [ "$(installed_version)" != "$AZURE_CLI_VERSION" ]; then
    echo "Installing azure-cli==$AZURE_CLI_VERSION into $VENV (about 730 MB; takes a few minutes, once)..."
    mkdir -p "$CACHE"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "azure-cli==$AZURE_CLI_VERSION" pytest
    "$VENV/bin/az" version --output json >/dev/null
    touch "$MARKER"
    echo "azure-cli installed."
fi

set +e
"$VENV/bin/python" -m pytest "$@"
rc=$?
set -e
exit "$rc"
