//! Handshake layer: splits the handshake stream of one direction into messages (they may span
//! records, several may share one), keeps the running transcript hash for the extended master
//! secret, and parses the hello messages.

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384};

/// Largest handshake message body kept (ClientHello with post-quantum key shares ≈ 2 KiB, a
/// NewSessionTicket a few KiB): larger kept messages give the connection up, counted.
/// Messages whose body is not needed (Certificate chains) are streamed through, not kept.
pub const MAX_HANDSHAKE_MSG: usize = 64 * 1024;

/// Handshake message types.
pub(crate) mod ht {
    pub const HELLO_REQUEST: u8 = 0;
    pub const CLIENT_HELLO: u8 = 1;
    pub const SERVER_HELLO: u8 = 2;
    pub const NEW_SESSION_TICKET: u8 = 4;
    pub const CLIENT_KEY_EXCHANGE: u8 = 16;
    pub const FINISHED: u8 = 20;
    pub const KEY_UPDATE: u8 = 24;
}

/// SHA-256("HelloRetryRequest"): the ServerHello random of a TLS 1.3 HelloRetryRequest.
const HRR_RANDOM: [u8; 32] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
];

/// Running hashes of the handshake messages for RFC 7627's session hash. The suite (and so the
/// hash) is only known after the ServerHello, so all candidates run until then.
#[derive(Clone, Default)]
pub(crate) struct Transcript {
    md5: Md5,
    sha1: Sha1,
    sha256: Sha256,
    sha384: Sha384,
}

impl Transcript {
    fn update(&mut self, b: &[u8]) {
        self.md5.update(b);
        self.sha1.update(b);
        self.sha256.update(b);
        self.sha384.update(b);
    }

    /// Session hash for the PRF: MD5 ‖ SHA-1 before TLS 1.2, else the suite's PRF hash.
    pub(crate) fn session_hash(&self, prf: crate::prf::Prf) -> Vec<u8> {
        match prf {
            crate::prf::Prf::Md5Sha1 => {
                let mut v = self.md5.clone().finalize().to_vec();
                v.extend_from_slice(&self.sha1.clone().finalize());
                v
            }
            crate::prf::Prf::Sha256 => self.sha256.clone().finalize().to_vec(),
            crate::prf::Prf::Sha384 => self.sha384.clone().finalize().to_vec(),
        }
    }
}

/// A complete handshake message: type and body (empty when the body was not kept).
#[derive(Debug)]
pub(crate) struct Message {
    pub typ: u8,
    pub body: Vec<u8>,
}

/// Handshake framing error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HsError {
    TooLarge,
}

/// Splits one direction's handshake byte stream into messages.
#[derive(Default)]
pub(crate) struct HsReader {
    hdr: [u8; 4],
    hdr_len: usize,
    remaining: usize,
    keep: bool,
    body: Vec<u8>,
}

fn wanted(typ: u8) -> bool {
    matches!(
        typ,
        ht::CLIENT_HELLO
            | ht::SERVER_HELLO
            | ht::NEW_SESSION_TICKET
            | ht::CLIENT_KEY_EXCHANGE
            | ht::KEY_UPDATE
    )
}

impl HsReader {
    /// True between messages (nothing partial buffered).
    pub(crate) fn at_boundary(&self) -> bool {
        self.hdr_len == 0
    }

    /// Consumes bytes from `data` until one message completes; returns it, leaving the rest of
    /// `data` for the next call. `transcript` receives every consumed byte.
    pub(crate) fn next(
        &mut self,
        data: &mut &[u8],
        transcript: &mut Option<Transcript>,
    ) -> Result<Option<Message>, HsError> {
        loop {
            if self.hdr_len < 4 {
                let Some((&b, rest)) = data.split_first() else {
                    return Ok(None);
                };
                *data = rest;
                if let Some(t) = transcript.as_mut() {
                    t.update(&[b]);
                }
                if let Some(slot) = self.hdr.get_mut(self.hdr_len) {
                    *slot = b;
                }
                self.hdr_len += 1;
                if self.hdr_len == 4 {
                    let [typ, a, b, c] = self.hdr;
                    self.remaining = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
                    self.keep = wanted(typ);
                    if self.keep && self.remaining > MAX_HANDSHAKE_MSG {
                        return Err(HsError::TooLarge);
                    }
                    self.body.clear();
                } else {
                    continue;
                }
            }
            let take = self.remaining.min(data.len());
            let (chunk, rest) = data.split_at(take);
            *data = rest;
            if let Some(t) = transcript.as_mut() {
                t.update(chunk);
            }
            if self.keep {
                self.body.extend_from_slice(chunk);
            }
            self.remaining -= take;
            if self.remaining > 0 {
                return Ok(None);
            }
            self.hdr_len = 0;
            let typ = self.hdr[0];
            return Ok(Some(Message {
                typ,
                body: std::mem::take(&mut self.body),
            }));
        }
    }
}

/// Big-endian reader over a message body; every read is checked.
pub(crate) struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Cursor(b)
    }
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    pub(crate) fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
    }
    pub(crate) fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }
    pub(crate) fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.0
    }
    fn random(&mut self) -> Option<[u8; 32]> {
        let mut r = [0u8; 32];
        r.copy_from_slice(self.take(32)?);
        Some(r)
    }
}

/// Extensions this crate acts on.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct HelloExt {
    pub ems: bool,
    pub etm: bool,
    /// Session ticket extension present (ClientHello: with the ticket bytes offered).
    pub ticket: Option<Vec<u8>>,
    /// supported_versions: the highest offered TLS 1.x (client) or the selected one (server).
    pub version: Option<u16>,
    pub early_data: bool,
}

fn parse_ext(block: &[u8], client: bool) -> Option<HelloExt> {
    let mut e = HelloExt::default();
    let mut c = Cursor::new(block);
    while !c.rest().is_empty() {
        let typ = c.u16()?;
        let data = c.vec16()?;
        match typ {
            0x0017 => e.ems = true,
            0x0016 => e.etm = true,
            0x0023 => e.ticket = Some(data.to_vec()),
            0x002a => e.early_data = true,
            0x002b if client => {
                let mut v = Cursor::new(Cursor::new(data).vec8()?);
                while let Some(x) = v.u16() {
                    // Skip GREASE values (0x?A?A): they are not versions.
                    if x & 0x0f0f != 0x0a0a {
                        e.version = Some(e.version.map_or(x, |m: u16| m.max(x)));
                    }
                }
            }
            0x002b => e.version = Cursor::new(data).u16(),
            _ => {}
        }
    }
    Some(e)
}

/// The fields of a ClientHello this crate uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientHello {
    pub version: u16,
    pub random: [u8; 32],
    pub session_id: Vec<u8>,
    pub ext: HelloExt,
}

pub(crate) fn parse_client_hello(body: &[u8]) -> Option<ClientHello> {
    let mut c = Cursor::new(body);
    let version = c.u16()?;
    let random = c.random()?;
    let session_id = c.vec8()?;
    if session_id.len() > 32 {
        return None;
    }
    c.vec16()?; // cipher suites
    c.vec8()?; // compression methods
    let ext = if c.rest().is_empty() {
        HelloExt::default()
    } else {
        parse_ext(c.vec16()?, true)?
    };
    Some(ClientHello {
        version,
        random,
        session_id: session_id.to_vec(),
        ext,
    })
}

/// The fields of a ServerHello this crate uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerHello {
    /// Negotiated version (supported_versions wins over legacy_version).
    pub version: u16,
    pub random: [u8; 32],
    pub session_id: Vec<u8>,
    pub suite: u16,
    /// Compression method (0 = null; anything else makes records undecodable here).
    pub compression: u8,
    pub ext: HelloExt,
    /// TLS 1.3 HelloRetryRequest (a second ClientHello follows).
    pub hello_retry: bool,
}

pub(crate) fn parse_server_hello(body: &[u8]) -> Option<ServerHello> {
    let mut c = Cursor::new(body);
    let legacy = c.u16()?;
    let random = c.random()?;
    let session_id = c.vec8()?;
    if session_id.len() > 32 {
        return None;
    }
    let suite = c.u16()?;
    let compression = c.u8()?;
    let ext = if c.rest().is_empty() {
        HelloExt::default()
    } else {
        parse_ext(c.vec16()?, false)?
    };
    Some(ServerHello {
        version: ext.version.unwrap_or(legacy),
        random,
        session_id: session_id.to_vec(),
        suite,
        compression,
        hello_retry: random == HRR_RANDOM,
        ext,
    })
}

/// Ticket of a TLS 1.2 NewSessionTicket (RFC 5077): lifetime hint (4) ‖ ticket<0..2^16-1>.
pub(crate) fn parse_new_session_ticket(body: &[u8]) -> Option<&[u8]> {
    let mut c = Cursor::new(body);
    c.take(4)?;
    c.vec16()
}

/// Encrypted premaster of an RSA ClientKeyExchange: TLS puts a 2-byte length before it.
pub(crate) fn rsa_encrypted_premaster(body: &[u8]) -> Option<&[u8]> {
    let mut c = Cursor::new(body);
    let v = c.vec16()?;
    c.rest().is_empty().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(typ: u8, body: &[u8]) -> Vec<u8> {
        let n = body.len();
        let mut v = vec![typ, (n >> 16) as u8, (n >> 8) as u8, n as u8];
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn messages_split_anywhere() {
        let mut stream = msg(11, &[9; 300]); // Certificate: streamed, not kept
        stream.extend(msg(16, &[0, 2, 7, 7]));
        stream.extend(msg(14, &[]));
        for cut in 0..stream.len() {
            let mut r = HsReader::default();
            let mut t = Some(Transcript::default());
            let mut got = Vec::new();
            for part in [&stream[..cut], &stream[cut..]] {
                let mut d = part;
                while let Some(m) = r.next(&mut d, &mut t).expect("small") {
                    got.push((m.typ, m.body));
                }
                assert!(d.is_empty());
            }
            assert_eq!(
                got,
                vec![(11, vec![]), (16, vec![0, 2, 7, 7]), (14, vec![])]
            );
            let mut whole = Transcript::default();
            whole.update(&stream);
            let t = t.expect("kept");
            assert_eq!(
                t.session_hash(crate::prf::Prf::Sha256),
                whole.session_hash(crate::prf::Prf::Sha256)
            );
        }
    }

    #[test]
    fn oversized_kept_message_is_refused() {
        let mut r = HsReader::default();
        let mut d: &[u8] = &[1, 0x10, 0, 0];
        assert_eq!(r.next(&mut d, &mut None).err(), Some(HsError::TooLarge));
        // An unkept message of the same size is streamed through.
        let mut r = HsReader::default();
        let mut d: &[u8] = &[11, 0x10, 0, 0, 1, 2];
        assert!(r.next(&mut d, &mut None).expect("streamed").is_none());
    }

    #[test]
    fn hello_parsing() {
        let mut ch = vec![3, 3];
        ch.extend([7; 32]);
        ch.extend([2, 0xaa, 0xbb]);
        ch.extend([0, 2, 0x00, 0x2f, 1, 0]);
        let exts: Vec<u8> = [
            vec![0x00, 0x17, 0, 0],
            vec![0x00, 0x23, 0, 3, 1, 2, 3],
            vec![0x00, 0x2b, 0, 7, 6, 0x3a, 0x3a, 3, 4, 3, 3],
        ]
        .concat();
        ch.extend((exts.len() as u16).to_be_bytes());
        ch.extend(exts);
        let h = parse_client_hello(&ch).expect("valid");
        assert_eq!(h.session_id, vec![0xaa, 0xbb]);
        assert!(h.ext.ems && !h.ext.etm);
        assert_eq!(h.ext.ticket, Some(vec![1, 2, 3]));
        assert_eq!(h.ext.version, Some(0x0304));
        for n in 0..ch.len() {
            // Truncations never panic; most fail.
            let _ = parse_client_hello(&ch[..n]);
        }
        assert!(parse_client_hello(&ch[..40]).is_none());
    }
}
