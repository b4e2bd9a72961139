//! Key material shared by all connections: key log entries, RSA private keys and the session
//! cache that resumed handshakes draw their master secret from.

use std::collections::{HashMap, VecDeque};

use crate::keylog::{parse_line, Label, Line, Secret};
use crate::stats::TlsStats;

/// Key log entries kept (≈ 150 B each incl. map overhead ⇒ ≈ 40 MB): a bound against a huge or
/// hostile key log; further lines are counted in `keylog_entries_dropped`.
pub const MAX_KEYLOG_ENTRIES: usize = 262_144;

/// Resumable sessions remembered per kind (id, ticket): oldest evicted first, counted.
pub const MAX_SESSION_CACHE_ENTRIES: usize = 16_384;

/// Longest session ticket remembered (OpenSSL's are ≈ 200 B, Schannel's ≈ 1 KiB); longer tickets
/// are not cached (a resumption with them is counted as missed).
pub const MAX_TICKET_LEN: usize = 4096;

/// RSA private keys accepted: each RSA key exchange is tried against all of them.
pub const MAX_RSA_KEYS: usize = 64;
/// Most bytes all connections of one key store may hold at once (ciphertext waiting for a key,
/// partial records): the per-connection bound times a connection table would be gigabytes.
/// A connection that would go beyond gives up, counted.
pub const MAX_HELD_TOTAL: usize = 64 * 1024 * 1024;

/// What one [`TlsKeys::add_keylog`] call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeylogStats {
    /// Entries stored (new or replacing an older line for the same client random).
    pub added: usize,
    /// Lines identical to an entry already stored (a live file read again from its start).
    pub duplicates: usize,
    /// Valid lines with a label this crate does not need (early data, exporter, `RSA`).
    pub unused: usize,
    /// Malformed lines (unknown label, bad hex, wrong secret length, extra fields).
    pub bad_lines: usize,
    /// Lines dropped by [`MAX_KEYLOG_ENTRIES`].
    pub dropped: usize,
}

/// Error from [`TlsKeys::add_rsa_key_pem`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// Neither a PKCS#1 (`RSA PRIVATE KEY`) nor a PKCS#8 (`PRIVATE KEY`) RSA key could be read.
    NotAnRsaPrivateKey,
    /// [`MAX_RSA_KEYS`] keys are already loaded.
    TooManyKeys,
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyError::NotAnRsaPrivateKey => {
                f.write_str("not a PEM RSA private key (PKCS#1 or unencrypted PKCS#8)")
            }
            KeyError::TooManyKeys => write!(f, "more than {MAX_RSA_KEYS} RSA keys"),
        }
    }
}

impl std::error::Error for KeyError {}

/// TLS 1.3 secrets of one client random.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tls13Secrets {
    pub client_hs: Option<Secret>,
    pub server_hs: Option<Secret>,
    pub client_app: Option<Secret>,
    pub server_app: Option<Secret>,
}

/// Bounded FIFO map for the session cache.
#[derive(Debug, Default)]
struct BoundedMap {
    map: HashMap<Vec<u8>, [u8; 48]>,
    order: VecDeque<Vec<u8>>,
}

impl BoundedMap {
    /// Inserts; returns true when an old entry was evicted.
    fn insert(&mut self, k: &[u8], v: [u8; 48]) -> bool {
        if let Some(old) = self.map.get_mut(k) {
            *old = v;
            return false;
        }
        let mut evicted = false;
        if self.map.len() >= MAX_SESSION_CACHE_ENTRIES {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
                evicted = true;
            }
        }
        self.map.insert(k.to_vec(), v);
        self.order.push_back(k.to_vec());
        evicted
    }
}

/// Key material and counters shared by all connections of a capture.
///
/// Key material is never printed: `Debug` shows only counts.
#[derive(Default)]
pub struct TlsKeys {
    pub(crate) client_random: HashMap<[u8; 32], [u8; 48]>,
    pub(crate) tls13: HashMap<[u8; 32], Tls13Secrets>,
    pub(crate) rsa_keys: Vec<rsa::RsaPrivateKey>,
    by_session_id: BoundedMap,
    by_ticket: BoundedMap,
    generation: u64,
    pub(crate) stats: TlsStats,
    /// Decryption work buffer shared by all connections (one record at a time).
    pub(crate) scratch: Vec<u8>,
    /// Bytes all connections fed with this store hold right now (see [`MAX_HELD_TOTAL`]).
    pub(crate) held_total: usize,
    /// No more key material will be added (a file run with every key given up front): a
    /// connection waiting for a key gives up at once instead of holding its records.
    pub(crate) final_keys: bool,
}

impl std::fmt::Debug for TlsKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsKeys")
            .field("client_random_entries", &self.client_random.len())
            .field("tls13_entries", &self.tls13.len())
            .field("rsa_keys", &self.rsa_keys.len())
            .field("cached_session_ids", &self.by_session_id.map.len())
            .field("cached_tickets", &self.by_ticket.map.len())
            .finish()
    }
}

impl TlsKeys {
    /// Empty key store.
    pub fn new() -> TlsKeys {
        TlsKeys::default()
    }

    /// Says that no more key material will be added (reading files with every key log and
    /// key given up front): ciphertext that has no key is dropped and counted at once rather
    /// than held for a key log line that may still come (as in a live capture).
    pub fn set_final(&mut self, final_keys: bool) {
        self.final_keys = final_keys;
    }

    /// Bytes held by all connections right now (waiting for a key, or a partial record).
    pub fn held(&self) -> usize {
        self.held_total
    }

    /// Counters of all connections fed with this key store.
    pub fn stats(&self) -> &TlsStats {
        &self.stats
    }

    /// Increases whenever key material is added: a connection holding ciphertext retries only
    /// when this changed.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Adds NSS key log lines (LF or CRLF, `#` comments). May be called again with more lines
    /// (a live SSLKEYLOGFILE): lines already known count as duplicates. Pass whole lines: a last
    /// line without its line end is parsed as it is.
    pub fn add_keylog(&mut self, text: &[u8]) -> KeylogStats {
        let mut st = KeylogStats::default();
        for line in text.split(|&b| b == b'\n') {
            match parse_line(line) {
                Line::Ignored => {}
                Line::Unused => st.unused += 1,
                Line::Bad => st.bad_lines += 1,
                Line::Entry(label, cr, secret) => {
                    let entries = self.client_random.len() + self.tls13.len();
                    match label {
                        Label::ClientRandom => {
                            let mut ms = [0u8; 48];
                            ms.copy_from_slice(secret.as_slice().get(..48).unwrap_or(&[0; 48]));
                            match self.client_random.get(&cr) {
                                Some(old) if *old == ms => st.duplicates += 1,
                                Some(_) => {
                                    self.client_random.insert(cr, ms);
                                    st.added += 1;
                                }
                                None if entries >= MAX_KEYLOG_ENTRIES => st.dropped += 1,
                                None => {
                                    self.client_random.insert(cr, ms);
                                    st.added += 1;
                                }
                            }
                        }
                        _ => {
                            if !self.tls13.contains_key(&cr) && entries >= MAX_KEYLOG_ENTRIES {
                                st.dropped += 1;
                                continue;
                            }
                            let e = self.tls13.entry(cr).or_default();
                            let slot = match label {
                                Label::ClientHandshake => &mut e.client_hs,
                                Label::ServerHandshake => &mut e.server_hs,
                                Label::ClientTraffic0 => &mut e.client_app,
                                _ => &mut e.server_app,
                            };
                            if *slot == Some(secret) {
                                st.duplicates += 1;
                            } else {
                                *slot = Some(secret);
                                st.added += 1;
                            }
                        }
                    }
                }
            }
        }
        self.stats.keylog_entries_dropped += st.dropped as u64;
        if st.added > 0 {
            self.generation += 1;
        }
        st
    }

    /// Adds an RSA private key in PEM, PKCS#1 (`BEGIN RSA PRIVATE KEY`) or unencrypted PKCS#8
    /// (`BEGIN PRIVATE KEY`).
    pub fn add_rsa_key_pem(&mut self, pem: &[u8]) -> Result<(), KeyError> {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        use rsa::pkcs8::DecodePrivateKey;
        if self.rsa_keys.len() >= MAX_RSA_KEYS {
            return Err(KeyError::TooManyKeys);
        }
        let text = std::str::from_utf8(pem).map_err(|_| KeyError::NotAnRsaPrivateKey)?;
        let key = rsa::RsaPrivateKey::from_pkcs1_pem(text)
            .or_else(|_| rsa::RsaPrivateKey::from_pkcs8_pem(text))
            .map_err(|_| KeyError::NotAnRsaPrivateKey)?;
        self.rsa_keys.push(key);
        self.generation += 1;
        Ok(())
    }

    /// Master secret of a client random from the key log.
    pub(crate) fn master_for(&self, client_random: &[u8; 32]) -> Option<[u8; 48]> {
        self.client_random.get(client_random).copied()
    }

    pub(crate) fn remember_session_id(&mut self, id: &[u8], ms: [u8; 48]) {
        if !id.is_empty() && self.by_session_id.insert(id, ms) {
            self.stats.session_cache_evictions += 1;
        }
    }

    pub(crate) fn remember_ticket(&mut self, ticket: &[u8], ms: [u8; 48]) {
        if !ticket.is_empty() && ticket.len() <= MAX_TICKET_LEN && self.by_ticket.insert(ticket, ms)
        {
            self.stats.session_cache_evictions += 1;
        }
    }

    pub(crate) fn session_by_id(&self, id: &[u8]) -> Option<[u8; 48]> {
        self.by_session_id.map.get(id).copied()
    }

    pub(crate) fn session_by_ticket(&self, t: &[u8]) -> Option<[u8; 48]> {
        self.by_ticket.map.get(t).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keylog_counts_and_generation() {
        let mut k = TlsKeys::new();
        let cr = "11".repeat(32);
        let text = format!(
            "# SSL/TLS secrets log file\r\nCLIENT_RANDOM {cr} {}\r\nbogus line\nCLIENT_HANDSHAKE_TRAFFIC_SECRET {cr} {}\n",
            "22".repeat(48),
            "33".repeat(32)
        );
        let g0 = k.generation();
        let st = k.add_keylog(text.as_bytes());
        assert_eq!((st.added, st.bad_lines, st.duplicates), (2, 1, 0));
        assert!(k.generation() > g0);
        let g1 = k.generation();
        let st = k.add_keylog(text.as_bytes());
        assert_eq!((st.added, st.duplicates), (0, 2));
        assert_eq!(
            k.generation(),
            g1,
            "nothing new: connections need not retry"
        );
        assert_eq!(k.master_for(&[0x11; 32]), Some([0x22; 48]));
        assert!(
            format!("{k:?}").find("22222222").is_none(),
            "no key material in Debug"
        );
    }

    #[test]
    fn rejects_non_keys() {
        let mut k = TlsKeys::new();
        assert_eq!(
            k.add_rsa_key_pem(b"hello"),
            Err(KeyError::NotAnRsaPrivateKey)
        );
        assert_eq!(
            k.add_rsa_key_pem(&[0xff, 0xfe]),
            Err(KeyError::NotAnRsaPrivateKey)
        );
    }

    #[test]
    fn session_cache_is_bounded() {
        let mut k = TlsKeys::new();
        for i in 0..(MAX_SESSION_CACHE_ENTRIES + 3) {
            k.remember_session_id(&(i as u64).to_be_bytes(), [1; 48]);
        }
        assert_eq!(k.by_session_id.map.len(), MAX_SESSION_CACHE_ENTRIES);
        assert_eq!(k.stats.session_cache_evictions, 3);
        assert!(k.session_by_id(&0u64.to_be_bytes()).is_none());
        assert!(k.session_by_id(&5u64.to_be_bytes()).is_some());
        k.remember_ticket(&vec![0; MAX_TICKET_LEN + 1], [1; 48]);
        assert!(k.session_by_ticket(&vec![0; MAX_TICKET_LEN + 1]).is_none());
    }
}
