"""Importing JWKs with private parts, then proving the server really holds them."""

import hashlib
import os

import pytest
from azure.keyvault.keys import JsonWebKey, KeyType
from azure.keyvault.keys.crypto import (
    CryptographyClient,
    EncryptionAlgorithm,
    SignatureAlgorithm,
)
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from helpers import CURVES, ec_private_jwk, raw_ecdsa_to_der, rsa_private_jwk, unique


@pytest.fixture(scope="module")
def rsa_local():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize("hardware_protected", [True, False])
def test_import_rsa_private(premium, premium_url, credential, rsa_local, hardware_protected):
    name = unique("imprsa")
    jwk = JsonWebKey(key_ops=["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"], **rsa_private_jwk(rsa_local))
    key = premium.import_key(name, jwk, hardware_protected=hardware_protected, tags={"src": "import"})
    assert key.key_type == (KeyType.rsa_hsm if hardware_protected else KeyType.rsa)
    assert key.id.startswith(f"{premium_url}/keys/{name}/")
    pub = rsa_local.public_key().public_numbers()
    assert int.from_bytes(key.key.n, "big") == pub.n
    assert int.from_bytes(key.key.e, "big") == pub.e
    for attr in ("d", "p", "q", "dp", "dq", "qi"):
        assert getattr(key.key, attr, None) in (None, b""), f"private part {attr} returned"
    assert key.properties.tags == {"src": "import"}

    crypto = CryptographyClient(key, credential)
    # Our own public key encrypts, the server decrypts with the imported private key.
    plaintext = os.urandom(32)
    ct = rsa_local.public_key().encrypt(
        plaintext, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    )
    assert crypto.decrypt(EncryptionAlgorithm.rsa_oaep_256, ct).plaintext == plaintext

    # The server signs, our own public key verifies.
    digest = hashlib.sha256(b"imported rsa").digest()
    sig = crypto.sign(SignatureAlgorithm.rs256, digest).signature
    rsa_local.public_key().verify(sig, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))


@pytest.mark.parametrize("curve", ["P-256", "P-256K", "P-384", "P-521"])
@pytest.mark.parametrize("hardware_protected", [True, False])
def test_import_ec_private(premium, credential, curve, hardware_protected):
    curve_cls, alg, size = CURVES[curve]
    local = ec.generate_private_key(curve_cls())
    name = unique("impec")
    key = premium.import_key(name, JsonWebKey(**ec_private_jwk(local, curve)), hardware_protected=hardware_protected)
    assert key.key_type == (KeyType.ec_hsm if hardware_protected else KeyType.ec)
    assert key.key.crv == curve
    pub = local.public_key().public_numbers()
    assert int.from_bytes(key.key.x, "big") == pub.x
    assert int.from_bytes(key.key.y, "big") == pub.y
    assert getattr(key.key, "d", None) in (None, b"")

    hash_cls = {32: hashes.SHA256, 48: hashes.SHA384, 66: hashes.SHA512}[size]
    digest = hashlib.new(hash_cls.name, b"imported ec").digest()
    sig = CryptographyClient(key, credential).sign(SignatureAlgorithm(alg), digest).signature
    local.public_key().verify(raw_ecdsa_to_der(sig, size), digest, ec.ECDSA(Prehashed(hash_cls())))


@pytest.mark.parametrize("size", [128, 192, 256])
def test_import_oct_into_hsm(hsm, credential, size):
    k = os.urandom(size // 8)
    name = unique("impaes")
    key = hsm.import_key(name, JsonWebKey(kty="oct", k=k, key_ops=["encrypt", "decrypt"]), hardware_protected=True)
    assert key.key_type == KeyType.oct_hsm
    assert getattr(key.key, "k", None) in (None, b""), "symmetric key material returned"

    aad = b"header"
    alg = EncryptionAlgorithm(f"A{size}GCM")
    result = CryptographyClient(key, credential).encrypt(alg, b"secret message", additional_authenticated_data=aad)
    assert result.iv and result.tag
    # Decrypt independently with the key we imported.
    assert AESGCM(k).decrypt(result.iv, result.ciphertext + result.tag, aad) == b"secret message"


def test_import_new_version(premium, rsa_local):
    name = unique("impver")
    first = premium.import_key(name, JsonWebKey(**rsa_private_jwk(rsa_local)))
    second = premium.import_key(name, JsonWebKey(**rsa_private_jwk(rsa_local)))
    assert first.properties.version != second.properties.version
    versions = {p.version for p in premium.list_properties_of_key_versions(name)}
    assert versions == {first.properties.version, second.properties.version}


def test_import_public_only_rejected(premium, rsa_local):
    from azure.core.exceptions import HttpResponseError

    pub = rsa_local.public_key().public_numbers()
    jwk = JsonWebKey(kty="RSA", n=pub.n.to_bytes(256, "big"), e=(65537).to_bytes(3, "big"))
    with pytest.raises(HttpResponseError) as info:
        premium.import_key(unique("imppub"), jwk)
    assert info.value.status_code == 400


def test_import_software_types_into_hsm_pool(hsm, rsa_local):
    # kty RSA, EC and oct without hardware_protected: the pool stores them as HSM types.
    rsa_key = hsm.import_key(unique("imprsasw"), JsonWebKey(**rsa_private_jwk(rsa_local)))
    assert rsa_key.key_type == KeyType.rsa_hsm
    assert rsa_key.key.n == rsa_private_jwk(rsa_local)["n"]
    local_ec = ec.generate_private_key(ec.SECP256R1())
    ec_key = hsm.import_key(unique("impecsw"), JsonWebKey(**ec_private_jwk(local_ec, "P-256")))
    assert ec_key.key_type == KeyType.ec_hsm
    oct_key = hsm.import_key(unique("impoctsw"), JsonWebKey(kty="oct", k=os.urandom(32)))
    assert oct_key.key_type == KeyType.oct_hsm
