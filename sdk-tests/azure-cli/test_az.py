"""The unmodified Azure CLI against a real Strongroom server: logging in with a managed identity
and with a service principal, and the key commands of `az keyvault key` on a named vault."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from conftest import CLOUD, VAULT

MESSAGE = b"signed by Strongroom through the Azure CLI"
DIGEST = hashlib.sha256(MESSAGE).digest()
OTHER_DIGEST = hashlib.sha256(MESSAGE + b"!").digest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    """The Azure CLI prints key material and signatures in standard, padded base64."""
    return base64.b64decode(text, validate=True)


def kv(az, *args: str):
    return az("keyvault", "key", *args, "--vault-name", VAULT)


def version_of(kid: str, vault_url: str, name: str) -> str:
    match = re.fullmatch(re.escape(f"{vault_url}/keys/{name}/") + r"([0-9a-f]{32})", kid)
    assert match, f"{kid!r} is not a version of {vault_url}/keys/{name}"
    return match.group(1)


# ---------------------------------------------------------------------------
# Managed identity
# ---------------------------------------------------------------------------
def test_managed_identity_login_selects_strongroom_subscription(server, mi_az):
    az, login = mi_az
    tenant = server.credentials["tenant_id"]
    assert tenant == server.identity["tenant_id"]

    # The subscription the server lists, read with the token az itself holds for ARM.
    token = az("account", "get-access-token", "--resource", f"{server.base_url}/")
    listed = server.get_json("/subscriptions?api-version=2022-12-01", token=token["accessToken"])["value"]
    assert len(listed) == 1
    subscription = listed[0]["subscriptionId"]
    assert listed[0]["tenantId"] == tenant
    assert token["subscription"] == subscription
    assert token["tenant"] == tenant

    assert [s["id"] for s in login] == [subscription]
    account = az("account", "show")
    assert account["id"] == subscription
    assert account["tenantId"] == tenant
    assert account["environmentName"] == CLOUD
    assert account["isDefault"] is True
    assert account["state"] == "Enabled"
    assert account["user"] == {"assignedIdentityInfo": "MSI", "name": "systemAssignedIdentity",
                               "type": "servicePrincipal"}


def test_managed_identity_login_with_unknown_header_fails(new_az):
    az = new_az()
    err = az.fails("login", "--identity", env={"IDENTITY_HEADER": "not-a-secret-of-any-identity"})
    # az shows App Service's `statusCode` and `message`: Strongroom's reason reaches the user.
    assert "The identity header does not match any identity." in err, err
    assert "az login" in az.fails("account", "show")


# ---------------------------------------------------------------------------
# Keys on a named vault
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def k1(az):
    return kv(az, "create", "--name", "k1", "--kty", "RSA")


def test_key_create(server, k1):
    vault_url = server.vault_url(VAULT)
    assert vault_url == f"https://{VAULT}.vault.strongroom.localhost:{server.port}"
    key = k1["key"]
    assert key["kty"] == "RSA"
    version_of(key["kid"], vault_url, "k1")
    assert len(unb64(key["n"])) == 256
    assert unb64(key["e"]) == b"\x01\x00\x01"
    assert key["d"] is None and key["p"] is None
    assert set(key["keyOps"]) >= {"sign", "verify", "encrypt", "decrypt", "wrapKey", "unwrapKey"}
    assert k1["attributes"]["enabled"] is True
    assert k1["attributes"]["recoverableDays"] == 7


def test_key_show(server, az, k1):
    shown = kv(az, "show", "--name", "k1")
    assert shown["key"]["kid"] == k1["key"]["kid"]
    assert shown["key"]["n"] == k1["key"]["n"]
    version = version_of(k1["key"]["kid"], server.vault_url(VAULT), "k1")
    by_version = kv(az, "show", "--name", "k1", "--version", version)
    assert by_version["key"]["kid"] == k1["key"]["kid"]


def test_key_list(server, az, k1):
    listed = {k["name"]: k for k in kv(az, "list")}
    assert "k1" in listed
    assert listed["k1"]["kid"] == f"{server.vault_url(VAULT)}/keys/k1"
    assert listed["k1"]["attributes"]["enabled"] is True


def test_key_sign_rs256_verifies_locally(az, k1):
    signed = kv(az, "sign", "--name", "k1", "--algorithm", "RS256", "--digest", b64(DIGEST))
    assert signed["algorithm"] == "RS256"
    assert signed["keyId"] == k1["key"]["kid"]
    signature = unb64(signed["signature"])
    assert len(signature) == 256

    jwk = kv(az, "show", "--name", "k1")["key"]
    public = rsa.RSAPublicNumbers(int.from_bytes(unb64(jwk["e"]), "big"),
                                  int.from_bytes(unb64(jwk["n"]), "big")).public_key()
    prehashed = utils.Prehashed(hashes.SHA256())
    public.verify(signature, DIGEST, padding.PKCS1v15(), prehashed)
    with pytest.raises(InvalidSignature):
        public.verify(signature, OTHER_DIGEST, padding.PKCS1v15(), prehashed)

    verified = kv(az, "verify", "--name", "k1", "--algorithm", "RS256",
                  "--digest", b64(DIGEST), "--signature", signed["signature"])
    assert verified["isValid"] is True
    refused = kv(az, "verify", "--name", "k1", "--algorithm", "RS256",
                 "--digest", b64(OTHER_DIGEST), "--signature", signed["signature"])
    assert refused["isValid"] is False


def test_key_sign_es256_verifies_locally(server, az):
    created = kv(az, "create", "--name", "e1", "--kty", "EC", "--curve", "P-256")
    jwk = created["key"]
    assert (jwk["kty"], jwk["crv"]) == ("EC", "P-256")
    version_of(jwk["kid"], server.vault_url(VAULT), "e1")

    signed = kv(az, "sign", "--name", "e1", "--algorithm", "ES256", "--digest", b64(DIGEST))
    assert signed["keyId"] == jwk["kid"]
    raw = unb64(signed["signature"])
    assert len(raw) == 64, "ES256 signatures are r||s, 32 bytes each"
    der = utils.encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))

    public = ec.EllipticCurvePublicNumbers(int.from_bytes(unb64(jwk["x"]), "big"),
                                           int.from_bytes(unb64(jwk["y"]), "big"),
                                           ec.SECP256R1()).public_key()
    prehashed = ec.ECDSA(utils.Prehashed(hashes.SHA256()))
    public.verify(der, DIGEST, prehashed)
    with pytest.raises(InvalidSignature):
        public.verify(der, OTHER_DIGEST, prehashed)


def test_key_delete(server, az):
    vault_url = server.vault_url(VAULT)
    created = kv(az, "create", "--name", "gone", "--kty", "EC", "--curve", "P-256")
    deleted = kv(az, "delete", "--name", "gone")
    assert deleted["key"]["kid"] == created["key"]["kid"]
    assert deleted["recoveryId"] == f"{vault_url}/deletedkeys/gone"
    assert deleted["scheduledPurgeDate"]

    assert "KeyNotFound" in az.fails("keyvault", "key", "show", "--vault-name", VAULT, "--name", "gone")
    assert "gone" not in [k["name"] for k in kv(az, "list")]
    in_bin = {k["name"]: k for k in kv(az, "list-deleted")}
    assert "gone" in in_bin
    assert in_bin["gone"]["recoveryId"] == f"{vault_url}/deletedkeys/gone"
    assert kv(az, "show-deleted", "--name", "gone")["key"]["kid"] == created["key"]["kid"]


# ---------------------------------------------------------------------------
# Service principal
# ---------------------------------------------------------------------------
def test_service_principal_login_after_logout(server, new_az):
    az = new_az()
    client_id = server.identity["client_id"]
    tenant = server.credentials["tenant_id"]
    az("login", "--identity")
    assert az("account", "show")["user"]["name"] == "systemAssignedIdentity"

    az("logout")
    assert "az login" in az.fails("account", "show")

    login = az("login", "--service-principal", "--username", client_id,
               "--password", server.identity["client_secret"], "--tenant", tenant)
    assert len(login) == 1
    assert login[0]["tenantId"] == tenant
    assert login[0]["user"] == {"name": client_id, "type": "servicePrincipal"}
    account = az("account", "show")
    assert account["user"] == {"name": client_id, "type": "servicePrincipal"}
    assert account["id"] == login[0]["id"]

    created = kv(az, "create", "--name", "sp1", "--kty", "RSA", "--size", "3072")
    version_of(created["key"]["kid"], server.vault_url(VAULT), "sp1")
    assert len(unb64(created["key"]["n"])) == 384
    assert "sp1" in [k["name"] for k in kv(az, "list")]


def test_service_principal_login_with_wrong_secret_fails(server, new_az):
    az = new_az()
    stderr = az.fails("login", "--service-principal", "--username", server.identity["client_id"],
                      "--password", server.identity["client_secret"] + "x",
                      "--tenant", server.credentials["tenant_id"])
    assert "The client credentials are not valid." in stderr
    assert "az login" in az.fails("account", "show")
