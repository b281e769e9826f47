"""AES on the managed HSM pool: GCM, KW, CKM_AES_KEY_WRAP(_PAD), CBC and CBCPAD.

The SDK's CryptographyClient makes up a random local key for oct keys returned
without `k` and would run CBCPAD and A*KW locally, so those are sent to the
service directly through KeyClient.send_request. GCM is remote-only in the SDK.
Imported keys (known `k`) let `cryptography` check every result independently.
"""

import os

import pytest
from azure.core.exceptions import HttpResponseError
from azure.keyvault.keys import JsonWebKey
from azure.keyvault.keys.crypto import CryptographyClient, EncryptionAlgorithm
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_wrap, aes_key_wrap_with_padding

from helpers import b64url, b64url_decode, key_op, key_path, send_json, unique

SIZES = [128, 192, 256]


@pytest.fixture(scope="module")
def aes_generated(hsm):
    return {size: hsm.create_oct_key(unique(f"gaes{size}"), size=size, hardware_protected=True) for size in SIZES}


@pytest.fixture(scope="module")
def aes_imported(hsm):
    out = {}
    for size in SIZES:
        k = os.urandom(size // 8)
        key = hsm.import_key(unique(f"iaes{size}"), JsonWebKey(kty="oct-HSM", k=k), hardware_protected=True)
        out[size] = (k, key)
    return out


def _cbc_encrypt(k, iv, data):
    enc = Cipher(algorithms.AES(k), modes.CBC(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def _pkcs7(data):
    p = sym_padding.PKCS7(128).padder()
    return p.update(data) + p.finalize()


# --------------------------------------------------------------------- GCM
@pytest.mark.parametrize("size", SIZES)
def test_gcm_round_trip_sdk(aes_generated, credential, size):
    key = aes_generated[size]
    alg = EncryptionAlgorithm(f"A{size}GCM")
    crypto = CryptographyClient(key, credential)
    aad = b"additional data"
    plaintext = os.urandom(100)
    enc = crypto.encrypt(alg, plaintext, additional_authenticated_data=aad)
    assert enc.key_id == key.id
    assert len(enc.iv) == 12
    assert len(enc.tag) == 16
    assert len(enc.ciphertext) == len(plaintext)
    assert enc.ciphertext != plaintext
    dec = crypto.decrypt(
        alg, enc.ciphertext, iv=enc.iv, authentication_tag=enc.tag, additional_authenticated_data=aad
    )
    assert dec.plaintext == plaintext

    # Wrong AAD or tag fails authentication.
    with pytest.raises(HttpResponseError) as info:
        crypto.decrypt(
            alg, enc.ciphertext, iv=enc.iv, authentication_tag=enc.tag,
            additional_authenticated_data=b"other",
        )
    assert 400 <= info.value.status_code < 500
    bad_tag = bytes([enc.tag[0] ^ 1]) + enc.tag[1:]
    with pytest.raises(HttpResponseError):
        crypto.decrypt(alg, enc.ciphertext, iv=enc.iv, authentication_tag=bad_tag, additional_authenticated_data=aad)


@pytest.mark.parametrize("size", SIZES)
def test_gcm_matches_cryptography(aes_imported, credential, size):
    k, key = aes_imported[size]
    alg = EncryptionAlgorithm(f"A{size}GCM")
    crypto = CryptographyClient(key, credential)
    aad = os.urandom(20)
    plaintext = b"gcm interop check"
    enc = crypto.encrypt(alg, plaintext, additional_authenticated_data=aad)
    assert AESGCM(k).decrypt(enc.iv, enc.ciphertext + enc.tag, aad) == plaintext

    # Encrypted by `cryptography`, decrypted by the service.
    iv = os.urandom(12)
    sealed = AESGCM(k).encrypt(iv, plaintext, aad)
    dec = crypto.decrypt(alg, sealed[:-16], iv=iv, authentication_tag=sealed[-16:], additional_authenticated_data=aad)
    assert dec.plaintext == plaintext


def test_gcm_without_aad(aes_imported, credential):
    k, key = aes_imported[256]
    crypto = CryptographyClient(key, credential)
    enc = crypto.encrypt(EncryptionAlgorithm.a256_gcm, b"no aad")
    assert AESGCM(k).decrypt(enc.iv, enc.ciphertext + enc.tag, None) == b"no aad"
    assert crypto.decrypt(
        EncryptionAlgorithm.a256_gcm, enc.ciphertext, iv=enc.iv, authentication_tag=enc.tag
    ).plaintext == b"no aad"


def test_gcm_wire_fields(hsm, aes_generated):
    key = aes_generated[128]
    body = key_op(hsm, key, "encrypt", {"alg": "A128GCM", "value": b64url(b"wire"), "aad": b64url(b"hdr")})
    assert body["kid"] == key.id
    assert len(b64url_decode(body["iv"])) == 12
    assert len(b64url_decode(body["tag"])) == 16
    for field in ("value", "iv", "tag"):
        assert "=" not in body[field] and "+" not in body[field] and "/" not in body[field], "unpadded base64url"
    back = key_op(
        hsm, key, "decrypt",
        {"alg": "A128GCM", "value": body["value"], "iv": body["iv"], "tag": body["tag"], "aad": b64url(b"hdr")},
    )
    assert b64url_decode(back["value"]) == b"wire"


def test_gcm_size_mismatch_rejected(hsm, aes_generated):
    resp = send_json(hsm, "POST", f"{key_path(aes_generated[128])}/encrypt", {"alg": "A256GCM", "value": b64url(b"x")})
    assert resp.status_code == 400, resp.text()


# ---------------------------------------------------------------- key wrap
@pytest.mark.parametrize("size", SIZES)
def test_aes_kw_round_trip_and_interop(hsm, aes_generated, aes_imported, size):
    alg = f"A{size}KW"
    cek = os.urandom(32)
    gen = aes_generated[size]
    wrapped = key_op(hsm, gen, "wrapkey", {"alg": alg, "value": b64url(cek)})
    assert len(b64url_decode(wrapped["value"])) == 40
    assert b64url_decode(key_op(hsm, gen, "unwrapkey", {"alg": alg, "value": wrapped["value"]})["value"]) == cek

    k, imp = aes_imported[size]
    wrapped = key_op(hsm, imp, "wrapkey", {"alg": alg, "value": b64url(cek)})
    assert b64url_decode(wrapped["value"]) == aes_key_wrap(k, cek)
    ours = aes_key_wrap(k, os.urandom(24))
    unwrapped = key_op(hsm, imp, "unwrapkey", {"alg": alg, "value": b64url(ours)})
    assert aes_key_wrap(k, b64url_decode(unwrapped["value"])) == ours


@pytest.mark.parametrize("size", SIZES)
def test_ckm_aes_key_wrap(hsm, aes_imported, size):
    k, key = aes_imported[size]
    cek = os.urandom(16)
    body = key_op(hsm, key, "wrapkey", {"alg": "CKM_AES_KEY_WRAP", "value": b64url(cek)})
    assert b64url_decode(body["value"]) == aes_key_wrap(k, cek)
    back = key_op(hsm, key, "unwrapkey", {"alg": "CKM_AES_KEY_WRAP", "value": body["value"]})
    assert b64url_decode(back["value"]) == cek


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("length", [20, 32, 1])
def test_ckm_aes_key_wrap_pad(hsm, aes_imported, size, length):
    k, key = aes_imported[size]
    secret = os.urandom(length)
    body = key_op(hsm, key, "wrapkey", {"alg": "CKM_AES_KEY_WRAP_PAD", "value": b64url(secret)})
    assert b64url_decode(body["value"]) == aes_key_wrap_with_padding(k, secret)
    back = key_op(hsm, key, "unwrapkey", {"alg": "CKM_AES_KEY_WRAP_PAD", "value": body["value"]})
    assert b64url_decode(back["value"]) == secret


def test_kw_rejects_unaligned_and_tampered(hsm, aes_generated):
    key = aes_generated[256]
    resp = send_json(hsm, "POST", f"{key_path(key)}/wrapkey", {"alg": "A256KW", "value": b64url(os.urandom(20))})
    assert resp.status_code == 400, resp.text()
    wrapped = key_op(hsm, key, "wrapkey", {"alg": "A256KW", "value": b64url(os.urandom(32))})
    raw = bytearray(b64url_decode(wrapped["value"]))
    raw[3] ^= 0xFF
    resp = send_json(hsm, "POST", f"{key_path(key)}/unwrapkey", {"alg": "A256KW", "value": b64url(bytes(raw))})
    assert resp.status_code == 400, resp.text()


def test_kw_size_mismatch_rejected(hsm, aes_generated):
    resp = send_json(
        hsm, "POST", f"{key_path(aes_generated[128])}/wrapkey", {"alg": "A256KW", "value": b64url(os.urandom(32))}
    )
    assert resp.status_code == 400, resp.text()


# --------------------------------------------------------------------- CBC
@pytest.mark.parametrize("size", SIZES)
def test_cbc_interop(hsm, aes_imported, size):
    k, key = aes_imported[size]
    iv = os.urandom(16)
    plaintext = os.urandom(48)
    body = key_op(hsm, key, "encrypt", {"alg": f"A{size}CBC", "value": b64url(plaintext), "iv": b64url(iv)})
    assert b64url_decode(body["value"]) == _cbc_encrypt(k, iv, plaintext)
    back = key_op(hsm, key, "decrypt", {"alg": f"A{size}CBC", "value": body["value"], "iv": b64url(iv)})
    assert b64url_decode(back["value"]) == plaintext


@pytest.mark.parametrize("size", SIZES)
def test_cbcpad_interop(hsm, aes_imported, size):
    k, key = aes_imported[size]
    iv = os.urandom(16)
    plaintext = b"twenty-one bytes!!!!!"
    body = key_op(hsm, key, "encrypt", {"alg": f"A{size}CBCPAD", "value": b64url(plaintext), "iv": b64url(iv)})
    ct = b64url_decode(body["value"])
    assert len(ct) == 32
    assert ct == _cbc_encrypt(k, iv, _pkcs7(plaintext))
    back = key_op(hsm, key, "decrypt", {"alg": f"A{size}CBCPAD", "value": body["value"], "iv": b64url(iv)})
    assert b64url_decode(back["value"]) == plaintext
    # Ciphertext made by `cryptography`, decrypted by the service.
    ours = _cbc_encrypt(k, iv, _pkcs7(b"from cryptography"))
    back = key_op(hsm, key, "decrypt", {"alg": f"A{size}CBCPAD", "value": b64url(ours), "iv": b64url(iv)})
    assert b64url_decode(back["value"]) == b"from cryptography"


@pytest.mark.parametrize("size", SIZES)
def test_cbc_round_trip_generated(hsm, aes_generated, size):
    key = aes_generated[size]
    iv = os.urandom(16)
    for alg, plaintext in ((f"A{size}CBC", os.urandom(32)), (f"A{size}CBCPAD", os.urandom(45))):
        body = key_op(hsm, key, "encrypt", {"alg": alg, "value": b64url(plaintext), "iv": b64url(iv)})
        back = key_op(hsm, key, "decrypt", {"alg": alg, "value": body["value"], "iv": b64url(iv)})
        assert b64url_decode(back["value"]) == plaintext


@pytest.mark.parametrize("size", SIZES)
def test_cbc_unaligned_plaintext_is_zero_padded(hsm, aes_imported, size):
    """As on a real Managed HSM: A*CBC fills a partial last block with zero bytes, and decrypt
    returns the zero-filled plaintext (A*CBCPAD is the padded mode that round-trips exactly)."""
    k, key = aes_imported[size]
    iv = os.urandom(16)
    plaintext = b"seventeen bytes.." + b"and a few more"
    filled = plaintext + b"\0" * (-len(plaintext) % 16)
    body = key_op(hsm, key, "encrypt", {"alg": f"A{size}CBC", "value": b64url(plaintext), "iv": b64url(iv)})
    ct = b64url_decode(body["value"])
    assert len(ct) == 32
    assert ct == _cbc_encrypt(k, iv, filled)
    back = key_op(hsm, key, "decrypt", {"alg": f"A{size}CBC", "value": body["value"], "iv": b64url(iv)})
    assert b64url_decode(back["value"]) == filled


def test_cbc_unaligned_through_the_sdk(hsm, aes_generated, credential):
    """The SDK sends A*CBC on a pool key remotely when the key has no `k`."""
    key = aes_generated[256]
    crypto = CryptographyClient(key.id, credential)
    plaintext = os.urandom(21)
    iv = os.urandom(16)
    enc = crypto.encrypt(EncryptionAlgorithm.a256_cbc, plaintext, iv=iv)
    assert len(enc.ciphertext) == 32
    dec = crypto.decrypt(EncryptionAlgorithm.a256_cbc, enc.ciphertext, iv=iv)
    assert dec.plaintext == plaintext + b"\0" * 11


def test_cbc_empty_plaintext_rejected(hsm, aes_generated):
    key = aes_generated[128]
    resp = send_json(
        hsm, "POST", f"{key_path(key)}/encrypt",
        {"alg": "A128CBC", "value": "", "iv": b64url(os.urandom(16))},
    )
    assert resp.status_code == 400, resp.text()


def test_cbcpad_bad_padding_rejected(hsm, aes_imported):
    k, key = aes_imported[128]
    iv = os.urandom(16)
    bogus = _cbc_encrypt(k, iv, b"A" * 16)  # last byte 0x41 is not valid PKCS#7 padding
    resp = send_json(hsm, "POST", f"{key_path(key)}/decrypt", {"alg": "A128CBCPAD", "value": b64url(bogus), "iv": b64url(iv)})
    assert resp.status_code == 400, resp.text()


def test_rsa_algorithm_on_aes_key_rejected(hsm, aes_generated):
    resp = send_json(hsm, "POST", f"{key_path(aes_generated[256])}/encrypt", {"alg": "RSA-OAEP", "value": b64url(b"x")})
    assert resp.status_code == 400, resp.text()
