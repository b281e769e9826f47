"""Server-side enforcement of enabled, nbf, exp and key_ops on cryptographic operations.

CryptographyClient is built from the KeyVaultKey returned at creation, so its
own (local) view of the key is the fresh, valid one; only the service can
refuse the remote decrypt/sign calls.
"""

import os
from datetime import datetime, timedelta, timezone

import pytest
from azure.core.exceptions import HttpResponseError
from azure.keyvault.keys.crypto import CryptographyClient, EncryptionAlgorithm, SignatureAlgorithm

from helpers import b64url, digest_for, key_op, key_path, rsa_public_key, send_json, unique
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding


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


def test_created_disabled_refuses_crypto(hsm, credential):
    key = hsm.create_oct_key(unique("disaes"), size=256, hardware_protected=True, enabled=False)
    _assert_forbidden(
        lambda: CryptographyClient(key, credential).encrypt(EncryptionAlgorithm.a256_gcm, b"data")
    )


def test_expired_key_refuses_crypto(premium, credential):
    name = unique("expired")
    key = premium.create_rsa_key(name, size=2048)
    crypto = CryptographyClient(key, credential)
    premium.update_key_properties(name, expires_on=_now() - timedelta(hours=1))
    _assert_forbidden(lambda: crypto.sign(SignatureAlgorithm.rs256, digest_for("RS256", b"late")))
    _assert_forbidden(lambda: crypto.decrypt(EncryptionAlgorithm.rsa_oaep, _ciphertext(key)))
    # Extending the expiry makes it usable again.
    premium.update_key_properties(name, expires_on=_now() + timedelta(days=1))
    assert crypto.decrypt(EncryptionAlgorithm.rsa_oaep, _ciphertext(key)).plaintext == b"enforced"


def test_created_expired_key_refuses_crypto(premium, credential):
    key = premium.create_ec_key(unique("bornexp"), expires_on=_now() - timedelta(days=1))
    _assert_forbidden(
        lambda: CryptographyClient(key, credential).sign(SignatureAlgorithm.es256, digest_for("ES256", b"x"))
    )


def test_not_yet_valid_key_refuses_crypto(premium, credential):
    name = unique("notyet")
    key = premium.create_ec_key(name, not_before=_now() + timedelta(hours=1))
    crypto = CryptographyClient(key, credential)
    _assert_forbidden(lambda: crypto.sign(SignatureAlgorithm.es256, digest_for("ES256", b"early")))
    premium.update_key_properties(name, not_before=_now() - timedelta(minutes=1))
    assert len(crypto.sign(SignatureAlgorithm.es256, digest_for("ES256", b"now")).signature) == 64


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
