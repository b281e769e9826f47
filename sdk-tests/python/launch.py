"""Starting and stopping a Strongroom server for a test suite, with the standard library only
(the Azure CLI suite runs in a venv of its own and imports this too)."""

from __future__ import annotations

import functools
import json
import os
import signal
import ssl
import subprocess
import time
import urllib.request
from typing import Callable

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@functools.lru_cache(maxsize=None)
def strongroom_binary() -> str:
    """The `strongroom` binary under test: `STRONGROOM_BIN` when set, else the workspace's own
    debug build, which cargo brings up to date and names (wherever its target directory is)."""
    binary = os.environ.get("STRONGROOM_BIN")
    if not binary:
        out = subprocess.run(
            ["cargo", "build", "--locked", "-p", "strongroom", "--bin", "strongroom", "--message-format=json"],
            cwd=REPO_ROOT,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout
        executables = [
            msg["executable"]
            for msg in (json.loads(line) for line in out.splitlines() if line.startswith("{"))
            if msg.get("reason") == "compiler-artifact"
            and msg.get("target", {}).get("name") == "strongroom"
            and msg.get("executable")
        ]
        if not executables:
            raise RuntimeError("cargo build named no strongroom executable")
        binary = executables[-1]
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        raise RuntimeError(f"Strongroom binary not found or not executable: {binary}")
    return binary


def wait_ready(
    process: subprocess.Popen,
    base_url: str,
    ca_file: str,
    credentials_file: str,
    log_tail: Callable[[], str],
    timeout: float = 90.0,
) -> None:
    """Waits until the server has written its CA and credentials and `/readyz` answers 200."""
    deadline = time.monotonic() + timeout
    last_error: object = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"strongroom serve exited early with {process.returncode}\nserver log:\n{log_tail()}")
        if os.path.exists(ca_file) and os.path.exists(credentials_file):
            try:
                context = ssl.create_default_context(cafile=ca_file)
                with urllib.request.urlopen(f"{base_url}/readyz", context=context, timeout=5) as resp:
                    if resp.status == 200:
                        return
                    last_error = f"status {resp.status}"
            except Exception as exc:  # noqa: BLE001 - keep polling until the deadline
                last_error = exc
        time.sleep(0.25)
    raise RuntimeError(f"server not ready after {timeout}s (last error: {last_error})\n{log_tail()}")


def stop(process: subprocess.Popen) -> int:
    """Stops the server with SIGTERM (SIGKILL after 15 s); its exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    return process.returncode
