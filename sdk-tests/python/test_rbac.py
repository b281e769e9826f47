"""Managed HSM local RBAC through the official `azure-keyvault-administration` client: built-in
role definitions as the service lists them, and role assignments at `/`, `/keys` and one key."""

import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.keyvault.administration import KeyVaultAccessControlClient, KeyVaultDataAction, KeyVaultRoleScope
from azure.keyvault.keys import KeyClient
from azure.keyvault.keys.crypto import CryptographyClient, SignatureAlgorithm

from helpers import PREMIUM_VAULT

CRYPTO_USER = "21dbd100-6940-42c2-9190-5d6cb909625b"
AUDITOR = "2c18b078-7c48-4d3a-af88-5a3a1b3f82b3"


def _secret_credential(server, created):
    """An application's client-secret credential against the deployment's token service."""
    return ClientSecretCredential(
        created["tenant_id"],
        created["client_id"],
        created["client_secret"],
        authority=server.bare_url,
        disable_instance_discovery=True,
    )


@pytest.fixture(scope="module")
def admin(server):
    """The deployment's administrator, as an application with a client secret."""
    cred = _secret_credential(server, server.credentials)
    yield cred
    cred.close()


@pytest.fixture(scope="module")
def access(hsm_url, admin):
    with KeyVaultAccessControlClient(hsm_url, admin) as client:
        yield client


def test_built_in_role_definitions(access):
    definitions = list(access.list_role_definitions(KeyVaultRoleScope.GLOBAL))
    by_name = {d.role_name: d for d in definitions}
    for name in [
        "Managed HSM Administrator",
        "Managed HSM Crypto Officer",
        "Managed HSM Crypto User",
        "Managed HSM Policy Administrator",
        "Managed HSM Crypto Auditor",
        "Managed HSM Crypto Service Encryption User",
        "Managed HSM Crypto Service Release User",
    ]:
        assert name in by_name, name
    # Every data action of every built-in role is one the SDK knows, spelled as it spells it,
    # but for the rotate action the current built-in roles table adds to Crypto User.
    known = {a.value for a in KeyVaultDataAction} | {"Microsoft.KeyVault/managedHsm/keys/rotate/action"}
    for d in definitions:
        unknown = set(d.permissions[0].data_actions) - known
        assert not unknown, (d.role_name, unknown)
    user = by_name["Managed HSM Crypto User"]
    assert user.name == CRYPTO_USER
    assert user.id == f"Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/{CRYPTO_USER}"
    assert user.role_type == "AKVBuiltInRole"
    assert user.assignable_scopes == ["/"]
    actions = user.permissions[0].data_actions
    assert KeyVaultDataAction.CREATE_HSM_KEY in actions
    assert KeyVaultDataAction.SIGN_HSM_KEY in actions
    assert KeyVaultDataAction.PURGE_DELETED_HSM_KEY not in actions
    one = access.get_role_definition(KeyVaultRoleScope.GLOBAL, AUDITOR)
    assert one.role_name == "Managed HSM Crypto Auditor"
    assert set(one.permissions[0].data_actions) == {
        KeyVaultDataAction.GET_ROLE_ASSIGNMENT,
        KeyVaultDataAction.READ_ROLE_DEFINITION,
        KeyVaultDataAction.READ_HSM_KEY,
        KeyVaultDataAction.READ_DELETED_HSM_KEY,
    }


def test_role_assignment_lifecycle(access):
    principal = str(uuid.uuid4())
    name = str(uuid.uuid4())
    definition = access.get_role_definition(KeyVaultRoleScope.GLOBAL, CRYPTO_USER)
    created = access.create_role_assignment(KeyVaultRoleScope.KEYS, definition.id, principal, name=name)
    assert created.name == name
    assert created.role_assignment_id == f"/keys/providers/Microsoft.Authorization/roleAssignments/{name}"
    assert created.properties.scope == "/keys"
    assert created.properties.principal_id == principal
    assert created.properties.role_definition_id == definition.id

    got = access.get_role_assignment(KeyVaultRoleScope.KEYS, name)
    assert (got.name, got.properties.principal_id) == (name, principal)
    assert name in [a.name for a in access.list_role_assignments(KeyVaultRoleScope.KEYS)]

    # A name is taken once per pool.
    with pytest.raises(HttpResponseError) as info:
        access.create_role_assignment(KeyVaultRoleScope.KEYS, definition.id, principal, name=name)
    assert info.value.status_code == 409

    access.delete_role_assignment(KeyVaultRoleScope.KEYS, name)
    with pytest.raises(ResourceNotFoundError):
        access.get_role_assignment(KeyVaultRoleScope.KEYS, name)
    assert name not in [a.name for a in access.list_role_assignments(KeyVaultRoleScope.KEYS)]


def test_key_scoped_assignments_are_listed_at_their_key_only(access):
    principal = str(uuid.uuid4())
    key_scope = "/keys/rbac-key"
    at_key = access.create_role_assignment(key_scope, AUDITOR, principal, name=str(uuid.uuid4()))
    assert at_key.properties.scope == key_scope
    assert at_key.name in [a.name for a in access.list_role_assignments(key_scope)]
    assert at_key.name not in [a.name for a in access.list_role_assignments(KeyVaultRoleScope.GLOBAL)]
    access.delete_role_assignment(key_scope, at_key.name)


def test_unknown_role_is_refused(access):
    with pytest.raises(HttpResponseError) as info:
        access.create_role_assignment(KeyVaultRoleScope.GLOBAL, str(uuid.uuid4()), str(uuid.uuid4()))
    assert info.value.status_code == 404


def _application(server, name):
    """A new identity of the deployment holding no role, as an application."""
    import json

    created = json.loads(server.cli("identity", "create", "--name", name, "--output", "json").stdout)
    return created["object_id"], _secret_credential(server, created)


def test_a_key_is_refused_until_a_role_is_assigned(server, hsm, hsm_url, access):
    hsm.create_ec_key("rbac-gated", curve="P-256")
    oid, cred = _application(server, "rbac-newcomer")
    with KeyClient(hsm_url, cred) as newcomer:
        with pytest.raises(HttpResponseError) as info:
            newcomer.get_key("rbac-gated")
        assert info.value.status_code == 403
        assert info.value.error.code == "Forbidden"
        assert oid in info.value.message
        assert "Microsoft.KeyVault/managedHsm/keys/read/action" in info.value.message
        # Holding no role, it cannot give itself one either.
        with KeyVaultAccessControlClient(hsm_url, cred) as own:
            with pytest.raises(HttpResponseError) as info:
                own.create_role_assignment(KeyVaultRoleScope.GLOBAL, CRYPTO_USER, oid)
            assert info.value.status_code == 403

        # The auditor role on that one key: it may read it, not use it, and no other key.
        granted = access.create_role_assignment("/keys/rbac-gated", AUDITOR, oid)
        key = newcomer.get_key("rbac-gated")
        assert key.name == "rbac-gated"
        with CryptographyClient(key, cred) as crypto:
            with pytest.raises(HttpResponseError) as info:
                crypto.sign(SignatureAlgorithm.es256, b"\x01" * 32)
            assert info.value.status_code == 403
        hsm.create_ec_key("rbac-other", curve="P-256")
        with pytest.raises(HttpResponseError) as info:
            newcomer.get_key("rbac-other")
        assert info.value.status_code == 403

        access.delete_role_assignment("/keys/rbac-gated", granted.name)
        with pytest.raises(HttpResponseError) as info:
            newcomer.get_key("rbac-gated")
        assert info.value.status_code == 403
    cred.close()


def test_a_vault_role_given_with_the_cli_takes_effect(server, premium, premium_url):
    premium.create_rsa_key("rbac-vault-key", size=2048)
    oid, cred = _application(server, "rbac-vault-user")
    with KeyClient(premium_url, cred) as user:
        with pytest.raises(HttpResponseError) as info:
            user.get_key("rbac-vault-key")
        assert info.value.status_code == 403
        server.cli("role", "assignment", "create", "--vault-name", PREMIUM_VAULT, "--role", "Key Vault Crypto User",
                   "--assignee-object-id", oid, "--scope", "/keys")
        key = user.get_key("rbac-vault-key")
        with CryptographyClient(key, cred) as crypto:
            signed = crypto.sign(SignatureAlgorithm.rs256, b"\x02" * 32)
            assert crypto.verify(SignatureAlgorithm.rs256, b"\x02" * 32, signed.signature).is_valid
        # Crypto User may not create keys.
        with pytest.raises(HttpResponseError) as info:
            user.create_ec_key("rbac-not-allowed", curve="P-256")
        assert info.value.status_code == 403
    cred.close()


def test_an_access_policy_vault_answers_by_its_policies(server, admin):
    name = "sdklegacy"
    server.cli("vault", "create", "--name", name, "--retention-days", "7", "--enable-rbac-authorization", "false")
    url = server.vault_url(name)
    # The vault's creator holds every key permission.
    with KeyClient(url, admin) as owner:
        owner.create_rsa_key("legacy-key", size=2048)
    oid, cred = _application(server, "legacy-workload")
    with KeyClient(url, cred) as workload:
        with pytest.raises(HttpResponseError) as info:
            workload.get_key("legacy-key")
        assert info.value.status_code == 403
        assert info.value.response.json()["error"]["innererror"]["code"] == "ForbiddenByPolicy"
        assert "does not have keys get permission" in info.value.message

        server.cli("vault", "set-policy", "--name", name, "--object-id", oid, "--key-permissions", "get", "sign")
        key = workload.get_key("legacy-key")
        with CryptographyClient(key, cred) as crypto:
            assert crypto.sign(SignatureAlgorithm.rs256, b"\x03" * 32).signature
        with pytest.raises(HttpResponseError) as info:
            workload.begin_delete_key("legacy-key")
        assert info.value.status_code == 403

        server.cli("vault", "delete-policy", "--name", name, "--object-id", oid)
        with pytest.raises(HttpResponseError) as info:
            workload.get_key("legacy-key")
        assert info.value.status_code == 403
    cred.close()


def test_a_custom_role_grants_exactly_its_data_actions(server, hsm, hsm_url, access):
    from azure.keyvault.administration import KeyVaultPermission

    hsm.create_ec_key("custom-role-key", curve="P-256")
    peek = KeyVaultPermission(data_actions=[KeyVaultDataAction.READ_HSM_KEY])
    role = access.set_role_definition(
        KeyVaultRoleScope.GLOBAL, role_name="Key peeker", description="reads keys", permissions=[peek]
    )
    assert role.role_type == "CustomRole"
    assert role.permissions[0].data_actions == [KeyVaultDataAction.READ_HSM_KEY]
    assert role.name in [d.name for d in access.list_role_definitions(KeyVaultRoleScope.GLOBAL)]
    # Updating keeps the GUID.
    renamed = access.set_role_definition(
        KeyVaultRoleScope.GLOBAL, name=role.name, role_name="Key peeker", description="reads keys only",
        permissions=[peek],
    )
    assert (renamed.name, renamed.description) == (role.name, "reads keys only")
    # A built-in role's GUID cannot be reused.
    with pytest.raises(HttpResponseError) as info:
        access.set_role_definition(KeyVaultRoleScope.GLOBAL, name=CRYPTO_USER, role_name="Mine", permissions=[peek])
    assert info.value.status_code == 400
    assert "Cannot re-use the name/GUID matching that of a built-in role" in info.value.message

    oid, cred = _application(server, "custom-role-user")
    assignment = access.create_role_assignment(KeyVaultRoleScope.GLOBAL, role.id, oid)
    with KeyClient(hsm_url, cred) as user:
        key = user.get_key("custom-role-key")
        with CryptographyClient(key, cred) as crypto:
            with pytest.raises(HttpResponseError) as info:
                crypto.sign(SignatureAlgorithm.es256, b"\x04" * 32)
            assert info.value.status_code == 403
    access.delete_role_assignment(KeyVaultRoleScope.GLOBAL, assignment.name)
    access.delete_role_definition(KeyVaultRoleScope.GLOBAL, role.name)
    with pytest.raises(ResourceNotFoundError):
        access.get_role_definition(KeyVaultRoleScope.GLOBAL, role.name)
    cred.close()
