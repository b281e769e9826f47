//! Conformance tests for the software provider: every algorithm round-trips, and results
//! verify with an independent code path (public-key verification, RFC vectors).

use strongroom_core::key::{
    AesBits, Curve, EncryptionAlgorithm, KeyKind, KeySpec, PublicKeyParts, RsaExponent,
    SignatureAlgorithm,
};
use strongroom_core::ports::{CipherInput, CryptoProvider, ImportedJwk, JwkPrivate, LoadedKey};

use super::SoftwareCrypto;

fn load(spec: KeySpec) -> (PublicKeyParts, std::sync::Arc<dyn LoadedKey>) {
    let material = SoftwareCrypto.generate(spec).unwrap();
    let key = SoftwareCrypto
        .load(&material.public, &material.private)
        .unwrap();
    (material.public, key)
}

fn input(alg: &str, value: &[u8]) -> CipherInput {
    CipherInput {
        alg: alg.parse().unwrap(),
        value: value.to_vec(),
        iv: None,
        aad: None,
        tag: None,
    }
}

#[test]
fn rsa_encrypt_decrypt_every_padding() {
    let (public, key) = load(KeySpec::Rsa {
        bits: 2048,
        exponent: RsaExponent::F4,
    });
    assert!(matches!(&public, PublicKeyParts::Rsa { n, e } if n.len() == 256 && e == &[1, 0, 1]));
    for alg in ["RSA-OAEP", "RSA-OAEP-256", "RSA1_5"] {
        let ct = key.encrypt(&input(alg, b"hello")).unwrap().value;
        assert_eq!(ct.len(), 256);
        assert_eq!(
            key.decrypt(&input(alg, &ct)).unwrap().value,
            b"hello",
            "{alg}"
        );
        let mut bad = ct.clone();
        bad[5] ^= 0xff;
        assert!(key.decrypt(&input(alg, &bad)).is_err(), "{alg}");
    }
    assert!(key.encrypt(&input("RSA-OAEP-256", &[0u8; 300])).is_err());
    assert!(key.encrypt(&input("A256GCM", b"x")).is_err());
}

#[test]
fn rsa_signatures_over_digests() {
    let (_, key) = load(KeySpec::Rsa {
        bits: 2048,
        exponent: RsaExponent::F4,
    });
    for (alg, len) in [
        ("RS256", 32),
        ("RS384", 48),
        ("RS512", 64),
        ("PS256", 32),
        ("PS384", 48),
        ("PS512", 64),
    ] {
        let alg: SignatureAlgorithm = alg.parse().unwrap();
        let digest = vec![0x5a; len];
        let sig = key.sign(alg, &digest).unwrap();
        assert_eq!(sig.len(), 256);
        assert!(key.verify(alg, &digest, &sig).unwrap());
        assert!(!key.verify(alg, &[0x5b; 64][..len], &sig).unwrap());
        assert!(key.sign(alg, &digest[1..]).is_err());
    }
}

#[test]
fn ec_signatures_on_every_curve() {
    for (curve, alg, len) in [
        (Curve::P256, "ES256", 32),
        (Curve::P256K, "ES256K", 32),
        (Curve::P384, "ES384", 48),
        (Curve::P521, "ES512", 64),
    ] {
        let (public, key) = load(KeySpec::Ec { curve });
        let PublicKeyParts::Ec { x, y, .. } = public else {
            panic!("not EC")
        };
        assert_eq!((x.len(), y.len()), (curve.field_len(), curve.field_len()));
        let alg: SignatureAlgorithm = alg.parse().unwrap();
        let digest = vec![7u8; len];
        let sig = key.sign(alg, &digest).unwrap();
        assert_eq!(sig.len(), 2 * curve.field_len(), "raw r||s");
        assert!(key.verify(alg, &digest, &sig).unwrap());
        assert!(!key.verify(alg, &vec![8u8; len], &sig).unwrap());
    }
    let (_, p256) = load(KeySpec::Ec { curve: Curve::P256 });
    assert!(p256.sign("ES384".parse().unwrap(), &[0; 48]).is_err());
}

#[test]
fn aes_gcm_and_cbc_round_trip() {
    for bits in [AesBits::B128, AesBits::B192, AesBits::B256] {
        let (_, key) = load(KeySpec::Oct { bits });
        let n = bits.bytes() * 8;
        let mut gcm = input(&format!("A{n}GCM"), b"plaintext");
        gcm.aad = Some(b"aad".to_vec());
        let out = key.encrypt(&gcm).unwrap();
        let mut back = input(&format!("A{n}GCM"), &out.value);
        back.iv = out.iv.clone();
        back.tag = out.tag.clone();
        back.aad = Some(b"aad".to_vec());
        assert_eq!(key.decrypt(&back).unwrap().value, b"plaintext");
        back.aad = Some(b"other".to_vec());
        assert!(key.decrypt(&back).is_err());

        for (alg, data) in [
            (format!("A{n}CBCPAD"), b"short".to_vec()),
            (format!("A{n}CBC"), vec![3u8; 32]),
        ] {
            let out = key.encrypt(&input(&alg, &data)).unwrap();
            let mut back = input(&alg, &out.value);
            back.iv = out.iv;
            assert_eq!(key.decrypt(&back).unwrap().value, data, "{alg}");
        }
        // Without padding, a partial block is filled with zeros, as Managed HSM does.
        let cbc = format!("A{n}CBC");
        let out = key.encrypt(&input(&cbc, b"not a block")).unwrap();
        assert_eq!(out.value.len(), 16);
        let mut back = input(&cbc, &out.value);
        back.iv = out.iv;
        let mut filled = b"not a block".to_vec();
        filled.resize(16, 0);
        assert_eq!(key.decrypt(&back).unwrap().value, filled);
        assert!(key.encrypt(&input(&cbc, b"")).is_err());
    }
}

#[test]
fn aes_key_wrap_rfc3394_vector() {
    // RFC 3394 section 4.1: 128-bit KEK wrapping 128 bits of key data.
    let kek = hex("000102030405060708090A0B0C0D0E0F");
    let jwk = ImportedJwk {
        kind: KeyKind::Oct,
        curve: None,
        members: oct_members(kek),
    };
    let material = SoftwareCrypto.import(&jwk).unwrap();
    let key = SoftwareCrypto
        .load(&material.public, &material.private)
        .unwrap();
    let data = hex("00112233445566778899AABBCCDDEEFF");
    let wrapped = key.wrap(&input("A128KW", &data)).unwrap().value;
    assert_eq!(
        wrapped,
        hex("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5")
    );
    assert_eq!(
        key.unwrap(&input("CKM_AES_KEY_WRAP", &wrapped))
            .unwrap()
            .value,
        data
    );
    assert!(
        key.wrap(&input("A256KW", &data)).is_err(),
        "key size must match"
    );
}

#[test]
fn aes_key_wrap_with_padding_rfc5649_vector() {
    // RFC 5649 section 6: 192-bit KEK wrapping 7 octets.
    let kek = hex("5840DF6E29B02AF1AB493B705BF16EA1AE8338F4DCC176A8");
    let jwk = ImportedJwk {
        kind: KeyKind::Oct,
        curve: None,
        members: oct_members(kek),
    };
    let material = SoftwareCrypto.import(&jwk).unwrap();
    let key = SoftwareCrypto
        .load(&material.public, &material.private)
        .unwrap();
    let data = hex("466F7250617369");
    let wrapped = key
        .wrap(&input("CKM_AES_KEY_WRAP_PAD", &data))
        .unwrap()
        .value;
    assert_eq!(wrapped, hex("AFBEB0F07DFBF5419200F2CCB50BB24F"));
    assert_eq!(
        key.unwrap(&input("CKM_AES_KEY_WRAP_PAD", &wrapped))
            .unwrap()
            .value,
        data
    );
    let mut bad = wrapped.clone();
    bad[0] ^= 1;
    assert!(key.unwrap(&input("CKM_AES_KEY_WRAP_PAD", &bad)).is_err());
}

#[test]
fn ec_import_rejects_inconsistent_points() {
    let material = SoftwareCrypto
        .generate(KeySpec::Ec { curve: Curve::P256 })
        .unwrap();
    let PublicKeyParts::Ec { x, y, .. } = material.public else {
        panic!()
    };
    let other = SoftwareCrypto
        .generate(KeySpec::Ec { curve: Curve::P256 })
        .unwrap();
    let PublicKeyParts::Ec { x: ox, y: oy, .. } = other.public else {
        panic!()
    };
    // A private scalar from one key and the point of another must be refused.
    let d = private_scalar_via_sign_check(&material.private);
    let jwk = |x: Vec<u8>, y: Vec<u8>| ImportedJwk {
        kind: KeyKind::Ec,
        curve: Some(Curve::P256),
        members: ec_members(d.clone(), x, y),
    };
    assert!(SoftwareCrypto.import(&jwk(x, y)).is_ok());
    assert!(SoftwareCrypto.import(&jwk(ox, oy)).is_err());
}

/// Extracts the private scalar of a P-256 PKCS#8 key (the 32 bytes after `04 20` in the
/// RFC 5915 structure).
fn private_scalar_via_sign_check(pkcs8: &[u8]) -> Vec<u8> {
    let pos = pkcs8.windows(2).position(|w| w == [0x04, 0x20]).unwrap();
    pkcs8[pos + 2..pos + 34].to_vec()
}

#[test]
fn unknown_sizes_are_refused() {
    assert!(
        SoftwareCrypto
            .generate(KeySpec::Rsa {
                bits: 1024,
                exponent: RsaExponent::F4,
            })
            .is_err()
    );
    let jwk = ImportedJwk {
        kind: KeyKind::Oct,
        curve: None,
        members: oct_members(vec![1; 10]),
    };
    assert!(SoftwareCrypto.import(&jwk).is_err());
    assert!(matches!(
        EncryptionAlgorithm::AesKw(AesBits::B128).kind(),
        KeyKind::Oct
    ));
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn oct_members(k: Vec<u8>) -> JwkPrivate {
    let mut m = JwkPrivate::default();
    m.k = k;
    m
}

fn ec_members(d: Vec<u8>, x: Vec<u8>, y: Vec<u8>) -> JwkPrivate {
    let mut m = JwkPrivate::default();
    m.d = d;
    m.x = x;
    m.y = y;
    m
}

#[test]
fn rsa_keys_with_other_exponents_sign_and_decrypt() {
    for e in [3u64, 17] {
        let spec = KeySpec::Rsa {
            bits: 2048,
            exponent: RsaExponent::try_from(e).unwrap(),
        };
        let (public, key) = load(spec);
        let PublicKeyParts::Rsa { n, e: got } = &public else {
            panic!("not RSA")
        };
        assert_eq!(n.len(), 256);
        assert_eq!(got, &[u8::try_from(e).unwrap()]);
        assert_eq!(public.spec(), Some(spec), "rotation keeps the exponent");
        let digest = [7u8; 32];
        let rs256: SignatureAlgorithm = "RS256".parse().unwrap();
        let sig = key.sign(rs256, &digest).unwrap();
        assert!(key.verify(rs256, &digest, &sig).unwrap());
        let sealed = key.encrypt(&input("RSA-OAEP-256", b"secret")).unwrap();
        let opened = key.decrypt(&input("RSA-OAEP-256", &sealed.value)).unwrap();
        assert_eq!(opened.value, b"secret");
    }
}
