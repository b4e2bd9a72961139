//! One TCP connection: record framing of both directions, the handshake state machine, key
//! installation (key log, RSA private key, session cache) and hand-out of application data.

use crate::handshake::{self, ht, HsReader, Transcript};
use crate::keylog::Secret;
use crate::keys::TlsKeys;
use crate::prf::{self, Prf};
use crate::record::{Layout, RecordDecrypter, MAX_FRAGMENT};
use crate::suites::{self, KeyExchange, PrfHash, Suite};

/// Bytes one direction may buffer: one partial record, or the ciphertext held while its key is
/// not known yet (a live key log line arrives after the traffic). Past it the connection is
/// given up and the bytes counted as dropped.
pub const MAX_HELD_PER_DIRECTION: usize = 256 * 1024;

/// Rounds of cross-direction reprocessing per call (a record in one direction can unblock the
/// other: the ClientHello unblocks server records, a key installed by one side frees both).
const MAX_REPROCESS_ROUNDS: usize = 4;

/// Record content types.
mod ct {
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    pub const ALERT: u8 = 21;
    pub const HANDSHAKE: u8 = 22;
    pub const APPLICATION_DATA: u8 = 23;
    pub const HEARTBEAT: u8 = 24;
}

/// Direction of a byte stream within a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    /// From the side that sent the ClientHello.
    ClientToServer,
    /// From the server.
    ServerToClient,
}

impl Dir {
    fn idx(self) -> usize {
        match self {
            Dir::ClientToServer => 0,
            Dir::ServerToClient => 1,
        }
    }
    fn from_idx(i: usize) -> Dir {
        if i == 0 {
            Dir::ClientToServer
        } else {
            Dir::ServerToClient
        }
    }
}

/// Where the keys of a connection came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// A key log line (`CLIENT_RANDOM` or the TLS 1.3 traffic secrets).
    KeyLog,
    /// The premaster decrypted with an RSA private key.
    RsaKey,
    /// The master secret of an earlier decrypted session (resumption by session ID or ticket).
    SessionCache,
}

/// State of a connection as seen from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// Handshake in progress, or protected records held until a key is known.
    Handshaking,
    /// Keys installed and at least one protected record authenticated.
    Decrypting,
    /// Given up (reason counted in [`crate::TlsStats`]); further bytes are dropped.
    GaveUp,
}

/// What is known about a connection (for reports and the TUI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsInfo {
    /// Negotiated version (0x0301 TLS 1.0 … 0x0304 TLS 1.3), once the ServerHello was seen.
    pub version: Option<u16>,
    /// Negotiated suite id.
    pub suite: Option<u16>,
    /// IANA name of the suite when this crate knows it.
    pub suite_name: Option<&'static str>,
    /// Where the keys came from.
    pub key_source: Option<KeySource>,
    /// Abbreviated (resumed) handshake.
    pub resumed: bool,
    /// Extended master secret negotiated (RFC 7627).
    pub extended_master_secret: bool,
    /// Encrypt-then-MAC negotiated (RFC 7366).
    pub encrypt_then_mac: bool,
    /// Current state.
    pub state: ConnState,
}

#[derive(Default)]
struct DirState {
    /// Unconsumed stream bytes: a partial record, or records held until keys are known.
    buf: Vec<u8>,
    hs: HsReader,
    /// Records of this direction are protected (after ChangeCipherSpec; TLS 1.3 after the
    /// ServerHello).
    protected: bool,
    dec: Option<RecordDecrypter>,
    /// TLS 1.3: current traffic secret (for KeyUpdate) and whether it is the application one.
    secret13: Option<Secret>,
    app13: bool,
    /// A protected record of this direction waits for a key.
    waiting: bool,
    authenticated_any: bool,
}

enum Step {
    Consumed,
    Wait,
}

/// Decryption state of one TCP connection. Feed it both directions' reassembled bytes.
#[derive(Default)]
pub struct TlsConnection {
    dead: bool,
    /// What this connection counted into the store's `held_total`.
    held_counted: usize,
    started: bool,
    ch: Option<handshake::ClientHello>,
    sh: Option<handshake::ServerHello>,
    suite: Option<&'static Suite>,
    ems: bool,
    etm: bool,
    resumed: bool,
    transcript: Option<Transcript>,
    session_hash: Option<Vec<u8>>,
    encrypted_pms: Option<Vec<u8>>,
    master: Option<[u8; 48]>,
    key_source: Option<KeySource>,
    server_ticket: Option<Vec<u8>>,
    /// Key store generation of the last failed key lookup (retry only when it changed).
    tried_gen: Option<u64>,
    decrypted_counted: bool,
    outcome_counted: bool,
    dirs: [DirState; 2],
}

impl std::fmt::Debug for TlsConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConnection")
            .field("info", &self.info())
            .finish()
    }
}

impl TlsConnection {
    /// A connection that has seen nothing yet.
    pub fn new() -> TlsConnection {
        TlsConnection {
            transcript: Some(Transcript::default()),
            ..TlsConnection::default()
        }
    }

    /// Version, suite, key source and state.
    pub fn info(&self) -> TlsInfo {
        TlsInfo {
            version: self
                .sh
                .as_ref()
                .filter(|s| !s.hello_retry)
                .map(|s| s.version),
            suite: self.sh.as_ref().map(|s| s.suite),
            suite_name: self.suite.map(|s| s.name),
            key_source: self.key_source,
            resumed: self.resumed,
            extended_master_secret: self.ems,
            encrypt_then_mac: self.etm,
            state: if self.dead {
                ConnState::GaveUp
            } else if self.decrypted_counted {
                ConnState::Decrypting
            } else {
                ConnState::Handshaking
            },
        }
    }

    /// `CLIENT_RANDOM` key log line of a decrypted TLS ≤ 1.2 session (e.g. one whose master
    /// secret came from an RSA key), for writing a pcapng Decryption Secrets Block. Contains key
    /// material: write it only where the user asked for it.
    pub fn keylog_line(&self) -> Option<String> {
        use std::fmt::Write;
        let (ch, ms) = (self.ch.as_ref()?, self.master.as_ref()?);
        if !self.decrypted_counted {
            return None;
        }
        let mut s = String::from("CLIENT_RANDOM ");
        for b in ch.random {
            let _ = write!(s, "{b:02x}");
        }
        s.push(' ');
        for b in ms {
            let _ = write!(s, "{b:02x}");
        }
        Some(s)
    }

    /// Feeds the next in-order bytes of one direction; decrypted application data goes to
    /// `out` in order per direction.
    pub fn feed(
        &mut self,
        dir: Dir,
        bytes: &[u8],
        keys: &mut TlsKeys,
        out: &mut dyn FnMut(Dir, &[u8]),
    ) {
        if self.dead {
            keys.stats.bytes_dropped += bytes.len() as u64;
            return;
        }
        if !self.started {
            self.started = true;
            keys.stats.connections += 1;
        }
        self.retry_if_new_keys(keys, out);
        let d = dir.idx();
        let from_input = self.dirs.get(d).is_some_and(|s| s.buf.is_empty());
        if from_input {
            // Hot path: whole records straight from the caller's slice, only a tail is copied.
            let n = self.process_slice(d, bytes, keys, out);
            if self.dead {
                keys.stats.bytes_dropped += bytes.len().saturating_sub(n) as u64;
                return;
            }
            self.hold(d, bytes.get(n..).unwrap_or_default(), keys);
        } else {
            self.hold(d, bytes, keys);
            self.run(d, keys, out);
        }
        self.reprocess(keys, out);
        self.account_held(keys);
    }

    /// Tells that a direction lost bytes: the connection is given up (counted in `gaps`).
    pub fn gap(&mut self, dir: Dir, keys: &mut TlsKeys) {
        let _ = dir; // Either direction's loss breaks record framing and sequence numbers.
        if !self.dead {
            keys.stats.gaps += 1;
            self.give_up(keys);
        }
    }

    /// Retries held ciphertext after key material was added (a live key log grew) without new
    /// traffic on this connection. Cheap when nothing changed.
    pub fn poll(&mut self, keys: &mut TlsKeys, out: &mut dyn FnMut(Dir, &[u8])) {
        if !self.dead {
            self.retry_if_new_keys(keys, out);
        }
    }

    /// The connection ended: held ciphertext that never got a key is counted as `no_key` and
    /// its bytes as dropped.
    pub fn finish(&mut self, keys: &mut TlsKeys) {
        if self.dead {
            return;
        }
        if self.dirs.iter().any(|d| d.waiting) {
            self.count_no_key(keys);
        } else if self.started && self.ch.is_some() && self.sh.is_none() && !self.outcome_counted {
            // Only a ClientHello, or server bytes without one: nothing to decrypt either way.
        } else if self.started && self.ch.is_none() && !self.outcome_counted {
            self.outcome_counted = true;
            keys.stats.handshake_not_captured += 1;
        }
        self.give_up(keys);
    }

    fn count_no_key(&mut self, keys: &mut TlsKeys) {
        if self.outcome_counted || self.decrypted_counted {
            return;
        }
        self.outcome_counted = true;
        keys.stats.no_key += 1;
        if self.suite.is_some_and(|s| s.kx != KeyExchange::Rsa) {
            keys.stats.no_key_forward_secret += 1;
        }
    }

    fn give_up(&mut self, keys: &mut TlsKeys) {
        self.dead = true;
        for d in &mut self.dirs {
            keys.stats.bytes_dropped += d.buf.len() as u64;
            d.buf = Vec::new();
            d.dec = None;
        }
        self.transcript = None;
        self.account_held(keys);
    }

    /// Brings the store's count of held bytes up to date with this connection's buffers.
    fn account_held(&mut self, keys: &mut TlsKeys) {
        let now: usize = self.dirs.iter().map(|d| d.buf.len()).sum();
        keys.held_total = keys.held_total.saturating_sub(self.held_counted) + now;
        self.held_counted = now;
    }

    fn fail(&mut self, keys: &mut TlsKeys, counter: fn(&mut crate::TlsStats)) {
        if !self.outcome_counted {
            self.outcome_counted = true;
            counter(&mut keys.stats);
        }
        self.give_up(keys);
    }

    fn hold(&mut self, d: usize, rest: &[u8], keys: &mut TlsKeys) {
        if rest.is_empty() {
            return;
        }
        let Some(st) = self.dirs.get_mut(d) else {
            return;
        };
        if st.buf.len() + rest.len() > MAX_HELD_PER_DIRECTION
            || keys.held_total + rest.len() > crate::keys::MAX_HELD_TOTAL
        {
            keys.stats.bytes_dropped += rest.len() as u64;
            if st.waiting {
                self.count_no_key(keys);
            } else if self.ch.is_none() {
                self.fail(keys, |s| s.handshake_not_captured += 1);
            } else {
                self.fail(keys, |s| s.malformed += 1);
            }
            self.give_up(keys);
            return;
        }
        if st.waiting {
            keys.stats.bytes_held += rest.len() as u64;
        }
        st.buf.extend_from_slice(rest);
    }

    fn run(&mut self, d: usize, keys: &mut TlsKeys, out: &mut dyn FnMut(Dir, &[u8])) {
        let Some(st) = self.dirs.get_mut(d) else {
            return;
        };
        if st.buf.is_empty() {
            return;
        }
        let buf = std::mem::take(&mut st.buf);
        let n = self.process_slice(d, &buf, keys, out);
        if self.dead {
            keys.stats.bytes_dropped += buf.len().saturating_sub(n) as u64;
            return;
        }
        let mut buf = buf;
        buf.drain(..n.min(buf.len()));
        if let Some(st) = self.dirs.get_mut(d) {
            st.buf = buf;
        }
    }

    fn reprocess(&mut self, keys: &mut TlsKeys, out: &mut dyn FnMut(Dir, &[u8])) {
        for _ in 0..MAX_REPROCESS_ROUNDS {
            let before: usize = self.dirs.iter().map(|d| d.buf.len()).sum();
            for d in 0..2 {
                if !self.dead {
                    self.run(d, keys, out);
                }
            }
            let after: usize = self.dirs.iter().map(|d| d.buf.len()).sum();
            if self.dead || after == before {
                break;
            }
        }
    }

    fn retry_if_new_keys(&mut self, keys: &mut TlsKeys, out: &mut dyn FnMut(Dir, &[u8])) {
        if self.dirs.iter().any(|d| d.waiting) && self.tried_gen != Some(keys.generation()) {
            self.reprocess(keys, out);
        }
    }

    /// Processes whole records from `data`; returns the bytes consumed.
    fn process_slice(
        &mut self,
        d: usize,
        data: &[u8],
        keys: &mut TlsKeys,
        out: &mut dyn FnMut(Dir, &[u8]),
    ) -> usize {
        let mut pos = 0;
        while !self.dead {
            let Some(rest) = data.get(pos..) else { break };
            let Some(header) = rest.get(..5).and_then(|h| <[u8; 5]>::try_from(h).ok()) else {
                break;
            };
            let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
            if !(ct::CHANGE_CIPHER_SPEC..=ct::HEARTBEAT).contains(&header[0])
                || header[1] != 3
                || len > MAX_FRAGMENT
            {
                if self.ch.is_none() {
                    self.fail(keys, |s| s.handshake_not_captured += 1);
                } else {
                    self.fail(keys, |s| s.malformed += 1);
                }
                break;
            }
            let Some(fragment) = rest.get(5..5 + len) else {
                break;
            };
            match self.record(d, &header, fragment, keys, out) {
                Step::Consumed => pos += 5 + len,
                Step::Wait => break,
            }
        }
        pos
    }

    fn record(
        &mut self,
        d: usize,
        header: &[u8; 5],
        fragment: &[u8],
        keys: &mut TlsKeys,
        out: &mut dyn FnMut(Dir, &[u8]),
    ) -> Step {
        let typ = header[0];
        let tls13 = self.is_tls13();
        // The client speaks first: nothing before its ClientHello can be interpreted.
        if self.ch.is_none() {
            if d == 1 {
                return Step::Wait;
            }
            if typ != ct::HANDSHAKE
                || fragment.first() != Some(&ht::CLIENT_HELLO)
                || !self.dirs[0].hs.at_boundary()
            {
                self.fail(keys, |s| s.handshake_not_captured += 1);
                return Step::Consumed;
            }
        }
        if d == 1 && self.sh.is_none() && typ != ct::HANDSHAKE && typ != ct::ALERT {
            self.fail(keys, |s| s.handshake_not_captured += 1);
            return Step::Consumed;
        }
        let protected = self.dirs.get(d).is_some_and(|s| s.protected);
        if typ == ct::CHANGE_CIPHER_SPEC {
            if tls13 {
                return Step::Consumed; // middlebox compatibility, not a key change
            }
            if protected {
                // A second CCS: a renegotiation switches to keys we did not follow.
                self.fail(keys, |s| s.renegotiations += 1);
                return Step::Consumed;
            }
            if let Some(st) = self.dirs.get_mut(d) {
                st.protected = true;
            }
            return Step::Consumed;
        }
        // TLS 1.3 protects only application_data-typed records; plaintext alerts may still occur.
        if !protected || (tls13 && typ != ct::APPLICATION_DATA) {
            match typ {
                ct::HANDSHAKE => self.plain_handshake(d, fragment, keys),
                ct::APPLICATION_DATA => {
                    // Before the key change: TLS 1.3 0-RTT early data (not decrypted) or garbage.
                    keys.stats.bytes_dropped += fragment.len() as u64;
                }
                _ => {}
            }
            return Step::Consumed;
        }
        if self.dirs.get(d).is_some_and(|s| s.dec.is_none()) {
            self.install_keys(keys);
            if self.dead {
                return Step::Consumed;
            }
            if self.dirs.get(d).is_some_and(|s| s.dec.is_none()) {
                if keys.final_keys {
                    // No key now means no key ever: count it and let the bytes go.
                    self.count_no_key(keys);
                    self.give_up(keys);
                    return Step::Consumed;
                }
                self.tried_gen = Some(keys.generation());
                if let Some(st) = self.dirs.get_mut(d) {
                    if !st.waiting {
                        st.waiting = true;
                        keys.stats.bytes_held += (st.buf.len().max(5 + fragment.len())) as u64;
                    }
                }
                return Step::Wait;
            }
        }
        if let Some(st) = self.dirs.get_mut(d) {
            st.waiting = false;
        }
        self.protected_record(d, header, fragment, keys, out);
        Step::Consumed
    }

    fn is_tls13(&self) -> bool {
        self.sh
            .as_ref()
            .is_some_and(|s| s.version >= 0x0304 && !s.hello_retry)
    }

    fn protected_record(
        &mut self,
        d: usize,
        header: &[u8; 5],
        fragment: &[u8],
        keys: &mut TlsKeys,
        out: &mut dyn FnMut(Dir, &[u8]),
    ) {
        let mut scratch = std::mem::take(&mut keys.scratch);
        let Some(st) = self.dirs.get_mut(d) else {
            return;
        };
        let Some(dec) = st.dec.as_mut() else { return };
        match dec.open(header, fragment, &mut scratch) {
            Err(_) => {
                keys.stats.bad_records += 1;
                if !st.authenticated_any && !self.decrypted_counted {
                    // The very first protected record (Finished) did not authenticate: the key is
                    // wrong. Nothing of this connection will be trusted.
                    keys.scratch = scratch;
                    self.fail(keys, |s| s.wrong_key += 1);
                    return;
                }
            }
            Ok((ctype, range)) => {
                st.authenticated_any = true;
                keys.stats.records_decrypted += 1;
                if !self.decrypted_counted {
                    self.decrypted_counted = true;
                    keys.stats.decrypted += 1;
                    self.remember_session(keys);
                }
                let plain = scratch.get(range).unwrap_or_default();
                match ctype {
                    ct::APPLICATION_DATA => {
                        keys.stats.bytes_decrypted += plain.len() as u64;
                        if !plain.is_empty() {
                            out(Dir::from_idx(d), plain);
                        }
                    }
                    ct::HANDSHAKE => {
                        let plain = plain.to_vec();
                        self.protected_handshake(d, &plain, keys);
                    }
                    _ => {} // alerts, heartbeats
                }
            }
        }
        keys.scratch = scratch;
    }

    /// Handshake messages inside protected records: TLS 1.3 Finished / KeyUpdate, TLS ≤ 1.2
    /// Finished, and renegotiation (counted, not followed).
    fn protected_handshake(&mut self, d: usize, mut data: &[u8], keys: &mut TlsKeys) {
        while !self.dead {
            let Some(st) = self.dirs.get_mut(d) else {
                return;
            };
            let msg = match st.hs.next(&mut data, &mut None) {
                Ok(Some(m)) => m,
                Ok(None) => return,
                Err(_) => {
                    self.fail(keys, |s| s.handshake_too_large += 1);
                    return;
                }
            };
            let tls13 = self.is_tls13();
            match msg.typ {
                ht::FINISHED if tls13 => {
                    let Some(st) = self.dirs.get(d) else { return };
                    if !st.app13 {
                        self.install13(d, true, keys);
                    }
                }
                ht::KEY_UPDATE if tls13 => self.key_update(d, keys),
                ht::HELLO_REQUEST | ht::CLIENT_HELLO | ht::SERVER_HELLO if !tls13 => {
                    // Renegotiation: data keeps flowing under the old keys until the next CCS,
                    // which gives the connection up.
                }
                _ => {}
            }
        }
    }

    fn key_update(&mut self, d: usize, keys: &mut TlsKeys) {
        let Some(hash) = self.suite.map(|s| s.prf) else {
            return;
        };
        let Some(st) = self.dirs.get_mut(d) else {
            return;
        };
        let Some(cur) = st.secret13 else { return };
        let mut next = [0u8; 48];
        let Some(n) = next.get_mut(..hash.output_len()) else {
            return;
        };
        if !prf::hkdf_expand_label(hash, cur.as_slice(), b"traffic upd", n) {
            return;
        }
        let Some(secret) = Secret::new(n) else { return };
        if let Some(suite) = self.suite {
            st.dec = decrypter13(suite, &secret);
            st.secret13 = Some(secret);
            keys.stats.key_updates += 1;
        }
    }

    fn plain_handshake(&mut self, d: usize, mut data: &[u8], keys: &mut TlsKeys) {
        while !self.dead {
            let Some(st) = self.dirs.get_mut(d) else {
                return;
            };
            let msg = match st.hs.next(&mut data, &mut self.transcript) {
                Ok(Some(m)) => m,
                Ok(None) => return,
                Err(_) => {
                    self.fail(keys, |s| s.handshake_too_large += 1);
                    return;
                }
            };
            match (d, msg.typ) {
                (0, ht::CLIENT_HELLO) => {
                    let retry = self.sh.as_ref().is_some_and(|s| s.hello_retry);
                    if self.ch.is_some() && !retry {
                        continue; // a repeated hello in clear is not something to follow
                    }
                    match handshake::parse_client_hello(&msg.body) {
                        Some(ch) => {
                            if retry {
                                self.sh = None;
                            }
                            self.ch = Some(ch);
                        }
                        None => self.fail(keys, |s| s.malformed += 1),
                    }
                }
                (1, ht::SERVER_HELLO) => {
                    if self.sh.as_ref().is_some_and(|s| !s.hello_retry) {
                        continue;
                    }
                    match handshake::parse_server_hello(&msg.body) {
                        Some(sh) => self.server_hello(sh, keys),
                        None => self.fail(keys, |s| s.malformed += 1),
                    }
                }
                (0, ht::CLIENT_KEY_EXCHANGE) => {
                    if self.suite.is_some_and(|s| s.kx == KeyExchange::Rsa) {
                        self.encrypted_pms =
                            handshake::rsa_encrypted_premaster(&msg.body).map(<[u8]>::to_vec);
                    }
                    if self.ems {
                        if let (Some(t), Some(s)) = (&self.transcript, self.sh.as_ref()) {
                            let prf = Prf::for_version(
                                s.version,
                                self.suite.map_or(PrfHash::Sha256, |x| x.prf),
                            );
                            self.session_hash = Some(t.session_hash(prf));
                        }
                    }
                    self.transcript = None;
                }
                (1, ht::NEW_SESSION_TICKET) if !self.is_tls13() => {
                    if let Some(t) = handshake::parse_new_session_ticket(&msg.body) {
                        self.server_ticket = Some(t.to_vec());
                        if self.decrypted_counted {
                            self.remember_session(keys);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn server_hello(&mut self, sh: handshake::ServerHello, keys: &mut TlsKeys) {
        let Some(ch) = self.ch.as_ref() else { return };
        if sh.hello_retry {
            self.sh = Some(sh);
            return;
        }
        if sh.compression != 0 {
            // DEFLATE-compressed records would authenticate yet not be the application data.
            self.sh = Some(sh);
            self.fail(keys, |s| s.unsupported_compression += 1);
            return;
        }
        if sh.version < 0x0301 || sh.version > 0x0304 {
            self.sh = Some(sh);
            self.fail(keys, |s| s.unsupported_version += 1);
            return;
        }
        let Some(suite) = suites::suite(sh.suite) else {
            let id = sh.suite;
            self.sh = Some(sh);
            if !self.outcome_counted {
                self.outcome_counted = true;
                keys.stats.unsupported(id);
            }
            self.give_up(keys);
            return;
        };
        // A TLS 1.3 suite with a ≤ 1.2 version (or the reverse) is a broken hello.
        if (suite.kx == KeyExchange::Tls13) != (sh.version == 0x0304) {
            self.sh = Some(sh);
            self.fail(keys, |s| s.malformed += 1);
            return;
        }
        self.suite = Some(suite);
        if sh.version == 0x0304 {
            self.transcript = None;
            for st in &mut self.dirs {
                st.protected = true;
            }
        } else {
            self.ems = ch.ext.ems && sh.ext.ems;
            self.etm = ch.ext.etm && sh.ext.etm;
            if !self.ems {
                self.transcript = None;
            }
            self.resumed = !sh.session_id.is_empty() && sh.session_id == ch.session_id;
            if self.resumed {
                let from_log = keys.master_for(&ch.random);
                let cached = ch
                    .ext
                    .ticket
                    .as_deref()
                    .filter(|t| !t.is_empty())
                    .and_then(|t| keys.session_by_ticket(t))
                    .or_else(|| keys.session_by_id(&sh.session_id));
                match (from_log, cached) {
                    (Some(ms), _) => {
                        self.master = Some(ms);
                        self.key_source = Some(KeySource::KeyLog);
                    }
                    (None, Some(ms)) => {
                        self.master = Some(ms);
                        self.key_source = Some(KeySource::SessionCache);
                    }
                    _ => {}
                }
                if self.master.is_some() {
                    keys.stats.resumptions_hit += 1;
                } else {
                    keys.stats.resumptions_missed += 1;
                }
            }
        }
        self.sh = Some(sh);
    }

    /// Installs the decrypters of both directions if the key material is there now.
    fn install_keys(&mut self, keys: &mut TlsKeys) {
        let (Some(suite), Some(random)) = (self.suite, self.ch.as_ref().map(|c| c.random)) else {
            return;
        };
        if suite.kx == KeyExchange::Tls13 {
            for d in 0..2 {
                if self.dirs.get(d).is_some_and(|s| s.dec.is_none()) {
                    let app = self.dirs.get(d).is_some_and(|s| s.app13);
                    self.install13(d, app, keys);
                }
            }
            return;
        }
        if self.master.is_none() {
            if let Some(ms) = keys.master_for(&random) {
                self.master = Some(ms);
                self.key_source = Some(KeySource::KeyLog);
            } else if suite.kx == KeyExchange::Rsa
                && !self.resumed
                && self.tried_gen != Some(keys.generation())
            {
                self.try_rsa(keys);
            }
        }
        let (Some(ms), Some(sh), Some(ch)) = (self.master, self.sh.as_ref(), self.ch.as_ref())
        else {
            return;
        };
        let prf = Prf::for_version(sh.version, suite.prf);
        let mac = suite.mac.output_len();
        let key = suite.bulk.key_len();
        let iv = suite.bulk.key_block_iv_len();
        let mut kb = [0u8; prf::MAX_KEY_BLOCK];
        let Some(kb) = kb.get_mut(..2 * (mac + key + iv)) else {
            return;
        };
        prf::key_block(prf, &ms, &ch.random, &sh.random, kb);
        let layout = if sh.version == 0x0301 {
            Layout::Tls10
        } else {
            Layout::Tls11Plus
        };
        let part = |o: usize, n: usize| kb.get(o..o + n).unwrap_or_default();
        let (cm, sm) = (part(0, mac), part(mac, mac));
        let (ck, sk) = (part(2 * mac, key), part(2 * mac + key, key));
        let (civ, siv) = (part(2 * (mac + key), iv), part(2 * (mac + key) + iv, iv));
        let c = RecordDecrypter::new(suite.bulk, suite.mac, cm, ck, civ, layout, self.etm);
        let s = RecordDecrypter::new(suite.bulk, suite.mac, sm, sk, siv, layout, self.etm);
        let [a, b] = &mut self.dirs;
        if a.dec.is_none() {
            a.dec = c;
        }
        if b.dec.is_none() {
            b.dec = s;
        }
    }

    fn try_rsa(&mut self, keys: &mut TlsKeys) {
        let (Some(pms_enc), Some(ch), Some(sh), Some(suite)) = (
            self.encrypted_pms.as_deref(),
            self.ch.as_ref(),
            self.sh.as_ref(),
            self.suite,
        ) else {
            return;
        };
        if keys.rsa_keys.is_empty() {
            return;
        }
        let prf = Prf::for_version(sh.version, suite.prf);
        for k in &keys.rsa_keys {
            let Ok(pms) = k.decrypt(rsa::Pkcs1v15Encrypt, pms_enc) else {
                continue;
            };
            // The premaster starts with the version the client offered; some old clients put the
            // negotiated one (RFC 5246 §7.4.7.1): accept either, and nothing else.
            let ok_version = pms
                .get(..2)
                .is_some_and(|v| v == ch.version.to_be_bytes() || v == sh.version.to_be_bytes());
            if pms.len() != 48 || !ok_version {
                continue;
            }
            let ms = match (&self.session_hash, self.ems) {
                (Some(h), true) => prf::extended_master_secret(prf, &pms, h),
                (None, true) => continue,
                _ => prf::master_secret(prf, &pms, &ch.random, &sh.random),
            };
            self.master = Some(ms);
            self.key_source = Some(KeySource::RsaKey);
            return;
        }
        keys.stats.rsa_decrypt_failures += 1;
    }

    fn install13(&mut self, d: usize, app: bool, keys: &mut TlsKeys) {
        let (Some(suite), Some(ch)) = (self.suite, self.ch.as_ref()) else {
            return;
        };
        let Some(e) = keys.tls13.get(&ch.random) else {
            return;
        };
        let secret = match (d, app) {
            (0, false) => e.client_hs,
            (0, true) => e.client_app,
            (_, false) => e.server_hs,
            (_, true) => e.server_app,
        };
        let Some(st) = self.dirs.get_mut(d) else {
            return;
        };
        st.app13 = app;
        match secret {
            Some(secret) => {
                if secret.as_slice().len() != suite.prf.output_len() {
                    // A secret of the wrong hash length cannot belong to this connection.
                    self.fail(keys, |s| s.wrong_key += 1);
                    return;
                }
                st.dec = decrypter13(suite, &secret);
                st.secret13 = Some(secret);
                if self.key_source.is_none() {
                    self.key_source = Some(KeySource::KeyLog);
                }
            }
            None => {
                st.dec = None;
                st.secret13 = None;
            }
        }
    }

    fn remember_session(&mut self, keys: &mut TlsKeys) {
        if self.is_tls13() {
            return;
        }
        let Some(ms) = self.master else { return };
        if let Some(sh) = &self.sh {
            keys.remember_session_id(&sh.session_id, ms);
        }
        if let Some(t) = &self.server_ticket {
            keys.remember_ticket(t, ms);
        }
    }
}

fn decrypter13(suite: &Suite, secret: &Secret) -> Option<RecordDecrypter> {
    let mut key = [0u8; 32];
    let key = key.get_mut(..suite.bulk.key_len())?;
    let mut iv = [0u8; 12];
    if !prf::hkdf_expand_label(suite.prf, secret.as_slice(), b"key", key)
        || !prf::hkdf_expand_label(suite.prf, secret.as_slice(), b"iv", &mut iv)
    {
        return None;
    }
    RecordDecrypter::new(suite.bulk, suite.mac, &[], key, &iv, Layout::Tls13, false)
}
