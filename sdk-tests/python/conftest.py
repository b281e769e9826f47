"""Session fixtures for the Strongroom Python SDK integration suite.

One Strongroom server is started per test session. Vaults, a managed HSM pool
and a managed identity are created through the `strongroom` CLI, and every SDK
client authenticates with an unmodified `DefaultAzureCredential()` that picks
up the App Service managed-identity environment variables.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Dict, Optional

import pytest

from helpers import (
    DNS_SUFFIX,
    HSM_POOL,
    IDENTITY_NAME,
    PAGING_VAULT,
    PREMIUM_VAULT,
    PROTECTED_VAULT,
    RETENTION_DAYS,
    STANDARD_VAULT,
    strongroom_binary,
)
from launch import stop, wait_ready



# ---------------------------------------------------------------------------
# Name resolution: *.strongroom.localhost -> 127.0.0.1, in-process.
# requests/urllib3 call socket.getaddrinfo directly; aiohttp's default
# ThreadedResolver calls loop.getaddrinfo, which calls socket.getaddrinfo.
# ---------------------------------------------------------------------------
_real_getaddrinfo = socket.getaddrinfo


def _is_strongroom_host(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "ignore")
    if not isinstance(host, str):
        return False
    h = host.rstrip(".").lower()
    return h == DNS_SUFFIX or h.endswith("." + DNS_SUFFIX)


def _strongroom_getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002
    if _is_strongroom_host(host):
        return _real_getaddrinfo("127.0.0.1", port, socket.AF_INET, type, proto, flags)
    return _real_getaddrinfo(host, port, family, type, proto, flags)


socket.getaddrinfo = _strongroom_getaddrinfo


# ---------------------------------------------------------------------------
# Server handle
# ---------------------------------------------------------------------------
@dataclass
class StrongroomServer:
    binary: str
    data_dir: str
    port: int
    process: subprocess.Popen
    log_path: str
    credentials_path: str = ""
    credentials: Dict[str, str] = field(default_factory=dict)
    identity: Dict = field(default_factory=dict)
    credentials_mode: int = 0

    @property
    def ca_file(self) -> str:
        return self.credentials.get("ca_file") or os.path.join(self.data_dir, "tls", "ca.pem")

    @property
    def bare_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def vault_url(self, name: str) -> str:
        return f"https://{name}.vault.{DNS_SUFFIX}:{self.port}"

    def hsm_url(self, name: str) -> str:
        return f"https://{name}.managedhsm.{DNS_SUFFIX}:{self.port}"

    def log_tail(self, lines: int = 200) -> str:
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError as exc:
            return f"<server log unavailable: {exc}>"

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        cmd = [self.binary, "--credentials", self.credentials_path, *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(
                f"CLI failed ({proc.returncode}): {' '.join(cmd)}\n"
                f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}\n"
                f"server log (tail):\n{self.log_tail(80)}"
            )
        return proc


_SERVER: Optional[StrongroomServer] = None
_KEEP_DATA_DIR = False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(server: StrongroomServer) -> None:
    wait_ready(
        server.process,
        server.bare_url,
        os.path.join(server.data_dir, "tls", "ca.pem"),
        os.path.join(server.data_dir, "admin-credentials.json"),
        server.log_tail,
    )


def _stop(server: StrongroomServer) -> None:
    stop(server.process)


@pytest.fixture(scope="session")
def server():
    global _SERVER, _KEEP_DATA_DIR
    binary = strongroom_binary()

    data_dir = tempfile.mkdtemp(prefix="strongroom-pysdk-")
    port = _free_port()
    log_path = os.path.join(data_dir, "server.log")
    env = dict(os.environ)
    env["STRONGROOM_SCHEDULER_INTERVAL_SECS"] = "1"
    env.setdefault("RUST_LOG", "info")
    env.setdefault("NO_COLOR", "1")
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [binary, "serve", "--data-dir", data_dir, "--listen", f"127.0.0.1:{port}"],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    log.close()
    srv = StrongroomServer(binary=binary, data_dir=data_dir, port=port, process=proc, log_path=log_path)
    _SERVER = srv
    try:
        _wait_ready(srv)
        srv.credentials_path = os.path.join(data_dir, "admin-credentials.json")
        srv.credentials_mode = os.stat(srv.credentials_path).st_mode & 0o777
        with open(srv.credentials_path) as f:
            srv.credentials = json.load(f)

        rd = str(RETENTION_DAYS)
        srv.cli("vault", "create", "--name", PREMIUM_VAULT, "--sku", "premium", "--retention-days", rd)
        srv.cli("vault", "create", "--name", STANDARD_VAULT, "--sku", "standard", "--retention-days", rd)
        srv.cli("vault", "create", "--name", PAGING_VAULT, "--sku", "premium", "--retention-days", rd)
        srv.cli(
            "vault", "create", "--name", PROTECTED_VAULT, "--sku", "premium", "--retention-days", rd,
            "--purge-protection",
        )
        srv.cli("hsm", "create", "--name", HSM_POOL, "--retention-days", rd)
        out = srv.cli("identity", "create", "--name", IDENTITY_NAME, "--output", "json").stdout
        try:
            srv.identity = json.loads(out)
        except json.JSONDecodeError as exc:
            raise RuntimeError(f"identity create did not print JSON: {exc}\n{out}") from exc

        # The workload holds the roles the suite needs, given as a user would give them:
        # Crypto Officer on every vault, Crypto User and Crypto Officer on the pool.
        oid = srv.identity["object_id"]
        for vault in (PREMIUM_VAULT, STANDARD_VAULT, PAGING_VAULT, PROTECTED_VAULT, "default"):
            srv.cli("role", "assignment", "create", "--vault-name", vault, "--role", "Key Vault Crypto Officer",
                    "--assignee-object-id", oid, "--scope", "/")
        for role in ("Managed HSM Crypto User", "Managed HSM Crypto Officer"):
            srv.cli("role", "assignment", "create", "--hsm-name", HSM_POOL, "--role", role,
                    "--assignee-object-id", oid, "--scope", "/")

        ident_env = srv.identity.get("env") or {}
        for var in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER"):
            if var not in ident_env:
                raise RuntimeError(f"identity create output lacks env.{var}: {out}")
        os.environ["IDENTITY_ENDPOINT"] = ident_env["IDENTITY_ENDPOINT"]
        os.environ["IDENTITY_HEADER"] = ident_env["IDENTITY_HEADER"]
        os.environ["REQUESTS_CA_BUNDLE"] = srv.ca_file
        os.environ["SSL_CERT_FILE"] = srv.ca_file
        os.environ["AZURE_TOKEN_CREDENTIALS"] = "ManagedIdentityCredential"
        for var in ("IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET",
                    "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE",
                    "AZURE_POD_IDENTITY_AUTHORITY_HOST", "AZURE_AUTHORITY_HOST"):
            os.environ.pop(var, None)
        # aiohttp builds its default verified SSL context when it is first
        # imported; it must see SSL_CERT_FILE. If something imported it
        # earlier, teach that context the CA as well.
        if "aiohttp.connector" in sys.modules:
            sys.modules["aiohttp.connector"]._SSL_CONTEXT_VERIFIED.load_verify_locations(cafile=srv.ca_file)
    except BaseException:
        _KEEP_DATA_DIR = True
        _stop(srv)
        raise

    yield srv

    _stop(srv)
    if not _KEEP_DATA_DIR:
        shutil.rmtree(data_dir, ignore_errors=True)


# ---------------------------------------------------------------------------
# Credentials and clients
# ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def credential(server):
    from azure.identity import DefaultAzureCredential

    cred = DefaultAzureCredential()
    yield cred
    cred.close()


def _key_client(url: str, credential):
    from azure.keyvault.keys import KeyClient

    return KeyClient(url, credential)


@pytest.fixture(scope="session")
def premium_url(server) -> str:
    return server.vault_url(PREMIUM_VAULT)


@pytest.fixture(scope="session")
def standard_url(server) -> str:
    return server.vault_url(STANDARD_VAULT)


@pytest.fixture(scope="session")
def protected_url(server) -> str:
    return server.vault_url(PROTECTED_VAULT)


@pytest.fixture(scope="session")
def paging_url(server) -> str:
    return server.vault_url(PAGING_VAULT)


@pytest.fixture(scope="session")
def hsm_url(server) -> str:
    return server.hsm_url(HSM_POOL)


@pytest.fixture(scope="session")
def premium(premium_url, credential):
    with _key_client(premium_url, credential) as c:
        yield c


@pytest.fixture(scope="session")
def standard(standard_url, credential):
    with _key_client(standard_url, credential) as c:
        yield c


@pytest.fixture(scope="session")
def protected(protected_url, credential):
    with _key_client(protected_url, credential) as c:
        yield c


@pytest.fixture(scope="session")
def paging(paging_url, credential):
    with _key_client(paging_url, credential) as c:
        yield c


@pytest.fixture(scope="session")
def hsm(hsm_url, credential):
    with _key_client(hsm_url, credential) as c:
        yield c


# ---------------------------------------------------------------------------
# Failure reporting: print the server log when anything failed.
# ---------------------------------------------------------------------------
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    global _KEEP_DATA_DIR
    failed = terminalreporter.stats.get("failed", []) + terminalreporter.stats.get("error", [])
    if not failed or _SERVER is None:
        return
    _KEEP_DATA_DIR = True
    terminalreporter.section("strongroom server log (tail)")
    terminalreporter.write_line(f"data dir kept at {_SERVER.data_dir}")
    terminalreporter.write(_SERVER.log_tail(int(os.environ.get("STRONGROOM_LOG_LINES", "300"))))


def pytest_runtest_makereport(item, call):
    if call.excinfo is not None and call.when in ("setup", "call"):
        global _KEEP_DATA_DIR
        _KEEP_DATA_DIR = True
