"""Identities beyond the client secret, driven by unmodified azure-identity credentials:
`WorkloadIdentityCredential` with a token of a trusted external issuer (its own key pair and
JWKS, as a Kubernetes cluster's service-account issuer), and `CertificateCredential` signing
client assertions with an application's certificate."""

import base64
import datetime
import json
import time
import uuid

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.identity import CertificateCredential, WorkloadIdentityCredential
from azure.keyvault.keys import KeyClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from helpers import PREMIUM_VAULT

ISSUER = "https://oidc.sdk-cluster.test"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _uint(n: int) -> str:
    return _b64(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class Issuer:
    """A test OIDC issuer: an RSA key pair, its JWKS, and RS256 tokens."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex

    def jwks(self) -> dict:
        numbers = self.key.public_key().public_numbers()
        return {"keys": [{"kty": "RSA", "kid": self.kid, "use": "sig", "n": _uint(numbers.n), "e": _uint(numbers.e)}]}

    def token(self, sub: str, aud: str = "api://AzureADTokenExchange") -> str:
        now = int(time.time())
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        claims = {"iss": ISSUER, "sub": sub, "aud": aud, "iat": now, "nbf": now - 5, "exp": now + 600}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(signature)}"


def _json(server, *args):
    return json.loads(server.cli(*args, "--output", "json").stdout)


def _application(server, name: str) -> dict:
    created = _json(server, "identity", "create", "--name", name)
    server.cli("role", "assignment", "create", "--vault-name", PREMIUM_VAULT, "--role", "Key Vault Crypto User",
               "--assignee-object-id", created["object_id"], "--scope", "/")
    return created


@pytest.fixture(scope="module")
def issuer(server, tmp_path_factory):
    test_issuer = Issuer()
    jwks = tmp_path_factory.mktemp("issuer") / "jwks.json"
    jwks.write_text(json.dumps(test_issuer.jwks()))
    server.cli("issuer", "add", "--issuer", ISSUER, "--jwks-file", str(jwks))
    yield test_issuer
    server.cli("issuer", "remove", "--issuer", ISSUER)


def test_workload_identity_credential_with_a_federated_token(server, premium_url, issuer, tmp_path):
    app = _application(server, f"wif-{uuid.uuid4().hex[:8]}")
    subject = "system:serviceaccount:payments:signer"
    server.cli("identity", "credential", "add", "--name", app["name"], "--issuer", ISSUER, "--subject", subject)
    token_file = tmp_path / "token"

    def credential():
        return WorkloadIdentityCredential(
            tenant_id=app["tenant_id"], client_id=app["client_id"], token_file_path=str(token_file),
            authority=server.bare_url,
        )

    token_file.write_text(issuer.token(subject))
    with KeyClient(premium_url, credential()) as client:
        list(client.list_properties_of_keys())

    # Another subject, or a token the issuer did not sign, is refused by the token service.
    token_file.write_text(issuer.token("system:serviceaccount:other:intruder"))
    with KeyClient(premium_url, credential()) as client:
        with pytest.raises(ClientAuthenticationError):
            list(client.list_properties_of_keys())
    token_file.write_text(Issuer().token(subject))
    with KeyClient(premium_url, credential()) as client:
        with pytest.raises(ClientAuthenticationError):
            list(client.list_properties_of_keys())


def _self_signed(key, name: str) -> bytes:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def test_certificate_credential_signs_client_assertions(server, premium_url, tmp_path):
    app = _application(server, f"cert-{uuid.uuid4().hex[:8]}")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert_pem = _self_signed(key, app["name"])
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    (tmp_path / "both.pem").write_bytes(key_pem + cert_pem)

    def credential():
        return CertificateCredential(
            app["tenant_id"], app["client_id"], str(tmp_path / "both.pem"),
            authority=server.bare_url, disable_instance_discovery=True,
        )

    with KeyClient(premium_url, credential()) as client:
        with pytest.raises((ClientAuthenticationError, HttpResponseError)):
            list(client.list_properties_of_keys())

    added = _json(server, "identity", "credential", "add", "--name", app["name"], "--cert", str(tmp_path / "cert.pem"))
    assert added["type"] == "certificate"
    with KeyClient(premium_url, credential()) as client:
        list(client.list_properties_of_keys())
