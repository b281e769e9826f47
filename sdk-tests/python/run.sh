#!/usr/bin/env bash
# Run the Strongroom Python SDK integration tests.
# The tests build the workspace's strongroom binary with cargo (STRONGROOM_BIN may name
# another one); extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt

set +e
"$VENV/bin/python" -m pytest "$@"
rc=$?
set -e
exit "$rc"
