//! Key derivation: the TLS 1.0-1.2 PRF (RFC 2246 / 5246), the extended master secret (RFC 7627)
//! and TLS 1.3 HKDF-Expand-Label (RFC 8446 §7.1).

use hmac::{Hmac, Mac};
use md5::Md5;
use sha1::Sha1;
use sha2::{Sha256, Sha384};

use crate::suites::PrfHash;

/// Length of a TLS 1.0-1.2 master secret.
pub const MASTER_SECRET_LEN: usize = 48;

/// Longest key block any supported suite needs: 2 × (48 MAC + 32 key + 16 IV) = 192.
pub const MAX_KEY_BLOCK: usize = 2 * (48 + 32 + 16);

/// Which PRF a TLS 1.0-1.2 connection uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prf {
    /// TLS 1.0 / 1.1: P_MD5 xor P_SHA1 over the two halves of the secret.
    Md5Sha1,
    /// TLS 1.2 with SHA-256.
    Sha256,
    /// TLS 1.2 with SHA-384.
    Sha384,
}

impl Prf {
    /// PRF for a protocol version and the suite's PRF hash.
    pub fn for_version(version: u16, hash: PrfHash) -> Prf {
        if version < 0x0303 {
            Prf::Md5Sha1
        } else {
            match hash {
                PrfHash::Sha256 => Prf::Sha256,
                PrfHash::Sha384 => Prf::Sha384,
            }
        }
    }

    /// Fills `out` with PRF(secret, label, seed).
    pub fn derive(self, secret: &[u8], label: &[u8], seed: &[&[u8]], out: &mut [u8]) {
        match self {
            Prf::Sha256 => p_hash::<Hmac<Sha256>>(secret, label, seed, out, false),
            Prf::Sha384 => p_hash::<Hmac<Sha384>>(secret, label, seed, out, false),
            Prf::Md5Sha1 => {
                // RFC 2246 §5: the halves overlap by one byte when the length is odd.
                let half = secret.len().div_ceil(2);
                let s1 = secret.get(..half).unwrap_or_default();
                let s2 = secret.get(secret.len() - half..).unwrap_or_default();
                p_hash::<Hmac<Md5>>(s1, label, seed, out, false);
                p_hash::<Hmac<Sha1>>(s2, label, seed, out, true);
            }
        }
    }
}

/// P_hash of RFC 5246 §5; `xor` combines into `out` instead of overwriting (for TLS 1.0's PRF).
fn p_hash<M: Mac + hmac::digest::KeyInit + Clone>(
    secret: &[u8],
    label: &[u8],
    seed: &[&[u8]],
    out: &mut [u8],
    xor: bool,
) {
    let Ok(base) = <M as hmac::digest::KeyInit>::new_from_slice(secret) else {
        return; // HMAC accepts any key length; unreachable in practice.
    };
    // A(1) = HMAC(secret, label ‖ seed)
    let mut a = {
        let mut m = base.clone();
        m.update(label);
        for s in seed {
            m.update(s);
        }
        m.finalize().into_bytes()
    };
    let mut pos = 0;
    while pos < out.len() {
        let mut m = base.clone();
        m.update(&a);
        m.update(label);
        for s in seed {
            m.update(s);
        }
        let block = m.finalize().into_bytes();
        for (o, b) in out.iter_mut().skip(pos).zip(block.iter()) {
            if xor {
                *o ^= *b;
            } else {
                *o = *b;
            }
        }
        pos += block.len();
        let mut m = base.clone();
        m.update(&a);
        a = m.finalize().into_bytes();
    }
}

/// master_secret = PRF(pms, "master secret", client_random ‖ server_random).
pub fn master_secret(
    prf: Prf,
    pms: &[u8],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
) -> [u8; 48] {
    let mut ms = [0u8; MASTER_SECRET_LEN];
    prf.derive(
        pms,
        b"master secret",
        &[client_random, server_random],
        &mut ms,
    );
    ms
}

/// RFC 7627: master_secret = PRF(pms, "extended master secret", session_hash).
pub fn extended_master_secret(prf: Prf, pms: &[u8], session_hash: &[u8]) -> [u8; 48] {
    let mut ms = [0u8; MASTER_SECRET_LEN];
    prf.derive(pms, b"extended master secret", &[session_hash], &mut ms);
    ms
}

/// key_block = PRF(ms, "key expansion", server_random ‖ client_random), `len` bytes.
pub fn key_block(
    prf: Prf,
    ms: &[u8; 48],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    out: &mut [u8],
) {
    prf.derive(ms, b"key expansion", &[server_random, client_random], out);
}

/// HKDF-Expand-Label(secret, label, "", out.len()) with the "tls13 " prefix. Returns false when
/// the secret is not a valid PRK for the hash (shorter than the hash output).
pub fn hkdf_expand_label(hash: PrfHash, secret: &[u8], label: &[u8], out: &mut [u8]) -> bool {
    let Ok(len) = u16::try_from(out.len()) else {
        return false;
    };
    let full_label_len = 6 + label.len();
    let Ok(full_label_len) = u8::try_from(full_label_len) else {
        return false;
    };
    let len_be = len.to_be_bytes();
    let info: [&[u8]; 5] = [&len_be, &[full_label_len], b"tls13 ", label, &[0u8]];
    match hash {
        PrfHash::Sha256 => hkdf::Hkdf::<Sha256>::from_prk(secret)
            .ok()
            .and_then(|h| h.expand_multi_info(&info, out).ok())
            .is_some(),
        PrfHash::Sha384 => hkdf::Hkdf::<Sha384>::from_prk(secret)
            .ok()
            .and_then(|h| h.expand_multi_info(&info, out).ok())
            .is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        crate::keylog::decode_hex(s.as_bytes()).unwrap_or_default()
    }

    /// Known-answer test for the TLS 1.2 SHA-256 PRF (the widely used IETF-list test vector).
    #[test]
    fn prf_sha256_vector() {
        let secret = hex("9bbe436ba940f017b17652849a71db35");
        let seed = hex("a0ba9f936cda311827a6f796ffd5198c");
        let mut out = [0u8; 100];
        Prf::Sha256.derive(&secret, b"test label", &[&seed], &mut out);
        let want = hex("e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66");
        assert_eq!(out.as_slice(), want.as_slice());
    }

    /// RFC 8448 (TLS 1.3 traces), simple 1-RTT handshake: server handshake traffic secret →
    /// write key and IV.
    #[test]
    fn hkdf_expand_label_rfc8448() {
        let secret = hex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38");
        let mut key = [0u8; 16];
        let mut iv = [0u8; 12];
        assert!(hkdf_expand_label(
            PrfHash::Sha256,
            &secret,
            b"key",
            &mut key
        ));
        assert!(hkdf_expand_label(PrfHash::Sha256, &secret, b"iv", &mut iv));
        assert_eq!(key.to_vec(), hex("3fce516009c21727d0f2e4e86ee403bc"));
        assert_eq!(iv.to_vec(), hex("5d313eb2671276ee13000b30"));
    }

    #[test]
    fn hkdf_rejects_short_prk() {
        let mut key = [0u8; 16];
        assert!(!hkdf_expand_label(
            PrfHash::Sha256,
            &[1u8; 8],
            b"key",
            &mut key
        ));
    }

    /// TLS 1.0 PRF: the MD5 and SHA-1 halves are both used (changing either half of the secret
    /// changes the output) and odd-length secrets share the middle byte.
    #[test]
    fn prf_md5_sha1_uses_both_halves() {
        let mut a = [0u8; 48];
        let mut b = [0u8; 48];
        let mut c = [0u8; 48];
        let s = [7u8; 48];
        let mut s1 = s;
        s1[0] ^= 1;
        let mut s2 = s;
        s2[47] ^= 1;
        Prf::Md5Sha1.derive(&s, b"x", &[b"seed"], &mut a);
        Prf::Md5Sha1.derive(&s1, b"x", &[b"seed"], &mut b);
        Prf::Md5Sha1.derive(&s2, b"x", &[b"seed"], &mut c);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_ne!(b, c);
    }
}
