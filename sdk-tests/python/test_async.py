"""The async clients (azure.keyvault.keys.aio, crypto.aio) over aiohttp."""

import asyncio
import hashlib
import os

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.keyvault.keys import KeyRotationLifetimeAction, KeyRotationPolicy, KeyType
from azure.keyvault.keys.crypto import EncryptionAlgorithm, KeyWrapAlgorithm, SignatureAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from helpers import enum_text, CURVES, SIG_HASH, digest_for, ec_public_key, error_code, raw_ecdsa_to_der, rsa_public_key, unique

TIMEOUT = 30


@pytest.fixture
async def acred(server):
    from azure.identity.aio import DefaultAzureCredential

    cred = DefaultAzureCredential()
    yield cred
    await cred.close()


def _kc(url, cred):
    from azure.keyvault.keys.aio import KeyClient

    return KeyClient(url, cred)


def _cc(key, cred):
    from azure.keyvault.keys.crypto.aio import CryptographyClient

    return CryptographyClient(key, cred)


async def test_async_create_get_list(premium_url, acred):
    async with _kc(premium_url, acred) as client:
        name = unique("arsa")
        v1 = await client.create_rsa_key(name, size=2048, hardware_protected=True)
        assert v1.key_type == KeyType.rsa_hsm
        assert int.from_bytes(v1.key.n, "big").bit_length() == 2048
        v2 = await client.create_rsa_key(name, size=2048)
        assert v2.properties.version != v1.properties.version

        latest = await client.get_key(name)
        assert latest.id == v2.id
        old = await client.get_key(name, v1.properties.version)
        assert old.key.n == v1.key.n

        versions = [p.version async for p in client.list_properties_of_key_versions(name)]
        assert sorted(versions) == sorted([v1.properties.version, v2.properties.version])

        ec_name = unique("aec")
        ec_key = await client.create_ec_key(ec_name, curve="P-384")
        assert ec_key.key.crv == "P-384"
        listed = {p.name: p async for p in client.list_properties_of_keys()}
        assert name in listed and ec_name in listed
        assert listed[name].id == f"{premium_url}/keys/{name}"

        with pytest.raises(ResourceNotFoundError) as info:
            await client.get_key(unique("amissing"))
        assert error_code(info.value) == "KeyNotFound"


async def test_async_concurrent_creates(premium_url, acred):
    async with _kc(premium_url, acred) as client:
        name = unique("aconc")
        keys = await asyncio.wait_for(
            asyncio.gather(*(client.create_ec_key(name, curve="P-256") for _ in range(8))), TIMEOUT
        )
        assert len({k.properties.version for k in keys}) == 8
        versions = {p.version async for p in client.list_properties_of_key_versions(name)}
        assert versions == {k.properties.version for k in keys}


async def test_async_update_rotate_policy(premium_url, acred):
    async with _kc(premium_url, acred) as client:
        name = unique("aupd")
        key = await client.create_ec_key(name)
        upd = await client.update_key_properties(name, tags={"async": "yes"}, enabled=False)
        assert upd.properties.tags == {"async": "yes"} and upd.properties.enabled is False
        assert (await client.get_key(name)).properties.enabled is False

        policy = KeyRotationPolicy(
            lifetime_actions=[KeyRotationLifetimeAction("Rotate", time_after_create="P30D")], expires_in="P90D"
        )
        await client.update_key_rotation_policy(name, policy)
        fetched = await client.get_key_rotation_policy(name)
        assert fetched.expires_in == "P90D"
        assert any(enum_text(a.action).lower() == "rotate" and a.time_after_create == "P30D" for a in fetched.lifetime_actions)

        rotated = await client.rotate_key(name)
        assert rotated.properties.version != key.properties.version
        assert (await client.get_key(name)).properties.version == rotated.properties.version


async def test_async_delete_recover_purge(premium_url, acred):
    async with _kc(premium_url, acred) as client:
        name = unique("adel")
        key = await client.create_ec_key(name)
        deleted = await asyncio.wait_for(client.delete_key(name), TIMEOUT)
        assert deleted.recovery_id == f"{premium_url}/deletedkeys/{name}"
        got = await client.get_deleted_key(name)
        assert got.properties.version == key.properties.version
        assert name in {d.name async for d in client.list_deleted_keys()}

        with pytest.raises(ResourceExistsError):
            await client.create_ec_key(name)

        recovered = await asyncio.wait_for(client.recover_deleted_key(name), TIMEOUT)
        assert recovered.id == key.id
        assert (await client.get_key(name)).id == key.id

        await asyncio.wait_for(client.delete_key(name), TIMEOUT)
        await client.purge_deleted_key(name)
        for _ in range(50):
            try:
                await client.get_deleted_key(name)
            except ResourceNotFoundError:
                break
            await asyncio.sleep(0.2)
        else:
            pytest.fail("key still in deleted collection after purge")


async def test_async_purge_protection(protected_url, acred):
    async with _kc(protected_url, acred) as client:
        name = unique("aprot")
        await client.create_ec_key(name)
        await asyncio.wait_for(client.delete_key(name), TIMEOUT)
        with pytest.raises(HttpResponseError) as info:
            await client.purge_deleted_key(name)
        assert info.value.status_code == 403


async def test_async_backup_restore(premium_url, acred):
    async with _kc(premium_url, acred) as client:
        name = unique("abak")
        key = await client.create_ec_key(name)
        blob = await client.backup_key(name)
        await asyncio.wait_for(client.delete_key(name), TIMEOUT)
        await client.purge_deleted_key(name)
        restored = None
        for _ in range(50):
            try:
                restored = await client.restore_key_backup(blob)
                break
            except ResourceExistsError:
                await asyncio.sleep(0.2)
        assert restored is not None
        assert restored.id == key.id
        assert restored.key.x == key.key.x


async def test_async_rsa_crypto(premium_url, acred):
    async with _kc(premium_url, acred) as client:
        key = await client.create_rsa_key(unique("acrsa"), size=2048, hardware_protected=True)
    async with _cc(key, acred) as crypto:
        plaintext = os.urandom(40)
        for alg in ("RSA-OAEP", "RSA-OAEP-256", "RSA1_5"):
            enc = await crypto.encrypt(EncryptionAlgorithm(alg), plaintext)
            assert (await crypto.decrypt(EncryptionAlgorithm(alg), enc.ciphertext)).plaintext == plaintext
            wrapped = await crypto.wrap_key(KeyWrapAlgorithm(alg), plaintext[:32])
            assert (await crypto.unwrap_key(KeyWrapAlgorithm(alg), wrapped.encrypted_key)).key == plaintext[:32]

        pub = rsa_public_key(key.key)
        for alg in ("RS256", "PS384", "PS512"):
            digest = digest_for(alg, b"async rsa")
            sig = (await crypto.sign(SignatureAlgorithm(alg), digest)).signature
            assert (await crypto.verify(SignatureAlgorithm(alg), digest, sig)).is_valid
            h = SIG_HASH[alg][1]
            pad = padding.PSS(mgf=padding.MGF1(h()), salt_length=len(digest)) if alg.startswith("PS") else padding.PKCS1v15()
            pub.verify(sig, digest, pad, Prehashed(h()))


@pytest.mark.parametrize("crv", ["P-256", "P-256K", "P-384", "P-521"])
async def test_async_ec_sign(hsm_url, acred, crv):
    curve_cls, alg, size = CURVES[crv]
    async with _kc(hsm_url, acred) as client:
        key = await client.create_ec_key(unique("acec"), curve=crv, hardware_protected=True)
    async with _cc(key, acred) as crypto:
        digest = digest_for(alg, b"async ec")
        sig = (await crypto.sign(SignatureAlgorithm(alg), digest)).signature
        assert len(sig) == 2 * size
        assert (await crypto.verify(SignatureAlgorithm(alg), digest, sig)).is_valid
        ec_public_key(key.key).verify(raw_ecdsa_to_der(sig, size), digest, ec.ECDSA(Prehashed(SIG_HASH[alg][1]())))


async def test_async_hsm_gcm_and_rng(hsm_url, acred):
    async with _kc(hsm_url, acred) as client:
        key = await client.create_oct_key(unique("agcm"), size=256, hardware_protected=True)
        assert key.key_type == KeyType.oct_hsm
        rnd = await client.get_random_bytes(64)
        assert len(rnd) == 64
        with pytest.raises(HttpResponseError) as info:
            await client.get_random_bytes(129)
        assert info.value.status_code == 400
    async with _cc(key, acred) as crypto:
        aad = b"async aad"
        enc = await crypto.encrypt(EncryptionAlgorithm.a256_gcm, b"async gcm", additional_authenticated_data=aad)
        dec = await crypto.decrypt(
            EncryptionAlgorithm.a256_gcm, enc.ciphertext, iv=enc.iv,
            authentication_tag=enc.tag, additional_authenticated_data=aad,
        )
        assert dec.plaintext == b"async gcm"


async def test_async_enforcement(premium_url, acred):
    async with _kc(premium_url, acred) as client:
        name = unique("aenf")
        key = await client.create_ec_key(name)
        await client.update_key_properties(name, enabled=False)
    async with _cc(key, acred) as crypto:
        with pytest.raises(HttpResponseError) as info:
            await crypto.sign(SignatureAlgorithm.es256, hashlib.sha256(b"x").digest())
        assert info.value.status_code == 403


async def test_async_product_restrictions(premium_url, standard_url, acred):
    async with _kc(premium_url, acred) as client:
        with pytest.raises(HttpResponseError) as info:
            await client.create_oct_key(unique("aoct"), size=256)
        assert info.value.status_code == 400
    async with _kc(standard_url, acred) as client:
        with pytest.raises(HttpResponseError) as info:
            await client.create_rsa_key(unique("ahsm"), hardware_protected=True)
        assert info.value.status_code == 400
