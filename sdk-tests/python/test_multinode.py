"""Multi-node deployment: three Strongroom nodes sharing one PostgreSQL database.

The nodes share the database, the root key, the TLS certificate and the public
port (the token issuer names it, so a token from any node verifies on every
node). Every node is addressed with its own vault URL through the official
KeyClient/CryptographyClient and an unmodified DefaultAzureCredential.

The module is skipped unless STRONGROOM_TEST_POSTGRES_URL names a PostgreSQL
server (scripts/with-postgres.sh provides a throwaway one):

    scripts/with-postgres.sh sdk-tests/python/run.sh -q -k multinode

The lease takeover test kills one node, so it runs last.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Dict, List, Optional

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from helpers import (
    DNS_SUFFIX,
    RETENTION_DAYS,
    digest_for,
    ec_public_key,
    raw_ecdsa_to_der,
    strongroom_binary,
    unique,
)

PG_URL = os.environ.get("STRONGROOM_TEST_POSTGRES_URL", "")

pytestmark = pytest.mark.skipif(
    not PG_URL, reason="multi-node tests need PostgreSQL (set STRONGROOM_TEST_POSTGRES_URL, see scripts/with-postgres.sh)"
)

VAULT = "multi-vault"
IDENTITY = "multiapp"
NODE_COUNT = 3
# Contract: a change through any node takes effect on every node within this bound.
PROPAGATION_BOUND = 1.0
# Extra time allowed when a check only needs the nodes to converge (the bound
# itself is measured by test_change_propagates).
CONVERGE_TIMEOUT = PROPAGATION_BOUND + 1.0
SCHEDULER_INTERVAL_SECS = 1
SCHEDULER_LEASE_SECS = 3
PURGE_LOG_LINE = "purged deleted key at the end of its retention period"

# Lines written to the terminal when the module finishes (measured bounds, race outcomes).
_REPORT: List[str] = []


def _report(line: str) -> None:
    print(line)
    _REPORT.append(line)


# ---------------------------------------------------------------------------
# Processes, PostgreSQL and HTTP plumbing
# ---------------------------------------------------------------------------
def _free_ports(count: int) -> List[int]:
    socks, ports = [], []
    try:
        while len(ports) < count:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def psql(url: str, sql: str) -> str:
    """Runs one SQL command with psql and returns its unaligned, tuples-only output."""
    proc = subprocess.run(
        ["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-A", "-t", "-c", sql],
        capture_output=True,
        text=True,
        timeout=30,
        env=dict(os.environ, PGCONNECT_TIMEOUT="10"),
    )
    if proc.returncode != 0:
        raise RuntimeError(f"psql failed ({proc.returncode}) on {sql!r}:\n{proc.stdout}{proc.stderr}")
    return proc.stdout.strip()


def _with_database(url: str, database: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + database))


def _node_env(extra: Dict[str, str]) -> Dict[str, str]:
    """The environment of a node or CLI process: inherited, minus any Strongroom or Azure identity setting."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("STRONGROOM_", "IDENTITY_", "AZURE_", "MSI_", "IMDS_"))
    }
    env["NO_COLOR"] = "1"
    env["RUST_LOG"] = "info"
    env.update(extra)
    return env


@dataclass
class Node:
    index: int
    port: int
    data_dir: str
    log_path: str
    process: subprocess.Popen
    node_id: str = ""

    @property
    def name(self) -> str:
        return f"node{self.index}"

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    @property
    def bare_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def vault_url(self, vault: str = VAULT) -> str:
        return f"https://{vault}.vault.{DNS_SUFFIX}:{self.port}"

    def log_text(self) -> str:
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except OSError as exc:
            return f"<log unavailable: {exc}>"

    def log_tail(self, lines: int = 150) -> str:
        return "".join(self.log_text().splitlines(keepends=True)[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _get_json(url: str, ca_file: str, timeout: float = 5) -> dict:
    ctx = ssl.create_default_context(cafile=ca_file)
    with urllib.request.urlopen(url, context=ctx, timeout=timeout) as resp:
        return json.loads(resp.read())


def _wait_ready(node: Node, ca_file: str, need_credentials: bool, timeout: float = 90.0) -> None:
    creds = os.path.join(node.data_dir, "admin-credentials.json")
    deadline = time.monotonic() + timeout
    last_err: object = None
    while time.monotonic() < deadline:
        if not node.alive:
            raise RuntimeError(
                f"{node.name} exited early with {node.process.returncode}\nlog:\n{node.log_tail()}"
            )
        if os.path.exists(ca_file) and (not need_credentials or os.path.exists(creds)):
            try:
                ctx = ssl.create_default_context(cafile=ca_file)
                with urllib.request.urlopen(f"{node.bare_url}/readyz", context=ctx, timeout=5) as resp:
                    if resp.status == 200:
                        return
                    last_err = f"status {resp.status}"
            except Exception as exc:  # noqa: BLE001 - keep polling until the deadline
                last_err = exc
        time.sleep(0.2)
    raise RuntimeError(f"{node.name} not ready after {timeout}s (last error: {last_err})\nlog:\n{node.log_tail()}")


@dataclass
class Cluster:
    binary: str
    base_dir: str
    db_url: str
    nodes: List[Node]
    credentials_path: str = ""
    identity: Dict = field(default_factory=dict)
    credential: object = None
    clients: List[object] = field(default_factory=list)

    @property
    def ca_file(self) -> str:
        return os.path.join(self.nodes[0].data_dir, "tls", "ca.pem")

    @property
    def live(self) -> List[Node]:
        return [n for n in self.nodes if n.alive]

    def client(self, node: Node):
        return self.clients[node.index - 1]

    def crypto(self, node: Node, key):
        """A CryptographyClient for `key` addressed through `node`."""
        from azure.keyvault.keys.crypto import CryptographyClient

        return CryptographyClient(
            f"{node.vault_url()}/keys/{key.name}/{key.properties.version}", self.credential
        )

    def psql(self, sql: str) -> str:
        return psql(self.db_url, sql)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        cmd = [self.binary, "--credentials", self.credentials_path, *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=_node_env({}))
        if proc.returncode != 0:
            raise RuntimeError(
                f"CLI failed ({proc.returncode}): {' '.join(cmd)}\nstdout:\n{proc.stdout}\n"
                f"stderr:\n{proc.stderr}\n{self.logs(80)}"
            )
        return proc

    def logs(self, lines: int = 150) -> str:
        return "\n".join(
            f"----- {n.name} (port {n.port}, node_id {n.node_id or '?'}, "
            f"{'running' if n.alive else f'exited {n.process.returncode}'}) -----\n{n.log_tail(lines)}"
            for n in self.nodes
        )

    def lease(self) -> Optional[tuple]:
        out = self.psql("SELECT holder, expires FROM leases WHERE name = 'scheduler'")
        if not out:
            return None
        holder, expires = out.split("|")
        return holder, int(expires)

    def node_by_id(self, node_id: str) -> Optional[Node]:
        matches = [n for n in self.nodes if n.node_id == node_id]
        return matches[0] if matches else None


def _start_node(binary: str, base_dir: str, index: int, port: int, env: Dict[str, str]) -> Node:
    data_dir = os.path.join(base_dir, f"node{index}")
    os.makedirs(data_dir, exist_ok=True)
    log_path = os.path.join(base_dir, f"node{index}.log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [binary, "serve", "--data-dir", data_dir, "--listen", f"127.0.0.1:{port}"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    return Node(index=index, port=port, data_dir=data_dir, log_path=log_path, process=proc)


_CLIENT_ENV = (
    "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "AZURE_TOKEN_CREDENTIALS",
    "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET", "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    "AZURE_AUTHORITY_HOST",
)


def _open_clients(cluster: Cluster, identity_endpoint: str) -> None:
    """(Re)creates the credential and one KeyClient per node; the managed-identity endpoint is `identity_endpoint`."""
    from azure.identity import DefaultAzureCredential
    from azure.keyvault.keys import KeyClient

    _close_clients(cluster)
    os.environ["IDENTITY_ENDPOINT"] = identity_endpoint
    cluster.credential = DefaultAzureCredential()
    cluster.clients = [KeyClient(n.vault_url(), cluster.credential) for n in cluster.nodes]
    # Take the challenge and a token for every live node now, so that races start together.
    for node in cluster.live:
        with pytest.raises(ResourceNotFoundError):
            cluster.client(node).get_key("warm-up-" + uuid.uuid4().hex[:8])


def _close_clients(cluster: Cluster) -> None:
    for c in cluster.clients:
        c.close()
    cluster.clients = []
    if cluster.credential is not None:
        cluster.credential.close()
        cluster.credential = None


@contextlib.contextmanager
def _terminal(config):
    """The terminal reporter, with output capture suspended (module teardown output is otherwise swallowed)."""
    tr = config.pluginmanager.get_plugin("terminalreporter")
    capman = config.pluginmanager.get_plugin("capturemanager")
    if capman is None:
        yield tr
        return
    with capman.global_and_fixture_disabled():
        if tr is not None:
            tr.write_line("")
        yield tr


@pytest.fixture(scope="module")
def cluster(request):
    binary = strongroom_binary()

    failed_before = request.session.testsfailed
    base_dir = tempfile.mkdtemp(prefix="strongroom-multinode-")
    db_name = "mn_" + uuid.uuid4().hex[:12]
    psql(PG_URL, f"CREATE DATABASE {db_name}")
    db_url = _with_database(PG_URL, db_name)
    saved_env = {k: os.environ.get(k) for k in _CLIENT_ENV}
    cluster = Cluster(binary=binary, base_dir=base_dir, db_url=db_url, nodes=[])
    keep = False
    try:
        ports = _free_ports(NODE_COUNT)
        d1 = os.path.join(base_dir, "node1")
        shared = {
            "STRONGROOM_DATABASE_URL": db_url,
            "STRONGROOM_ROOT_KEY_FILE": os.path.join(d1, "root.key"),
            "STRONGROOM_PUBLIC_PORT": str(ports[0]),
            "STRONGROOM_SCHEDULER_INTERVAL_SECS": str(SCHEDULER_INTERVAL_SECS),
            "STRONGROOM_SCHEDULER_LEASE_SECS": str(SCHEDULER_LEASE_SECS),
            "STRONGROOM_LOG": "info",
        }
        first = _start_node(binary, base_dir, 1, ports[0], _node_env(shared))
        cluster.nodes.append(first)
        _wait_ready(first, cluster.ca_file, need_credentials=True)

        tls = os.path.join(d1, "tls")
        joined = dict(
            shared,
            STRONGROOM_TLS_CERT_FILE=os.path.join(tls, "server.pem"),
            STRONGROOM_TLS_KEY_FILE=os.path.join(tls, "server-key.pem"),
        )
        for i in range(2, NODE_COUNT + 1):
            cluster.nodes.append(_start_node(binary, base_dir, i, ports[i - 1], _node_env(joined)))
        for node in cluster.nodes[1:]:
            _wait_ready(node, cluster.ca_file, need_credentials=False)
        for node in cluster.nodes:
            info = _get_json(f"{node.bare_url}/strongroom/v1/info", cluster.ca_file)
            assert info.get("node_id"), f"{node.name}: /strongroom/v1/info lacks node_id: {info}"
            node.node_id = str(info["node_id"])
        ids = [n.node_id for n in cluster.nodes]
        assert len(set(ids)) == NODE_COUNT, f"node ids are not distinct: {ids}"
        for node in cluster.nodes[1:]:
            assert not os.path.exists(os.path.join(node.data_dir, "admin-credentials.json")), (
                f"{node.name} joined an existing deployment but wrote admin credentials"
            )

        cluster.credentials_path = os.path.join(d1, "admin-credentials.json")
        cluster.cli("vault", "create", "--name", VAULT, "--sku", "premium", "--retention-days", str(RETENTION_DAYS))
        out = cluster.cli("identity", "create", "--name", IDENTITY, "--output", "json").stdout
        cluster.identity = json.loads(out)
        cluster.cli("role", "assignment", "create", "--vault-name", VAULT, "--role", "Key Vault Crypto Officer",
                    "--assignee-object-id", cluster.identity["object_id"], "--scope", "/")
        ident_env = cluster.identity.get("env") or {}
        assert ident_env.get("IDENTITY_ENDPOINT") == f"{first.bare_url}/msi/token", ident_env
        assert ident_env.get("IDENTITY_HEADER"), ident_env

        for var in _CLIENT_ENV:
            os.environ.pop(var, None)
        os.environ["IDENTITY_HEADER"] = ident_env["IDENTITY_HEADER"]
        os.environ["REQUESTS_CA_BUNDLE"] = cluster.ca_file
        os.environ["SSL_CERT_FILE"] = cluster.ca_file
        os.environ["AZURE_TOKEN_CREDENTIALS"] = "ManagedIdentityCredential"
        _open_clients(cluster, ident_env["IDENTITY_ENDPOINT"])
    except BaseException as exc:
        keep = True
        for node in cluster.nodes:
            node.stop()
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        raise RuntimeError(
            f"multi-node cluster setup failed: {exc}\ndata kept at {base_dir}\n{cluster.logs()}"
        ) from exc

    yield cluster

    _close_clients(cluster)
    for node in cluster.nodes:
        node.stop()
    for k, v in saved_env.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    failed = request.session.testsfailed > failed_before
    keep = keep or failed
    with _terminal(request.config) as tr:
        if tr is not None and failed:
            tr.write_sep("=", "strongroom multi-node logs (tail)")
            tr.write_line(f"data kept at {base_dir} (database {db_url})")
            tr.write(cluster.logs(int(os.environ.get("STRONGROOM_LOG_LINES", "150"))) + "\n")
        if tr is not None and _REPORT:
            tr.write_sep("-", "multi-node measurements")
            for line in _REPORT:
                tr.write_line(line)
    if not keep:
        try:
            psql(PG_URL, f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
        except RuntimeError:
            pass
        shutil.rmtree(base_dir, ignore_errors=True)


# ---------------------------------------------------------------------------
# Test helpers
# ---------------------------------------------------------------------------
def _sign_and_verify(crypto, key, message: bytes) -> bytes:
    from azure.keyvault.keys.crypto import SignatureAlgorithm

    digest = digest_for("ES256", message)
    result = crypto.sign(SignatureAlgorithm.es256, digest)
    der = raw_ecdsa_to_der(result.signature, 32)
    ec_public_key(key.key).verify(der, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    return result.signature


def _status(exc: BaseException) -> Optional[int]:
    return getattr(exc, "status_code", None)


def _converge(check: Callable[[], None], timeout: float = CONVERGE_TIMEOUT) -> None:
    """Retries an assertion until it holds or `timeout` passes (then the last failure is raised)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            check()
            return
        except (AssertionError, HttpResponseError):
            if time.monotonic() >= deadline:
                raise
        time.sleep(0.05)


def _measure(probe: Callable[[], bool], timeout: float = 5.0, interval: float = 0.01):
    """Calls `probe` every `interval` until it returns True; returns (seconds, probes)."""
    start = time.monotonic()
    probes = 0
    while True:
        probes += 1
        if probe():
            return time.monotonic() - start, probes
        if time.monotonic() - start > timeout:
            return None, probes
        time.sleep(interval)


def _refused(fn: Callable[[], object], status: int) -> Callable[[], bool]:
    """A probe: False while `fn` succeeds, True once it fails with `status`; any other failure is raised."""

    def probe() -> bool:
        try:
            fn()
        except HttpResponseError as exc:
            if exc.status_code == status:
                return True
            raise
        return False

    return probe


def _race(*calls: Callable[[], object], delays: Optional[List[float]] = None) -> List[tuple]:
    """Runs the calls at the same moment on separate threads (call i starts delays[i] seconds late);
    returns [(result, exception)] in order."""
    barrier = threading.Barrier(len(calls))
    delays = delays or [0.0] * len(calls)

    def run(call, delay):
        barrier.wait()
        if delay:
            time.sleep(delay)
        try:
            return call(), None
        except Exception as exc:  # noqa: BLE001 - the caller classifies the outcome
            return None, exc

    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(run, c, d) for c, d in zip(calls, delays)]]


# Start offsets for the two sides of a two-way race, one pair per round, so that both orders
# (and the overlap in between) get a chance.
RACE_OFFSETS = [(0.0, 0.0), (0.0, 0.01), (0.01, 0.0), (0.0, 0.03), (0.03, 0.0)]


def _versions(client, name: str) -> set:
    return {p.version for p in client.list_properties_of_key_versions(name)}


def _delete(client, name: str):
    poller = client.begin_delete_key(name, _polling_interval=0.2)
    poller.wait(timeout=15)
    assert poller.done(), f"delete of {name} did not complete"
    return poller.result()


def _assert_404(fn: Callable[[], object], what: str) -> None:
    """Asserts that `fn` fails with 404 (a plain AssertionError otherwise, so that _converge retries)."""
    try:
        fn()
    except ResourceNotFoundError:
        return
    raise AssertionError(f"{what}: expected 404, got a success")


def _gone_from_deleted(client, name: str) -> None:
    _assert_404(lambda: client.get_deleted_key(name), f"GET deletedkeys/{name}")


def _now():
    return datetime.now(timezone.utc).replace(microsecond=0)


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------
def test_multinode_key_created_on_one_node_signs_on_all(cluster):
    n1 = cluster.nodes[0]
    name = unique("mn-sign")
    key = cluster.client(n1).create_ec_key(name, curve="P-256")
    for node in cluster.nodes:
        got = cluster.client(node).get_key(name)
        assert got.properties.version == key.properties.version, node.name
        assert (got.key.x, got.key.y) == (key.key.x, key.key.y), node.name
        assert got.id == f"{node.vault_url()}/keys/{name}/{key.properties.version}", got.id
        crypto = cluster.crypto(node, key)
        _sign_and_verify(crypto, key, f"signed through {node.name}".encode())
        crypto.close()


def _propagation_setup(cluster, change: str):
    """Creates a key, primes node 3's cache with it and returns (name, key, crypto via node 3)."""
    n1, _, n3 = cluster.nodes
    name = unique(f"mn-{change.replace('_', '')}")
    key = cluster.client(n1).create_ec_key(name, curve="P-256")
    crypto3 = cluster.crypto(n3, key)
    _sign_and_verify(crypto3, key, b"prime the cache of node 3")
    assert cluster.client(n3).get_key(name).properties.version == key.properties.version
    return name, key, crypto3


@pytest.mark.parametrize("change", ["disable", "expiry", "key_ops", "delete", "new_version", "purge"])
def test_multinode_change_propagates(cluster, change):
    """A change through node 2 reaches node 3, which had the key cached, within the bound."""
    _, n2, n3 = cluster.nodes
    c2, c3 = cluster.client(n2), cluster.client(n3)
    name, key, crypto3 = _propagation_setup(cluster, change)
    digest = digest_for("ES256", b"after the change")

    def sign3():
        from azure.keyvault.keys.crypto import SignatureAlgorithm

        crypto3.sign(SignatureAlgorithm.es256, digest)

    if change == "disable":
        c2.update_key_properties(name, enabled=False)
        probe = _refused(sign3, 403)
    elif change == "expiry":
        c2.update_key_properties(name, expires_on=_now() - timedelta(hours=1))
        probe = _refused(sign3, 403)
    elif change == "key_ops":
        c2.update_key_properties(name, key_operations=["verify"])
        probe = _refused(sign3, 403)
    elif change == "delete":
        c2.begin_delete_key(name)
        probe = _refused(lambda: c3.get_key(name), 404)
    elif change == "new_version":
        newer = c2.create_ec_key(name, curve="P-256")

        def probe():
            return c3.get_key(name).properties.version == newer.properties.version
    elif change == "purge":
        _delete(c2, name)
        _converge(lambda: c3.get_deleted_key(name))  # node 3 now holds the deleted key
        c2.purge_deleted_key(name)
        probe = _refused(lambda: c3.get_deleted_key(name), 404)
    else:  # pragma: no cover
        raise AssertionError(change)

    elapsed, probes = _measure(probe)
    crypto3.close()
    if elapsed is None:
        _report(f"propagation {change:12s}: NOT observed on node3 within 5 s ({probes} probes)")
    else:
        _report(f"propagation {change:12s}: observed on node3 after {elapsed * 1000:7.1f} ms ({probes} probes)")
    assert elapsed is not None, f"{change} through node 2 never reached node 3 (5 s)"
    assert elapsed < PROPAGATION_BOUND, f"{change} took {elapsed:.3f}s to reach node 3 (bound {PROPAGATION_BOUND}s)"


def _bearer_get(url: str, token: str, ca_file: str) -> int:
    """The HTTP status of a GET with this bearer token."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    context = ssl.create_default_context(cafile=ca_file)
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize("revocation", ["role_assignment", "access_policy", "identity", "credential"])
def test_multinode_revocation_reaches_every_node(cluster, revocation):
    """Removing a role assignment, changing an access policy, deleting an identity or removing
    the credential its token was issued through, through node 1, refuses the identity's next
    request on nodes 2 and 3, which had its token and its access cached."""
    from azure.identity import ClientSecretCredential

    n1, n2, n3 = cluster.nodes
    name, who = unique("mn-revoke"), unique("revoked")
    if revocation == "access_policy":
        vault = unique("mn-legacy")[:24]
        cluster.cli("vault", "create", "--name", vault, "--retention-days", "7", "--enable-rbac-authorization", "false")
        created = json.loads(cluster.cli("identity", "create", "--name", who).stdout)
        cluster.cli("vault", "set-policy", "--name", vault, "--object-id", created["object_id"],
                    "--key-permissions", "get")
    else:
        vault = VAULT
        created = json.loads(cluster.cli(
            "identity", "create", "--name", who, "--role", "Key Vault Crypto User", "--vault-name", vault,
        ).stdout)
    # The deployment's administrator creates the key (it holds every right in both models).
    cluster.cli("key", "create", "--vault-name", vault, "--name", name, "--kty", "EC")
    credential = ClientSecretCredential(
        created["tenant_id"], created["client_id"], created["client_secret"],
        authority=n1.bare_url, disable_instance_discovery=True,
    )
    token = credential.get_token("https://vault.azure.net/.default").token
    credential.close()
    urls = [f"{n.vault_url(vault)}/keys/{name}?api-version=7.6" for n in (n2, n3)]
    for url in urls:  # both nodes now hold the verified token and the vault's access
        assert _bearer_get(url, token, cluster.ca_file) == 200

    if revocation == "role_assignment":
        cluster.cli("role", "assignment", "delete", "--vault-name", vault, "--name", created["role_assignment"]["name"])
        refused = 403
    elif revocation == "access_policy":
        cluster.cli("vault", "set-policy", "--name", vault, "--object-id", created["object_id"],
                    "--key-permissions", "list")
        refused = 403
    elif revocation == "identity":
        cluster.cli("identity", "delete", "--name", who)
        refused = 401
    else:
        shown = json.loads(cluster.cli("identity", "show", "--name", who).stdout)
        (secret,) = [c for c in shown["credentials"] if c["type"] == "secret"]
        cluster.cli("identity", "credential", "remove", "--name", who, "--id", secret["id"])
        refused = 401

    for node, url in zip((n2, n3), urls):
        elapsed, probes = _measure(lambda: _bearer_get(url, token, cluster.ca_file) == refused)
        shown = "NOT within 5 s" if elapsed is None else f"after {elapsed * 1000:7.1f} ms"
        _report(f"revocation {revocation:15s}: refused on {node.name} {shown} ({probes} probes)")
        assert elapsed is not None and elapsed < PROPAGATION_BOUND, (revocation, node.name, elapsed)


def test_multinode_concurrent_creates_of_one_name(cluster):
    name = unique("mn-race")
    per_node = 10
    calls = [
        (lambda c=cluster.client(node): c.create_ec_key(name, curve="P-256"))
        for node in cluster.nodes
        for _ in range(per_node)
    ]
    outcomes = _race(*calls)
    errors = [exc for _, exc in outcomes if exc is not None]
    assert not errors, f"{len(errors)} of {len(calls)} concurrent creates failed: {errors[:3]}"
    created = [k.properties.version for k, _ in outcomes]
    assert len(set(created)) == len(calls), f"duplicate versions returned: {sorted(created)}"

    def consistent():
        latest = set()
        for node in cluster.live:
            client = cluster.client(node)
            listed = _versions(client, name)
            assert listed == set(created), (
                f"{node.name} lists {len(listed)} versions; missing {set(created) - listed}, "
                f"unexpected {listed - set(created)}"
            )
            latest.add(client.get_key(name).properties.version)
        assert len(latest) == 1, f"nodes disagree on the latest version: {latest}"
        assert latest <= set(created)

    _converge(consistent)


def test_multinode_restore_races_create(cluster):
    n1, n2, _ = cluster.nodes
    c1, c2 = cluster.client(n1), cluster.client(n2)
    outcomes = []
    for offsets in RACE_OFFSETS:
        name = unique("mn-restore")
        v1 = c1.create_ec_key(name, curve="P-256")
        v2 = c1.create_ec_key(name, curve="P-256")
        blob = c1.backup_key(name)
        _delete(c1, name)
        c1.purge_deleted_key(name)
        for c in (c1, c2):
            _converge(lambda c=c: _gone_from_deleted(c, name))

        (restored, restore_err), (created, create_err) = _race(
            lambda: c1.restore_key_backup(blob),
            lambda: c2.create_ec_key(name, curve="P-256"),
            delays=list(offsets),
        )
        assert create_err is None, f"create racing restore failed: {create_err!r}"
        if restore_err is None:
            assert restored.name == name and restored.properties.version == v2.properties.version
            expected = {v1.properties.version, v2.properties.version, created.properties.version}
            outcomes.append("restore")
        else:
            assert isinstance(restore_err, ResourceExistsError) or _status(restore_err) == 409, (
                f"restore racing create failed with something other than 409: {restore_err!r}"
            )
            expected = {created.properties.version}
            outcomes.append("create")

        def consistent():
            for node in cluster.live:
                client = cluster.client(node)
                listed = _versions(client, name)
                assert listed == expected, f"{node.name}: versions {listed}, expected {expected} ({outcomes[-1]} won)"
                latest = client.get_key(name).properties.version
                assert latest == created.properties.version, (
                    f"{node.name}: latest {latest}, expected the created {created.properties.version} "
                    f"({outcomes[-1]} won)"
                )

        _converge(consistent)
    _report(f"restore racing create: winners {outcomes}")


def test_multinode_recover_races_purge(cluster):
    n1, n2, _ = cluster.nodes
    c1, c2 = cluster.client(n1), cluster.client(n2)
    outcomes = []
    for offsets in RACE_OFFSETS:
        name = unique("mn-recover")
        key = c1.create_ec_key(name, curve="P-256")
        _delete(c1, name)
        _converge(lambda: c2.get_deleted_key(name))

        (recovered, recover_err), (_, purge_err) = _race(
            lambda: c1.begin_recover_deleted_key(name).result(),
            lambda: c2.purge_deleted_key(name),
            delays=list(offsets),
        )
        for label, err in (("recover", recover_err), ("purge", purge_err)):
            assert err is None or _status(err) in (404, 409), f"{label} failed unexpectedly: {err!r}"
        succeeded = [label for label, err in (("recover", recover_err), ("purge", purge_err)) if err is None]
        assert len(succeeded) == 1, (
            f"exactly one of recover/purge must succeed; succeeded: {succeeded} "
            f"(recover: {recover_err!r}, purge: {purge_err!r})"
        )
        winner = succeeded[0]
        outcomes.append(winner)

        row = cluster.psql(
            f"SELECT deleted_date IS NULL FROM keys WHERE vault = '{VAULT}' AND name = '{name}'"
        )
        versions_in_db = cluster.psql(
            f"SELECT count(*) FROM key_versions WHERE vault = '{VAULT}' AND name = '{name}'"
        )
        if winner == "recover":
            assert recovered.name == name
            assert row == "t", f"database row after recover won: {row!r}"
            assert versions_in_db == "1", versions_in_db
        else:
            assert row == "", f"database row after purge won: {row!r}"
            assert versions_in_db == "0", f"key_versions left behind by the purge: {versions_in_db}"

        def consistent():
            for node in cluster.live:
                client = cluster.client(node)
                deleted_names = {d.name for d in client.list_deleted_keys()}
                if winner == "recover":
                    assert client.get_key(name).properties.version == key.properties.version, node.name
                    assert name not in deleted_names, f"{node.name}: live key still listed as deleted"
                    _gone_from_deleted(client, name)
                else:
                    _assert_404(lambda: client.get_key(name), f"{node.name}: GET keys/{name} after purge won")
                    assert name not in deleted_names, f"{node.name}: purged key still listed as deleted"
                    _gone_from_deleted(client, name)

        _converge(consistent)
    _report(f"recover racing purge: winners {outcomes}")


def _purge_lines(cluster, name: str) -> List[str]:
    return [
        f"{node.name}: {line}"
        for node in cluster.nodes
        for line in node.log_text().splitlines()
        if PURGE_LOG_LINE in line and name in line
    ]


def test_multinode_scheduler_lease_takeover(cluster):
    """Kills the scheduler's lease holder; a survivor takes the lease over and purges a due key exactly once.

    Runs last: it leaves one node dead.
    """
    deadline = time.monotonic() + 3 * SCHEDULER_LEASE_SECS + 5
    lease = cluster.lease()
    while lease is None and time.monotonic() < deadline:
        time.sleep(0.2)
        lease = cluster.lease()
    assert lease is not None, "no scheduler lease row in the database"
    holder = cluster.node_by_id(lease[0])
    assert holder is not None, f"lease holder {lease[0]!r} is none of {[n.node_id for n in cluster.nodes]}"
    remaining = lease[1] - int(time.time())
    assert remaining <= SCHEDULER_LEASE_SECS + 1, (
        f"the scheduler lease expires in {remaining} s, though the nodes run with "
        f"STRONGROOM_SCHEDULER_LEASE_SECS={SCHEDULER_LEASE_SECS} (lease row {lease})"
    )

    name = unique("mn-lease")
    cluster.client(cluster.nodes[0]).create_ec_key(name, curve="P-256")

    holder.process.kill()  # SIGKILL: no chance to release the lease
    holder.process.wait(timeout=10)
    killed_at = time.monotonic()
    survivors = cluster.live
    assert len(survivors) == NODE_COUNT - 1
    # Tokens now come from a survivor's managed-identity endpoint (node 1 may be the one killed).
    via = next((n for n in survivors if n.index != 1), survivors[0])
    _open_clients(cluster, f"{via.bare_url}/msi/token")
    client = cluster.client(via)

    _delete(client, name)
    due = int(time.time()) - 1
    updated = cluster.psql(
        f"UPDATE keys SET scheduled_purge_date = {due} WHERE vault = '{VAULT}' AND name = '{name}' "
        f"AND deleted_date IS NOT NULL RETURNING name"
    )
    assert updated == name, f"could not make {name} due for purge: {updated!r}"

    purge_deadline = time.monotonic() + 15
    purged_after = None
    while time.monotonic() < purge_deadline:
        try:
            client.get_deleted_key(name)
        except ResourceNotFoundError:
            purged_after = time.monotonic() - killed_at
            break
        time.sleep(0.2)
    assert purged_after is not None, (
        f"due key {name} was not purged within 15 s of the holder ({holder.name}) being killed; "
        f"lease now {cluster.lease()}"
    )
    for node in survivors:
        _converge(lambda node=node: _gone_from_deleted(cluster.client(node), name))

    new_lease = cluster.lease()
    assert new_lease is not None
    new_holder = cluster.node_by_id(new_lease[0])
    assert new_lease[0] != lease[0], f"lease holder did not change from the killed {holder.name}"
    assert new_holder is not None and new_holder in survivors, f"new lease holder {new_lease[0]!r} is not a survivor"

    # Let another scheduler pass or two run, to catch a second purge of the same key.
    time.sleep(2 * SCHEDULER_INTERVAL_SECS + 0.5)
    lines = _purge_lines(cluster, name)
    _report(
        f"lease takeover: killed {holder.name}, {new_holder.name} took over; "
        f"due key purged {purged_after:.1f} s after the kill"
    )
    assert len(lines) == 1, f"expected exactly one purge log line for {name}, found {len(lines)}: {lines}"
    assert lines[0].startswith(new_holder.name + ":"), f"purge logged by a node that is not the new holder: {lines}"
