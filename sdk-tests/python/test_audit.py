"""The stored audit log: every request leaves an event (within the group-commit delay), the
chains verify, an edited or removed event is reported, and no secret or token is ever in it."""

import json
import os
import sqlite3
import time

import pytest
from azure.core.exceptions import ResourceNotFoundError

from azure.keyvault.keys.crypto import CryptographyClient, SignatureAlgorithm

from helpers import PREMIUM_VAULT, unique


def _events(server, *filters):
    return json.loads(server.cli("audit", "list", *filters, "--output", "json").stdout)["value"]


def test_requests_are_audited_and_the_log_verifies(server, premium, credential, tmp_path):
    name = unique("audited")
    key = premium.create_ec_key(name, curve="P-256")
    with CryptographyClient(key, credential) as crypto:
        crypto.sign(SignatureAlgorithm.es256, b"\x05" * 32)
    oid = server.identity["object_id"]
    resource = f"/vaults/{PREMIUM_VAULT}/keys/{name}"
    deadline = time.monotonic() + 2
    while True:
        signs = [e for e in _events(server, "--principal", oid, "--operation", "KeySign") if e["resource"] == resource]
        if signs or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(signs) == 1, signs
    sign = signs[0]
    assert sign["result"] == "Success"
    assert sign["status"] == 200
    assert sign["app_id"] == server.identity["client_id"]
    assert sign["client"] == "127.0.0.1"
    assert len(sign["request_id"]) == 36
    created = _events(server, "--principal", oid, "--operation", "KeyCreate")
    assert any(e["resource"] == resource for e in created)
    # A refusal is recorded with the status it was answered with.
    with pytest.raises(ResourceNotFoundError):
        premium.get_key(unique("absent"))
    deadline = time.monotonic() + 2
    while True:
        missing = [e for e in _events(server, "--principal", oid, "--operation", "KeyGet") if e["result"] == "NotFound"]
        if missing or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert missing and all(e["status"] == 404 for e in missing), missing
    report = json.loads(server.cli("audit", "verify", "--output", "json").stdout)
    assert report["intact"] and report["events"] > 0, report

    # No secret, token or key material in any event.
    exported = tmp_path / "audit.jsonl"
    server.cli("audit", "export", "--file", str(exported))
    text = exported.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines and all(line["category"] == "AuditEvent" for line in lines)
    assert {line["httpStatusCode"] for line in lines} >= {200, 404}
    for secret in (server.identity["client_secret"], server.credentials["client_secret"]):
        assert secret not in text
    assert "eyJ" not in text  # no JWT
    assert key.key.x is None or key.key.x.hex() not in text


def _rewrite(conn, chain, seq, change):
    """Applies `change` to the stored batch holding event `seq` of `chain`, in place."""
    first, events = conn.execute(
        "SELECT first_seq, events FROM audit_batches WHERE chain = ? AND first_seq <= ? AND last_seq >= ?",
        (chain, seq, seq),
    ).fetchone()
    batch = json.loads(events)
    change(batch, seq - first)
    conn.execute(
        "UPDATE audit_batches SET events = ? WHERE chain = ? AND first_seq = ?", (json.dumps(batch), chain, first)
    )


def test_an_edited_or_removed_event_is_reported(server):
    db = os.path.join(server.data_dir, "strongroom.db")
    with sqlite3.connect(db) as conn:
        chain, = conn.execute("SELECT chain FROM audit_batches ORDER BY last_seq DESC LIMIT 1").fetchone()

        def edit(batch, i):
            batch[i]["result"] = "Forbidden"

        def remove(batch, i):
            del batch[i]

        _rewrite(conn, chain, 2, edit)
        _rewrite(conn, chain, 4, remove)
    proc = server_cli_failing(server, "audit", "verify")
    assert proc.returncode == 1, proc
    assert "event 2 was edited" in proc.stderr
    assert "event 4 is missing" in proc.stderr


def server_cli_failing(server, *args):
    import subprocess

    cmd = [server.binary, "--credentials", server.credentials_path, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)
