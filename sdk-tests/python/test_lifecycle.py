"""Get/list/update, soft delete, purge, backup/restore, rotation."""

import time
from datetime import datetime, timedelta, timezone

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.keyvault.keys import KeyRotationLifetimeAction, KeyRotationPolicy, KeyRotationPolicyAction

from helpers import b64url, enum_text, error_code, send_json, unique, wait_deleted, wait_gone_from_deleted, wait_purged


def _now():
    return datetime.now(timezone.utc).replace(microsecond=0)


def test_get_latest_and_by_version(premium, premium_url):
    name = unique("getver")
    v1 = premium.create_ec_key(name, curve="P-256")
    v2 = premium.create_ec_key(name, curve="P-384")

    latest = premium.get_key(name)
    assert latest.id == f"{premium_url}/keys/{name}/{v2.properties.version}"
    assert latest.key.crv == "P-384"

    old = premium.get_key(name, v1.properties.version)
    assert old.id == v1.id
    assert old.key.crv == "P-256"
    assert old.key.x == v1.key.x and old.key.y == v1.key.y


def test_latest_version_path_forms(premium):
    name = unique("paths")
    key = premium.create_ec_key(name)
    for path in (f"/keys/{name}", f"/keys/{name}/", f"/keys/{name}/{key.properties.version}"):
        resp = send_json(premium, "GET", path)
        assert resp.status_code == 200, (path, resp.status_code, resp.text())
        assert resp.json()["key"]["kid"] == key.id


@pytest.mark.parametrize("api_version", ["7.2", "7.3", "7.4", "7.5", "7.6", "7.6-preview.2", "2025-07-01"])
def test_api_versions_accepted(premium, api_version):
    name = unique("apiver")
    key = premium.create_ec_key(name)
    resp = send_json(premium, "GET", f"/keys/{name}/", api_version=api_version)
    assert resp.status_code == 200, resp.text()
    assert resp.json()["key"]["kid"] == key.id


def test_missing_key_404(premium):
    name = unique("missing")
    with pytest.raises(ResourceNotFoundError) as info:
        premium.get_key(name)
    assert info.value.status_code == 404
    assert error_code(info.value) == "KeyNotFound"
    with pytest.raises(ResourceNotFoundError) as info:
        premium.get_key(name, "0" * 32)
    assert error_code(info.value) == "KeyNotFound"
    with pytest.raises(ResourceNotFoundError):
        premium.get_deleted_key(name)


def test_missing_version_404(premium):
    name = unique("missver")
    premium.create_ec_key(name)
    with pytest.raises(ResourceNotFoundError) as info:
        premium.get_key(name, "f" * 32)
    assert error_code(info.value) == "KeyNotFound"


def test_list_versions(premium, premium_url):
    name = unique("versions")
    created = [premium.create_ec_key(name).properties.version for _ in range(3)]
    listed = list(premium.list_properties_of_key_versions(name))
    assert sorted(p.version for p in listed) == sorted(created)
    for p in listed:
        assert p.id == f"{premium_url}/keys/{name}/{p.version}"
        assert p.name == name
        assert p.enabled is True
        assert p.created_on is not None


def test_list_keys_versionless_ids(premium, premium_url):
    name = unique("listed")
    premium.create_ec_key(name, tags={"k": "v"})
    premium.create_ec_key(name)
    items = [p for p in premium.list_properties_of_keys() if p.name == name]
    assert len(items) == 1, "one list entry per key, not per version"
    assert items[0].id == f"{premium_url}/keys/{name}"
    assert items[0].version is None


def test_update_properties(premium):
    name = unique("update")
    key = premium.create_rsa_key(name, size=2048)
    nbf = _now() - timedelta(minutes=5)
    exp = _now() + timedelta(days=10)
    updated = premium.update_key_properties(
        name,
        enabled=False,
        not_before=nbf,
        expires_on=exp,
        tags={"a": "1", "b": "2"},
        key_operations=["sign", "verify"],
    )
    assert updated.properties.version == key.properties.version
    assert updated.properties.enabled is False
    assert updated.properties.not_before == nbf
    assert updated.properties.expires_on == exp
    assert updated.properties.tags == {"a": "1", "b": "2"}
    assert sorted(updated.key_operations) == ["sign", "verify"]
    assert updated.properties.updated_on >= key.properties.updated_on
    assert updated.key.n == key.key.n

    fetched = premium.get_key(name, key.properties.version)
    assert fetched.properties.enabled is False
    assert fetched.properties.not_before == nbf
    assert fetched.properties.expires_on == exp
    assert fetched.properties.tags == {"a": "1", "b": "2"}
    assert sorted(fetched.key_operations) == ["sign", "verify"]

    # Partial update keeps the other fields; re-enable only.
    again = premium.update_key_properties(name, key.properties.version, enabled=True)
    assert again.properties.enabled is True
    assert again.properties.tags == {"a": "1", "b": "2"}
    assert again.properties.expires_on == exp


def test_update_specific_version_only(premium):
    name = unique("updver")
    v1 = premium.create_ec_key(name)
    v2 = premium.create_ec_key(name)
    premium.update_key_properties(name, v1.properties.version, tags={"old": "yes"})
    assert premium.get_key(name, v1.properties.version).properties.tags == {"old": "yes"}
    assert not premium.get_key(name, v2.properties.version).properties.tags


def test_soft_delete_recover_purge(premium, premium_url):
    name = unique("softdel")
    key = premium.create_ec_key(name)
    before = _now()
    deleted = wait_deleted(premium, name)
    assert deleted.name == name
    assert deleted.recovery_id == f"{premium_url}/deletedkeys/{name}"
    assert deleted.deleted_date is not None and deleted.deleted_date >= before - timedelta(seconds=5)
    expected_purge = deleted.deleted_date + timedelta(days=7)
    assert abs((deleted.scheduled_purge_date - expected_purge).total_seconds()) < 60
    assert deleted.key.x == key.key.x

    with pytest.raises(ResourceNotFoundError) as info:
        premium.get_key(name)
    assert error_code(info.value) == "KeyNotFound"

    got = premium.get_deleted_key(name)
    assert got.recovery_id == deleted.recovery_id
    assert got.properties.version == key.properties.version
    assert name in {d.name for d in premium.list_deleted_keys()}

    # The name cannot be reused while deleted.
    with pytest.raises(ResourceExistsError) as info:
        premium.create_ec_key(name)
    assert info.value.status_code == 409
    assert error_code(info.value) == "Conflict"
    assert (info.value.error.innererror or {}).get("code") == "ObjectIsDeletedButRecoverable"

    # Recover.
    poller = premium.begin_recover_deleted_key(name)
    poller.wait(timeout=15)
    assert poller.done()
    recovered = premium.get_key(name)
    assert recovered.id == key.id
    with pytest.raises(ResourceNotFoundError):
        premium.get_deleted_key(name)

    # Delete again and purge (204).
    wait_deleted(premium, name)
    resp = send_json(premium, "DELETE", f"/deletedkeys/{name}")
    assert resp.status_code == 204, resp.text()
    assert not resp.content
    wait_gone_from_deleted(premium, name)
    assert name not in {d.name for d in premium.list_deleted_keys()}
    # The name is free again.
    fresh = premium.create_ec_key(name)
    assert fresh.properties.version != key.properties.version


def test_purge_via_sdk(hsm):
    name = unique("purge")
    hsm.create_oct_key(name, size=256, hardware_protected=True)
    wait_deleted(hsm, name)
    wait_purged(hsm, name)
    with pytest.raises(ResourceNotFoundError):
        hsm.get_key(name)


def test_purge_not_deleted_key_404(premium):
    name = unique("notdel")
    premium.create_ec_key(name)
    with pytest.raises(ResourceNotFoundError):
        premium.purge_deleted_key(name)


def test_purge_protection_forbids_purge(protected, protected_url):
    name = unique("protected")
    key = protected.create_ec_key(name)
    assert key.properties.recovery_level == "CustomizedRecoverable"
    deleted = wait_deleted(protected, name)
    assert deleted.recovery_id == f"{protected_url}/deletedkeys/{name}"
    with pytest.raises(HttpResponseError) as info:
        protected.purge_deleted_key(name)
    assert info.value.status_code == 403
    # Recover still works.
    poller = protected.begin_recover_deleted_key(name)
    poller.wait(timeout=15)
    assert protected.get_key(name).id == key.id


def test_backup_restore(premium):
    name = unique("backup")
    v1 = premium.create_rsa_key(name, size=2048, tags={"gen": "1"})
    v2 = premium.create_rsa_key(name, size=2048, tags={"gen": "2"})
    blob = premium.backup_key(name)
    assert isinstance(blob, bytes) and len(blob) > 100

    # Restoring while the key exists fails.
    with pytest.raises(HttpResponseError) as info:
        premium.restore_key_backup(blob)
    assert info.value.status_code == 409, info.value

    wait_deleted(premium, name)
    # Restoring while the key is soft-deleted fails too.
    with pytest.raises(HttpResponseError):
        premium.restore_key_backup(blob)
    wait_purged(premium, name)

    restored = premium.restore_key_backup(blob)
    assert restored.name == name
    assert restored.properties.version == v2.properties.version
    assert restored.key.n == v2.key.n
    versions = {p.version for p in premium.list_properties_of_key_versions(name)}
    assert versions == {v1.properties.version, v2.properties.version}
    old = premium.get_key(name, v1.properties.version)
    assert old.key.n == v1.key.n
    assert old.properties.tags == {"gen": "1"}


def test_backup_missing_key_404(premium):
    with pytest.raises(ResourceNotFoundError) as info:
        premium.backup_key(unique("nobackup"))
    assert error_code(info.value) == "KeyNotFound"


def test_restore_garbage_rejected(premium):
    with pytest.raises(HttpResponseError) as info:
        premium.restore_key_backup(b"this is not a backup blob")
    assert info.value.status_code == 400


def test_rotate(premium):
    name = unique("rotate")
    v1 = premium.create_rsa_key(name, size=2048, tags={"t": "x"})
    v2 = premium.rotate_key(name)
    assert v2.name == name
    assert v2.properties.version != v1.properties.version
    assert v2.key_type == v1.key_type
    assert int.from_bytes(v2.key.n, "big").bit_length() == 2048
    assert v2.key.n != v1.key.n
    assert premium.get_key(name).properties.version == v2.properties.version
    versions = {p.version for p in premium.list_properties_of_key_versions(name)}
    assert versions == {v1.properties.version, v2.properties.version}


def test_rotate_missing_key_404(premium):
    with pytest.raises(ResourceNotFoundError):
        premium.rotate_key(unique("norotate"))


def test_rotation_policy(premium, premium_url):
    name = unique("rotpol")
    premium.create_ec_key(name)
    policy = KeyRotationPolicy(
        lifetime_actions=[KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P30D")],
        expires_in="P90D",
    )
    updated = premium.update_key_rotation_policy(name, policy)
    assert updated.expires_in == "P90D"
    rotate = [a for a in updated.lifetime_actions if enum_text(a.action).lower() == "rotate"]
    assert len(rotate) == 1 and rotate[0].time_after_create == "P30D"
    assert updated.id == f"{premium_url}/keys/{name}/rotationpolicy"

    fetched = premium.get_key_rotation_policy(name)
    assert fetched.id == updated.id
    assert fetched.expires_in == "P90D"
    rotate = [a for a in fetched.lifetime_actions if enum_text(a.action).lower() == "rotate"]
    assert len(rotate) == 1 and rotate[0].time_after_create == "P30D"
    assert rotate[0].time_before_expiry is None
    assert fetched.created_on is not None and fetched.updated_on is not None

    # Replace with a notify-before-expiry action plus rotate-before-expiry.
    policy2 = KeyRotationPolicy(
        lifetime_actions=[
            KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_before_expiry="P10D"),
            KeyRotationLifetimeAction(KeyRotationPolicyAction.notify, time_before_expiry="P20D"),
        ],
        expires_in="P60D",
    )
    premium.update_key_rotation_policy(name, policy2)
    fetched = premium.get_key_rotation_policy(name)
    assert fetched.expires_in == "P60D"
    actions = {enum_text(a.action).lower(): a for a in fetched.lifetime_actions}
    assert actions["rotate"].time_before_expiry == "P10D"
    assert actions["notify"].time_before_expiry == "P20D"


def test_rotate_applies_policy_expiry(premium):
    name = unique("rotexp")
    premium.create_ec_key(name)
    premium.update_key_rotation_policy(
        name,
        KeyRotationPolicy(
            lifetime_actions=[KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P30D")],
            expires_in="P90D",
        ),
    )
    rotated = premium.rotate_key(name)
    assert rotated.properties.expires_on is not None
    delta = rotated.properties.expires_on - rotated.properties.created_on
    assert abs(delta.total_seconds() - 90 * 86400) < 120


def test_rotation_policy_validation(premium):
    name = unique("rotbad")
    premium.create_ec_key(name)
    too_short_expiry = KeyRotationPolicy(
        lifetime_actions=[KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P7D")],
        expires_in="P27D",
    )
    with pytest.raises(HttpResponseError) as info:
        premium.update_key_rotation_policy(name, too_short_expiry)
    assert info.value.status_code == 400
    two_rotates = KeyRotationPolicy(
        lifetime_actions=[
            KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P30D"),
            KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P40D"),
        ],
        expires_in="P90D",
    )
    with pytest.raises(HttpResponseError) as info:
        premium.update_key_rotation_policy(name, two_rotates)
    assert info.value.status_code == 400


def test_scheduler_rotates_due_key(premium):
    """A rotate action timeBeforeExpiry P10D on a key expiring in 8 days is already due."""
    name = unique("autorot")
    first = premium.create_ec_key(name, expires_on=_now() + timedelta(days=8))
    premium.update_key_rotation_policy(
        name,
        KeyRotationPolicy(
            lifetime_actions=[KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_before_expiry="P10D")],
            expires_in="P90D",
        ),
    )
    deadline = time.monotonic() + 20
    latest = first
    while time.monotonic() < deadline:
        latest = premium.get_key(name)
        if latest.properties.version != first.properties.version:
            break
        time.sleep(0.5)
    assert latest.properties.version != first.properties.version, "scheduler did not rotate the due key"
    assert latest.key.crv == first.key.crv
    assert latest.key.x != first.key.x
    delta = latest.properties.expires_on - latest.properties.created_on
    assert abs(delta.total_seconds() - 90 * 86400) < 120
    # The new version is not due, so it is not rotated again.
    time.sleep(3)
    versions = [p.version for p in premium.list_properties_of_key_versions(name)]
    assert len(versions) == 2, versions


@pytest.mark.parametrize("op_path", ["wrapKey", "Sign", "SIGN"])
def test_path_words_case_insensitive(premium, op_path):
    key = premium.create_rsa_key(unique("case"), size=2048)
    alg, value = ("RSA-OAEP", b"\x01" * 32) if op_path == "wrapKey" else ("RS256", b"\x02" * 32)
    resp = send_json(premium, "POST", f"/keys/{key.name}/{key.properties.version}/{op_path}",
                     {"alg": alg, "value": b64url(value)})
    assert resp.status_code == 200, resp.text()
    assert resp.json()["kid"] == key.id


def test_deleted_keys_path_case_insensitive(premium):
    name = unique("delcase")
    premium.create_ec_key(name)
    wait_deleted(premium, name)
    resp = send_json(premium, "GET", f"/deletedKeys/{name}")
    assert resp.status_code == 200, resp.text()
    assert resp.json()["recoveryId"].endswith(f"/deletedkeys/{name}")
    premium.purge_deleted_key(name)
