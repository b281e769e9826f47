"""ECDSA: remote sign, local SDK verify and independent verification with `cryptography`."""

import pytest
from azure.core.exceptions import HttpResponseError
from azure.keyvault.keys.crypto import CryptographyClient, SignatureAlgorithm
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from helpers import (
    CURVES,
    SIG_HASH,
    b64url,
    digest_for,
    ec_public_key,
    key_op,
    key_path,
    raw_ecdsa_to_der,
    send_json,
    unique,
)

CURVE_NAMES = ["P-256", "P-256K", "P-384", "P-521"]


@pytest.fixture(scope="module")
def ec_keys(premium, standard, hsm):
    keys = {}
    for crv in CURVE_NAMES:
        keys[("premium-hsm", crv)] = (premium, premium.create_ec_key(unique("cec"), curve=crv, hardware_protected=True))
        keys[("standard-sw", crv)] = (standard, standard.create_ec_key(unique("cec"), curve=crv))
        keys[("pool-hsm", crv)] = (hsm, hsm.create_ec_key(unique("cec"), curve=crv, hardware_protected=True))
    return keys


@pytest.mark.parametrize("kind", ["premium-hsm", "standard-sw", "pool-hsm"])
@pytest.mark.parametrize("crv", CURVE_NAMES)
def test_sign_remote_verify_local_and_independent(ec_keys, credential, kind, crv):
    _, key = ec_keys[(kind, crv)]
    curve_cls, alg, size = CURVES[crv]
    digest = digest_for(alg, f"ec message {kind} {crv}".encode())

    signed = CryptographyClient(key, credential).sign(SignatureAlgorithm(alg), digest)
    assert signed.key_id == key.id
    assert len(signed.signature) == 2 * size, "ECDSA signatures are raw r||s"

    local = CryptographyClient.from_jwk(key.key)
    assert local.verify(SignatureAlgorithm(alg), digest, signed.signature).is_valid
    other = digest_for(alg, b"tampered")
    assert not local.verify(SignatureAlgorithm(alg), other, signed.signature).is_valid

    pub = ec_public_key(key.key)
    der = raw_ecdsa_to_der(signed.signature, size)
    pub.verify(der, digest, ec.ECDSA(Prehashed(SIG_HASH[alg][1]())))
    with pytest.raises(InvalidSignature):
        pub.verify(der, other, ec.ECDSA(Prehashed(SIG_HASH[alg][1]())))


@pytest.mark.parametrize("crv", CURVE_NAMES)
def test_remote_verify(ec_keys, crv):
    client, key = ec_keys[("premium-hsm", crv)]
    _, alg, _ = CURVES[crv]
    digest = digest_for(alg, b"remote ec verify")
    sig = key_op(client, key, "sign", {"alg": alg, "value": b64url(digest)})
    assert key_op(client, key, "verify", {"alg": alg, "digest": b64url(digest), "value": sig["value"]})["value"] is True
    other = digest_for(alg, b"not it")
    assert key_op(client, key, "verify", {"alg": alg, "digest": b64url(other), "value": sig["value"]})["value"] is False


def test_ecdsa_is_randomised(ec_keys, credential):
    _, key = ec_keys[("premium-hsm", "P-256")]
    digest = digest_for("ES256", b"same")
    crypto = CryptographyClient(key, credential)
    assert crypto.sign(SignatureAlgorithm.es256, digest).signature != crypto.sign(SignatureAlgorithm.es256, digest).signature


@pytest.mark.parametrize("crv,wrong_alg", [("P-256", "ES384"), ("P-384", "ES256"), ("P-256K", "ES256"), ("P-521", "RS256")])
def test_algorithm_curve_mismatch_rejected(ec_keys, crv, wrong_alg):
    client, key = ec_keys[("premium-hsm", crv)]
    digest = digest_for(wrong_alg, b"mismatch")
    resp = send_json(client, "POST", f"{key_path(key)}/sign", {"alg": wrong_alg, "value": b64url(digest)})
    assert resp.status_code == 400, resp.text()


def test_ec_encrypt_rejected(ec_keys, credential):
    # EC keys carry only sign/verify, so the refusal may come from key_ops (403)
    # or from the algorithm check (400); it must never succeed.
    client, key = ec_keys[("premium-hsm", "P-256")]
    resp = send_json(client, "POST", f"{key_path(key)}/encrypt", {"alg": "RSA-OAEP", "value": b64url(b"x")})
    assert resp.status_code in (400, 403), resp.text()
    with pytest.raises(HttpResponseError) as info:
        CryptographyClient(key, credential).decrypt("RSA-OAEP", b"\0" * 64)
    assert info.value.status_code in (400, 403)
