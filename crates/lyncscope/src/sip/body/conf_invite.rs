//! `application/ms-conf-invite+xml`: the conference invitation ("appINVITE").
//!
//! An INVITE between two user endpoints whose body points the invitee at the conference focus
//! (protocol brief §2). No XSD is public; the observed shape is
//!
//! ```xml
//! <Conferencing version="2.0">
//!   <focus-uri>sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP</focus-uri>
//!   <subject>Weekly sync</subject>
//!   <audio available="true"/>
//!   <im available="false"><first-im/></im>
//! </Conferencing>
//! ```
//!
//! `focus-uri` is the only field clients rely on; everything is optional here so that a
//! partial body still yields what it has. Unknown children of the root (other modalities are
//! plausible but unverified) are kept as `(name, value)` pairs.

use std::fmt::Write as _;

use super::xml::{self, Element, Path, Visitor};
use super::{lossy, parse_xml_bool, BodyError};
use crate::sip::conf_uri::ConfUri;

/// At most this many unknown root children are kept.
const MAX_OTHER: usize = 32;

/// A parsed conference invitation.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ConfInvite {
    /// `Conferencing@version` (only `2.0` observed), verbatim.
    pub version: Option<String>,
    /// The focus URI the invitee should join, verbatim.
    pub focus_uri: Option<String>,
    /// The meeting subject (`None` when absent, `Some("")` for `<subject/>`).
    pub subject: Option<String>,
    /// `audio@available`: whether the inviter offers audio.
    pub audio: Option<bool>,
    /// `im@available`: whether the inviter offers IM.
    pub im: Option<bool>,
    /// Whether `im` carries a `first-im` (or `first-im-message`) child: an escalated IM chat.
    pub first_im: bool,
    /// Unknown children of the root: `(local name, text)`, or the attributes as `k="v" …` when
    /// the element has no text.
    pub other: Vec<(String, String)>,
}

impl ConfInvite {
    /// The focus URI as a conference URI, if it is one.
    pub fn conf_uri(&self) -> Option<ConfUri> {
        self.focus_uri.as_deref().and_then(ConfUri::parse)
    }
}

/// Parses an `application/ms-conf-invite+xml` body.
/// The focus URI and subject (all the join analysis needs), read without an XML parse when the
/// document is plain (UTF-8, no entity references in them); else the full [`parse`].
pub fn parse_focus(body: &[u8]) -> Result<ConfInvite, BodyError> {
    match scan_focus(body) {
        Some(invite) => Ok(invite),
        None => parse(body),
    }
}

fn scan_focus(body: &[u8]) -> Option<ConfInvite> {
    let (root, mut pos) = xml::next_start_tag(body, 0)?;
    // A root closed at once has no children; what follows it the parser ignores.
    if root.local != "Conferencing" || root.empty {
        return None;
    }
    let mut out = ConfInvite::default();
    // Elements open, the root counted: the parser reads `focus-uri` and `subject` only as
    // children of the root (depth 2), so the scan must know the depth of every tag.
    let mut depth = 1usize;
    while let Some((tag, end)) = xml::next_start_tag(body, pos) {
        // `next_start_tag` skipped text, end tags, comments and processing instructions before
        // the tag (which starts at the last `<`: attribute values hold none). End tags close
        // elements; anything else there is the parser's to read.
        let before = body.get(pos..end)?;
        let lt = memchr::memrchr(b'<', before)?;
        for i in memchr::memchr_iter(b'<', before.get(..lt)?) {
            if before.get(i + 1) != Some(&b'/') {
                return None;
            }
            depth = depth.checked_sub(1)?;
        }
        // The root closed: what follows is outside the document the parser reads.
        if depth == 0 {
            return None;
        }
        pos = end;
        let child_of_root = depth == 1;
        if !tag.empty {
            depth += 1;
        }
        let slot = match tag.local {
            "focus-uri" if child_of_root => &mut out.focus_uri,
            "subject" if child_of_root => &mut out.subject,
            _ => continue,
        };
        let content = if tag.empty {
            ""
        } else {
            let rest = body.get(end..)?;
            // Markup inside (a child, a comment, CDATA) is not plain text: the parser reads it.
            if rest.get(memchr::memchr(b'<', rest)? + 1) != Some(&b'/') {
                return None;
            }
            std::str::from_utf8(rest.get(..memchr::memchr(b'<', rest)?)?)
                .ok()?
                .trim()
        };
        // Entity references and line ends (which the XML parser normalises) need the parser.
        if content.contains(['&', '\r']) {
            return None;
        }
        // A second one: which counts is the parser's call.
        if slot.replace(content.to_owned()).is_some() {
            return None;
        }
    }
    // `next_start_tag` also stops at what it cannot read (CDATA, a DOCTYPE, a tag it refuses),
    // which its `None` leaves to the parser: only end tags may follow the last start tag the
    // scan read, else the parser decides.
    let rest = body.get(pos..).unwrap_or_default();
    if memchr::memchr_iter(b'<', rest).any(|i| rest.get(i + 1) != Some(&b'/')) {
        return None;
    }
    out.focus_uri.is_some().then_some(out)
}

/// Parses an `application/ms-conf-invite+xml` body with the XML parser: every field, entity
/// references decoded.
pub fn parse(body: &[u8]) -> Result<ConfInvite, BodyError> {
    let text = lossy(body);
    Ok(xml::walk(&text, InviteVisitor::default)?.out)
}

#[derive(Default)]
struct InviteVisitor {
    out: ConfInvite,
    /// Attributes of the unknown root child being read, rendered for `other`.
    pending_attrs: String,
}

impl Visitor for InviteVisitor {
    fn open(&mut self, path: &Path, name: &str, el: &Element<'_, '_>) -> Result<(), BodyError> {
        match path.depth() {
            1 => {
                if !name.eq_ignore_ascii_case("Conferencing") {
                    return Err(BodyError::UnexpectedRoot {
                        expected: "Conferencing",
                        found: name.to_owned(),
                    });
                }
                self.out.version = el.attr("version").map(|v| v.into_owned());
            }
            2 => match name {
                "audio" => {
                    self.out.audio = el.attr("available").and_then(|v| parse_xml_bool(&v));
                }
                "im" => self.out.im = el.attr("available").and_then(|v| parse_xml_bool(&v)),
                "focus-uri" | "subject" => {}
                _ => {
                    self.pending_attrs.clear();
                    for (k, v) in el.attrs() {
                        if !self.pending_attrs.is_empty() {
                            self.pending_attrs.push(' ');
                        }
                        let _ = write!(self.pending_attrs, "{k}=\"{v}\"");
                    }
                }
            },
            _ => {}
        }
        Ok(())
    }

    fn close(&mut self, path: &Path, name: &str, text: &str) -> Result<(), BodyError> {
        match path.depth() {
            2 => match name {
                "focus-uri" => self.out.focus_uri = Some(text.to_owned()),
                "subject" => self.out.subject = Some(text.to_owned()),
                "audio" | "im" => {}
                _ if self.out.other.len() < MAX_OTHER => {
                    let value = if text.is_empty() {
                        std::mem::take(&mut self.pending_attrs)
                    } else {
                        text.to_owned()
                    };
                    self.out.other.push((name.to_owned(), value));
                }
                _ => {}
            },
            3 if path.ends_with(&["im", name])
                && matches!(name, "first-im" | "first-im-message") =>
            {
                self.out.first_im = true;
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::sip::conf_uri::McuType;

    /// Body of docs/protocol.md §8 A1.
    pub(crate) const A1: &str = r#"<Conferencing version="2.0">
  <focus-uri>sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP</focus-uri>
  <subject>Weekly sync</subject>
  <audio available="true"/>
  <im available="false">
    <first-im/>
  </im>
</Conferencing>
"#;

    #[test]
    fn the_quick_read_agrees_with_the_full_parse() {
        for body in [A1, "<Conferencing version=\"2.0\"><focus-uri>sip:a@b;gruu;opaque=app:conf:focus:id:X</focus-uri><subject/></Conferencing>"] {
            let full = parse(body.as_bytes()).unwrap();
            let quick = parse_focus(body.as_bytes()).unwrap();
            assert_eq!((&quick.focus_uri, &quick.subject), (&full.focus_uri, &full.subject));
        }
        let escaped =
            "<Conferencing><focus-uri>sip:a@b</focus-uri><subject>R&amp;D</subject></Conferencing>";
        assert_eq!(
            parse_focus(escaped.as_bytes()).unwrap().subject.as_deref(),
            Some("R&D")
        );
    }

    /// The scan reads `focus-uri` and `subject` only where the parser does (children of the
    /// root), and hands anything it cannot follow to the parser.
    #[test]
    fn the_quick_read_agrees_where_the_fields_are_not_children_of_the_root() {
        for body in [
            "<Conferencing><im><focus-uri>sip:a@b</focus-uri><subject>s</subject></im></Conferencing>",
            "<Conferencing/><focus-uri>sip:a@b</focus-uri>",
            "<Conferencing></Conferencing><focus-uri>sip:a@b</focus-uri>",
            "<Conferencing><im><first-im/></im><focus-uri>sip:a@b</focus-uri></Conferencing>",
            "<Conferencing><a><b/></a><subject>t</subject><focus-uri>sip:a@b</focus-uri></Conferencing>",
            "<Conferencing><!-- </im> --><focus-uri>sip:a@b</focus-uri></Conferencing>",
            "<Conferencing><focus-uri>sip:a@b</focus-uri><![CDATA[<focus-uri>x</focus-uri>]]></Conferencing>",
        ] {
            let full = parse(body.as_bytes()).unwrap();
            let quick = parse_focus(body.as_bytes()).unwrap();
            assert_eq!(
                (&quick.focus_uri, &quick.subject),
                (&full.focus_uri, &full.subject),
                "{body}"
            );
        }
        assert_eq!(
            scan_focus(b"<Conferencing><im><focus-uri>sip:a@b</focus-uri></im></Conferencing>"),
            None
        );
        let nested =
            "<Conferencing><im><first-im/></im><focus-uri>sip:a@b</focus-uri></Conferencing>";
        assert_eq!(
            scan_focus(nested.as_bytes())
                .and_then(|i| i.focus_uri)
                .as_deref(),
            Some("sip:a@b"),
            "the plain document stays on the fast path"
        );
    }

    #[test]
    fn a1_worked_example() {
        let inv = parse(A1.as_bytes()).unwrap();
        assert_eq!(inv.version.as_deref(), Some("2.0"));
        assert_eq!(
            inv.focus_uri.as_deref(),
            Some("sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP")
        );
        assert_eq!(inv.subject.as_deref(), Some("Weekly sync"));
        assert_eq!(inv.audio, Some(true));
        assert_eq!(inv.im, Some(false));
        assert!(inv.first_im);
        assert!(inv.other.is_empty());
        let conf = inv.conf_uri().unwrap();
        assert_eq!(conf.organizer, "alice@example.com");
        assert_eq!(conf.mcu, McuType::Focus);
        assert_eq!(conf.id.as_deref(), Some("JL3GPNYP"));
    }

    #[test]
    fn sipe_one_line_form_with_entities_and_unknown_children() {
        let body = concat!(
            "<?xml version=\"1.0\"?><Conferencing version=\"2.0\"><focus-uri>",
            "sip:alice@example.com;gruu;opaque=app:conf:focus:id:X</focus-uri>",
            "<subject>Q3 &amp; budget &lt;draft&gt;</subject><im available=\"TRUE\">",
            "<first-im-message/></im><video available=\"true\"/>",
            "<conversation-id>abc</conversation-id></Conferencing>"
        );
        let inv = parse(body.as_bytes()).unwrap();
        assert_eq!(inv.subject.as_deref(), Some("Q3 & budget <draft>"));
        assert_eq!(inv.im, Some(true));
        assert_eq!(inv.audio, None);
        assert!(inv.first_im);
        assert_eq!(
            inv.other,
            [
                ("video".to_string(), "available=\"true\"".to_string()),
                ("conversation-id".to_string(), "abc".to_string())
            ]
        );
    }

    #[test]
    fn empty_subject_and_missing_focus() {
        let inv = parse(b"<Conferencing><subject/></Conferencing>").unwrap();
        assert_eq!(inv.subject.as_deref(), Some(""));
        assert_eq!(inv.focus_uri, None);
        assert_eq!(inv.version, None);
        assert_eq!(inv.conf_uri(), None);
    }

    #[test]
    fn hostile_inputs() {
        assert!(matches!(
            parse(b"<request/>"),
            Err(BodyError::UnexpectedRoot { .. })
        ));
        assert_eq!(parse(b""), Err(BodyError::Empty));
        let cut = &A1.as_bytes()[..A1.len() / 2];
        assert!(matches!(parse(cut), Err(BodyError::Xml { .. })));
        assert!(parse(b"\xff\xfe<\x00C\x00").is_err());
        // Invalid UTF-8 inside text is replaced, not fatal.
        let inv = parse(b"<Conferencing><subject>a\xffb</subject></Conferencing>").unwrap();
        assert_eq!(inv.subject.as_deref(), Some("a\u{FFFD}b"));
        // Huge attribute values and many unknown children stay bounded by the input / MAX_OTHER.
        let big = format!(
            "<Conferencing version=\"{}\">{}</Conferencing>",
            "9".repeat(100_000),
            "<x>1</x>".repeat(1000)
        );
        let inv = parse(big.as_bytes()).unwrap();
        assert_eq!(inv.version.map(|v| v.len()), Some(100_000));
        assert_eq!(inv.other.len(), MAX_OTHER);
    }
}
