//! Counters: every connection that is not decrypted, every record not used and every byte a bound
//! drops is counted here under its reason.

use std::collections::BTreeMap;

/// Distinct unsupported suite ids remembered by id; further ids only go to the total.
pub const MAX_UNSUPPORTED_SUITE_IDS: usize = 64;

/// Counters shared by all connections of one [`crate::TlsKeys`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsStats {
    /// Connections whose first client bytes were a ClientHello.
    pub connections: u64,
    /// Connections of which at least one protected record was decrypted and authenticated.
    pub decrypted: u64,
    /// Handshake captured but no key found for it (by [`crate::TlsConnection::finish`], or when
    /// the held-ciphertext bound was reached while waiting).
    pub no_key: u64,
    /// Subset of `no_key`: (EC)DHE or TLS 1.3, where only a key log can help (an RSA key cannot).
    pub no_key_forward_secret: u64,
    /// Connections whose key did not authenticate the first protected record (wrong key log line,
    /// wrong RSA key that happened to give a well-formed premaster, corrupted Finished).
    pub wrong_key: u64,
    /// Connections that began mid-stream (no ClientHello / ServerHello seen): never guessed.
    pub handshake_not_captured: u64,
    /// Connections whose negotiated suite this crate cannot decrypt.
    pub unsupported_suite: u64,
    /// `unsupported_suite` by suite id (at most [`MAX_UNSUPPORTED_SUITE_IDS`] ids).
    pub unsupported_suites: BTreeMap<u16, u64>,
    /// Connections with a protocol version this crate does not decrypt (SSL 3.0 and older).
    pub unsupported_version: u64,
    /// Connections that negotiated TLS compression (not decompressed: given up).
    pub unsupported_compression: u64,
    /// Connections given up because a stream lost bytes ([`crate::TlsConnection::gap`]).
    pub gaps: u64,
    /// Connections given up on malformed TLS (record or handshake framing).
    pub malformed: u64,
    /// Protected records decrypted and authenticated.
    pub records_decrypted: u64,
    /// Protected records whose MAC, padding or AEAD tag failed: their bytes were not used.
    pub bad_records: u64,
    /// Application data bytes handed out.
    pub bytes_decrypted: u64,
    /// Ciphertext bytes held while waiting for a key, counted when they were held.
    pub bytes_held: u64,
    /// Bytes dropped by a bound or because their connection was given up.
    pub bytes_dropped: u64,
    /// Handshake messages longer than the bound (connection given up).
    pub handshake_too_large: u64,
    /// RSA key exchanges that no loaded RSA key decrypted to a well-formed premaster.
    pub rsa_decrypt_failures: u64,
    /// Abbreviated handshakes whose master secret was found (key log or session cache).
    pub resumptions_hit: u64,
    /// Abbreviated handshakes with no master secret available.
    pub resumptions_missed: u64,
    /// TLS 1.3 KeyUpdate messages followed.
    pub key_updates: u64,
    /// Renegotiations seen (an encrypted handshake asking for new keys): not followed, the
    /// connection stops there.
    pub renegotiations: u64,
    /// Key log lines not stored because the key log bound was reached.
    pub keylog_entries_dropped: u64,
    /// Session cache entries evicted by its bound.
    pub session_cache_evictions: u64,
}

impl TlsStats {
    pub(crate) fn unsupported(&mut self, id: u16) {
        self.unsupported_suite += 1;
        let n = self.unsupported_suites.len();
        if let Some(c) = self.unsupported_suites.get_mut(&id) {
            *c += 1;
        } else if n < MAX_UNSUPPORTED_SUITE_IDS {
            self.unsupported_suites.insert(id, 1);
        }
    }
}
