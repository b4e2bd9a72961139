//! Cipher suite table: what each negotiated suite means for key derivation and record protection.
//!
//! Only suites whose record protection this crate implements are listed; any other suite id is
//! reported as unsupported (counted by id) rather than guessed.

/// How the premaster secret was agreed: decides whether an RSA private key can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyExchange {
    /// Premaster encrypted to the server's RSA key: a private key decrypts it.
    Rsa,
    /// Ephemeral (EC)DH: forward secret, only a key log helps.
    Ephemeral,
    /// TLS 1.3: traffic secrets only from a key log.
    Tls13,
}

/// Bulk cipher of a suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bulk {
    /// RC4 with a 128-bit key (stream cipher).
    Rc4_128,
    /// Triple DES EDE in CBC mode.
    TripleDesCbc,
    /// AES-128 in CBC mode.
    Aes128Cbc,
    /// AES-256 in CBC mode.
    Aes256Cbc,
    /// AES-128-GCM AEAD.
    Aes128Gcm,
    /// AES-256-GCM AEAD.
    Aes256Gcm,
    /// ChaCha20-Poly1305 AEAD.
    ChaCha20Poly1305,
}

impl Bulk {
    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Bulk::Rc4_128 | Bulk::Aes128Cbc | Bulk::Aes128Gcm => 16,
            Bulk::TripleDesCbc => 24,
            Bulk::Aes256Cbc | Bulk::Aes256Gcm | Bulk::ChaCha20Poly1305 => 32,
        }
    }

    /// Length of the IV taken from the TLS 1.0-1.2 key block (CBC: one block; GCM: the 4-byte
    /// salt; ChaCha20: the 12-byte nonce mask).
    pub fn key_block_iv_len(self) -> usize {
        match self {
            Bulk::Rc4_128 => 0,
            Bulk::TripleDesCbc => 8,
            Bulk::Aes128Cbc | Bulk::Aes256Cbc => 16,
            Bulk::Aes128Gcm | Bulk::Aes256Gcm => 4,
            Bulk::ChaCha20Poly1305 => 12,
        }
    }

    /// True for the AEAD ciphers (no separate MAC).
    pub fn is_aead(self) -> bool {
        matches!(
            self,
            Bulk::Aes128Gcm | Bulk::Aes256Gcm | Bulk::ChaCha20Poly1305
        )
    }
}

/// MAC of a non-AEAD suite (HMAC with this hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacAlg {
    /// No MAC: AEAD suite.
    None,
    /// HMAC-MD5.
    Md5,
    /// HMAC-SHA1.
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA384.
    Sha384,
}

impl MacAlg {
    /// MAC output and key length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            MacAlg::None => 0,
            MacAlg::Md5 => 16,
            MacAlg::Sha1 => 20,
            MacAlg::Sha256 => 32,
            MacAlg::Sha384 => 48,
        }
    }
}

/// Hash of the TLS 1.2 PRF / TLS 1.3 HKDF for a suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrfHash {
    /// SHA-256 (default of TLS 1.2, most TLS 1.3 suites).
    Sha256,
    /// SHA-384 (the `_SHA384` suites).
    Sha384,
}

impl PrfHash {
    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            PrfHash::Sha256 => 32,
            PrfHash::Sha384 => 48,
        }
    }
}

/// One supported cipher suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suite {
    /// IANA code point.
    pub id: u16,
    /// IANA name.
    pub name: &'static str,
    /// Key exchange family.
    pub kx: KeyExchange,
    /// Bulk cipher.
    pub bulk: Bulk,
    /// Record MAC (None for AEAD).
    pub mac: MacAlg,
    /// PRF hash for TLS 1.2 / HKDF hash for TLS 1.3 (TLS 1.0/1.1 always use MD5+SHA-1).
    pub prf: PrfHash,
}

const fn s(
    id: u16,
    name: &'static str,
    kx: KeyExchange,
    bulk: Bulk,
    mac: MacAlg,
    prf: PrfHash,
) -> Suite {
    Suite {
        id,
        name,
        kx,
        bulk,
        mac,
        prf,
    }
}

use Bulk::*;
use KeyExchange::*;
use MacAlg as M;
use PrfHash::*;

/// Every suite this crate decrypts.
pub static SUITES: &[Suite] = &[
    // RSA key exchange: the ones Lync / Windows servers negotiate (and RC4/3DES for 2010-era labs).
    s(
        0x0004,
        "TLS_RSA_WITH_RC4_128_MD5",
        Rsa,
        Rc4_128,
        M::Md5,
        Sha256,
    ),
    s(
        0x0005,
        "TLS_RSA_WITH_RC4_128_SHA",
        Rsa,
        Rc4_128,
        M::Sha1,
        Sha256,
    ),
    s(
        0x000A,
        "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        Rsa,
        TripleDesCbc,
        M::Sha1,
        Sha256,
    ),
    s(
        0x002F,
        "TLS_RSA_WITH_AES_128_CBC_SHA",
        Rsa,
        Aes128Cbc,
        M::Sha1,
        Sha256,
    ),
    s(
        0x0035,
        "TLS_RSA_WITH_AES_256_CBC_SHA",
        Rsa,
        Aes256Cbc,
        M::Sha1,
        Sha256,
    ),
    s(
        0x003C,
        "TLS_RSA_WITH_AES_128_CBC_SHA256",
        Rsa,
        Aes128Cbc,
        M::Sha256,
        Sha256,
    ),
    s(
        0x003D,
        "TLS_RSA_WITH_AES_256_CBC_SHA256",
        Rsa,
        Aes256Cbc,
        M::Sha256,
        Sha256,
    ),
    s(
        0x009C,
        "TLS_RSA_WITH_AES_128_GCM_SHA256",
        Rsa,
        Aes128Gcm,
        M::None,
        Sha256,
    ),
    s(
        0x009D,
        "TLS_RSA_WITH_AES_256_GCM_SHA384",
        Rsa,
        Aes256Gcm,
        M::None,
        Sha384,
    ),
    // DHE_RSA: key log only.
    s(
        0x0016,
        "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA",
        Ephemeral,
        TripleDesCbc,
        M::Sha1,
        Sha256,
    ),
    s(
        0x0033,
        "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
        Ephemeral,
        Aes128Cbc,
        M::Sha1,
        Sha256,
    ),
    s(
        0x0039,
        "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
        Ephemeral,
        Aes256Cbc,
        M::Sha1,
        Sha256,
    ),
    s(
        0x0067,
        "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
        Ephemeral,
        Aes128Cbc,
        M::Sha256,
        Sha256,
    ),
    s(
        0x006B,
        "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
        Ephemeral,
        Aes256Cbc,
        M::Sha256,
        Sha256,
    ),
    s(
        0x009E,
        "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        Ephemeral,
        Aes128Gcm,
        M::None,
        Sha256,
    ),
    s(
        0x009F,
        "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        Ephemeral,
        Aes256Gcm,
        M::None,
        Sha384,
    ),
    s(
        0xCCAA,
        "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        Ephemeral,
        ChaCha20Poly1305,
        M::None,
        Sha256,
    ),
    // ECDHE_ECDSA.
    s(
        0xC007,
        "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
        Ephemeral,
        Rc4_128,
        M::Sha1,
        Sha256,
    ),
    s(
        0xC008,
        "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA",
        Ephemeral,
        TripleDesCbc,
        M::Sha1,
        Sha256,
    ),
    s(
        0xC009,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        Ephemeral,
        Aes128Cbc,
        M::Sha1,
        Sha256,
    ),
    s(
        0xC00A,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        Ephemeral,
        Aes256Cbc,
        M::Sha1,
        Sha256,
    ),
    s(
        0xC023,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        Ephemeral,
        Aes128Cbc,
        M::Sha256,
        Sha256,
    ),
    s(
        0xC024,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
        Ephemeral,
        Aes256Cbc,
        M::Sha384,
        Sha384,
    ),
    s(
        0xC02B,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        Ephemeral,
        Aes128Gcm,
        M::None,
        Sha256,
    ),
    s(
        0xC02C,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        Ephemeral,
        Aes256Gcm,
        M::None,
        Sha384,
    ),
    s(
        0xCCA9,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        Ephemeral,
        ChaCha20Poly1305,
        M::None,
        Sha256,
    ),
    // ECDHE_RSA (Windows Server 2012 R2+ defaults).
    s(
        0xC011,
        "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
        Ephemeral,
        Rc4_128,
        M::Sha1,
        Sha256,
    ),
    s(
        0xC012,
        "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
        Ephemeral,
        TripleDesCbc,
        M::Sha1,
        Sha256,
    ),
    s(
        0xC013,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        Ephemeral,
        Aes128Cbc,
        M::Sha1,
        Sha256,
    ),
    s(
        0xC014,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        Ephemeral,
        Aes256Cbc,
        M::Sha1,
        Sha256,
    ),
    s(
        0xC027,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        Ephemeral,
        Aes128Cbc,
        M::Sha256,
        Sha256,
    ),
    s(
        0xC028,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
        Ephemeral,
        Aes256Cbc,
        M::Sha384,
        Sha384,
    ),
    s(
        0xC02F,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        Ephemeral,
        Aes128Gcm,
        M::None,
        Sha256,
    ),
    s(
        0xC030,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        Ephemeral,
        Aes256Gcm,
        M::None,
        Sha384,
    ),
    s(
        0xCCA8,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        Ephemeral,
        ChaCha20Poly1305,
        M::None,
        Sha256,
    ),
    // TLS 1.3.
    s(
        0x1301,
        "TLS_AES_128_GCM_SHA256",
        Tls13,
        Aes128Gcm,
        M::None,
        Sha256,
    ),
    s(
        0x1302,
        "TLS_AES_256_GCM_SHA384",
        Tls13,
        Aes256Gcm,
        M::None,
        Sha384,
    ),
    s(
        0x1303,
        "TLS_CHACHA20_POLY1305_SHA256",
        Tls13,
        ChaCha20Poly1305,
        M::None,
        Sha256,
    ),
];

/// Looks a suite up by its code point.
pub fn suite(id: u16) -> Option<&'static Suite> {
    SUITES.iter().find(|s| s.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_unique_and_mac_consistent() {
        for (i, a) in SUITES.iter().enumerate() {
            for b in SUITES.iter().skip(i + 1) {
                assert_ne!(a.id, b.id, "{}", a.name);
            }
            // AEAD suites have no MAC and every CBC/RC4 suite has one.
            assert_eq!(a.bulk.is_aead(), a.mac == MacAlg::None, "{}", a.name);
            // The name says the MAC / PRF hash: the table must agree (sipnab got two wrong).
            if a.name.ends_with("_SHA") {
                assert!(matches!(a.mac, MacAlg::Sha1), "{}", a.name);
            }
            if a.name.ends_with("_SHA256") && !a.bulk.is_aead() {
                assert_eq!(a.mac, MacAlg::Sha256, "{}", a.name);
            }
            if a.name.ends_with("_SHA384") {
                assert_eq!(a.prf, PrfHash::Sha384, "{}", a.name);
            }
            if a.name.ends_with("_MD5") {
                assert_eq!(a.mac, MacAlg::Md5, "{}", a.name);
            }
        }
        assert_eq!(suite(0x003C).map(|s| s.mac), Some(MacAlg::Sha256));
        assert_eq!(suite(0x0035).map(|s| s.mac), Some(MacAlg::Sha1));
        assert!(suite(0x1304).is_none());
    }
}
