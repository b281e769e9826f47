"""Server bootstrap, 401 challenge and managed-identity token endpoint."""

import pytest
import requests
from azure.core.exceptions import ResourceNotFoundError
from azure.keyvault.keys import KeyClient

from helpers import DNS_SUFFIX, HSM_POOL, PREMIUM_VAULT, unique


def test_admin_credentials_file(server):
    assert server.credentials_mode == 0o600, oct(server.credentials_mode)
    for field in ("server_url", "ca_file", "tenant_id", "client_id", "client_secret", "dns_suffix"):
        assert server.credentials.get(field), f"admin-credentials.json lacks {field}"
    assert server.credentials["dns_suffix"] == DNS_SUFFIX


def test_identity_output(server):
    ident = server.identity
    assert ident.get("client_id") and ident.get("client_secret")
    assert ident["env"]["IDENTITY_ENDPOINT"] == f"https://127.0.0.1:{server.port}/msi/token"


def _challenge(url: str, ca: str):
    resp = requests.get(f"{url}/keys?api-version=7.6", verify=ca, timeout=10)
    assert resp.status_code == 401, resp.text
    return resp.headers.get("WWW-Authenticate", "")


@pytest.mark.parametrize(
    "kind,resource_host",
    [("vault", f"vault.{DNS_SUFFIX}"), ("managedhsm", f"managedhsm.{DNS_SUFFIX}"), ("bare", "127.0.0.1")],
)
def test_unauthenticated_request_gets_challenge(server, kind, resource_host):
    url = {
        "vault": server.vault_url(PREMIUM_VAULT),
        "managedhsm": server.hsm_url(HSM_POOL),
        "bare": server.bare_url,
    }[kind]
    header = _challenge(url, server.ca_file)
    tenant = server.credentials["tenant_id"]
    expected = (
        f'Bearer authorization="https://login.{DNS_SUFFIX}:{server.port}/{tenant}", '
        f'resource="https://{resource_host}:{server.port}"'
    )
    assert header == expected


def test_bad_bearer_token_rejected(server, premium_url):
    resp = requests.get(
        f"{premium_url}/keys?api-version=7.6",
        headers={"Authorization": "Bearer not-a-real-token"},
        verify=server.ca_file,
        timeout=10,
    )
    assert resp.status_code == 401
    assert resp.headers.get("WWW-Authenticate", "").startswith("Bearer authorization=")


def test_msi_token_endpoint(server):
    env = server.identity["env"]
    resource = f"https://vault.{DNS_SUFFIX}:{server.port}"
    ok = requests.get(
        env["IDENTITY_ENDPOINT"],
        params={"api-version": "2019-08-01", "resource": resource},
        headers={"X-IDENTITY-HEADER": env["IDENTITY_HEADER"]},
        verify=server.ca_file,
        timeout=10,
    )
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["access_token"]
    assert body.get("token_type", "").lower() == "bearer"
    assert int(body["expires_on"]) > 0

    bad = requests.get(
        env["IDENTITY_ENDPOINT"],
        params={"api-version": "2019-08-01", "resource": resource},
        headers={"X-IDENTITY-HEADER": "wrong-secret"},
        verify=server.ca_file,
        timeout=10,
    )
    assert bad.status_code >= 400 and bad.status_code != 500, bad.status_code


def test_token_from_msi_works_on_the_wire(server, premium_url):
    env = server.identity["env"]
    tok = requests.get(
        env["IDENTITY_ENDPOINT"],
        params={"api-version": "2019-08-01", "resource": f"https://vault.{DNS_SUFFIX}:{server.port}"},
        headers={"X-IDENTITY-HEADER": env["IDENTITY_HEADER"]},
        verify=server.ca_file,
        timeout=10,
    ).json()["access_token"]
    resp = requests.get(
        f"{premium_url}/keys?api-version=7.6",
        headers={"Authorization": f"Bearer {tok}"},
        verify=server.ca_file,
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    assert isinstance(resp.json()["value"], list)


def test_bare_host_default_vault_needs_verification_off(server, credential):
    # The bare host advertises resource https://127.0.0.1:PORT, which the SDK's
    # default challenge-resource verification refuses before asking for a token.
    with KeyClient(server.bare_url, credential) as strict:
        with pytest.raises(ValueError, match="challenge resource"):
            strict.get_key(unique("nope"))

    with KeyClient(server.bare_url, credential, verify_challenge_resource=False) as client:
        name = unique("bare")
        key = client.create_ec_key(name)
        assert key.id.startswith(f"{server.bare_url}/keys/{name}/")
        assert client.get_key(name).id == key.id
        with pytest.raises(ResourceNotFoundError):
            client.get_key(unique("missing"))


def test_percent_encoded_api_version(server, credential, premium_url):
    # The JavaScript SDK sends ?api%2Dversion=...; the query name must be decoded.
    token = credential.get_token(f"https://vault.{DNS_SUFFIX}:{server.port}/.default").token
    resp = requests.get(
        f"{premium_url}/keys?api%2Dversion=7.6",
        headers={"Authorization": f"Bearer {token}"},
        verify=server.ca_file,
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    assert isinstance(resp.json()["value"], list)
