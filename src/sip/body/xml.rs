//! The one streaming XML walker shared by the XML body dissectors.
//!
//! quick-xml 0.4x hands out raw events; every dissector would otherwise repeat the same loop:
//! track the element path, glue text back together (entity references arrive as separate
//! `GeneralRef` events, so `a &amp; b` is three events), decode attribute values, skip
//! namespace declarations, and turn reader errors and truncation into [`BodyError`]. The walker
//! does that once and calls a [`Visitor`] with *local* names only, because the conference
//! documents use varying prefixes for the same namespaces and we never need to tell them apart.
//!
//! Costs: one pass, no per-element allocation (the path is one reusable `String`, text one
//! reusable buffer). Nesting deeper than [`MAX_DEPTH`] is still read (so well-formedness is
//! still checked) but not reported to the visitor, which bounds what a path can grow to.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use super::BodyError;

/// Elements nested deeper than this are read but not reported.
pub(crate) const MAX_DEPTH: usize = 64;

/// The local names from the root down to the current element.
pub(crate) struct Path {
    /// Local names joined by `/` (a local name cannot contain `/`).
    buf: String,
    /// Length of `buf` before each pushed segment, to pop in O(1).
    marks: Vec<usize>,
}

impl Path {
    fn new() -> Self {
        Path {
            buf: String::new(),
            marks: Vec::with_capacity(MAX_DEPTH),
        }
    }

    fn push(&mut self, name: &str) {
        self.marks.push(self.buf.len());
        if !self.buf.is_empty() {
            self.buf.push('/');
        }
        self.buf.push_str(name);
    }

    fn pop(&mut self) {
        if let Some(mark) = self.marks.pop() {
            self.buf.truncate(mark);
        }
    }

    /// Number of elements on the path; the root element has depth 1.
    pub(crate) fn depth(&self) -> usize {
        self.marks.len()
    }

    /// The path as `root/child/…`.
    #[cfg(test)]
    pub(crate) fn as_str(&self) -> &str {
        &self.buf
    }

    /// True when the path below the root is exactly `segments` (the root's name is checked by
    /// the dissector once, so patterns need not repeat it).
    pub(crate) fn below_root_is(&self, segments: &[&str]) -> bool {
        self.depth() == segments.len() + 1 && self.ends_with(segments)
    }

    /// True when the last elements of the path are `segments`.
    pub(crate) fn ends_with(&self, segments: &[&str]) -> bool {
        if segments.len() > self.depth() {
            return false;
        }
        let mut actual = self.buf.rsplit('/');
        segments
            .iter()
            .rev()
            .all(|want| actual.next().is_some_and(|got| got == *want))
    }
}

/// A start (or empty-element) tag, with attribute access by local name.
pub(crate) struct Element<'a, 'e> {
    start: &'a BytesStart<'e>,
}

impl<'a, 'e> Element<'a, 'e> {
    /// The value of the first attribute with this local name, entities decoded. Namespace
    /// declarations are not attributes here. A value whose entities cannot be decoded (a bare
    /// `&`) is returned raw rather than dropped.
    pub(crate) fn attr(&self, local: &str) -> Option<Cow<'a, str>> {
        self.attrs().find(|(k, _)| *k == local).map(|(_, v)| v)
    }

    /// All attributes as `(local name, decoded value)`, namespace declarations excluded.
    pub(crate) fn attrs(&self) -> impl Iterator<Item = (&'a str, Cow<'a, str>)> + 'a {
        let mut iter = self.start.attributes();
        iter.with_checks(false);
        iter.flatten().filter_map(|a| {
            if a.key.as_namespace_binding().is_some() {
                return None;
            }
            let value = match a.normalized_value(XmlVersion::Implicit1_0) {
                Ok(v) => v,
                Err(_) => a.value.clone(),
            };
            // `key` borrows from `self.start`; rebuild the local name with that lifetime.
            let local = a.key.local_name().into_inner();
            Some((local, value))
        })
    }
}

/// What the dissectors implement; both callbacks may stop the walk with an error.
pub(crate) trait Visitor {
    /// A start tag. `path` already includes the element (its name is `name`).
    fn open(&mut self, path: &Path, name: &str, el: &Element<'_, '_>) -> Result<(), BodyError>;

    /// An end tag (also sent right after `open` for an empty element). `text` is the trimmed,
    /// entity-decoded character data since the previous tag: the element's content for a leaf,
    /// which is all the conference documents put text in. `path` still includes the element.
    fn close(&mut self, path: &Path, name: &str, text: &str) -> Result<(), BodyError>;

    /// True when the visitor has what it wants; the walk then ends early, successfully,
    /// without reading (or checking) the rest of the document.
    fn finished(&self) -> bool {
        false
    }
}

/// Walks `input`, one pass, reporting elements up to [`MAX_DEPTH`] to `visitor`. Stops after the
/// root element closes (trailing garbage is ignored). Fails on malformed or truncated XML and on
/// input without a root element.
pub(crate) fn walk(input: &str, visitor: &mut impl Visitor) -> Result<(), BodyError> {
    if input.trim().is_empty() {
        return Err(BodyError::Empty);
    }
    let mut reader = Reader::from_str(input);
    {
        let cfg = reader.config_mut();
        // Spaces around entity references are content; trimming per event would eat them.
        cfg.trim_text(false);
        // A stray `&` in a URL is common enough in hand-made bodies; keep it as text.
        cfg.allow_dangling_amp = true;
        cfg.expand_empty_elements = false;
    }
    let mut path = Path::new();
    // Depth including elements deeper than MAX_DEPTH, which are not on `path`.
    let mut depth = 0usize;
    let mut seen_root = false;
    let mut text = String::new();

    loop {
        let event = reader.read_event().map_err(|e| BodyError::Xml {
            offset: reader.error_position(),
            message: e.to_string(),
        })?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                if depth == 0 && seen_root {
                    // A second root: the document proper is over.
                    return Ok(());
                }
                seen_root = true;
                let empty = matches!(event, Event::Empty(_));
                text.clear();
                depth += 1;
                if depth <= MAX_DEPTH {
                    let name = e.local_name().into_inner();
                    path.push(name);
                    visitor.open(&path, name, &Element { start: e })?;
                    if visitor.finished() {
                        return Ok(());
                    }
                    if empty {
                        visitor.close(&path, name, "")?;
                        path.pop();
                    }
                }
                if empty {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
            }
            Event::End(ref e) => {
                if depth == 0 {
                    // quick-xml already rejects unmatched end tags; be defensive anyway.
                    return Err(xml_error(&reader, "end tag without start tag"));
                }
                if depth <= MAX_DEPTH {
                    let name = e.local_name().into_inner();
                    visitor.close(&path, name, text.trim())?;
                    path.pop();
                }
                text.clear();
                depth -= 1;
                if depth == 0 {
                    return Ok(());
                }
            }
            Event::Text(ref t) if depth > 0 => text.push_str(&t.xml10_content()),
            Event::CData(ref t) if depth > 0 => text.push_str(&t.xml10_content()),
            Event::GeneralRef(ref r) if depth > 0 => push_reference(&mut text, r),
            Event::Eof => {
                return Err(if seen_root {
                    xml_error(&reader, "truncated: element not closed at end of input")
                } else {
                    BodyError::Xml {
                        offset: reader.buffer_position(),
                        message: "no root element".into(),
                    }
                });
            }
            // Declarations, comments, PIs, DOCTYPE (never expanded: no entity bombs), and
            // text outside the root.
            _ => {}
        }
    }
}

fn xml_error(reader: &Reader<&[u8]>, message: &str) -> BodyError {
    BodyError::Xml {
        offset: reader.buffer_position(),
        message: message.into(),
    }
}

/// Appends the replacement of `&name;`: character references and the five predefined entities
/// are decoded; anything else (no DTD is ever read) is kept literally so nothing is lost.
fn push_reference(text: &mut String, r: &quick_xml::events::BytesRef<'_>) {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        text.push(c);
    } else if let Some(s) = quick_xml::escape::resolve_xml_entity(r) {
        text.push_str(s);
    } else {
        text.push('&');
        text.push_str(r);
        text.push(';');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records `open path [attrs]` and `close path = text` lines.
    #[derive(Default)]
    struct Recorder(Vec<String>);

    impl Visitor for Recorder {
        fn open(&mut self, path: &Path, _: &str, el: &Element<'_, '_>) -> Result<(), BodyError> {
            let attrs: Vec<String> = el.attrs().map(|(k, v)| format!("{k}={v}")).collect();
            self.0
                .push(format!("open {} [{}]", path.as_str(), attrs.join(",")));
            Ok(())
        }
        fn close(&mut self, path: &Path, _: &str, text: &str) -> Result<(), BodyError> {
            self.0.push(format!("close {} = {text}", path.as_str()));
            Ok(())
        }
    }

    fn record(input: &str) -> Result<Vec<String>, BodyError> {
        let mut r = Recorder::default();
        walk(input, &mut r).map(|()| r.0)
    }

    #[test]
    fn local_names_entities_and_namespace_declarations() {
        let got = record(
            "<?xml version=\"1.0\"?><!-- c --><r xmlns=\"u\" xmlns:p=\"v\" p:a=\"x &amp; y&#33;\">\
             <p:c>Weekly &amp; review &#x263A; &unknown;</p:c><e/></r>trailing <junk",
        )
        .unwrap();
        assert_eq!(
            got,
            [
                "open r [a=x & y!]",
                "open r/c []",
                "close r/c = Weekly & review \u{263A} &unknown;",
                "open r/e []",
                "close r/e = ",
                "close r = ",
            ]
        );
    }

    #[test]
    fn cdata_and_dangling_amp() {
        let got = record("<r><a><![CDATA[<x> & y]]></a><b>a & b</b><c v=\"a&b\"/></r>").unwrap();
        assert!(got.contains(&"close r/a = <x> & y".to_string()));
        assert!(got.contains(&"close r/b = a & b".to_string()));
        assert!(got.contains(&"open r/c [v=a&b]".to_string()));
    }

    #[test]
    fn errors() {
        assert_eq!(record(""), Err(BodyError::Empty));
        assert_eq!(record("  \r\n"), Err(BodyError::Empty));
        assert!(matches!(record("no xml here"), Err(BodyError::Xml { .. })));
        assert!(matches!(record("<a><b></a>"), Err(BodyError::Xml { .. })));
        assert!(matches!(record("<a><b>"), Err(BodyError::Xml { .. })));
        assert!(matches!(record("<a x=\"1"), Err(BodyError::Xml { .. })));
        assert!(matches!(record("</a>"), Err(BodyError::Xml { .. })));
    }

    #[test]
    fn byte_order_mark_and_prolog() {
        let got = record("\u{FEFF}<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<!DOCTYPE r [<!ENTITY x \"boom\">]>\r\n<r>&x;</r>").unwrap();
        // Internal DTD entities are never expanded.
        assert_eq!(got, ["open r []", "close r = &x;"]);
    }

    #[test]
    fn empty_root_and_second_root() {
        assert_eq!(record("<a/>").unwrap(), ["open a []", "close a = "]);
        assert_eq!(record("<a></a><b>").unwrap(), ["open a []", "close a = "]);
    }

    #[test]
    fn deep_nesting_is_read_but_not_reported() {
        let n = 10_000;
        let doc = format!("{}{}", "<a>".repeat(n), "</a>".repeat(n));
        let got = record(&doc).unwrap();
        assert_eq!(got.len(), 2 * MAX_DEPTH);
        let truncated = format!("{}{}", "<a>".repeat(n), "</a>".repeat(n - 1));
        assert!(record(&truncated).is_err());
    }

    #[test]
    fn path_helpers() {
        let mut p = Path::new();
        for s in ["conference-info", "users", "user"] {
            p.push(s);
        }
        assert_eq!(p.depth(), 3);
        assert!(p.below_root_is(&["users", "user"]));
        assert!(!p.below_root_is(&["user"]));
        assert!(p.ends_with(&["user"]));
        assert!(!p.ends_with(&["a", "conference-info", "users", "user"]));
        p.pop();
        assert_eq!(p.as_str(), "conference-info/users");
    }
}

/// A start tag read by [`next_start_tag`], for the few hot-path questions the analysis asks of
/// small, plain documents (the C3P outcome, an invitation's focus URI) without a full parse.
pub(crate) struct RawTag<'a> {
    /// The local name (prefix removed).
    pub local: &'a str,
    /// The raw attribute text after the name.
    attrs: &'a str,
}

/// An attribute as [`RawTag::attr`] found it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RawAttr<'a> {
    Absent,
    /// The value needs no decoding.
    Plain(&'a str),
    /// The value holds an entity or character reference, or the attributes could not be read:
    /// use [`walk`].
    Unreadable,
}

impl<'a> RawTag<'a> {
    /// The attribute with this local name (namespace declarations are not attributes).
    pub(crate) fn attr(&self, local: &str) -> RawAttr<'a> {
        let mut rest = self.attrs;
        loop {
            rest = rest.trim_start();
            if rest.is_empty() || rest.starts_with('/') {
                return RawAttr::Absent;
            }
            let Some(eq) = rest.find('=') else {
                return RawAttr::Unreadable;
            };
            let name = rest.get(..eq).unwrap_or_default().trim();
            let after = rest.get(eq + 1..).unwrap_or_default().trim_start();
            let Some(quote) = after.chars().next().filter(|q| *q == '"' || *q == '\'') else {
                return RawAttr::Unreadable;
            };
            let Some(len) = after.get(1..).and_then(|v| v.find(quote)) else {
                return RawAttr::Unreadable;
            };
            let value = after.get(1..1 + len).unwrap_or_default();
            let name_local = name.rsplit(':').next().unwrap_or(name);
            if name_local == local && name != "xmlns" && !name.starts_with("xmlns:") {
                return if value.contains('&') {
                    RawAttr::Unreadable
                } else {
                    RawAttr::Plain(value)
                };
            }
            rest = after.get(len + 2..).unwrap_or_default();
        }
    }
}

/// The next start tag at or after byte `from`, skipping the XML declaration, processing
/// instructions, comments, end tags and text; returns the tag and the offset just after it.
/// `None` at the end of input and for anything this scanner does not read (CDATA, DOCTYPE, a
/// tag that does not end): the caller then falls back to [`walk`].
pub(crate) fn next_start_tag(s: &str, from: usize) -> Option<(RawTag<'_>, usize)> {
    let mut pos = from;
    loop {
        let lt = pos + s.get(pos..)?.find('<')?;
        let rest = s.get(lt + 1..)?;
        if rest.starts_with('?') {
            pos = lt + 1 + rest.find("?>")? + 2;
        } else if rest.starts_with("!--") {
            pos = lt + 1 + rest.find("-->")? + 3;
        } else if rest.starts_with('!') {
            return None;
        } else if rest.starts_with('/') {
            pos = lt + 1 + rest.find('>')? + 1;
        } else {
            let gt = rest.find('>')?;
            let inner = rest.get(..gt)?;
            let name_end = inner
                .find(|c: char| c.is_whitespace() || c == '/')
                .unwrap_or(inner.len());
            let name = inner.get(..name_end)?;
            if name.is_empty() {
                return None;
            }
            let local = name.rsplit(':').next().unwrap_or(name);
            let attrs = inner.get(name_end..)?;
            return Some((RawTag { local, attrs }, lt + 1 + gt + 1));
        }
    }
}

#[cfg(test)]
mod raw_tests {
    use super::*;

    #[test]
    fn start_tags_and_attributes() {
        let doc = r#"<?xml version="1.0"?><!-- c --><c:response xmlns:c="x" requestId='7' code="success"><addUser reason="a&amp;b"/></c:response>"#;
        let (root, end) = next_start_tag(doc, 0).unwrap();
        assert_eq!(root.local, "response");
        assert_eq!(root.attr("requestId"), RawAttr::Plain("7"));
        assert_eq!(root.attr("code"), RawAttr::Plain("success"));
        assert_eq!(
            root.attr("c"),
            RawAttr::Absent,
            "namespace declarations are not attributes"
        );
        let (cmd, _) = next_start_tag(doc, end).unwrap();
        assert_eq!(cmd.local, "addUser");
        assert_eq!(cmd.attr("reason"), RawAttr::Unreadable);
        assert!(next_start_tag("<![CDATA[x]]><a/>", 0).is_none());
        assert!(next_start_tag("<a b=\"1", 0).is_none());
    }
}
