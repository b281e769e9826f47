"""Server-side enforcement of enabled, nbf, exp and key_ops on cryptographic operations.

Key Vault semantics (key attributes reference, "Date-time controlled operations"):
a disabled key refuses every cryptographic operation; outside the nbf/exp window
encrypt, wrapKey and sign are refused with 403 while decrypt, unwrapKey and
verify keep working, so data protected while the key was valid stays readable.

CryptographyClient is built from the KeyVaultKey returned at creation, so its
own (local) view of the key is the fresh, valid one; only the service can
refuse the remote calls. Public-key operations that the SDK would run locally
are sent to the service directly.
"""

import os
from datetime import datetime, timedelta, timezone

import pytest
from azure.core.exceptions import HttpResponseError
from azure.keyvault.keys.crypto import CryptographyClient, EncryptionAlgorithm, SignatureAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from helpers import b64url, b64url_decode, digest_for, key_op, key_path, rsa_public_key, send_json, unique


def _now():
    return datetime.now(timezone.utc).replace(microsecond=0)


def _ciphertext(key, plaintext=b"enforced"):
    return rsa_public_key(key.key).encrypt(
        plaintext, padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    )


def _assert_forbidden(fn):
    with pytest.raises(HttpResponseError) as info:
        fn()
    assert info.value.status_code == 403, f"expected 403, got {info.value.status_code}: {info.value}"
    assert info.value.error is not None and info.value.error.code, "403 must carry an error code"
    return info.value


def _rsa_ops(client, key):
    """Status of each RSA operation sent straight to the service, plus decrypt's plaintext."""
    digest = digest_for("RS256", b"attr check")
    out = {}
    ct = _ciphertext(key)
    for op, body in (
        ("encrypt", {"alg": "RSA-OAEP", "value": b64url(b"attr check")}),
        ("wrapkey", {"alg": "RSA-OAEP", "value": b64url(os.urandom(32))}),
        ("decrypt", {"alg": "RSA-OAEP", "value": b64url(ct)}),
        ("unwrapkey", {"alg": "RSA-OAEP", "value": b64url(ct)}),
        ("sign", {"alg": "RS256", "value": b64url(digest)}),
        ("verify", {"alg": "RS256", "digest": b64url(digest), "value": b64url(b"\0" * 256)}),
    ):
        resp = send_json(client, "POST", f"{key_path(key)}/{op}", body)
        out[op] = resp.status_code
        if op == "decrypt" and resp.status_code == 200:
            out["plaintext"] = b64url_decode(resp.json()["value"])
        if resp.status_code == 403:
            assert resp.json()["error"]["code"], resp.text()
    return out


def test_disabled_key_refuses_crypto(premium, credential):
    name = unique("disab")
    key = premium.create_rsa_key(name, size=2048)
    crypto = CryptographyClient(key, credential)
    digest = digest_for("RS256", b"x")
    assert crypto.sign(SignatureAlgorithm.rs256, digest).signature  # works while enabled

    premium.update_key_properties(name, enabled=False)
    _assert_forbidden(lambda: crypto.sign(SignatureAlgorithm.rs256, digest))
    _assert_forbidden(lambda: crypto.decrypt(EncryptionAlgorithm.rsa_oaep, _ciphertext(key)))
    _assert_forbidden(lambda: crypto.unwrap_key("RSA-OAEP", _ciphertext(key)))

    premium.update_key_properties(name, enabled=True)
    assert crypto.decrypt(EncryptionAlgorithm.rsa_oaep, _ciphertext(key)).plaintext == b"enforced"


def test_disabled_key_refuses_public_key_operations(premium):
    name = unique("dispub")
    key = premium.create_rsa_key(name, size=2048)
    premium.update_key_properties(name, enabled=False)
    status = _rsa_ops(premium, key)
    for op in ("encrypt", "wrapkey", "decrypt", "unwrapkey", "sign", "verify"):
        assert status[op] == 403, f"{op} on a disabled key: expected 403, got {status}"


def test_created_disabled_refuses_crypto(hsm, credential):
    key = hsm.create_oct_key(unique("disaes"), size=256, hardware_protected=True, enabled=False)
    _assert_forbidden(
        lambda: CryptographyClient(key, credential).encrypt(EncryptionAlgorithm.a256_gcm, b"data")
    )
    resp = send_json(hsm, "POST", f"{key_path(key)}/wrapkey", {"alg": "A256KW", "value": b64url(os.urandom(32))})
    assert resp.status_code == 403, resp.text()


def test_disabled_aes_key_refuses_crypto(hsm, credential):
    name = unique("disaes2")
    key = hsm.create_oct_key(name, size=256, hardware_protected=True)
    crypto = CryptographyClient(key, credential)
    enc = crypto.encrypt(EncryptionAlgorithm.a256_gcm, b"data")
    hsm.update_key_properties(name, enabled=False)
    _assert_forbidden(lambda: crypto.encrypt(EncryptionAlgorithm.a256_gcm, b"data"))
    _assert_forbidden(
        lambda: crypto.decrypt(EncryptionAlgorithm.a256_gcm, enc.ciphertext, iv=enc.iv, authentication_tag=enc.tag)
    )


@pytest.mark.parametrize("window", ["expired", "not-yet-valid"])
def test_outside_validity_window(premium, credential, window):
    name = unique(window)
    key = premium.create_rsa_key(name, size=2048)
    crypto = CryptographyClient(key, credential)
    if window == "expired":
        premium.update_key_properties(name, expires_on=_now() - timedelta(hours=1))
    else:
        premium.update_key_properties(name, not_before=_now() + timedelta(hours=1))

    # Refused: producing new protected data or signatures.
    _assert_forbidden(lambda: crypto.sign(SignatureAlgorithm.rs256, digest_for("RS256", b"late")))
    status = _rsa_ops(premium, key)
    assert status["sign"] == 403, status
    assert status["encrypt"] == 403, status
    assert status["wrapkey"] == 403, status
    # Still allowed: decrypt, unwrapKey and verify.
    assert status["decrypt"] == 200, status
    assert status["plaintext"] == b"enforced"
    assert status["unwrapkey"] == 200, status
    assert status["verify"] == 200, status

    # Moving the window back over now makes signing work again.
    if window == "expired":
        premium.update_key_properties(name, expires_on=_now() + timedelta(days=1))
    else:
        premium.update_key_properties(name, not_before=_now() - timedelta(minutes=1))
    digest = digest_for("RS256", b"on time")
    sig = crypto.sign(SignatureAlgorithm.rs256, digest).signature
    rsa_public_key(key.key).verify(sig, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))


def test_created_expired_key_refuses_sign(premium, credential):
    key = premium.create_ec_key(unique("bornexp"), expires_on=_now() - timedelta(days=1))
    _assert_forbidden(
        lambda: CryptographyClient(key, credential).sign(SignatureAlgorithm.es256, digest_for("ES256", b"x"))
    )


def test_created_not_yet_valid_key_refuses_sign(premium, credential):
    name = unique("notyet")
    key = premium.create_ec_key(name, not_before=_now() + timedelta(hours=1))
    crypto = CryptographyClient(key, credential)
    _assert_forbidden(lambda: crypto.sign(SignatureAlgorithm.es256, digest_for("ES256", b"early")))
    premium.update_key_properties(name, not_before=_now() - timedelta(minutes=1))
    assert len(crypto.sign(SignatureAlgorithm.es256, digest_for("ES256", b"now")).signature) == 64


def test_expired_aes_key(hsm, credential):
    name = unique("expaes")
    key = hsm.create_oct_key(name, size=128, hardware_protected=True)
    crypto = CryptographyClient(key, credential)
    enc = crypto.encrypt(EncryptionAlgorithm.a128_gcm, b"before expiry")
    hsm.update_key_properties(name, expires_on=_now() - timedelta(minutes=5))
    _assert_forbidden(lambda: crypto.encrypt(EncryptionAlgorithm.a128_gcm, b"after expiry"))
    dec = crypto.decrypt(EncryptionAlgorithm.a128_gcm, enc.ciphertext, iv=enc.iv, authentication_tag=enc.tag)
    assert dec.plaintext == b"before expiry"


def test_key_ops_enforced_on_sign(premium, credential):
    key = premium.create_rsa_key(unique("nosign"), size=2048, key_operations=["encrypt", "decrypt"])
    assert sorted(key.key_operations) == ["decrypt", "encrypt"]
    crypto = CryptographyClient(key, credential)
    _assert_forbidden(lambda: crypto.sign(SignatureAlgorithm.rs256, digest_for("RS256", b"x")))
    # Permitted operations still work.
    assert crypto.decrypt(EncryptionAlgorithm.rsa_oaep, _ciphertext(key)).plaintext == b"enforced"
    # unwrapKey is not permitted either.
    _assert_forbidden(lambda: crypto.unwrap_key("RSA-OAEP", _ciphertext(key)))


def test_key_ops_enforced_after_update(premium, credential):
    name = unique("opsupd")
    key = premium.create_ec_key(name)
    premium.update_key_properties(name, key_operations=["verify"])
    _assert_forbidden(
        lambda: CryptographyClient(key, credential).sign(SignatureAlgorithm.es256, digest_for("ES256", b"x"))
    )


def test_key_ops_enforced_on_remote_encrypt(hsm):
    key = hsm.create_oct_key(unique("aesdec"), size=128, hardware_protected=True, key_operations=["decrypt"])
    resp = send_json(hsm, "POST", f"{key_path(key)}/encrypt", {"alg": "A128GCM", "value": b64url(b"x")})
    assert resp.status_code == 403, resp.text()
    resp = send_json(
        hsm, "POST", f"{key_path(key)}/wrapkey", {"alg": "A128KW", "value": b64url(os.urandom(16))}
    )
    assert resp.status_code == 403, resp.text()


def test_disabled_old_version_only(premium, credential):
    name = unique("verdis")
    v1 = premium.create_ec_key(name)
    v2 = premium.create_ec_key(name)
    premium.update_key_properties(name, v1.properties.version, enabled=False)
    _assert_forbidden(lambda: CryptographyClient(v1, credential).sign(SignatureAlgorithm.es256, digest_for("ES256", b"a")))
    body = key_op(premium, v2, "sign", {"alg": "ES256", "value": b64url(digest_for("ES256", b"a"))})
    assert body["kid"] == v2.id
