"""Session fixtures for the Azure CLI end-to-end suite.

One Strongroom server is started per test session, with a vault and an identity made by the
`strongroom` CLI. The unmodified `az` of this venv then talks to it: a cloud named Strongroom
points every Azure endpoint at the server, and each test works in its own Azure CLI profile
(an AZURE_CONFIG_DIR of its own), so logging in or out in one test never affects another.
`az` resolves Strongroom's host names with sdk-tests/resolver/sitecustomize.py on its
PYTHONPATH, because system resolvers do not all resolve names under `.localhost`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from launch import REPO_ROOT, stop, strongroom_binary, wait_ready  # noqa: E402

RESOLVER_DIR = os.path.join(REPO_ROOT, "sdk-tests", "resolver")
# pytest runs with the azure-cli venv's python (run.sh), so its `az` sits next to it.
AZ = os.path.join(os.path.dirname(sys.executable), "az")

CLOUD = "Strongroom"
DNS_SUFFIX = "strongroom.localhost"
VAULT = "clivault"
IDENTITY_NAME = "azcli"
RETENTION_DAYS = 7

# Variables of the caller's environment that would change what `az` does: other Azure
# settings, other managed-identity endpoints and proxies (the suite talks to 127.0.0.1 only).
_DROPPED_PREFIXES = ("AZURE_", "IDENTITY_", "MSI_", "IMDS_")
_DROPPED = {"http_proxy", "https_proxy", "all_proxy", "no_proxy", "requests_ca_bundle", "ssl_cert_file",
            "curl_ca_bundle", "pythonpath", "pythonhome", "pythonstartup"}


# ---------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------
@dataclass
class Server:
    binary: str
    root: str
    port: int
    process: subprocess.Popen
    credentials: Dict[str, Any] = field(default_factory=dict)
    identity: Dict[str, Any] = field(default_factory=dict)

    @property
    def data_dir(self) -> str:
        return os.path.join(self.root, "data")

    @property
    def log_path(self) -> str:
        return os.path.join(self.root, "server.log")

    @property
    def credentials_path(self) -> str:
        return os.path.join(self.data_dir, "admin-credentials.json")

    @property
    def ca_file(self) -> str:
        return os.path.join(self.data_dir, "tls", "ca.pem")

    @property
    def base_url(self) -> str:
        """The bare host: the default vault and the token service."""
        return f"https://127.0.0.1:{self.port}"

    @property
    def keyvault_dns_suffix(self) -> str:
        """What the Azure CLI appends to `--vault-name` to make a vault URL."""
        return f".vault.{DNS_SUFFIX}:{self.port}"

    def vault_url(self, name: str) -> str:
        return f"https://{name}{self.keyvault_dns_suffix}"

    def log_tail(self, lines: int = 200) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError as exc:
            return f"<server log unavailable: {exc}>"

    def cli(self, *args: str) -> Dict[str, Any]:
        """Run the strongroom CLI as the administrator; its JSON output."""
        cmd = [self.binary, "--credentials", self.credentials_path, *args, "--output", "json"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return json.loads(proc.stdout)

    def get_json(self, path: str, token: Optional[str] = None) -> Any:
        """GET a path of the bare host; its JSON body."""
        request = urllib.request.Request(self.base_url + path)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        context = ssl.create_default_context(cafile=self.ca_file)
        with urllib.request.urlopen(request, context=context, timeout=10) as resp:
            return json.load(resp)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(server: Server) -> None:
    wait_ready(server.process, server.base_url, server.ca_file, server.credentials_path, server.log_tail)


def _stop(server: Server) -> int:
    return stop(server.process)


_SERVER: Optional[Server] = None
_KEEP = False


@pytest.fixture(scope="session")
def server():
    global _SERVER, _KEEP
    binary = strongroom_binary()
    root = tempfile.mkdtemp(prefix="strongroom-azcli-")
    port = _free_port()
    env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "info"), NO_COLOR="1")
    with open(os.path.join(root, "server.log"), "wb") as log:
        proc = subprocess.Popen(
            [binary, "serve", "--data-dir", os.path.join(root, "data"), "--listen", f"127.0.0.1:{port}"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
        )
    srv = Server(binary=binary, root=root, port=port, process=proc)
    _SERVER = srv
    try:
        _wait_ready(srv)
        with open(srv.credentials_path) as f:
            srv.credentials = json.load(f)
        srv.cli("vault", "create", "--name", VAULT, "--sku", "premium", "--retention-days", str(RETENTION_DAYS))
        srv.identity = srv.cli("identity", "create", "--name", IDENTITY_NAME)
        # The identity holds the keys role of the vault, given as a user gives it.
        srv.cli("role", "assignment", "create", "--vault-name", VAULT, "--role", "Key Vault Crypto Officer",
                "--assignee-object-id", srv.identity["object_id"], "--scope", "/")
        for key in ("client_id", "client_secret", "tenant_id"):
            if not srv.identity.get(key):
                raise RuntimeError(f"identity create printed no {key}: {srv.identity}")
    except BaseException:
        _KEEP = True
        _stop(srv)
        raise

    yield srv

    rc = _stop(srv)
    if rc != 0:
        _KEEP = True
        raise RuntimeError(f"strongroom serve exited {rc} on SIGTERM\n{srv.log_tail()}")
    if not _KEEP:
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------------
# The Azure CLI
# ---------------------------------------------------------------------------
class AzError(AssertionError):
    pass


@dataclass
class Az:
    """The Azure CLI with one profile (AZURE_CONFIG_DIR) and one environment."""

    config_dir: str
    env: Dict[str, str] = field(repr=False)  # holds the identity's secret

    def run(self, *args: str, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
        full_env = dict(self.env, AZURE_CONFIG_DIR=self.config_dir, **(env or {}))
        return subprocess.run([AZ, *args], capture_output=True, text=True, env=full_env,
                              stdin=subprocess.DEVNULL, timeout=120)

    def __call__(self, *args: str, env: Optional[Dict[str, str]] = None) -> Any:
        """Run `az ARGS --output json`; its parsed output (None when it prints nothing).
        A nonzero exit fails the test with az's stderr."""
        proc = self.run(*args, "--output", "json", env=env)
        if proc.returncode != 0:
            raise AzError(f"az {' '.join(args)} exited {proc.returncode}\nstderr:\n{proc.stderr}\nstdout:\n{proc.stdout}")
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    def fails(self, *args: str, env: Optional[Dict[str, str]] = None) -> str:
        """Run `az ARGS`, which must exit nonzero; its stderr."""
        proc = self.run(*args, "--output", "json", env=env)
        assert proc.returncode != 0, f"az {' '.join(args)} succeeded:\n{proc.stdout}"
        return proc.stderr


def az_environment(server: Server) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(_DROPPED_PREFIXES) and k.lower() not in _DROPPED}
    env.update(
        PYTHONPATH=RESOLVER_DIR,
        REQUESTS_CA_BUNDLE=server.ca_file,
        AZURE_CORE_COLLECT_TELEMETRY="false",
        AZURE_CORE_NO_COLOR="true",
        AZURE_CORE_ONLY_SHOW_ERRORS="true",
        AZURE_CORE_SURVEY_MESSAGE="false",
        AZURE_CORE_ERROR_RECOMMENDATION="off",
        AZURE_CORE_DISABLE_CONFIRM_PROMPT="true",
        AZURE_EXTENSION_USE_DYNAMIC_INSTALL="no",
        # MSAL would otherwise ask login.microsoftonline.com whether the authority is known.
        AZURE_CORE_INSTANCE_DISCOVERY="false",
        # The App Service managed-identity endpoint `az login --identity` uses.
        IDENTITY_ENDPOINT=f"{server.base_url}/msi/token",
        IDENTITY_HEADER=server.identity["client_secret"],
    )
    return env


def _profile_dir(server: Server, name: str) -> str:
    """A new AZURE_CONFIG_DIR next to the server's data, removed with it."""
    return tempfile.mkdtemp(prefix=f"{name}-", dir=os.path.join(server.root, "az"))


@pytest.fixture(scope="session")
def cloud_profile(server) -> str:
    """A profile with the Strongroom cloud registered and selected, and nobody logged in."""
    os.makedirs(os.path.join(server.root, "az"), exist_ok=True)
    config_dir = _profile_dir(server, "cloud")
    az = Az(config_dir, az_environment(server))
    b = server.base_url
    az("cloud", "register", "--name", CLOUD,
       "--endpoint-resource-manager", f"{b}/",
       "--endpoint-active-directory", b,
       "--endpoint-active-directory-resource-id", f"{b}/",
       "--endpoint-active-directory-graph-resource-id", f"{b}/",
       "--endpoint-management", f"{b}/",
       "--suffix-keyvault-dns", server.keyvault_dns_suffix,
       "--skip-endpoint-discovery")
    az("cloud", "set", "--name", CLOUD)
    return config_dir


@pytest.fixture
def new_az(server, cloud_profile):
    """Makes a fresh profile on the Strongroom cloud, logged out."""
    def make() -> Az:
        config_dir = _profile_dir(server, "profile")
        shutil.copytree(cloud_profile, config_dir, dirs_exist_ok=True)
        return Az(config_dir, az_environment(server))
    return make


@pytest.fixture(scope="session")
def mi_az(server, cloud_profile):
    """A profile logged in with the identity's managed-identity endpoint; the login output."""
    config_dir = _profile_dir(server, "mi")
    shutil.copytree(cloud_profile, config_dir, dirs_exist_ok=True)
    az = Az(config_dir, az_environment(server))
    login = az("login", "--identity")
    return az, login


@pytest.fixture(scope="session")
def az(mi_az) -> Az:
    return mi_az[0]


# ---------------------------------------------------------------------------
# Failure reporting: print the server log when anything failed.
# ---------------------------------------------------------------------------
def pytest_runtest_makereport(item, call):
    global _KEEP
    if call.excinfo is not None and call.when in ("setup", "call"):
        _KEEP = True


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    failed = terminalreporter.stats.get("failed", []) + terminalreporter.stats.get("error", [])
    if not failed or _SERVER is None:
        return
    terminalreporter.section("strongroom server log (tail)")
    terminalreporter.write_line(f"kept at {_SERVER.root}")
    terminalreporter.write(_SERVER.log_tail(int(os.environ.get("STRONGROOM_LOG_LINES", "200"))))
