//! SIP over TLS: the `lyncscope-tls` decryptor behind the transport layer's
//! [`StreamDecoder`] hook.
//!
//! Every new TCP connection whose first bytes are a TLS ClientHello (on any port) is taken and
//! decrypted with the key material of a [`TlsHandle`] — key log lines (`--tls-keylog`, a pcapng
//! Decryption Secrets Block) and RSA private keys (`--tls-key`); the plaintext goes through the
//! same SIP framing as clear TCP, with transport `tls`. A connection whose first bytes are
//! another TLS record began before the capture: it is taken too, so that its bytes are counted
//! as `handshake_not_captured` rather than as garbage, and never guessed.

use crate::transport::{ConnectionDecoder, StreamDecoder};
use lyncscope_tls::{
    looks_like_client_hello, ConnState, Dir, KeyError, KeylogStats, TlsConnection, TlsInfo,
    TlsKeys, TlsStats,
};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Key log lines of decrypted sessions kept for `--write-decrypted` (one line per session).
const MAX_SESSION_LINES: usize = 100_000;
/// Connections whose TLS details are remembered for the views (the most recent ones).
const MAX_CONNECTION_INFOS: usize = 65_536;

/// The TLS layer's shared state: key material, counters, and what the views and
/// `--write-decrypted` need. Cloning gives another handle to the same state.
#[derive(Clone, Default)]
pub struct TlsHandle(Arc<Mutex<State>>);

#[derive(Default)]
struct State {
    keys: TlsKeys,
    /// `CLIENT_RANDOM` lines of the sessions decrypted, in order.
    sessions: Vec<String>,
    sessions_dropped: u64,
    /// The TLS details of recent connections, by (client, server).
    infos: VecDeque<(SocketAddr, SocketAddr, TlsInfo)>,
}

impl std::fmt::Debug for TlsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsHandle")
    }
}

impl TlsHandle {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the keys half-written in a way that
        // matters more than losing the run; keep going with what is there.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds NSS key log lines (whole lines; a partial last line is ignored by the caller).
    pub fn add_keylog(&self, text: &[u8]) -> KeylogStats {
        self.lock().keys.add_keylog(text)
    }

    /// Adds an RSA private key (PEM, PKCS#1 or PKCS#8).
    pub fn add_rsa_key_pem(&self, pem: &[u8]) -> Result<(), KeyError> {
        self.lock().keys.add_rsa_key_pem(pem)
    }

    /// Says that every key is known (a run over files with its key logs and keys given up
    /// front): ciphertext without a key is counted and dropped at once instead of held for a
    /// key log line that may still come (as in a live capture).
    pub fn set_final(&self, final_keys: bool) {
        self.lock().keys.set_final(final_keys);
    }

    /// The TLS counters so far.
    pub fn stats(&self) -> TlsStats {
        self.lock().keys.stats().clone()
    }

    /// The key log lines of every session decrypted (RSA-derived master secrets written as
    /// `CLIENT_RANDOM` lines), and how many did not fit the bound.
    pub fn session_lines(&self) -> (Vec<String>, u64) {
        let s = self.lock();
        (s.sessions.clone(), s.sessions_dropped)
    }

    /// The TLS details of the connection between `a` and `b` (either order), if it is one of
    /// the recent TLS connections.
    pub fn connection(&self, a: SocketAddr, b: SocketAddr) -> Option<TlsInfo> {
        self.lock()
            .infos
            .iter()
            .rev()
            .find(|(c, s, _)| (*c == a && *s == b) || (*c == b && *s == a))
            .map(|(_, _, i)| *i)
    }
}

/// The [`StreamDecoder`] that takes TLS connections.
pub(crate) struct TlsLayer {
    handle: TlsHandle,
}

impl TlsLayer {
    pub(crate) fn new(handle: TlsHandle) -> Self {
        TlsLayer { handle }
    }
}

/// A TLS record header (content type 20–23, major version 3): a connection already under way.
fn looks_like_tls_record(first: &[u8]) -> bool {
    matches!(first, [20..=23, 3, 0..=4, ..])
}

impl StreamDecoder for TlsLayer {
    fn open(
        &mut self,
        first: &[u8],
        src: SocketAddr,
        dst: SocketAddr,
    ) -> Option<Box<dyn ConnectionDecoder>> {
        if !(looks_like_client_hello(first) || looks_like_tls_record(first)) {
            return None;
        }
        Some(Box::new(TlsConn {
            conn: TlsConnection::new(),
            handle: self.handle.clone(),
            other: Vec::new(),
            other_is: None,
            client: src,
            server: dst,
            logged: false,
        }))
    }
}

struct TlsConn {
    conn: TlsConnection,
    handle: TlsHandle,
    /// Plaintext the decryptor released for the direction not being fed (keys that arrived
    /// later free both directions' held records), handed out with that direction's next bytes.
    other: Vec<u8>,
    /// The direction `other` belongs to.
    other_is: Option<Dir>,
    client: SocketAddr,
    server: SocketAddr,
    logged: bool,
}

impl TlsConn {
    fn after(&mut self, state: &mut State) {
        if self.logged || self.conn.info().state != ConnState::Decrypting {
            return;
        }
        self.logged = true;
        if let Some(line) = self.conn.keylog_line() {
            if state.sessions.len() < MAX_SESSION_LINES {
                state.sessions.push(line);
            } else {
                state.sessions_dropped += 1;
            }
        }
        if state.infos.len() >= MAX_CONNECTION_INFOS {
            state.infos.pop_front();
        }
        state
            .infos
            .push_back((self.client, self.server, self.conn.info()));
    }
}

fn dir(from_opener: bool) -> Dir {
    if from_opener {
        Dir::ClientToServer
    } else {
        Dir::ServerToClient
    }
}

impl ConnectionDecoder for TlsConn {
    fn data(&mut self, from_opener: bool, bytes: &[u8], out: &mut Vec<u8>) {
        let handle = self.handle.clone();
        let mut state = handle.lock();
        let d = dir(from_opener);
        // What an earlier call released for this direction comes first. The stash holds one
        // direction only: the other's plaintext goes out with the call that produced it.
        if self.other_is == Some(d) {
            out.append(&mut self.other);
            self.other_is = None;
        }
        let other = &mut self.other;
        self.conn
            .feed(d, bytes, &mut state.keys, &mut |got, plain| {
                if got == d {
                    out.extend_from_slice(plain);
                } else {
                    other.extend_from_slice(plain);
                }
            });
        if !self.other.is_empty() {
            self.other_is = Some(if d == Dir::ClientToServer {
                Dir::ServerToClient
            } else {
                Dir::ClientToServer
            });
        }
        self.after(&mut state);
    }

    fn gap(&mut self, from_opener: bool) {
        let handle = self.handle.clone();
        let mut state = handle.lock();
        self.conn.gap(dir(from_opener), &mut state.keys);
    }

    fn finish(&mut self) {
        let handle = self.handle.clone();
        let mut state = handle.lock();
        self.conn.finish(&mut state.keys);
        self.after(&mut state);
    }
}

/// Longest unfinished last line kept between two reads of a growing key log.
const MAX_PARTIAL_LINE: usize = 64 * 1024;

/// A key log file that a TLS client may still be writing (`SSLKEYLOGFILE` during a live
/// capture): each [`KeylogFile::poll`] adds the whole lines written since the last one.
#[derive(Debug)]
pub struct KeylogFile {
    path: std::path::PathBuf,
    offset: u64,
    partial: Vec<u8>,
}

impl KeylogFile {
    /// Follows `path` from its start.
    pub fn new(path: impl Into<std::path::PathBuf>) -> Self {
        KeylogFile {
            path: path.into(),
            offset: 0,
            partial: Vec::new(),
        }
    }

    /// The file followed.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Reads what was appended since the last call and adds its whole lines to `tls`. A file
    /// that shrank (rewritten) is read again from its start.
    pub fn poll(&mut self, tls: &TlsHandle) -> std::io::Result<KeylogStats> {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = std::fs::File::open(&self.path)?;
        let len = file.metadata()?.len();
        if len < self.offset {
            self.offset = 0;
            self.partial.clear();
        }
        file.seek(SeekFrom::Start(self.offset))?;
        let mut new = Vec::new();
        file.take(len - self.offset).read_to_end(&mut new)?;
        self.offset += new.len() as u64;
        self.partial.extend_from_slice(&new);
        let Some(end) = memchr::memrchr(b'\n', &self.partial) else {
            if self.partial.len() > MAX_PARTIAL_LINE {
                self.partial.clear();
            }
            return Ok(KeylogStats::default());
        };
        let whole: Vec<u8> = self.partial.drain(..=end).collect();
        Ok(tls.add_keylog(&whole))
    }
}

/// The IANA name of a cipher suite, or its code point in hex when it is not known here.
pub fn suite_name(id: u16) -> String {
    // Suites seen in the wild that the decryptor does not handle, named for the report.
    const OTHERS: &[(u16, &str)] = &[
        (0x0004, "TLS_RSA_WITH_RC4_128_MD5"),
        (0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA"),
        (0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA"),
        (0x008c, "TLS_PSK_WITH_AES_128_CBC_SHA"),
        (0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"),
        (0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"),
        (0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"),
        (0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"),
        (0x1304, "TLS_AES_128_CCM_SHA256"),
        (0x1305, "TLS_AES_128_CCM_8_SHA256"),
        (0xc09c, "TLS_RSA_WITH_AES_128_CCM"),
        (0xc09d, "TLS_RSA_WITH_AES_256_CCM"),
        (0xc0ac, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM"),
    ];
    lyncscope_tls::suites::suite(id)
        .map(|s| s.name.to_string())
        .or_else(|| {
            OTHERS
                .iter()
                .find(|(i, _)| *i == id)
                .map(|(_, n)| n.to_string())
        })
        .unwrap_or_else(|| format!("0x{id:04x}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client appending to its SSLKEYLOGFILE while the capture runs: each poll takes the
    /// whole lines written since, a partial last line waits for its end, a rewritten (shorter)
    /// file is read again from the start.
    #[test]
    fn a_growing_key_log_is_read_line_by_line() {
        let dir = std::env::temp_dir().join(format!("lyncscope-keylog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("sslkeys.log");
        let line = |n: u8| {
            format!(
                "CLIENT_RANDOM {} {}\n",
                format!("{n:02x}").repeat(32),
                "ab".repeat(48)
            )
        };
        std::fs::write(&path, "# SSL/TLS secrets log file\n").expect("write");
        let handle = TlsHandle::default();
        let mut f = KeylogFile::new(&path);
        assert_eq!(f.poll(&handle).expect("poll").added, 0);
        let two = format!("{}{}", line(1), line(2));
        let (whole, partial) = two.split_at(two.len() - 10);
        std::fs::write(&path, format!("# SSL/TLS secrets log file\n{whole}")).expect("write");
        assert_eq!(
            f.poll(&handle).expect("poll").added,
            1,
            "the partial line waits"
        );
        std::fs::write(&path, format!("# SSL/TLS secrets log file\n{two}")).expect("write");
        assert_eq!(f.poll(&handle).expect("poll").added, 1, "now whole");
        let _ = partial;
        // Rewritten shorter: read again from the start (a known line is a duplicate).
        std::fs::write(&path, line(3)).expect("write");
        let got = f.poll(&handle).expect("poll");
        assert_eq!(got.added, 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
