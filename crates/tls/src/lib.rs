//! Passive decryption of captured TLS 1.0–1.3 byte streams (SIP over TLS) from an NSS key log or
//! an RSA private key.
//!
//! The caller reassembles each TCP connection into its two in-order byte streams and feeds them
//! to a [`TlsConnection`]; key material and counters live in one shared [`TlsKeys`]. Nothing
//! here is guessed: a record is handed out only after its MAC or AEAD tag checked, and every
//! connection or byte that cannot be decrypted is counted in [`TlsStats`] under its reason.
//!
//! ```no_run
//! use lyncscope_tls::{Dir, TlsConnection, TlsKeys};
//! let mut keys = TlsKeys::new();
//! keys.add_keylog(b"CLIENT_RANDOM ...");
//! let mut conn = TlsConnection::new();
//! # let (client_bytes, server_bytes) = (&[][..], &[][..]);
//! let mut sip = Vec::new();
//! conn.feed(Dir::ClientToServer, client_bytes, &mut keys, &mut |dir, plain| sip.push((dir, plain.to_vec())));
//! conn.feed(Dir::ServerToClient, server_bytes, &mut keys, &mut |dir, plain| sip.push((dir, plain.to_vec())));
//! conn.finish(&mut keys);
//! println!("{:?}", keys.stats());
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)
)]

mod conn;
mod handshake;
mod keylog;
mod keys;
mod prf;
mod record;
mod stats;
pub mod suites;

pub use conn::{ConnState, Dir, KeySource, TlsConnection, TlsInfo, MAX_HELD_PER_DIRECTION};
pub use handshake::MAX_HANDSHAKE_MSG;
pub use keylog::MAX_KEYLOG_LINE;
pub use keys::{
    KeyError, KeylogStats, TlsKeys, MAX_HELD_TOTAL, MAX_KEYLOG_ENTRIES, MAX_RSA_KEYS,
    MAX_SESSION_CACHE_ENTRIES, MAX_TICKET_LEN,
};
pub use record::MAX_FRAGMENT;
pub use stats::{TlsStats, MAX_UNSUPPORTED_SUITE_IDS};

/// True when `first_bytes` (the first bytes a client sent on a TCP connection) start a TLS
/// handshake record carrying a ClientHello: record type 22, record version SSL 3.0–TLS 1.3
/// (0x0300–0x0304), a plausible length, handshake type 1 and, when present, a ClientHello
/// version 3.x. Needs at least 6 bytes; no allocation.
pub fn looks_like_client_hello(first_bytes: &[u8]) -> bool {
    let Some(&[typ, major, minor, hi, lo, hs]) = first_bytes
        .get(..6)
        .and_then(|b| <&[u8; 6]>::try_from(b).ok())
    else {
        return false;
    };
    let len = usize::from(u16::from_be_bytes([hi, lo]));
    if typ != 22 || major != 3 || minor > 4 || !(4..=MAX_FRAGMENT).contains(&len) || hs != 1 {
        return false;
    }
    // Handshake length (3 bytes) must fit a ClientHello (≥ 38 bytes); then client_version 3.x.
    if let Some(&[a, b, c]) = first_bytes
        .get(6..9)
        .and_then(|x| <&[u8; 3]>::try_from(x).ok())
    {
        let hlen = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
        if hlen < 38 {
            return false;
        }
    }
    match first_bytes.get(9) {
        Some(&v) => v == 3,
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_hello_detection() {
        let mut ch = vec![22, 3, 1, 0, 200, 1, 0, 0, 196, 3, 3];
        ch.extend([0u8; 40]);
        assert!(looks_like_client_hello(&ch));
        assert!(looks_like_client_hello(&ch[..6]));
        assert!(!looks_like_client_hello(&ch[..5]));
        let mut sip = b"INVITE sip:a@b SIP/2.0\r\n".to_vec();
        assert!(!looks_like_client_hello(&sip));
        sip.clear();
        let mut bad = ch.clone();
        bad[5] = 2; // ServerHello
        assert!(!looks_like_client_hello(&bad));
        let mut bad = ch.clone();
        bad[2] = 9;
        assert!(!looks_like_client_hello(&bad));
        let mut bad = ch.clone();
        bad[8] = 10; // handshake too short for a ClientHello
        assert!(!looks_like_client_hello(&bad));
    }
}
