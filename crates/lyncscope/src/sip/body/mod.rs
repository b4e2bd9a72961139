//! SIP body dissectors, one module per content type of the Lync / SfB conference join.
//!
//! | content type | module | what it tells the join analysis |
//! |---|---|---|
//! | `application/ms-conf-invite+xml` | [`conf_invite`] | an invitation: the focus URI |
//! | `application/cccp+xml` | [`c3p`] | C3P command / result on the focus dialog (`addUser`, `code`) |
//! | `application/conference-info+xml` | [`conference_info`] | the roster, merged per conference by [`conference_info::Roster`] |
//! | `application/sdp` | [`sdp`] | A/V MCU offers and answers: ICE flavour, SRTP, SSRC ranges |
//! | `multipart/*` | [`multipart`] | the Lync 2007-fallback `multipart/alternative` SDP offer |
//! | `ms-diagnostics*` headers | [`diagnostics`] | why something failed |
//!
//! Every parser takes hostile input: it never panics, bounds what input can make it allocate,
//! and answers `Err` (or a partial model, where documented) on malformed bodies. The three XML
//! dissectors share one streaming walker (`xml`) so entity handling, namespaces and error
//! reporting are done once: they match on *local* names because prefixes vary between
//! implementations (`ci:`, `msci:`, `mscp:` or default namespaces).

pub mod c3p;
pub mod conf_invite;
pub mod conference_info;
pub mod diagnostics;
pub mod multipart;
pub mod sdp;
mod xml;

/// Why a body could not be dissected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// The body is empty or only whitespace.
    #[error("empty body")]
    Empty,
    /// The XML is not well-formed (or is truncated).
    #[error("malformed XML at byte {offset}: {message}")]
    Xml {
        /// Byte offset where the reader gave up.
        offset: u64,
        /// What the reader found wrong.
        message: String,
    },
    /// The document's root element is not the one this content type requires.
    #[error("unexpected root element <{found}>, expected <{expected}>")]
    UnexpectedRoot {
        /// The root element(s) the dissector accepts.
        expected: &'static str,
        /// The local name that was found.
        found: String,
    },
    /// The body does not look like this content type at all.
    #[error("not {0}")]
    NotThisType(&'static str),
    /// A `multipart/*` Content-Type without a usable `boundary` parameter.
    #[error("multipart content type has no boundary parameter")]
    NoBoundary,
    /// A `multipart/*` body in which the boundary never occurs.
    #[error("multipart body contains no part delimited by the boundary")]
    NoParts,
}

/// The body kinds the conference analysis understands, classified from a Content-Type value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum BodyKind {
    /// `application/ms-conf-invite+xml`
    ConfInvite,
    /// `application/cccp+xml`
    C3p,
    /// `application/conference-info+xml`
    ConferenceInfo,
    /// `application/sdp`
    Sdp,
    /// `multipart/*`
    Multipart,
    /// Anything else (including an empty or missing Content-Type).
    Other,
}

/// Classifies a Content-Type header value, ignoring case, whitespace and parameters.
pub fn classify(content_type: &str) -> BodyKind {
    let media = media_type(content_type);
    let is = |t: &str| media.eq_ignore_ascii_case(t);
    if is("application/ms-conf-invite+xml") {
        BodyKind::ConfInvite
    } else if is("application/cccp+xml") {
        BodyKind::C3p
    } else if is("application/conference-info+xml") {
        BodyKind::ConferenceInfo
    } else if is("application/sdp") {
        BodyKind::Sdp
    } else if media
        .get(..10)
        .is_some_and(|p| p.eq_ignore_ascii_case("multipart/"))
    {
        BodyKind::Multipart
    } else {
        BodyKind::Other
    }
}

/// The `type/subtype` of a Content-Type value, without parameters or surrounding whitespace.
pub(crate) fn media_type(content_type: &str) -> &str {
    let end = content_type.find(';').unwrap_or(content_type.len());
    content_type.get(..end).unwrap_or(content_type).trim()
}

/// Text as a `&str`, replacing invalid UTF-8 rather than refusing it: one bad byte in a display
/// name should not cost the whole roster. Borrows when the input is valid.
pub(crate) fn lossy(body: &[u8]) -> std::borrow::Cow<'_, str> {
    // `from_utf8` validates valid text several times faster than `from_utf8_lossy`'s chunking.
    match std::str::from_utf8(body) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(body),
    }
}

/// Parses an XML `boolean` (`true`/`false`/`1`/`0`), ignoring case and surrounding whitespace.
pub(crate) fn parse_xml_bool(s: &str) -> Option<bool> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("true") || s == "1" {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") || s == "0" {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_content_types() {
        assert_eq!(
            classify("application/ms-conf-invite+xml"),
            BodyKind::ConfInvite
        );
        assert_eq!(
            classify("Application/CCCP+XML; charset=utf-8"),
            BodyKind::C3p
        );
        assert_eq!(
            classify(" application/conference-info+xml "),
            BodyKind::ConferenceInfo
        );
        assert_eq!(classify("application/sdp"), BodyKind::Sdp);
        assert_eq!(
            classify("multipart/alternative;boundary=\"----=_NextPart_000\""),
            BodyKind::Multipart
        );
        assert_eq!(classify("MULTIPART/mixed"), BodyKind::Multipart);
        assert_eq!(classify("text/plain"), BodyKind::Other);
        assert_eq!(classify(""), BodyKind::Other);
        assert_eq!(classify("multipart"), BodyKind::Other);
        assert_eq!(classify("é;;"), BodyKind::Other);
    }

    #[test]
    fn xml_bool() {
        assert_eq!(parse_xml_bool(" TRUE "), Some(true));
        assert_eq!(parse_xml_bool("0"), Some(false));
        assert_eq!(parse_xml_bool("yes"), None);
    }

    mod never_panic {
        use super::super::*;
        use proptest::prelude::*;

        fn all_parsers(bytes: &[u8]) {
            let s = String::from_utf8_lossy(bytes);
            let _ = conf_invite::parse(bytes);
            let _ = c3p::parse(bytes);
            if let Ok(doc) = conference_info::parse(bytes) {
                let mut roster = conference_info::Roster::default();
                let _ = roster.apply(&doc);
                let _ = roster.apply(&doc);
            }
            if let Ok(sdp) = sdp::parse(bytes) {
                let _ = sdp.ice_flavour();
                let _ = format!("{sdp:?}");
            }
            let _ = multipart::parse(bytes, "multipart/alternative; boundary=b");
            let _ = multipart::parse(bytes, &s);
            let _ = diagnostics::parse(&s);
            let _ = crate::sip::conf_uri::ConfUri::parse(&s);
            let _ = crate::sip::conf_uri::aor(&s);
            let _ = crate::sip::conf_uri::uri_in_header(&s);
            let _ = classify(&s);
        }

        /// Bytes biased towards the delimiters the parsers care about.
        fn interesting_bytes() -> impl Strategy<Value = Vec<u8>> {
            let atom = prop_oneof![
                any::<u8>(),
                Just(b'<'),
                Just(b'>'),
                Just(b'&'),
                Just(b';'),
                Just(b':'),
                Just(b'='),
                Just(b'"'),
                Just(b'\n'),
                Just(b'-'),
            ];
            proptest::collection::vec(atom, 0..512)
        }

        proptest! {
            #[test]
            fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
                all_parsers(&bytes);
            }

            #[test]
            fn delimiter_soup_never_panics(bytes in interesting_bytes()) {
                all_parsers(&bytes);
            }

            #[test]
            fn mutated_fixtures_never_panic(
                which in 0usize..FIXTURES.len(),
                cut in 0usize..4096,
                flips in proptest::collection::vec((0usize..4096, any::<u8>()), 0..8),
            ) {
                let mut bytes = FIXTURES.get(which).copied().unwrap_or("").as_bytes().to_vec();
                for (pos, b) in flips {
                    if !bytes.is_empty() {
                        let len = bytes.len();
                        if let Some(slot) = bytes.get_mut(pos % len) {
                            *slot = b;
                        }
                    }
                }
                bytes.truncate(cut);
                all_parsers(&bytes);
            }
        }

        const FIXTURES: &[&str] = &[
            conf_invite::tests::A1,
            c3p::tests::B1,
            c3p::tests::B2,
            c3p::tests::N3,
            conference_info::tests::C2,
            conference_info::tests::C3,
            sdp::tests::D1,
            sdp::tests::D2,
            multipart::tests::V1_BODY,
        ];

        /// Every prefix of every fixture: truncation is what captures do to bodies.
        #[test]
        fn every_prefix_of_every_fixture() {
            for f in FIXTURES {
                let bytes = f.as_bytes();
                for end in 0..=bytes.len() {
                    all_parsers(bytes.get(..end).unwrap_or_default());
                }
            }
        }
    }
}
