"""Shared helpers for the Strongroom Python SDK tests."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from typing import Any, Dict, Optional

from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from launch import strongroom_binary  # noqa: F401 - the suites import it from here

API_VERSION = "7.6"

DNS_SUFFIX = "strongroom.localhost"
RETENTION_DAYS = 7

# Vaults and pools created for the session.
PREMIUM_VAULT = "sdkpremium"
STANDARD_VAULT = "sdkstandard"
PROTECTED_VAULT = "sdkprotected"
PAGING_VAULT = "sdkpaging"
HSM_POOL = "sdkhsm"
IDENTITY_NAME = "sdkapp"


def unique(prefix: str) -> str:
    """A fresh key name matching ^[0-9a-zA-Z-]+$."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def int_to_bytes(value: int, length: Optional[int] = None) -> bytes:
    if length is None:
        length = max(1, (value.bit_length() + 7) // 8)
    return value.to_bytes(length, "big")


HASHES = {
    "256": (hashlib.sha256, hashes.SHA256),
    "384": (hashlib.sha384, hashes.SHA384),
    "512": (hashlib.sha512, hashes.SHA512),
}

# Signature algorithm -> (hashlib constructor, cryptography hash class)
SIG_HASH = {
    alg: HASHES[alg[-3:]] for alg in ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
}
SIG_HASH["ES256K"] = HASHES["256"]

CURVES = {
    "P-256": (ec.SECP256R1, "ES256", 32),
    "P-256K": (ec.SECP256K1, "ES256K", 32),
    "P-384": (ec.SECP384R1, "ES384", 48),
    "P-521": (ec.SECP521R1, "ES512", 66),
}


def enum_text(value) -> str:
    """The wire string of an SDK enum member (or a plain string)."""
    return getattr(value, "value", value)


def digest_for(alg: str, message: bytes) -> bytes:
    return SIG_HASH[alg][0](message).digest()


def rsa_public_key(jwk) -> rsa.RSAPublicKey:
    n = int.from_bytes(jwk.n, "big")
    e = int.from_bytes(jwk.e, "big")
    return rsa.RSAPublicNumbers(e, n).public_key()


def ec_public_key(jwk) -> ec.EllipticCurvePublicKey:
    curve_cls = CURVES[enum_text(jwk.crv)][0]
    x = int.from_bytes(jwk.x, "big")
    y = int.from_bytes(jwk.y, "big")
    # Raises ValueError if the point is not on the curve.
    return ec.EllipticCurvePublicNumbers(x, y, curve_cls()).public_key()


def raw_ecdsa_to_der(signature: bytes, coord_len: int) -> bytes:
    assert len(signature) == 2 * coord_len, f"raw r||s expected {2 * coord_len} bytes, got {len(signature)}"
    r = int.from_bytes(signature[:coord_len], "big")
    s = int.from_bytes(signature[coord_len:], "big")
    return encode_dss_signature(r, s)


def rsa_private_jwk(key: rsa.RSAPrivateKey) -> Dict[str, Any]:
    priv = key.private_numbers()
    pub = priv.public_numbers
    return dict(
        kty="RSA",
        n=int_to_bytes(pub.n),
        e=int_to_bytes(pub.e),
        d=int_to_bytes(priv.d),
        p=int_to_bytes(priv.p),
        q=int_to_bytes(priv.q),
        dp=int_to_bytes(priv.dmp1),
        dq=int_to_bytes(priv.dmq1),
        qi=int_to_bytes(priv.iqmp),
    )


def ec_private_jwk(key: ec.EllipticCurvePrivateKey, crv: str) -> Dict[str, Any]:
    size = CURVES[crv][2]
    priv = key.private_numbers()
    pub = priv.public_numbers
    return dict(
        kty="EC",
        crv=crv,
        x=int_to_bytes(pub.x, size),
        y=int_to_bytes(pub.y, size),
        d=int_to_bytes(priv.private_value, size),
    )


def key_path(key) -> str:
    """'/keys/{name}/{version}' for a KeyVaultKey."""
    return f"/keys/{key.name}/{key.properties.version}"


def send_json(client, method: str, path: str, body: Optional[dict] = None, api_version: str = API_VERSION):
    """Send a raw request through a KeyClient's authenticated pipeline."""
    sep = "&" if "?" in path else "?"
    url = f"{path}{sep}api-version={api_version}" if api_version else path
    req = HttpRequest(method, url, json=body) if body is not None else HttpRequest(method, url)
    return client.send_request(req)


def key_op(client, key, op: str, body: dict, expect: int = 200) -> dict:
    """POST /keys/{name}/{version}/{op} directly on the service and return the JSON body."""
    resp = send_json(client, "POST", f"{key_path(key)}/{op}", body)
    assert resp.status_code == expect, f"{op}: expected {expect}, got {resp.status_code}: {resp.text()}"
    return resp.json() if resp.content else {}


def wait_deleted(client, name: str, timeout: float = 15.0):
    """Delete a key and wait until it shows up in the deleted collection."""
    poller = client.begin_delete_key(name)
    poller.wait(timeout=timeout)
    assert poller.done(), f"delete of {name} did not complete within {timeout}s"
    return poller.result()


def wait_gone_from_deleted(client, name: str, timeout: float = 15.0) -> None:
    """Wait until a key is no longer in the deleted collection."""
    from azure.core.exceptions import ResourceNotFoundError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            client.get_deleted_key(name)
        except ResourceNotFoundError:
            return
        time.sleep(0.2)
    raise AssertionError(f"deleted key {name} still present {timeout}s after purge")


def wait_purged(client, name: str, timeout: float = 15.0) -> None:
    """Purge a deleted key and wait until it is gone from the deleted collection."""
    client.purge_deleted_key(name)
    wait_gone_from_deleted(client, name, timeout)


def error_code(exc: HttpResponseError) -> Optional[str]:
    err = getattr(exc, "error", None)
    return getattr(err, "code", None)
