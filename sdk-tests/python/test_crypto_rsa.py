"""RSA encrypt/decrypt, sign/verify and wrap/unwrap against the SDK and `cryptography`."""

import os

import pytest
from azure.core.exceptions import HttpResponseError
from azure.keyvault.keys import JsonWebKey
from azure.keyvault.keys.crypto import (
    CryptographyClient,
    EncryptionAlgorithm,
    KeyWrapAlgorithm,
    SignatureAlgorithm,
)
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from helpers import (
    SIG_HASH,
    b64url,
    b64url_decode,
    digest_for,
    key_op,
    key_path,
    rsa_private_jwk,
    rsa_public_key,
    send_json,
    unique,
)

ENC_ALGS = ["RSA-OAEP", "RSA-OAEP-256", "RSA1_5"]
SIG_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]


def _oaep_padding(alg):
    if alg == "RSA1_5":
        return padding.PKCS1v15()
    h = hashes.SHA1() if alg == "RSA-OAEP" else hashes.SHA256()
    return padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None)


@pytest.fixture(scope="module")
def rsa_keys(premium, standard, hsm):
    """One RSA key per kind of store: premium vault (HSM), standard vault (software), HSM pool."""
    return {
        "premium-hsm": (premium, premium.create_rsa_key(unique("crsa"), size=2048, hardware_protected=True)),
        "standard-sw": (standard, standard.create_rsa_key(unique("crsa"), size=2048)),
        "pool-hsm": (hsm, hsm.create_rsa_key(unique("crsa"), size=2048, hardware_protected=True)),
    }


@pytest.fixture(scope="module")
def imported_rsa(premium):
    local = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = premium.import_key(unique("crsaimp"), JsonWebKey(**rsa_private_jwk(local)), hardware_protected=True)
    return local, key


KINDS = ["premium-hsm", "standard-sw", "pool-hsm"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("alg", ENC_ALGS)
def test_encrypt_local_decrypt_remote(rsa_keys, credential, kind, alg):
    _, key = rsa_keys[kind]
    plaintext = os.urandom(48)
    local = CryptographyClient.from_jwk(key.key)
    enc = local.encrypt(EncryptionAlgorithm(alg), plaintext)
    assert len(enc.ciphertext) == 256
    remote = CryptographyClient(key, credential)
    dec = remote.decrypt(EncryptionAlgorithm(alg), enc.ciphertext)
    assert dec.plaintext == plaintext
    assert dec.key_id == key.id


@pytest.mark.parametrize("alg", ENC_ALGS)
def test_encrypt_with_cryptography_decrypt_remote(rsa_keys, credential, alg):
    _, key = rsa_keys["premium-hsm"]
    plaintext = b"independent " + alg.encode()
    ct = rsa_public_key(key.key).encrypt(plaintext, _oaep_padding(alg))
    assert CryptographyClient(key, credential).decrypt(EncryptionAlgorithm(alg), ct).plaintext == plaintext


@pytest.mark.parametrize("alg", ENC_ALGS)
def test_remote_encrypt_decrypts_locally(premium, imported_rsa, alg):
    local, key = imported_rsa
    plaintext = os.urandom(32)
    body = key_op(premium, key, "encrypt", {"alg": alg, "value": b64url(plaintext)})
    assert body["kid"] == key.id
    ct = b64url_decode(body["value"])
    assert len(ct) == 256
    assert local.decrypt(ct, _oaep_padding(alg)) == plaintext
    # Remote round trip as well.
    back = key_op(premium, key, "decrypt", {"alg": alg, "value": body["value"]})
    assert b64url_decode(back["value"]) == plaintext


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("alg", SIG_ALGS)
def test_sign_remote_verify_local(rsa_keys, credential, kind, alg):
    client, key = rsa_keys[kind]
    digest = digest_for(alg, b"message to sign " + alg.encode())
    signed = CryptographyClient(key, credential).sign(SignatureAlgorithm(alg), digest)
    assert signed.key_id == key.id
    assert len(signed.signature) == 256

    # The SDK verifies our signature locally.
    local = CryptographyClient.from_jwk(key.key)
    assert local.verify(SignatureAlgorithm(alg), digest, signed.signature).is_valid
    bad_digest = digest_for(alg, b"another message")
    assert not local.verify(SignatureAlgorithm(alg), bad_digest, signed.signature).is_valid

    # And so does `cryptography`, with PSS salt length = digest length.
    hash_obj = SIG_HASH[alg][1]()
    if alg.startswith("PS"):
        pad = padding.PSS(mgf=padding.MGF1(SIG_HASH[alg][1]()), salt_length=len(digest))
    else:
        pad = padding.PKCS1v15()
    rsa_public_key(key.key).verify(signed.signature, digest, pad, Prehashed(hash_obj))
    with pytest.raises(InvalidSignature):
        rsa_public_key(key.key).verify(signed.signature, bad_digest, pad, Prehashed(SIG_HASH[alg][1]()))


@pytest.mark.parametrize("alg", SIG_ALGS)
def test_remote_verify(rsa_keys, alg):
    client, key = rsa_keys["premium-hsm"]
    digest = digest_for(alg, b"remote verify")
    sig = key_op(client, key, "sign", {"alg": alg, "value": b64url(digest)})
    assert sig["kid"] == key.id
    ok = key_op(client, key, "verify", {"alg": alg, "digest": b64url(digest), "value": sig["value"]})
    assert ok["value"] is True
    other = digest_for(alg, b"something else")
    bad = key_op(client, key, "verify", {"alg": alg, "digest": b64url(other), "value": sig["value"]})
    assert bad["value"] is False


def test_pkcs1_signature_is_deterministic(rsa_keys, credential):
    _, key = rsa_keys["premium-hsm"]
    digest = digest_for("RS256", b"same input")
    crypto = CryptographyClient(key, credential)
    a = crypto.sign(SignatureAlgorithm.rs256, digest).signature
    b = crypto.sign(SignatureAlgorithm.rs256, digest).signature
    assert a == b
    c = crypto.sign(SignatureAlgorithm.ps256, digest).signature
    d = crypto.sign(SignatureAlgorithm.ps256, digest).signature
    assert c != d, "PSS uses a random salt"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("alg", ENC_ALGS)
def test_wrap_local_unwrap_remote(rsa_keys, credential, kind, alg):
    _, key = rsa_keys[kind]
    cek = os.urandom(32)
    wrapped = CryptographyClient.from_jwk(key.key).wrap_key(KeyWrapAlgorithm(alg), cek)
    unwrapped = CryptographyClient(key, credential).unwrap_key(KeyWrapAlgorithm(alg), wrapped.encrypted_key)
    assert unwrapped.key == cek


@pytest.mark.parametrize("alg", ENC_ALGS)
def test_remote_wrap_unwraps_locally(premium, imported_rsa, alg):
    local, key = imported_rsa
    cek = os.urandom(32)
    body = key_op(premium, key, "wrapkey", {"alg": alg, "value": b64url(cek)})
    assert local.decrypt(b64url_decode(body["value"]), _oaep_padding(alg)) == cek
    back = key_op(premium, key, "unwrapkey", {"alg": alg, "value": body["value"]})
    assert b64url_decode(back["value"]) == cek


def test_decrypt_garbage_rejected(rsa_keys, credential):
    _, key = rsa_keys["premium-hsm"]
    with pytest.raises(HttpResponseError) as info:
        CryptographyClient(key, credential).decrypt(EncryptionAlgorithm.rsa_oaep, os.urandom(256))
    assert info.value.status_code == 400


def test_wrong_algorithm_rejected(rsa_keys):
    client, key = rsa_keys["premium-hsm"]
    resp = send_json(client, "POST", f"{key_path(key)}/sign", {"alg": "ES256", "value": b64url(b"\0" * 32)})
    assert resp.status_code == 400, resp.text()
    resp = send_json(client, "POST", f"{key_path(key)}/sign", {"alg": "RS256", "value": b64url(b"\0" * 20)})
    assert resp.status_code == 400, "a digest of the wrong length for RS256 must be rejected"


def test_latest_version_crypto_path(rsa_keys, credential, premium_url):
    client, key = rsa_keys["premium-hsm"]
    # CryptographyClient from a versionless id: GET /keys/{n}/ then POST /keys/{n}/{v}/sign.
    crypto = CryptographyClient(f"{premium_url}/keys/{key.name}", credential)
    digest = digest_for("RS256", b"versionless")
    sig = crypto.sign(SignatureAlgorithm.rs256, digest)
    assert sig.key_id == key.id
    rsa_public_key(key.key).verify(sig.signature, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    # Empty version segment means latest.
    resp = send_json(client, "POST", f"/keys/{key.name}//sign", {"alg": "RS256", "value": b64url(digest)})
    assert resp.status_code == 200, resp.text()
    assert b64url_decode(resp.json()["value"]) == sig.signature


@pytest.fixture(scope="module")
def large_rsa_keys(premium):
    return {size: premium.create_rsa_key(unique(f"crsa{size}"), size=size, hardware_protected=True) for size in (3072, 4096)}


@pytest.mark.parametrize("size", [3072, 4096])
def test_large_rsa_keys(large_rsa_keys, credential, size):
    key = large_rsa_keys[size]
    crypto = CryptographyClient(key, credential)
    pub = rsa_public_key(key.key)
    for alg in ("RS512", "PS256"):
        digest = digest_for(alg, b"large key")
        sig = crypto.sign(SignatureAlgorithm(alg), digest).signature
        assert len(sig) == size // 8
        pad = padding.PSS(mgf=padding.MGF1(SIG_HASH[alg][1]()), salt_length=len(digest)) if alg.startswith("PS") else padding.PKCS1v15()
        pub.verify(sig, digest, pad, Prehashed(SIG_HASH[alg][1]()))
    plaintext = os.urandom(64)
    ct = pub.encrypt(plaintext, _oaep_padding("RSA-OAEP-256"))
    assert crypto.decrypt(EncryptionAlgorithm.rsa_oaep_256, ct).plaintext == plaintext
