//! Lync / Skype for Business conference URIs, and the URI helpers used to compare participants.
//!
//! A conference is addressed by a GRUU built from the *organizer's* address of record plus an
//! `opaque` parameter that names the MCU and the conference ID:
//!
//! ```text
//! sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP          (the focus)
//! sip:alice@example.com;gruu;opaque=app:conf:audio-video:id:JL3GPNYP    (the A/V MCU)
//! sip:alice@example.com;gruu;opaque=app:conf:focusfactory               (conference creation)
//! ```
//!
//! The same conference is reached through several such URIs (one per MCU), in Request-URIs,
//! To/From headers and inside XML bodies, so the whole join analysis correlates dialogs by the
//! *conference key* `(organizer, id)` that [`ConfUri::parse`] extracts (protocol brief §1).
//! The ID is only unique per organizer, hence the pair. User GRUUs (`opaque=user:epid:…`) and
//! server GRUUs (`opaque=srvr:…`) look alike but are not conferences and are rejected.
//!
//! Parsing follows the brief's §1.4 recipe: take the URI inside `<…>`, match parameter names
//! case-insensitively, and take the ID as *everything after the first `id:`* (Teams-interop IDs
//! contain `:` and `!`, so tokenising on `:` would be wrong).

use std::borrow::Cow;
use std::fmt;

/// The MCU a conference URI addresses (the `<mcu-type>` token of `app:conf:<mcu-type>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum McuType {
    /// `focus`: the conference focus (C3P, roster).
    Focus,
    /// `audio-video` (the spec also spells it `audiovideo`): the A/V MCU.
    AudioVideo,
    /// `chat`: the IM MCU.
    Chat,
    /// `applicationsharing`: the application-sharing MCU.
    ApplicationSharing,
    /// `meeting`: the data / web-conferencing MCU.
    Meeting,
    /// `phone-conf`: the telephony (ACP) conferencing MCU.
    PhoneConf,
    /// `focusfactory`: the conference creation service (no conference ID).
    FocusFactory,
    /// Any other token, lower-cased.
    Other(String),
}

impl McuType {
    /// Classifies an MCU token, ignoring ASCII case.
    pub fn from_token(token: &str) -> McuType {
        const KNOWN: &[(&str, McuType)] = &[
            ("focus", McuType::Focus),
            ("audio-video", McuType::AudioVideo),
            ("audiovideo", McuType::AudioVideo),
            ("chat", McuType::Chat),
            ("applicationsharing", McuType::ApplicationSharing),
            ("meeting", McuType::Meeting),
            ("phone-conf", McuType::PhoneConf),
            ("focusfactory", McuType::FocusFactory),
        ];
        KNOWN
            .iter()
            .find(|(t, _)| t.eq_ignore_ascii_case(token))
            .map(|(_, m)| m.clone())
            .unwrap_or_else(|| McuType::Other(token.to_ascii_lowercase()))
    }

    /// The normalised token (`audiovideo` becomes `audio-video`).
    pub fn as_str(&self) -> &str {
        match self {
            McuType::Focus => "focus",
            McuType::AudioVideo => "audio-video",
            McuType::Chat => "chat",
            McuType::ApplicationSharing => "applicationsharing",
            McuType::Meeting => "meeting",
            McuType::PhoneConf => "phone-conf",
            McuType::FocusFactory => "focusfactory",
            McuType::Other(s) => s,
        }
    }
}

impl fmt::Display for McuType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for McuType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The key that identifies one conference across all its URIs: `(organizer, id)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct ConfKey {
    /// Lower-case `user@host` of the organizer.
    pub organizer: String,
    /// The conference ID, verbatim (IDs are case-sensitive; observed ones are upper-case).
    pub id: String,
}

impl fmt::Display for ConfKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.organizer, self.id)
    }
}

/// A parsed conference URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct ConfUri {
    /// Lower-case `user@host` of the organizer (no scheme, no port).
    pub organizer: String,
    /// Which MCU the URI addresses.
    pub mcu: McuType,
    /// The conference ID; `None` for the focus factory.
    pub id: Option<String>,
}

impl ConfUri {
    /// Parses a conference URI from a bare URI, a header value (`"Name" <uri>;tag=…`) or a
    /// `meet:` / `conf:` join-launcher link. Returns `None` for anything that is not an
    /// `opaque=app:conf:…` GRUU, notably user and server GRUUs.
    pub fn parse(s: &str) -> Option<ConfUri> {
        let s = s.trim();
        let (wrapped, rest) = strip_wrapper(s);
        // Only links from outside SIP are percent-encoded (`%3Frequired-media=audio`); a SIP
        // URI never is, and decoding one could invent delimiters.
        let text: Cow<'_, str> = if wrapped {
            let decoded = percent_decode(rest);
            match decoded.find('?') {
                Some(q) => Cow::Owned(decoded[..q].to_owned()),
                None => Cow::Owned(decoded),
            }
        } else {
            Cow::Borrowed(rest)
        };
        let uri = if text.contains('<') {
            uri_in_header(&text)
        } else {
            text.trim()
        };
        parse_uri(uri)
    }

    /// The `(organizer, id)` key, or `None` when the URI carries no ID (focus factory).
    pub fn key(&self) -> Option<ConfKey> {
        self.id.as_ref().map(|id| ConfKey {
            organizer: self.organizer.clone(),
            id: id.clone(),
        })
    }

    /// True when both URIs name the same conference (possibly through different MCUs). IDs are
    /// compared ignoring ASCII case because the observed ones are upper-case but nothing forbids
    /// a client from folding them.
    pub fn same_conference(&self, other: &ConfUri) -> bool {
        match (&self.id, &other.id) {
            (Some(a), Some(b)) => self.organizer == other.organizer && a.eq_ignore_ascii_case(b),
            _ => false,
        }
    }

    /// Builds the URI of the same conference on another MCU, as the clients do by textual
    /// substitution: `sip:ORG;gruu;opaque=app:conf:TYPE:id:ID`.
    pub fn uri_of(&self, mcu: &McuType) -> String {
        match (&self.id, mcu) {
            (_, McuType::FocusFactory) | (None, _) => format!(
                "sip:{};gruu;opaque=app:conf:{}",
                self.organizer,
                mcu.as_str()
            ),
            (Some(id), _) => format!(
                "sip:{};gruu;opaque=app:conf:{}:id:{}",
                self.organizer,
                mcu.as_str(),
                id
            ),
        }
    }

    /// The focus URI of this conference.
    pub fn focus_uri(&self) -> String {
        self.uri_of(&McuType::Focus)
    }

    /// The organizer as an AOR with scheme (`sip:alice@example.com`), the form [`aor`] returns.
    pub fn organizer_aor(&self) -> String {
        format!("sip:{}", self.organizer)
    }
}

impl fmt::Display for ConfUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri_of(&self.mcu))
    }
}

/// Strips a `meet:` / `conf:` join-launcher prefix; says whether there was one.
fn strip_wrapper(s: &str) -> (bool, &str) {
    for prefix in ["meet:", "conf:"] {
        if let Some(head) = s.get(..prefix.len()) {
            if head.eq_ignore_ascii_case(prefix) {
                return (true, s.get(prefix.len()..).unwrap_or("").trim_start());
            }
        }
    }
    (false, s)
}

/// Decodes `%XX` escapes; malformed escapes are kept as they are. Bytes that do not form UTF-8
/// after decoding are replaced, because the result only feeds comparisons.
fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).and_then(|c| (*c as char).to_digit(16));
            let lo = bytes.get(i + 2).and_then(|c| (*c as char).to_digit(16));
            if let (Some(hi), Some(lo)) = (hi, lo) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a bare `sip:` / `sips:` conference URI (no angle brackets).
fn parse_uri(uri: &str) -> Option<ConfUri> {
    let rest = strip_scheme(uri)?;
    let (addr, params) = match rest.find(';') {
        Some(i) => (rest.get(..i)?, rest.get(i + 1..)?),
        None => (rest, ""),
    };
    let organizer = user_at_host(addr)?;

    let opaque = params.split(';').find_map(|p| {
        let (name, value) = p.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("opaque")
            .then(|| value.trim().trim_matches('"'))
    })?;
    let conf = strip_prefix_ignore_case(opaque, "app:conf:")?;
    let (token, after) = match conf.find(':') {
        Some(i) => (conf.get(..i)?, conf.get(i + 1..)?),
        None => (conf, ""),
    };
    let token = token
        .find(is_id_terminator)
        .and_then(|i| token.get(..i))
        .unwrap_or(token);
    if token.is_empty() {
        return None;
    }
    let mcu = McuType::from_token(token);
    let id = strip_prefix_ignore_case(after, "id:").and_then(|raw| {
        let end = raw.find(is_id_terminator).unwrap_or(raw.len());
        let id = raw.get(..end)?;
        (!id.is_empty()).then(|| id.to_owned())
    });
    Some(ConfUri { organizer, mcu, id })
}

fn is_id_terminator(c: char) -> bool {
    matches!(c, ';' | '>' | '?' | ',') || c.is_whitespace()
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

/// Strips `sip:` / `sips:`, ignoring case.
fn strip_scheme(uri: &str) -> Option<&str> {
    strip_prefix_ignore_case(uri, "sip:").or_else(|| strip_prefix_ignore_case(uri, "sips:"))
}

/// Lower-case `user@host` from the part of a URI between the scheme and the first `;`:
/// drops `?headers`, a password and the port. `None` without a user or a host.
fn user_at_host(addr: &str) -> Option<String> {
    let addr = addr.split('?').next().unwrap_or(addr).trim();
    let (user, host) = addr.rsplit_once('@')?;
    let user = user.split(':').next().unwrap_or(user);
    let host = strip_port(host);
    if user.is_empty() || host.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(user.len() + host.len() + 1);
    out.push_str(user);
    out.push('@');
    out.push_str(host);
    out.make_ascii_lowercase();
    Some(out)
}

/// `host:port` → `host`; `[v6]:port` → `[v6]`.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(i) => host.get(..=i).unwrap_or(host),
            None => host,
        };
    }
    host.split(':').next().unwrap_or(host)
}

/// The URI inside a header value: between `<` and `>` when there are angle brackets (a quoted
/// display name may contain `<`), otherwise the bare URI up to the first `;` — in a name-addr
/// without brackets, what follows `;` are header parameters (`;tag=`), not URI parameters.
pub fn uri_in_header(value: &str) -> &str {
    let value = value.trim();
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        if in_quotes {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_quotes = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_quotes = true,
            '<' => {
                let inner = value.get(i + 1..).unwrap_or("");
                let end = inner.find('>').unwrap_or(inner.len());
                return inner.get(..end).unwrap_or(inner).trim();
            }
            _ => {}
        }
    }
    let end = value.find(';').unwrap_or(value.len());
    value.get(..end).unwrap_or(value).trim()
}

/// The address of record of a URI or header value, for comparing participants: scheme plus
/// lower-case `user@host`, without parameters, headers, password or port
/// (`"Bob" <sip:Bob@Example.com:5061;transport=tls>;tag=1` → `sip:bob@example.com`).
/// A value without a scheme but with `@` is taken as `sip:`; one without `@` keeps its host.
pub fn aor(uri: &str) -> String {
    let mut out = String::new();
    aor_into(uri, &mut out);
    out
}

/// [`aor`] appended to `out`, whose room is reused (the analysis looks up the AOR of every
/// dialog it opens, and most are already known).
pub fn aor_into(uri: &str, out: &mut String) {
    let uri = uri_in_header(uri);
    let (scheme, rest) = match uri.split_once(':') {
        Some((s, r))
            if !s.is_empty() && !s.contains('@') && s.bytes().all(|b| b.is_ascii_alphabetic()) =>
        {
            (s, r)
        }
        _ => ("sip", uri),
    };
    let end = rest.find([';', '?']).unwrap_or(rest.len());
    let addr = rest.get(..end).unwrap_or(rest).trim();
    let from = out.len();
    out.push_str(scheme);
    out.push(':');
    if scheme.eq_ignore_ascii_case("tel") {
        out.push_str(addr);
    } else if let Some((user, host)) = addr.rsplit_once('@') {
        out.push_str(user.split(':').next().unwrap_or(user));
        out.push('@');
        out.push_str(strip_port(host));
    } else {
        out.push_str(strip_port(addr));
    }
    if let Some(written) = out.get_mut(from..) {
        written.make_ascii_lowercase();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOCUS: &str = "sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP";

    fn conf(s: &str) -> ConfUri {
        ConfUri::parse(s).unwrap_or_else(|| panic!("not a conference URI: {s}"))
    }

    #[test]
    fn bare_focus_uri() {
        let c = conf(FOCUS);
        assert_eq!(c.organizer, "alice@example.com");
        assert_eq!(c.mcu, McuType::Focus);
        assert_eq!(c.id.as_deref(), Some("JL3GPNYP"));
        assert_eq!(c.to_string(), FOCUS);
    }

    #[test]
    fn header_value_with_display_name_and_params() {
        let c = conf(
            "\"Alice; <the boss>\" <sip:Alice@Example.COM;gruu;opaque=app:conf:audio-video:id:JL3GPNYP>;tag=0E77C1B2;epid=1",
        );
        assert_eq!(c.organizer, "alice@example.com");
        assert_eq!(c.mcu, McuType::AudioVideo);
        assert_eq!(c.id.as_deref(), Some("JL3GPNYP"));
    }

    #[test]
    fn audiovideo_spelling_is_normalised() {
        let c = conf("sip:alice@example.com;gruu;opaque=app:conf:audiovideo:id:X1");
        assert_eq!(c.mcu, McuType::AudioVideo);
        assert_eq!(c.mcu.as_str(), "audio-video");
    }

    #[test]
    fn gruu_after_opaque_and_case_insensitive_names() {
        let c = conf("SIP:bob@example.com;OPAQUE=App:Conf:Chat:id:ABC;GRUU");
        assert_eq!(c.mcu, McuType::Chat);
        assert_eq!(c.id.as_deref(), Some("ABC"));
        let c = conf("sips:bob@example.com:5061;opaque=app:conf:applicationsharing:id:ABC");
        assert_eq!(c.organizer, "bob@example.com");
        assert_eq!(c.mcu, McuType::ApplicationSharing);
    }

    #[test]
    fn all_known_mcu_tokens() {
        for (tok, mcu) in [
            ("focus", McuType::Focus),
            ("audio-video", McuType::AudioVideo),
            ("chat", McuType::Chat),
            ("applicationsharing", McuType::ApplicationSharing),
            ("meeting", McuType::Meeting),
            ("phone-conf", McuType::PhoneConf),
            ("focusfactory", McuType::FocusFactory),
            ("Data-Conf", McuType::Other("data-conf".into())),
        ] {
            assert_eq!(McuType::from_token(tok), mcu);
        }
        assert_eq!(McuType::Other("x".into()).as_str(), "x");
    }

    #[test]
    fn focus_factory_has_no_id() {
        let c = conf("<sip:alice@example.com;gruu;opaque=app:conf:focusfactory>");
        assert_eq!(c.mcu, McuType::FocusFactory);
        assert_eq!(c.id, None);
        assert_eq!(c.key(), None);
        assert_eq!(
            c.to_string(),
            "sip:alice@example.com;gruu;opaque=app:conf:focusfactory"
        );
    }

    #[test]
    fn teams_interop_id_keeps_colons_and_bangs() {
        let id = "teams:2:0!19:meeting_Zm9vYmFy-thread.v2!0a1b!c2d3";
        let c = conf(&format!(
            "<sip:alice@example.com;gruu;opaque=app:conf:focus:id:{id}>;tag=1"
        ));
        assert_eq!(c.id.as_deref(), Some(id));
    }

    #[test]
    fn id_uses_first_id_marker_and_stops_at_terminators() {
        let c = conf("sip:a@b;opaque=app:conf:focus:id:AB:id:CD");
        assert_eq!(c.id.as_deref(), Some("AB:id:CD"));
        for tail in ["?x=1", ",next", " trailing", ">junk"] {
            let c = conf(&format!("sip:a@b;opaque=app:conf:focus:id:ABC{tail}"));
            assert_eq!(c.id.as_deref(), Some("ABC"), "tail {tail:?}");
        }
        assert_eq!(
            conf("sip:a@b;opaque=app:conf:focus:id:").id,
            None,
            "empty id"
        );
    }

    #[test]
    fn wrapped_links_are_decoded() {
        let c = conf("meet:sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP");
        assert_eq!(c.id.as_deref(), Some("JL3GPNYP"));
        let c = conf(
            "conf:sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP%3Frequired-media=audio",
        );
        assert_eq!(c.id.as_deref(), Some("JL3GPNYP"));
        assert_eq!(c.mcu, McuType::Focus);
        let c = conf("CONF:sip:alice%40example.com;gruu;opaque=app:conf:focus:id:A%21B?x");
        assert_eq!(c.organizer, "alice@example.com");
        assert_eq!(c.id.as_deref(), Some("A!B"));
        // A bare SIP URI is never percent-decoded.
        let c = conf("sip:a@b;opaque=app:conf:focus:id:A%21B");
        assert_eq!(c.id.as_deref(), Some("A%21B"));
    }

    #[test]
    fn non_conference_uris_are_rejected() {
        for s in [
            "sip:bob@example.com;opaque=user:epid:Hk7sLx0aR2e5Nm8pQv1tzAAA;gruu",
            "<sip:bob@example.com;gruu;opaque=user:epid:Hk7s>;tag=1",
            "sip:pool@example.com;gruu;opaque=srvr:MediationServer:AbC",
            "sip:pool@example.com;gruu;opaque=srvr:HomeServer:AbC",
            "sip:bob@example.com",
            "sip:example.com;opaque=app:conf:focus:id:X",
            "tel:+15551234;opaque=app:conf:focus:id:X",
            "sip:a@b;opaque=app:conf:",
            "sip:a@b;opaque=app:conf:;x",
            "",
            "<",
            "meet:",
            "\"unterminated <sip:a@b;opaque=app:conf:focus:id:X>",
        ] {
            assert_eq!(ConfUri::parse(s), None, "{s:?}");
        }
    }

    #[test]
    fn keys_and_uri_building() {
        let focus = conf(FOCUS);
        let av = conf("<sip:ALICE@example.com;gruu;opaque=app:conf:audio-video:id:JL3GPNYP>");
        assert_eq!(focus.key(), av.key());
        assert!(focus.same_conference(&av));
        assert!(focus.same_conference(&conf(
            "sip:alice@example.com;opaque=app:conf:chat:id:jl3gpnyp"
        )));
        assert!(!focus.same_conference(&conf(
            "sip:carol@example.com;opaque=app:conf:chat:id:JL3GPNYP"
        )));
        assert_eq!(
            focus.uri_of(&McuType::AudioVideo),
            "sip:alice@example.com;gruu;opaque=app:conf:audio-video:id:JL3GPNYP"
        );
        assert_eq!(av.focus_uri(), FOCUS);
        assert_eq!(
            focus.uri_of(&McuType::FocusFactory),
            "sip:alice@example.com;gruu;opaque=app:conf:focusfactory"
        );
        assert_eq!(focus.organizer_aor(), "sip:alice@example.com");
        let key = focus.key().unwrap();
        assert_eq!(key.to_string(), "(alice@example.com, JL3GPNYP)");
    }

    #[test]
    fn uri_in_header_forms() {
        assert_eq!(
            uri_in_header("\"Alice\"<sip:alice@example.com>;tag=4c1a9e2b7d;epid=5e0a1f2b3c"),
            "sip:alice@example.com"
        );
        assert_eq!(
            uri_in_header(" <sip:a@b;gruu;opaque=x>;tag=1 "),
            "sip:a@b;gruu;opaque=x"
        );
        assert_eq!(
            uri_in_header("sip:bob@example.com;tag=1"),
            "sip:bob@example.com"
        );
        assert_eq!(uri_in_header("\"a<b\" <sip:x@y>"), "sip:x@y");
        assert_eq!(uri_in_header("\"a\\\"<b\" <sip:x@y>"), "sip:x@y");
        assert_eq!(uri_in_header("<sip:unterminated@y"), "sip:unterminated@y");
        assert_eq!(uri_in_header(""), "");
        assert_eq!(uri_in_header("\"only a name"), "\"only a name");
    }

    #[test]
    fn aor_forms() {
        assert_eq!(aor("sip:bob@example.com"), "sip:bob@example.com");
        assert_eq!(
            aor("\"Bob\" <sip:Bob@Example.COM:5061;transport=tls>;tag=1"),
            "sip:bob@example.com"
        );
        assert_eq!(
            aor("sip:bob@example.com;opaque=user:epid:Hk7s;gruu"),
            "sip:bob@example.com"
        );
        assert_eq!(
            aor("<sips:bob@example.com?subject=x>"),
            "sips:bob@example.com"
        );
        assert_eq!(aor("bob@example.com"), "sip:bob@example.com");
        assert_eq!(aor("sip:bob:secret@example.com"), "sip:bob@example.com");
        assert_eq!(aor("tel:+1-555-0100;phone-context=x"), "tel:+1-555-0100");
        assert_eq!(aor("sip:[2001:db8::1]:5061"), "sip:[2001:db8::1]");
        assert_eq!(aor(""), "sip:");
    }
}
