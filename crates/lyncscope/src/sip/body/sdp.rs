//! `application/sdp` with the Microsoft extensions (RFC 4566, MS-SDPEXT; protocol brief §4.4).
//!
//! The A/V MCU join is an INVITE with an SDP offer; what the analysis needs from it is which
//! ICE flavour the client speaks (the MCU rejects the wrong one with 488 + `ms-diagnostics:
//! 7008`), whether SRTP / Scale-SRTP (`a=cryptoscale`) was offered and accepted, the media
//! address and the `a=x-ssrc-range` that ties RTP flows back to a participant.
//!
//! This is a tolerant line parser, not a validator: CRLF or LF, unknown lines and attributes
//! are kept or skipped, never fatal; a body without any SDP line is an error. Attributes this
//! module does not model are kept raw per media (or session) in `other` / `attributes`.
//!
//! ICE comes in two incompatible syntaxes on the wire: RFC 5245 (`a=candidate:<fnd> <comp>
//! <transport> <prio> <ip> <port> typ <type> …` with `a=ice-ufrag`/`a=ice-pwd`) and the ICE
//! draft-6 form used by OCS 2007 (`a=candidate:<user> <comp> <pwd> <transport> <q> <ip>
//! <port>`, credentials per candidate). As SIPE does, the 7th token being `typ` decides.
//!
//! SRTP keys are secrets even in a capture you may analyse: [`KeyParams`] keeps them but
//! its `Debug`, `Display` and serialisation show only a redacted form; so do ICE passwords,
//! which are not kept at all.

use std::fmt;

use super::{lossy, BodyError};

/// Most media descriptions kept.
pub const MAX_MEDIA: usize = 1_000;
/// Most attributes kept per media description or at session level (all kinds together).
const MAX_ATTRS: usize = 1_000;

/// Which ICE syntax an SDP (or media description) uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IceFlavour {
    /// RFC 5245 ("ICE v19"): candidates with `typ`, `a=ice-ufrag` / `a=ice-pwd`.
    Rfc5245,
    /// ICE draft 6 (OCS 2007 and Lync's `ms-proxy-2007fallback` part).
    Draft6,
    /// No ICE at all.
    None,
}

impl IceFlavour {
    /// The name used in the JSON report: `rfc5245`, `draft6`, `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            IceFlavour::Rfc5245 => "rfc5245",
            IceFlavour::Draft6 => "draft6",
            IceFlavour::None => "none",
        }
    }
}

/// Media direction (`a=sendrecv` and friends); `sendrecv` when nothing says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// `sendrecv`
    #[default]
    SendRecv,
    /// `sendonly`
    SendOnly,
    /// `recvonly`
    RecvOnly,
    /// `inactive`
    Inactive,
}

impl Direction {
    fn from_attr(name: &str) -> Option<Direction> {
        match name {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }
}

/// `o=` line.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Origin {
    /// Username (`-` for Lync).
    pub username: String,
    /// Session ID.
    pub session_id: String,
    /// Session version: bumps on every re-offer.
    pub session_version: String,
    /// Network type (`IN`).
    pub net_type: String,
    /// Address type (`IP4`, `IP6`).
    pub addr_type: String,
    /// Address.
    pub address: String,
}

/// `c=` line.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Connection {
    /// Network type (`IN`).
    pub net_type: String,
    /// Address type (`IP4`, `IP6`).
    pub addr_type: String,
    /// Address, without any `/ttl` suffix.
    pub address: String,
}

/// `b=` line.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Bandwidth {
    /// Modifier (`CT`, `AS`, `TIAS`, …).
    pub kind: String,
    /// Value (kbit/s for `CT`/`AS`); `None` if not a number.
    pub value: Option<u64>,
}

/// A raw `a=` attribute.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Attribute {
    /// Name (before `:`).
    pub name: String,
    /// Value (after `:`), `None` for a flag attribute.
    pub value: Option<String>,
}

/// SRTP key parameters (`inline:<key>|<lifetime>|<mki>:<len>`), kept verbatim but only ever
/// shown redacted.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KeyParams(String);

impl KeyParams {
    /// The full key parameters, including the key. Only call this to actually use the key.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The key parameters with every key cut to its first 4 characters:
    /// `inline:kO4d…|2^31|1:1`. Lifetime and MKI are not secret and stay.
    pub fn redacted(&self) -> String {
        let mut out = String::with_capacity(self.0.len().min(64));
        for (i, param) in self.0.split(';').enumerate() {
            if i > 0 {
                out.push(';');
            }
            let (method, rest) = match param.split_once(':') {
                Some((m, r)) => (Some(m), r),
                None => (None, param),
            };
            let (key, tail) = match rest.find('|') {
                Some(p) => (rest.get(..p).unwrap_or(""), rest.get(p..).unwrap_or("")),
                None => (rest, ""),
            };
            if let Some(m) = method {
                out.push_str(m);
                out.push(':');
            }
            out.extend(key.chars().take(4));
            if key.chars().nth(4).is_some() {
                out.push('…');
            }
            out.push_str(tail);
        }
        out
    }
}

impl fmt::Debug for KeyParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyParams({:?})", self.redacted())
    }
}

impl fmt::Display for KeyParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl serde::Serialize for KeyParams {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

/// `a=crypto:<tag> <suite> <key-params> [<session-params>…]` (RFC 4568).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Crypto {
    /// Tag; unique across `crypto` and `cryptoscale` of a media description.
    pub tag: u32,
    /// Crypto suite (`AES_CM_128_HMAC_SHA1_80`).
    pub suite: String,
    /// Key parameters (secret; redacted when shown).
    pub key_params: KeyParams,
    /// Session parameters, verbatim.
    pub session_params: Vec<String>,
}

/// `a=cryptoscale:<tag> <direction> <suite> <key-params>` (Scale-SRTP, MS-SDPEXT 3.1.5.2).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CryptoScale {
    /// Tag; shares the numbering with `crypto`.
    pub tag: u32,
    /// Direction token, verbatim (`client` in every real trace).
    pub direction: String,
    /// Crypto suite.
    pub suite: String,
    /// Key parameters (secret; redacted when shown).
    pub key_params: KeyParams,
}

/// One ICE candidate, in either syntax.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Candidate {
    /// Which syntax the line used.
    pub flavour: Option<IceFlavour>,
    /// RFC 5245 foundation, or the draft-6 username (base64, not a secret on its own).
    pub foundation: String,
    /// Component: 1 = RTP, 2 = RTCP.
    pub component: u32,
    /// Transport token (`UDP`, `TCP-ACT`, `TCP-PASS`, `TCP`).
    pub transport: String,
    /// Priority (RFC 5245, an integer) or q-value (draft 6, `0.830`), verbatim.
    pub priority: String,
    /// Address.
    pub address: String,
    /// Port.
    pub port: u16,
    /// `typ` (RFC 5245): `host`, `srflx`, `relay`, `prflx`.
    pub typ: Option<String>,
    /// `raddr` (RFC 5245).
    pub raddr: Option<String>,
    /// `rport` (RFC 5245).
    pub rport: Option<u16>,
}

impl Candidate {
    /// Parses the value of an `a=candidate` / `a=x-candidate*` attribute; `None` when too
    /// short or when component / port are not numbers.
    pub fn parse(value: &str) -> Option<Candidate> {
        let mut tokens = value.split_ascii_whitespace();
        let t: [&str; 7] = [
            tokens.next()?,
            tokens.next()?,
            tokens.next()?,
            tokens.next()?,
            tokens.next()?,
            tokens.next()?,
            tokens.next().unwrap_or(""),
        ];
        let [t0, t1, t2, t3, t4, t5, t6] = t;
        if t6 == "typ" {
            let mut c = Candidate {
                flavour: Some(IceFlavour::Rfc5245),
                foundation: t0.to_owned(),
                component: t1.parse().ok()?,
                transport: t2.to_owned(),
                priority: t3.to_owned(),
                address: t4.to_owned(),
                port: t5.parse().ok()?,
                typ: tokens.next().map(str::to_owned),
                ..Candidate::default()
            };
            while let Some(key) = tokens.next() {
                let Some(val) = tokens.next() else { break };
                match key {
                    "raddr" => c.raddr = Some(val.to_owned()),
                    "rport" => c.rport = val.parse().ok(),
                    _ => {}
                }
            }
            Some(c)
        } else {
            // Draft 6: <username> <component> <password> <transport> <q> <ip> <port>. The
            // password (t2) is a credential and is not kept.
            Some(Candidate {
                flavour: Some(IceFlavour::Draft6),
                foundation: t0.to_owned(),
                component: t1.parse().ok()?,
                transport: t3.to_owned(),
                priority: t4.to_owned(),
                address: t5.to_owned(),
                port: t6.parse().ok()?,
                ..Candidate::default()
            })
        }
    }
}

/// One `m=` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct MediaDesc {
    /// Media type, verbatim: `audio`, `video`, `message`, `applicationsharing`, …
    pub kind: String,
    /// Port (0 = rejected stream; also 0 when unparsable).
    pub port: u16,
    /// `/<count>` after the port, if any.
    pub port_count: Option<u16>,
    /// Transport protocol: `RTP/AVP`, `RTP/SAVP`, `TCP/RTP/AVP`, `sip`, …
    pub proto: String,
    /// Format list (payload types for RTP).
    pub formats: Vec<String>,
    /// Media-level `c=`.
    pub connection: Option<Connection>,
    /// Media-level `b=`.
    pub bandwidth: Vec<Bandwidth>,
    /// Media-level direction, else the session's, else `sendrecv`.
    pub direction: Direction,
    /// `a=label`.
    pub label: Option<String>,
    /// `a=crypto`.
    pub crypto: Vec<Crypto>,
    /// `a=cryptoscale`.
    pub cryptoscale: Vec<CryptoScale>,
    /// `a=candidate` (either flavour).
    pub candidates: Vec<Candidate>,
    /// `a=x-candidate` and `a=x-candidate-ipv6`.
    pub x_candidates: Vec<Candidate>,
    /// `a=ice-ufrag`.
    pub ice_ufrag: Option<String>,
    /// Whether `a=ice-pwd` was present (the password itself is not kept).
    pub ice_pwd: bool,
    /// `a=remote-candidates` / `a=remote-candidate` (post-ICE re-offer), verbatim.
    pub remote_candidates: Option<String>,
    /// `a=x-ssrc-range:<first>-<last>`.
    pub x_ssrc_range: Option<(u32, u32)>,
    /// `a=rtcp` port.
    pub rtcp_port: Option<u16>,
    /// `a=rtpmap:<pt> <codec>` as `(pt, "G722/8000/2")`.
    pub rtpmap: Vec<(u8, String)>,
    /// Every other attribute, verbatim (`rtcp-fb`, `fmtp`, `x-source`, `encryption`, …).
    pub other: Vec<Attribute>,
    /// True when attributes were dropped because of the bound.
    pub truncated: bool,
    #[serde(skip)]
    own_direction: Option<Direction>,
}

impl MediaDesc {
    /// The ICE flavour of this media description: the first `a=candidate` decides; with none,
    /// `a=ice-ufrag` or RFC-style `x-candidate`s mean RFC 5245.
    pub fn ice_flavour(&self) -> IceFlavour {
        if let Some(f) = self.candidates.iter().find_map(|c| c.flavour) {
            return f;
        }
        if self.ice_ufrag.is_some() || !self.x_candidates.is_empty() {
            IceFlavour::Rfc5245
        } else {
            IceFlavour::None
        }
    }

    /// True when the profile requires SRTP (`RTP/SAVP`, `TCP/RTP/SAVP`, `RTP/SAVPF`).
    pub fn is_secure_profile(&self) -> bool {
        self.proto.to_ascii_uppercase().contains("SAVP")
    }

    /// The first raw attribute with this name (ASCII case ignored).
    pub fn attr(&self, name: &str) -> Option<&Attribute> {
        self.other
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    fn push_other(&mut self, name: &str, value: Option<&str>) {
        if self.other.len() < MAX_ATTRS {
            self.other.push(Attribute {
                name: name.to_owned(),
                value: value.map(str::to_owned),
            });
        } else {
            self.truncated = true;
        }
    }

    /// Total count of stored attributes, for the bound.
    fn attr_count(&self) -> usize {
        self.other.len()
            + self.crypto.len()
            + self.cryptoscale.len()
            + self.candidates.len()
            + self.x_candidates.len()
            + self.rtpmap.len()
    }
}

/// A parsed session description.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Sdp {
    /// `o=`.
    pub origin: Option<Origin>,
    /// `s=`.
    pub session_name: Option<String>,
    /// Session-level `c=`.
    pub connection: Option<Connection>,
    /// Session-level `b=`.
    pub bandwidth: Vec<Bandwidth>,
    /// Session-level attributes, verbatim (`x-devicecaps`, `x-mediabw`, direction, …).
    pub attributes: Vec<Attribute>,
    /// Media descriptions in order.
    pub media: Vec<MediaDesc>,
    /// Lines that were not `x=value` or whose value could not be read.
    pub malformed_lines: usize,
    /// True when media descriptions or attributes were dropped because of a bound.
    pub truncated: bool,
}

impl Sdp {
    /// The ICE flavour of the whole SDP: that of the first media description that has ICE.
    pub fn ice_flavour(&self) -> IceFlavour {
        self.media
            .iter()
            .map(MediaDesc::ice_flavour)
            .find(|f| *f != IceFlavour::None)
            .unwrap_or(IceFlavour::None)
    }

    /// The connection address that applies to a media description: its own `c=`, else the
    /// session's.
    pub fn address_of<'a>(&'a self, m: &'a MediaDesc) -> Option<&'a str> {
        m.connection
            .as_ref()
            .or(self.connection.as_ref())
            .map(|c| c.address.as_str())
    }

    /// The first media description of this kind (`audio`, `video`, …; ASCII case ignored).
    pub fn media_of(&self, kind: &str) -> Option<&MediaDesc> {
        self.media
            .iter()
            .find(|m| m.kind.eq_ignore_ascii_case(kind))
    }

    /// The first session-level attribute with this name (ASCII case ignored).
    pub fn attr(&self, name: &str) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// What the join analysis needs from an offer: the media types with a non-zero port, whether
/// Scale-SRTP (`a=cryptoscale`) is offered, and the ICE flavour. Read in one pass over the
/// lines without allocating — the analysis looks at every MCU INVITE, while the full [`parse`]
/// is for the message detail view.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary<'a> {
    /// The media type of every `m=` line with a non-zero port (`audio`, `video`, …), in order
    /// (at most [`MAX_MEDIA`]).
    pub media: Vec<&'a str>,
    /// True when an `a=cryptoscale:` line (Scale-SRTP) is present.
    pub cryptoscale: bool,
    /// As [`Sdp::ice_flavour`]: the first candidate's syntax, else RFC 5245 when there are ICE
    /// credentials or `x-candidate` lines, else none.
    pub ice: Option<IceFlavour>,
}

/// Reads the [`Summary`] of an SDP body; never fails (a body that is not SDP has no media).
pub fn summarize(body: &[u8]) -> Summary<'_> {
    use memchr::memmem::Finder;
    use std::sync::LazyLock;
    // Only a few line kinds matter, so each is found by a vector search for "\n<prefix>" (every
    // roster of ICE candidates would otherwise be walked line by line); the first line is
    // checked on its own.
    static M: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\nm="));
    static CRYPTOSCALE: LazyLock<Finder<'static>> =
        LazyLock::new(|| Finder::new(b"\na=cryptoscale:"));
    static CANDIDATE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\na=candidate:"));
    static UFRAG: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\na=ice-ufrag:"));
    static X_CANDIDATE: LazyLock<Finder<'static>> =
        LazyLock::new(|| Finder::new(b"\na=x-candidate"));
    // The lines that start with the finder's needle (without its "\n"): their text after it.
    let lines = |f: &'static Finder<'static>| {
        let prefix = f.needle().get(1..).unwrap_or_default();
        let first = body.starts_with(prefix).then_some(0);
        first
            .into_iter()
            .chain(f.find_iter(body).map(|i| i + 1))
            .map(move |start| {
                let rest = body.get(start + prefix.len()..).unwrap_or_default();
                let line = rest
                    .get(..memchr::memchr(b'\n', rest).unwrap_or(rest.len()))
                    .unwrap_or(rest);
                line.strip_suffix(b"\r").unwrap_or(line)
            })
    };
    let mut s = Summary::default();
    for m in lines(&M) {
        let mut fields = m.split(|&b| b == b' ').filter(|f| !f.is_empty());
        let (kind, port) = (fields.next(), fields.next());
        let disabled = port.is_some_and(|p| p == b"0" || p.starts_with(b"0/"));
        if let (Some(kind), false) = (kind.and_then(|k| std::str::from_utf8(k).ok()), disabled) {
            if s.media.len() < MAX_MEDIA {
                s.media.push(kind);
            }
        }
    }
    s.cryptoscale = lines(&CRYPTOSCALE).next().is_some();
    let candidate_flavour = lines(&CANDIDATE).next().map(|c| {
        let typ = c.split(|&b| b == b' ').filter(|f| !f.is_empty()).nth(6) == Some(b"typ");
        if typ {
            IceFlavour::Rfc5245
        } else {
            IceFlavour::Draft6
        }
    });
    let ice_credentials = lines(&UFRAG).next().is_some() || lines(&X_CANDIDATE).next().is_some();
    s.ice = candidate_flavour.or(ice_credentials.then_some(IceFlavour::Rfc5245));
    s
}

/// Parses an SDP body (CRLF or LF line ends).
pub fn parse(body: &[u8]) -> Result<Sdp, BodyError> {
    let text = lossy(body);
    if text.trim().is_empty() {
        return Err(BodyError::Empty);
    }
    let mut sdp = Sdp::default();
    let mut session_direction = None;
    let mut recognised = false;
    // Set while attributes belong to a media description that was dropped by the bound.
    let mut skipping_media = false;

    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((kind, value)) = line.split_once('=') else {
            sdp.malformed_lines += 1;
            continue;
        };
        let kind = kind.trim();
        if kind.len() != 1 {
            sdp.malformed_lines += 1;
            continue;
        }
        let ok = match kind {
            "v" | "t" | "r" | "z" | "k" | "i" | "u" | "e" | "p" => true,
            // Lines of a media description dropped by the bound go with it.
            "c" | "b" | "a" if skipping_media => true,
            "o" => {
                sdp.origin = parse_origin(value);
                sdp.origin.is_some()
            }
            "s" => {
                sdp.session_name = Some(value.to_owned());
                true
            }
            "c" => {
                let conn = parse_connection(value);
                let ok = conn.is_some();
                if let Some(m) = sdp.media.last_mut() {
                    m.connection = conn;
                } else {
                    sdp.connection = conn;
                }
                ok
            }
            "b" => {
                let bw = parse_bandwidth(value);
                let ok = bw.is_some();
                if let Some(bw) = bw {
                    if let Some(m) = sdp.media.last_mut() {
                        if m.bandwidth.len() < MAX_ATTRS {
                            m.bandwidth.push(bw);
                        }
                    } else if sdp.bandwidth.len() < MAX_ATTRS {
                        sdp.bandwidth.push(bw);
                    }
                }
                ok
            }
            "m" => {
                if sdp.media.len() < MAX_MEDIA {
                    skipping_media = false;
                    let (m, ok) = parse_media_line(value);
                    sdp.media.push(m);
                    ok
                } else {
                    skipping_media = true;
                    sdp.truncated = true;
                    true
                }
            }
            "a" => {
                let (name, val) = match value.split_once(':') {
                    Some((n, v)) => (n.trim(), Some(v.trim())),
                    None => (value.trim(), None),
                };
                if let Some(m) = sdp.media.last_mut() {
                    if m.attr_count() >= MAX_ATTRS {
                        m.truncated = true;
                        sdp.truncated = true;
                        true
                    } else {
                        media_attribute(m, name, val)
                    }
                } else {
                    if let Some(d) = Direction::from_attr(name) {
                        session_direction = Some(d);
                    }
                    if sdp.attributes.len() < MAX_ATTRS {
                        sdp.attributes.push(Attribute {
                            name: name.to_owned(),
                            value: val.map(str::to_owned),
                        });
                    } else {
                        sdp.truncated = true;
                    }
                    true
                }
            }
            _ => false,
        };
        recognised |= ok && matches!(kind, "v" | "o" | "s" | "c" | "m" | "t");
        if !ok {
            sdp.malformed_lines += 1;
        }
    }
    if !recognised {
        return Err(BodyError::NotThisType("an SDP body"));
    }
    for m in &mut sdp.media {
        m.direction = m.own_direction.or(session_direction).unwrap_or_default();
    }
    Ok(sdp)
}

/// Applies one media-level attribute; false if its value could not be read (it is then kept
/// raw in `other`).
fn media_attribute(m: &mut MediaDesc, name: &str, val: Option<&str>) -> bool {
    if let Some(d) = Direction::from_attr(name) {
        m.own_direction = Some(d);
        return true;
    }
    let parsed = match (name, val) {
        ("candidate", Some(v)) => Candidate::parse(v).map(|c| m.candidates.push(c)),
        ("x-candidate" | "x-candidate-ipv6", Some(v)) => {
            Candidate::parse(v).map(|c| m.x_candidates.push(c))
        }
        ("crypto", Some(v)) => parse_crypto(v).map(|c| m.crypto.push(c)),
        ("cryptoscale", Some(v)) => parse_cryptoscale(v).map(|c| m.cryptoscale.push(c)),
        ("ice-ufrag", Some(v)) => {
            m.ice_ufrag = Some(v.to_owned());
            Some(())
        }
        // The password is a credential: record only that it was there.
        ("ice-pwd", _) => {
            m.ice_pwd = true;
            return true;
        }
        ("remote-candidates" | "remote-candidate", Some(v)) => {
            m.remote_candidates = Some(v.to_owned());
            Some(())
        }
        ("x-ssrc-range", Some(v)) => parse_ssrc_range(v).map(|r| m.x_ssrc_range = Some(r)),
        ("label", Some(v)) => {
            m.label = Some(v.to_owned());
            Some(())
        }
        ("rtcp", Some(v)) => v
            .split_ascii_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .map(|p| m.rtcp_port = Some(p)),
        ("rtpmap", Some(v)) => parse_rtpmap(v).map(|r| m.rtpmap.push(r)),
        _ => {
            m.push_other(name, val);
            return true;
        }
    };
    if parsed.is_none() {
        m.push_other(name, val);
    }
    parsed.is_some()
}

fn parse_origin(value: &str) -> Option<Origin> {
    let mut t = value.split_ascii_whitespace();
    Some(Origin {
        username: t.next()?.to_owned(),
        session_id: t.next()?.to_owned(),
        session_version: t.next()?.to_owned(),
        net_type: t.next()?.to_owned(),
        addr_type: t.next()?.to_owned(),
        address: t.next()?.to_owned(),
    })
}

fn parse_connection(value: &str) -> Option<Connection> {
    let mut t = value.split_ascii_whitespace();
    let net_type = t.next()?.to_owned();
    let addr_type = t.next()?.to_owned();
    let address = t.next()?;
    let address = address.split('/').next().unwrap_or(address).to_owned();
    Some(Connection {
        net_type,
        addr_type,
        address,
    })
}

fn parse_bandwidth(value: &str) -> Option<Bandwidth> {
    let (kind, v) = value.split_once(':')?;
    Some(Bandwidth {
        kind: kind.trim().to_owned(),
        value: v.trim().parse().ok(),
    })
}

/// `m=<media> <port>[/<count>] <proto> <fmt>…`; a line that cannot be read still yields a media
/// description (so its attributes are not attributed to the previous one) and `false`.
fn parse_media_line(value: &str) -> (MediaDesc, bool) {
    let mut t = value.split_ascii_whitespace();
    let mut m = MediaDesc {
        kind: t.next().unwrap_or("").to_owned(),
        ..MediaDesc::default()
    };
    let mut ok = !m.kind.is_empty();
    match t.next() {
        Some(p) => {
            let (port, count) = match p.split_once('/') {
                Some((p, c)) => (p, c.parse().ok()),
                None => (p, None),
            };
            match port.parse() {
                Ok(port) => m.port = port,
                Err(_) => ok = false,
            }
            m.port_count = count;
        }
        None => ok = false,
    }
    match t.next() {
        Some(proto) => m.proto = proto.to_owned(),
        None => ok = false,
    }
    m.formats = t.take(MAX_ATTRS).map(str::to_owned).collect();
    (m, ok)
}

fn parse_crypto(value: &str) -> Option<Crypto> {
    let mut t = value.split_ascii_whitespace();
    Some(Crypto {
        tag: t.next()?.parse().ok()?,
        suite: t.next()?.to_owned(),
        key_params: KeyParams(t.next()?.to_owned()),
        session_params: t.take(16).map(str::to_owned).collect(),
    })
}

fn parse_cryptoscale(value: &str) -> Option<CryptoScale> {
    let mut t = value.split_ascii_whitespace();
    Some(CryptoScale {
        tag: t.next()?.parse().ok()?,
        direction: t.next()?.to_owned(),
        suite: t.next()?.to_owned(),
        key_params: KeyParams(t.next()?.to_owned()),
    })
}

fn parse_ssrc_range(value: &str) -> Option<(u32, u32)> {
    let (a, b) = value.trim().split_once('-')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

fn parse_rtpmap(value: &str) -> Option<(u8, String)> {
    let (pt, codec) = value.trim().split_once(char::is_whitespace)?;
    Some((pt.parse().ok()?, codec.trim().to_owned()))
}

/// The straightforward reading of every line, which [`summarize`] must agree with.
#[cfg(test)]
fn summarize_line_by_line(body: &[u8]) -> Summary<'_> {
    let mut s = Summary::default();
    let mut candidate_flavour = None;
    let mut ice_credentials = false;
    // Line starts by a vector search for line feeds (a byte-wise split costs more than all
    // the rest); only `m=` and `a=` lines are looked at.
    let starts = std::iter::once(0).chain(memchr::memchr_iter(b'\n', body).map(|i| i + 1));
    for start in starts {
        let rest = body.get(start..).unwrap_or_default();
        if !(rest.starts_with(b"m=") || rest.starts_with(b"a=")) {
            continue;
        }
        let line = rest
            .get(..memchr::memchr(b'\n', rest).unwrap_or(rest.len()))
            .unwrap_or(rest);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(m) = line.strip_prefix(b"m=") {
            let mut fields = m.split(|&b| b == b' ').filter(|f| !f.is_empty());
            let (kind, port) = (fields.next(), fields.next());
            let disabled = port.is_some_and(|p| p == b"0" || p.starts_with(b"0/"));
            if let (Some(kind), false) = (kind.and_then(|k| std::str::from_utf8(k).ok()), disabled)
            {
                if s.media.len() < MAX_MEDIA {
                    s.media.push(kind);
                }
            }
        } else if let Some(a) = line.strip_prefix(b"a=") {
            if a.starts_with(b"cryptoscale:") {
                s.cryptoscale = true;
            } else if let Some(c) = a.strip_prefix(b"candidate:") {
                if candidate_flavour.is_none() {
                    let typ =
                        c.split(|&b| b == b' ').filter(|f| !f.is_empty()).nth(6) == Some(b"typ");
                    candidate_flavour = Some(if typ {
                        IceFlavour::Rfc5245
                    } else {
                        IceFlavour::Draft6
                    });
                }
            } else if a.starts_with(b"ice-ufrag:") || a.starts_with(b"x-candidate") {
                ice_credentials = true;
            }
        }
    }
    s.ice = candidate_flavour.or(ice_credentials.then_some(IceFlavour::Rfc5245));
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The vector-search summary equals reading every line, for SDP-like text with the
        /// lines that matter placed anywhere (first line too), CRLF or LF, and noise.
        #[test]
        fn summary_by_search_equals_summary_by_lines(
            lines in proptest::collection::vec(prop_oneof![
                Just("m=audio 50000 RTP/SAVP 0".to_string()),
                Just("m=video 0 RTP/AVP 34".to_string()),
                Just("m=message 5060 sip null".to_string()),
                Just("a=cryptoscale:1 client AES_CM_128_HMAC_SHA1_80 inline:x".to_string()),
                Just("a=candidate:1 1 UDP 2130706431 192.0.2.1 50000 typ host".to_string()),
                Just("a=candidate:abc 1 def UDP 0.9 192.0.2.1 50000".to_string()),
                Just("a=ice-ufrag:abcd".to_string()),
                Just("a=x-candidate-ipv6:1".to_string()),
                Just("xa=cryptoscale:1".to_string()),
                Just(" m=audio 1 x".to_string()),
                "[ -~]{0,20}",
            ], 0..24),
            crlf in any::<bool>(),
        ) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let body = lines.join(eol);
            prop_assert_eq!(summarize(body.as_bytes()), summarize_line_by_line(body.as_bytes()));
        }
    }

    #[test]
    fn summary_of_the_fixtures_equals_summary_by_lines() {
        for body in [D1, D2] {
            assert_eq!(
                summarize(body.as_bytes()),
                summarize_line_by_line(body.as_bytes())
            );
        }
    }

    /// Body of docs/protocol.md §8 D1 (client offer to the A/V MCU).
    pub(crate) const D1: &str = "v=0\r
o=- 0 0 IN IP4 192.0.2.22\r
s=session\r
c=IN IP4 192.0.2.22\r
b=CT:99980\r
t=0 0\r
a=x-devicecaps:audio:send,recv;video:send,recv\r
m=audio 50020 RTP/AVP 117 104 114 9 0 8 101 13\r
a=x-ssrc-range:3567821313-3567821313\r
a=rtcp-fb:* x-message app send:dsh recv:dsh\r
a=rtcp-rsize\r
a=label:main-audio\r
a=x-source:main-audio\r
a=ice-ufrag:Qz7p\r
a=ice-pwd:k3v9X2bLw8rT5yNq1mE6sA0d\r
a=candidate:1 1 UDP 2130706431 192.0.2.22 50020 typ host\r
a=candidate:1 2 UDP 2130705918 192.0.2.22 50021 typ host\r
a=candidate:2 1 TCP-ACT 1684798463 192.0.2.22 50020 typ srflx raddr 192.0.2.22 rport 50020\r
a=candidate:2 2 TCP-ACT 1684797950 192.0.2.22 50020 typ srflx raddr 192.0.2.22 rport 50020\r
a=cryptoscale:1 client AES_CM_128_HMAC_SHA1_80 inline:kO4d3/abseTSPSUPfWatrbU7otWVL6j6/tQOl8X2|2^31|1:1\r
a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:dmwVOiRw97jM9AdlX727JSjfijRUJmHZ+Dq1ei78|2^31|1:1\r
a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:KI+ouCajadSMe4VqgATayRvbD6Yr8OPdKnLCXfRC|2^31\r
a=maxptime:200\r
a=rtcp:50021\r
a=rtpmap:117 G722/8000/2\r
a=rtpmap:104 SILK/16000\r
a=fmtp:104 useinbandfec=1; usedtx=0\r
a=rtpmap:114 x-msrta/16000\r
a=fmtp:114 bitrate=29000\r
a=rtpmap:9 G722/8000\r
a=rtpmap:0 PCMU/8000\r
a=rtpmap:8 PCMA/8000\r
a=rtpmap:101 telephone-event/8000\r
a=fmtp:101 0-16\r
a=rtpmap:13 CN/8000\r
a=ptime:20\r
";

    /// Body of docs/protocol.md §8 D2 (the A/V MCU's answer), LF-only to cover both line ends.
    pub(crate) const D2: &str = "v=0
o=- 0 1 IN IP4 198.51.100.10
s=session
c=IN IP4 198.51.100.10
b=CT:99980
t=0 0
m=audio 52144 RTP/SAVP 117 104 114 9 0 8 101 13
a=x-ssrc-range:1098431233-1098431233
a=rtcp-fb:* x-message app send:dsh recv:dsh
a=rtcp-rsize
a=label:main-audio
a=x-source:main-audio
a=ice-ufrag:m2Xr
a=ice-pwd:Y5bQ0uT8nE3cW7hR1kL9pD4v
a=candidate:1 1 UDP 2130706431 198.51.100.10 52144 typ host
a=candidate:1 2 UDP 2130705918 198.51.100.10 52145 typ host
a=cryptoscale:1 client AES_CM_128_HMAC_SHA1_80 inline:wDpEr+9q/7Q9Ys70H57YOyOfJiX5IYpH0eD5iBdZ|2^31|1:1
a=maxptime:200
a=rtcp:52145
a=rtpmap:117 G722/8000/2
a=rtpmap:104 SILK/16000
a=fmtp:104 useinbandfec=1; usedtx=0
a=rtpmap:114 x-msrta/16000
a=fmtp:114 bitrate=29000
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=rtpmap:13 CN/8000
a=ptime:20
";

    #[test]
    fn d1_av_mcu_offer() {
        let sdp = parse(D1.as_bytes()).unwrap();
        let o = sdp.origin.as_ref().unwrap();
        assert_eq!(o.session_version, "0");
        assert_eq!(o.address, "192.0.2.22");
        assert_eq!(sdp.session_name.as_deref(), Some("session"));
        assert_eq!(sdp.connection.as_ref().unwrap().address, "192.0.2.22");
        assert_eq!(sdp.bandwidth[0].kind, "CT");
        assert_eq!(sdp.bandwidth[0].value, Some(99980));
        assert_eq!(
            sdp.attr("x-devicecaps").unwrap().value.as_deref(),
            Some("audio:send,recv;video:send,recv")
        );
        assert_eq!(sdp.malformed_lines, 0);
        assert_eq!(sdp.ice_flavour(), IceFlavour::Rfc5245);

        // §8.x: AvMcuJoin{ice=rfc5245, cryptoscale=[tag1 dir=client], crypto=[2,3],
        // ssrc=3567821313..3567821313, media=audio}
        assert_eq!(sdp.media.len(), 1);
        let m = sdp.media_of("audio").unwrap();
        assert_eq!(m.kind, "audio");
        assert_eq!(m.port, 50020);
        assert_eq!(m.proto, "RTP/AVP");
        assert!(!m.is_secure_profile());
        assert_eq!(m.formats, ["117", "104", "114", "9", "0", "8", "101", "13"]);
        assert_eq!(m.direction, Direction::SendRecv);
        assert_eq!(m.label.as_deref(), Some("main-audio"));
        assert_eq!(m.x_ssrc_range, Some((3567821313, 3567821313)));
        assert_eq!(m.cryptoscale.len(), 1);
        assert_eq!(m.cryptoscale[0].tag, 1);
        assert_eq!(m.cryptoscale[0].direction, "client");
        assert_eq!(m.cryptoscale[0].suite, "AES_CM_128_HMAC_SHA1_80");
        assert_eq!(m.crypto.iter().map(|c| c.tag).collect::<Vec<_>>(), [2, 3]);
        assert_eq!(m.ice_ufrag.as_deref(), Some("Qz7p"));
        assert!(m.ice_pwd);
        assert_eq!(m.candidates.len(), 4);
        let c = &m.candidates[2];
        assert_eq!(c.flavour, Some(IceFlavour::Rfc5245));
        assert_eq!(c.transport, "TCP-ACT");
        assert_eq!(c.priority, "1684798463");
        assert_eq!(c.typ.as_deref(), Some("srflx"));
        assert_eq!(c.raddr.as_deref(), Some("192.0.2.22"));
        assert_eq!(c.rport, Some(50020));
        assert_eq!(m.rtcp_port, Some(50021));
        assert_eq!(m.rtpmap.len(), 8);
        assert_eq!(m.rtpmap[0], (117, "G722/8000/2".to_string()));
        assert_eq!(
            m.attr("fmtp").unwrap().value.as_deref(),
            Some("104 useinbandfec=1; usedtx=0")
        );
        assert!(m.attr("rtcp-rsize").unwrap().value.is_none());
        assert_eq!(sdp.address_of(m), Some("192.0.2.22"));
    }

    #[test]
    fn d2_av_mcu_answer() {
        // §8.x: AvMcuAnswer{media_addr=198.51.100.10:52144, profile=RTP/SAVP,
        // accepted=cryptoscale tag1, mcu_ssrc=1098431233}
        let sdp = parse(D2.as_bytes()).unwrap();
        let m = &sdp.media[0];
        assert_eq!(sdp.address_of(m), Some("198.51.100.10"));
        assert_eq!(m.port, 52144);
        assert_eq!(m.proto, "RTP/SAVP");
        assert!(m.is_secure_profile());
        assert_eq!(m.cryptoscale.len(), 1);
        assert_eq!(m.cryptoscale[0].tag, 1);
        assert!(m.crypto.is_empty());
        assert_eq!(m.x_ssrc_range.map(|r| r.0), Some(1098431233));
        assert_eq!(sdp.ice_flavour(), IceFlavour::Rfc5245);
    }

    #[test]
    fn keys_are_redacted_in_debug_and_serialisation() {
        let sdp = parse(D1.as_bytes()).unwrap();
        let dbg = format!("{sdp:?}");
        assert!(!dbg.contains("kO4d3/abseTSPSUPfWatrbU7otWVL6j6/tQOl8X2"));
        assert!(
            !dbg.contains("k3v9X2bLw8rT5yNq1mE6sA0d"),
            "ICE password not kept"
        );
        assert!(dbg.contains("inline:kO4d…|2^31|1:1"));
        let m = &sdp.media[0];
        let k = &m.cryptoscale[0].key_params;
        assert_eq!(
            k.expose(),
            "inline:kO4d3/abseTSPSUPfWatrbU7otWVL6j6/tQOl8X2|2^31|1:1"
        );
        assert_eq!(k.to_string(), "inline:kO4d…|2^31|1:1");
        assert_eq!(m.crypto[1].key_params.redacted(), "inline:KI+o…|2^31");
        let json = serde_json::to_string(&sdp).unwrap();
        assert!(!json.contains("dmwVOiRw97jM9AdlX727JSjfijRUJmHZ+Dq1ei78"));
        assert_eq!(KeyParams("ab".into()).redacted(), "ab");
        assert_eq!(
            KeyParams("inline:abcdefgh;inline:ijklmnop|2^20".into()).redacted(),
            "inline:abcd…;inline:ijkl…|2^20"
        );
        assert_eq!(KeyParams("inline:ééééé".into()).redacted(), "inline:éééé…");
    }

    #[test]
    fn draft6_fallback_and_x_candidates() {
        let body = "v=0\no=- 0 0 IN IP4 192.0.2.22\ns=session\nc=IN IP4 192.0.2.22\nt=0 0\n\
            m=audio 50020 RTP/AVP 117 0\n\
            a=candidate:VGhpc0lzQW5JY2V2NlVzZXJuYW1lRXhhbXBsZQ 1 YWJjZGVmZ2hpamtsbW5vcA UDP 0.830 192.0.2.22 50020\n\
            a=candidate:VGhpc0lzQW5JY2V2NlVzZXJuYW1lRXhhbXBsZQ 2 YWJjZGVmZ2hpamtsbW5vcA UDP 0.830 192.0.2.22 50021\n\
            a=x-candidate-ipv6:3 1 UDP 2130706431 2001:db8::22 50022 typ host\n\
            a=x-candidate:4 1 UDP 2130706431 192.0.2.22 50024 typ host\n\
            a=remote-candidate:VGhpc0lz\n";
        let sdp = parse(body.as_bytes()).unwrap();
        assert_eq!(sdp.ice_flavour(), IceFlavour::Draft6);
        let m = &sdp.media[0];
        let c = &m.candidates[0];
        assert_eq!(c.flavour, Some(IceFlavour::Draft6));
        assert_eq!(c.foundation, "VGhpc0lzQW5JY2V2NlVzZXJuYW1lRXhhbXBsZQ");
        assert_eq!(c.transport, "UDP");
        assert_eq!(c.priority, "0.830");
        assert_eq!(c.port, 50020);
        assert!(
            !format!("{c:?}").contains("YWJjZGVmZ2hpamtsbW5vcA"),
            "password dropped"
        );
        assert_eq!(m.x_candidates.len(), 2);
        assert_eq!(m.x_candidates[0].address, "2001:db8::22");
        assert_eq!(m.remote_candidates.as_deref(), Some("VGhpc0lz"));
        assert!(m.ice_ufrag.is_none());
    }

    #[test]
    fn summary_agrees_with_the_full_parse() {
        let offers: [&[u8]; 4] = [
            b"v=0\r\nm=audio 50020 RTP/AVP 0\r\na=ice-ufrag:x\r\na=candidate:1 1 UDP 2130706431 192.0.2.22 50020 typ host\r\na=cryptoscale:1 client AES_CM_128_HMAC_SHA1_80 inline:k|2^31|1:1\r\nm=video 0 RTP/AVP 34\r\n",
            b"v=0\nm=audio 5000 RTP/AVP 0\na=candidate:VGhp 1 YWJj UDP 0.830 192.0.2.22 50020\n",
            b"v=0\nm=message 5060 sip null\n",
            b"v=0\nm=audio 0 RTP/AVP\n",
        ];
        for o in offers {
            let full = parse(o).unwrap();
            let sum = summarize(o);
            let kinds: Vec<&str> = full
                .media
                .iter()
                .filter(|m| m.port != 0)
                .map(|m| m.kind.as_str())
                .collect();
            assert_eq!(sum.media, kinds);
            assert_eq!(
                sum.cryptoscale,
                full.media.iter().any(|m| !m.cryptoscale.is_empty())
            );
            let flavour = (full.ice_flavour() != IceFlavour::None).then_some(full.ice_flavour());
            assert_eq!(sum.ice, flavour);
        }
    }

    #[test]
    fn ice_flavour_detection() {
        let none = parse(b"v=0\nm=audio 5000 RTP/AVP 0\n").unwrap();
        assert_eq!(none.ice_flavour(), IceFlavour::None);
        let ufrag_only = parse(b"v=0\nm=audio 5000 RTP/AVP 0\na=ice-ufrag:x\n").unwrap();
        assert_eq!(ufrag_only.ice_flavour(), IceFlavour::Rfc5245);
        // SIPE's stub fallback part has no candidates at all.
        let stub = parse(b"v=0\r\nm=audio 0 RTP/AVP\r\n").unwrap();
        assert_eq!(stub.media[0].port, 0);
        assert_eq!(stub.ice_flavour(), IceFlavour::None);
    }

    #[test]
    fn directions_and_other_mcus() {
        let body = "v=0\ns=x\na=recvonly\nm=audio 1 RTP/AVP 0\nm=video 2 RTP/AVP 34\na=inactive\n\
            m=message 5060 sip null\na=accept-types:text/plain\n\
            m=applicationsharing 49152 TCP/RTP/AVP 127\na=x-applicationsharing-role:viewer\na=sendonly\n\
            c=IN IP6 2001:db8::1/127\n";
        let sdp = parse(body.as_bytes()).unwrap();
        let d: Vec<_> = sdp.media.iter().map(|m| m.direction).collect();
        assert_eq!(
            d,
            [
                Direction::RecvOnly,
                Direction::Inactive,
                Direction::RecvOnly,
                Direction::SendOnly
            ]
        );
        assert_eq!(sdp.media[2].kind, "message");
        assert_eq!(sdp.media[2].proto, "sip");
        let share = sdp.media_of("applicationsharing").unwrap();
        assert_eq!(
            share
                .attr("x-applicationsharing-role")
                .unwrap()
                .value
                .as_deref(),
            Some("viewer")
        );
        assert_eq!(sdp.address_of(share), Some("2001:db8::1"));
        assert_eq!(sdp.address_of(&sdp.media[0]), None);
    }

    #[test]
    fn malformed_lines_are_counted_not_fatal() {
        let body = "v=0\r\nthis is not sdp\r\nm=audio notaport RTP/AVP 0\r\n\
            a=rtpmap:300 X/1\r\na=x-ssrc-range:5-\r\na=crypto:x y z\r\na=candidate:1 2\r\n\
            a=candidate:1 1 UDP 1 10.0.0.1 99999 typ host\r\nb=CT\r\nc=IN\r\no=-\r\nxx=1\r\n";
        let sdp = parse(body.as_bytes()).unwrap();
        assert_eq!(sdp.media.len(), 1);
        let m = &sdp.media[0];
        assert_eq!(m.port, 0);
        assert!(m.rtpmap.is_empty() && m.crypto.is_empty() && m.candidates.is_empty());
        assert_eq!(m.x_ssrc_range, None);
        assert_eq!(m.other.len(), 5, "unreadable attributes are kept raw");
        assert_eq!(sdp.malformed_lines, 11);
    }

    #[test]
    fn hostile_inputs() {
        assert_eq!(parse(b""), Err(BodyError::Empty));
        assert!(parse(b"<xml/>").is_err());
        assert!(parse(b"hello world\nfoo").is_err());
        assert!(parse(b"\xff\xfe\x00").is_err());
        let sdp = parse(b"v=0\nm=audio 1 RTP/AVP 0\na=label:\xffx\n").unwrap();
        assert_eq!(sdp.media[0].label.as_deref(), Some("\u{FFFD}x"));
        // Bounds: media count and attributes per media.
        let mut big = String::from("v=0\n");
        for _ in 0..MAX_MEDIA + 10 {
            big.push_str("m=audio 1 RTP/AVP 0\na=x\n");
        }
        let sdp = parse(big.as_bytes()).unwrap();
        assert_eq!(sdp.media.len(), MAX_MEDIA);
        assert!(sdp.truncated);
        assert_eq!(sdp.media.last().unwrap().other.len(), 1, "no spill-over");
        let many = format!(
            "v=0\nm=audio 1 RTP/AVP 0\n{}",
            "a=candidate:1 1 UDP 1 h 1 typ host\n".repeat(5000)
        );
        let sdp = parse(many.as_bytes()).unwrap();
        assert_eq!(sdp.media[0].candidates.len(), MAX_ATTRS);
        assert!(sdp.media[0].truncated);
    }
}
