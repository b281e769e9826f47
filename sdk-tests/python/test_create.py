"""Key creation: RSA, EC and oct-HSM, attributes, and product restrictions."""

import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from azure.core.exceptions import HttpResponseError
from azure.keyvault.keys import JsonWebKey, KeyCurveName, KeyType
from azure.keyvault.keys.crypto import CryptographyClient, EncryptionAlgorithm, SignatureAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding

from helpers import CURVES, ec_private_jwk, ec_public_key, rsa_public_key, unique


def _check_rsa(key, size, name, url, kty):
    assert key.name == name
    assert key.key_type == kty
    assert key.id.startswith(f"{url}/keys/{name}/")
    assert len(key.properties.version) == 32 and int(key.properties.version, 16) >= 0
    n = int.from_bytes(key.key.n, "big")
    assert n.bit_length() == size
    assert int.from_bytes(key.key.e, "big") == 65537
    # No private material is ever returned.
    for attr in ("d", "p", "q", "dp", "dq", "qi", "k"):
        assert getattr(key.key, attr, None) in (None, b""), attr
    rsa_public_key(key.key)  # parses as a valid public key
    assert key.properties.enabled is True
    assert key.properties.created_on is not None and key.properties.updated_on is not None


@pytest.mark.parametrize("size", [2048, 3072, 4096])
def test_create_rsa_hsm_sizes(premium, premium_url, size):
    name = unique(f"rsa{size}")
    key = premium.create_rsa_key(name, size=size, public_exponent=65537, hardware_protected=True)
    _check_rsa(key, size, name, premium_url, KeyType.rsa_hsm)


def test_create_rsa_software_on_standard(standard, standard_url):
    name = unique("rsasw")
    key = standard.create_rsa_key(name, size=2048)
    _check_rsa(key, 2048, name, standard_url, KeyType.rsa)
    assert key.properties.recoverable_days == 7
    assert key.properties.recovery_level == "CustomizedRecoverable+Purgeable"


def test_create_rsa_default_size_is_2048(premium, premium_url):
    name = unique("rsadef")
    key = premium.create_rsa_key(name)
    _check_rsa(key, 2048, name, premium_url, KeyType.rsa)


@pytest.mark.parametrize("curve", ["P-256", "P-256K", "P-384", "P-521"])
@pytest.mark.parametrize("hardware_protected", [False, True])
def test_create_ec_curves(premium, premium_url, curve, hardware_protected):
    name = unique("ec")
    key = premium.create_ec_key(name, curve=KeyCurveName(curve), hardware_protected=hardware_protected)
    assert key.key_type == (KeyType.ec_hsm if hardware_protected else KeyType.ec)
    assert key.key.crv == curve
    size = CURVES[curve][2]
    assert len(key.key.x) == size and len(key.key.y) == size
    ec_public_key(key.key)  # the point is on the curve
    assert getattr(key.key, "d", None) in (None, b"")
    assert key.id.startswith(f"{premium_url}/keys/{name}/")


def test_create_ec_default_curve(premium):
    key = premium.create_ec_key(unique("ecdef"))
    assert key.key.crv == "P-256"


@pytest.mark.parametrize("size", [128, 192, 256])
def test_create_oct_hsm_sizes(hsm, hsm_url, size):
    name = unique(f"aes{size}")
    key = hsm.create_oct_key(name, size=size, hardware_protected=True)
    assert key.key_type == KeyType.oct_hsm
    assert key.id.startswith(f"{hsm_url}/keys/{name}/")
    # Symmetric key material is never returned.
    assert getattr(key.key, "k", None) in (None, b"")


def test_create_rsa_and_ec_on_hsm_pool(hsm):
    rsa_key = hsm.create_rsa_key(unique("hsmrsa"), size=2048, hardware_protected=True)
    assert rsa_key.key_type == KeyType.rsa_hsm
    assert int.from_bytes(rsa_key.key.n, "big").bit_length() == 2048
    ec_key = hsm.create_ec_key(unique("hsmec"), curve="P-384", hardware_protected=True)
    assert ec_key.key_type == KeyType.ec_hsm
    assert ec_key.key.crv == "P-384"


def test_create_with_attributes(premium):
    name = unique("attrs")
    nbf = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
    exp = nbf + timedelta(days=30)
    tags = {"env": "test", "owner": "sdk"}
    key = premium.create_ec_key(
        name,
        curve="P-256",
        key_operations=["sign", "verify"],
        enabled=True,
        tags=tags,
        not_before=nbf,
        expires_on=exp,
    )
    assert key.properties.not_before == nbf
    assert key.properties.expires_on == exp
    assert key.properties.tags == tags
    assert sorted(key.key_operations) == ["sign", "verify"]
    fetched = premium.get_key(name)
    assert fetched.properties.not_before == nbf
    assert fetched.properties.expires_on == exp
    assert fetched.properties.tags == tags
    assert sorted(fetched.key_operations) == ["sign", "verify"]


def test_default_key_ops_spelling(premium):
    key = premium.create_rsa_key(unique("ops"))
    # The service spelling is camelCase wrapKey/unwrapKey.
    assert set(key.key_operations) >= {"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"}


def test_created_disabled(premium):
    name = unique("disabled")
    key = premium.create_ec_key(name, enabled=False)
    assert key.properties.enabled is False


def test_new_version_on_existing_name(premium):
    name = unique("twice")
    first = premium.create_ec_key(name)
    second = premium.create_ec_key(name)
    assert first.properties.version != second.properties.version
    assert premium.get_key(name).properties.version == second.properties.version


def test_oct_key_on_vault_rejected(premium):
    for hw in (True, False):
        with pytest.raises(HttpResponseError) as info:
            premium.create_oct_key(unique("octvault"), size=256, hardware_protected=hw)
        assert info.value.status_code == 400, info.value
        assert info.value.error is not None and info.value.error.code


def test_rsa_hsm_on_standard_vault_rejected(standard):
    with pytest.raises(HttpResponseError) as info:
        standard.create_rsa_key(unique("hsmonstd"), size=2048, hardware_protected=True)
    assert info.value.status_code == 400, info.value
    with pytest.raises(HttpResponseError) as info:
        standard.create_ec_key(unique("echsmonstd"), hardware_protected=True)
    assert info.value.status_code == 400, info.value


@pytest.mark.parametrize("size", [1024, 2047])
def test_bad_rsa_size_rejected(premium, size):
    with pytest.raises(HttpResponseError) as info:
        premium.create_rsa_key(unique("badsize"), size=size)
    assert info.value.status_code == 400


def test_bad_key_name_rejected(premium):
    with pytest.raises(HttpResponseError) as info:
        premium.create_ec_key("bad_name_with_underscores")
    assert info.value.status_code in (400, 404)


def test_import_hsm_on_standard_vault_rejected(standard):
    jwk = JsonWebKey(**ec_private_jwk(ec.generate_private_key(ec.SECP256R1()), "P-256"))
    with pytest.raises(HttpResponseError) as info:
        standard.import_key(unique("imphsmstd"), jwk, hardware_protected=True)
    assert info.value.status_code == 400
    # The same key imported as software-protected is fine.
    assert standard.import_key(unique("impswstd"), jwk).key_type == KeyType.ec


def test_software_types_on_hsm_pool_become_hsm_types(hsm, credential):
    # Without hardware_protected the SDK asks for RSA, EC and oct; a pool keeps them in its HSM.
    rsa_key = hsm.create_rsa_key(unique("swrsa"), size=2048)
    assert rsa_key.key_type == KeyType.rsa_hsm
    assert hsm.get_key(rsa_key.name).key_type == KeyType.rsa_hsm
    ec_key = hsm.create_ec_key(unique("swec"), curve="P-256")
    assert ec_key.key_type == KeyType.ec_hsm
    oct_key = hsm.create_oct_key(unique("swoct"), size=256)
    assert oct_key.key_type == KeyType.oct_hsm
    # The key works as any other: sign with the RSA key, verify locally.
    digest = hashlib.sha256(b"first run").digest()
    sig = CryptographyClient(rsa_key, credential).sign(SignatureAlgorithm.rs256, digest).signature
    rsa_public_key(rsa_key.key).verify(sig, b"first run", padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.parametrize("exponent", [3, 17])
def test_hsm_pool_rsa_public_exponent(hsm, credential, exponent):
    key = hsm.create_rsa_key(unique(f"rsae{exponent}"), size=2048, public_exponent=exponent, hardware_protected=True)
    assert int.from_bytes(key.key.e, "big") == exponent
    assert hsm.get_key(key.name).key.e == key.key.e
    public = rsa_public_key(key.key)
    assert public.public_numbers().e == exponent
    # Encrypt locally with the returned public key, decrypt in the pool.
    ct = public.encrypt(b"exponent", padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None))
    result = CryptographyClient(key, credential).decrypt(EncryptionAlgorithm.rsa_oaep, ct)
    assert result.plaintext == b"exponent"


def test_vault_refuses_other_public_exponents(premium):
    with pytest.raises(HttpResponseError) as info:
        premium.create_rsa_key(unique("rsae17"), size=2048, public_exponent=17, hardware_protected=True)
    assert info.value.status_code == 400
    assert info.value.error.code == "BadParameter"
    # 65537 named explicitly is the vault's one exponent.
    key = premium.create_rsa_key(unique("rsaf4"), size=2048, public_exponent=65537)
    assert int.from_bytes(key.key.e, "big") == 65537
