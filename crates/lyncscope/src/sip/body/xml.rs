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
//!
//! Two engines, one result. quick-xml reads any document at 300–550 MB/s, and the analysis
//! reads every roster NOTIFY, so [`walk`] first tries a plain scanner ([`scan`]) that handles
//! the documents servers actually send — UTF-8, no entity or character references, no CDATA,
//! comments or DOCTYPE, no `\r`, strict tag and attribute syntax — at several times the speed,
//! with tags matched so that it only accepts well-formed input. Anything else, including every
//! error, goes to quick-xml from the start with a fresh visitor, so errors and unusual
//! documents are reported exactly as quick-xml reads them. A differential test feeds both
//! engines the same documents.

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
        let Some(first) = self.depth().checked_sub(segments.len()) else {
            return false;
        };
        segments
            .iter()
            .enumerate()
            .all(|(i, want)| self.segment(first + i) == Some(*want))
    }

    /// The local name at depth `i + 1`, sliced by the marks (no search through the path).
    fn segment(&self, i: usize) -> Option<&str> {
        let start = *self.marks.get(i)? + usize::from(i > 0);
        let end = self.marks.get(i + 1).copied().unwrap_or(self.buf.len());
        self.buf.get(start..end)
    }
}

/// A start (or empty-element) tag, with attribute access by local name.
pub(crate) struct Element<'a, 'e> {
    kind: ElementKind<'a, 'e>,
}

enum ElementKind<'a, 'e> {
    /// Read by quick-xml.
    Parsed(&'a BytesStart<'e>),
    /// Read by [`scan`]: the attribute text after the name, already checked to be a list of
    /// `name="value"` pairs with nothing to decode.
    Plain(&'a str),
}

impl<'a, 'e> Element<'a, 'e> {
    /// The value of the first attribute with this local name, entities decoded. Namespace
    /// declarations are not attributes here. A value whose entities cannot be decoded (a bare
    /// `&`) is returned raw rather than dropped.
    pub(crate) fn attr(&self, local: &str) -> Option<Cow<'a, str>> {
        self.attrs().find(|(k, _)| *k == local).map(|(_, v)| v)
    }

    /// Several attributes by local name in one pass over the tag (the first of each wins).
    pub(crate) fn attrs_named<const N: usize>(
        &self,
        names: [&str; N],
    ) -> [Option<Cow<'a, str>>; N] {
        let mut out = [(); N].map(|_| None);
        for (k, v) in self.attrs() {
            if let Some(slot) = names
                .iter()
                .position(|n| *n == k)
                .and_then(|i| out.get_mut(i))
            {
                if slot.is_none() {
                    *slot = Some(v);
                }
            }
        }
        out
    }

    /// All attributes as `(local name, decoded value)`, namespace declarations excluded.
    pub(crate) fn attrs(&self) -> impl Iterator<Item = (&'a str, Cow<'a, str>)> + 'a {
        match self.kind {
            ElementKind::Parsed(start) => Attrs::Parsed(parsed_attrs(start)),
            ElementKind::Plain(text) => Attrs::Plain(PlainAttrs {
                attrs: CheckedAttrs {
                    rest: text.as_bytes(),
                },
            }),
        }
    }
}

/// The attributes of either kind of [`Element`].
enum Attrs<'a, P> {
    Parsed(P),
    Plain(PlainAttrs<'a>),
}

impl<'a, P: Iterator<Item = (&'a str, Cow<'a, str>)>> Iterator for Attrs<'a, P> {
    type Item = (&'a str, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Attrs::Parsed(p) => p.next(),
            Attrs::Plain(p) => p.next(),
        }
    }
}

/// Attributes of a tag [`scan`] accepted (so the syntax is known to be right).
struct PlainAttrs<'a> {
    attrs: CheckedAttrs<'a>,
}

impl<'a> Iterator for PlainAttrs<'a> {
    type Item = (&'a str, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        // The text is a `str` and every cut falls next to an ASCII byte (a name's end, a
        // quote), so the pieces are UTF-8.
        let (name, value) = self.attrs.next()?;
        let name = std::str::from_utf8(name).ok()?;
        let value = std::str::from_utf8(value).ok()?;
        Some((local_name(name), Cow::Borrowed(value)))
    }
}

/// The `(name, value)` pairs of attribute text that [`scan_start_tag`] accepted (so its
/// syntax is known to be right), namespace declarations left out. The one attribute reader of
/// both the plain engine and [`RawTag`].
struct CheckedAttrs<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for CheckedAttrs<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let r = self.rest;
            let start = r.iter().position(|&c| !is_xml_space(c))?;
            let name_len = r
                .get(start..)?
                .iter()
                .position(|&c| c == b'=' || is_xml_space(c))?;
            let name = r.get(start..start + name_len)?;
            let quote_at = start
                + name_len
                + r.get(start + name_len..)?
                    .iter()
                    .position(|&c| c == b'"' || c == b'\'')?;
            let quote = *r.get(quote_at)?;
            let len = memchr::memchr(quote, r.get(quote_at + 1..)?)?;
            let value = r.get(quote_at + 1..quote_at + 1 + len)?;
            self.rest = r.get(quote_at + len + 2..)?;
            if name != b"xmlns" && !name.starts_with(b"xmlns:") {
                return Some((name, value));
            }
        }
    }
}

fn parsed_attrs<'a>(
    start: &'a BytesStart<'_>,
) -> impl Iterator<Item = (&'a str, Cow<'a, str>)> + 'a {
    let mut iter = start.attributes();
    iter.with_checks(false);
    iter.flatten().filter_map(|a| {
        if a.key.as_namespace_binding().is_some() {
            return None;
        }
        let value = match a.normalized_value(XmlVersion::Implicit1_0) {
            Ok(v) => v,
            Err(_) => a.value.clone(),
        };
        // `key` borrows from `start`; rebuild the local name with that lifetime.
        let local = a.key.local_name().into_inner();
        Some((local, value))
    })
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

/// Walks `input`, reporting elements up to [`MAX_DEPTH`] to a visitor made by `make`, and
/// returns it. Stops after the root element closes (trailing garbage is ignored). Fails on
/// malformed or truncated XML and on input without a root element.
///
/// The plain scanner runs first; when it gives up, a fresh visitor sees the document again
/// through quick-xml (so a visitor never sees part of a document twice).
pub(crate) fn walk<V: Visitor>(input: &str, make: impl Fn() -> V) -> Result<V, BodyError> {
    let mut visitor = make();
    if let Some(result) = scan(input, &mut visitor) {
        return result.map(|()| visitor);
    }
    let mut visitor = make();
    read(input, &mut visitor)?;
    Ok(visitor)
}

/// The quick-xml engine of [`walk`].
fn read(input: &str, visitor: &mut impl Visitor) -> Result<(), BodyError> {
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
                    let el = Element {
                        kind: ElementKind::Parsed(e),
                    };
                    visitor.open(&path, name, &el)?;
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

/// The plain engine of [`walk`]: `None` when the document holds anything it does not read
/// (see the module docs), and for every malformation, which quick-xml then reports.
fn scan(input: &str, visitor: &mut impl Visitor) -> Option<Result<(), BodyError>> {
    let b = input.as_bytes();
    // Entity and character references, and `\r` (XML normalises line ends in text), need
    // decoding: leave those documents to quick-xml.
    if memchr::memchr2(b'&', b'\r', b).is_some() {
        return None;
    }
    let mut path = Path::new();
    // Qualified names of the open elements, to match end tags.
    let mut open: Vec<&str> = Vec::with_capacity(16);
    let mut seen_root = false;
    let mut pos = 0usize;
    loop {
        // Tags usually follow each other directly: look before searching.
        let lt = if b.get(pos) == Some(&b'<') {
            pos
        } else {
            pos + memchr::memchr(b'<', b.get(pos..)?)?
        };
        let text = input.get(pos..lt)?;
        if open.is_empty() && !text.bytes().all(is_xml_space) {
            return None; // text outside the root (or a byte-order mark)
        }
        match b.get(lt + 1)? {
            b'?' => {
                if !open.is_empty() {
                    return None; // a PI inside the root splits the text
                }
                // A processing instruction names its target (`<?xml`): `<?>` is not one, and
                // the full engine says so.
                let target = b.get(lt + 2)?;
                if !(target.is_ascii_alphabetic() || matches!(target, b'_' | b':' | 0x80..)) {
                    return None;
                }
                pos = lt + 2 + pi_end(b.get(lt + 2..)?)? + 2;
            }
            b'!' => return None,
            b'/' => {
                let gt = lt + 2 + memchr::memchr(b'>', b.get(lt + 2..)?)?;
                let qname = input.get(lt + 2..gt)?;
                if open.pop()? != qname {
                    return None;
                }
                let name = local_name(qname);
                if let Err(e) = visitor.close(&path, name, text.trim()) {
                    return Some(Err(e));
                }
                path.pop();
                pos = gt + 1;
                if open.is_empty() {
                    return Some(Ok(()));
                }
            }
            _ => {
                if open.is_empty() && seen_root {
                    return Some(Ok(())); // a second root: the document proper is over
                }
                let tag = scan_start_tag(b, lt)?;
                let qname = input.get(lt + 1..tag.name_end)?;
                let attrs = input.get(tag.name_end..tag.attrs_end)?;
                if open.len() >= MAX_DEPTH {
                    return None;
                }
                seen_root = true;
                let name = local_name(qname);
                path.push(name);
                let el = Element {
                    kind: ElementKind::Plain(attrs),
                };
                if let Err(e) = visitor.open(&path, name, &el) {
                    return Some(Err(e));
                }
                if visitor.finished() {
                    return Some(Ok(()));
                }
                pos = tag.end;
                if tag.empty {
                    if let Err(e) = visitor.close(&path, name, "") {
                        return Some(Err(e));
                    }
                    path.pop();
                    if open.is_empty() {
                        return Some(Ok(()));
                    }
                } else {
                    open.push(qname);
                }
            }
        }
    }
}

/// Where a start tag's parts end, as [`scan_start_tag`] found them.
struct StartTag {
    name_end: usize,
    attrs_end: usize,
    empty: bool,
    /// Just after `>`.
    end: usize,
}

/// Checks the start tag at `lt` strictly: an ASCII name, then `name="value"` pairs separated by
/// white space, values free of `<` and of tabs, line feeds and carriage returns (which XML
/// would turn into spaces), names with at most one `:`.
fn scan_start_tag(b: &[u8], lt: usize) -> Option<StartTag> {
    let name_end = scan_name(b, lt + 1)?;
    let mut i = name_end;
    loop {
        let before = i;
        while b.get(i).copied().is_some_and(is_xml_space) {
            i += 1;
        }
        match b.get(i)? {
            b'>' => {
                return Some(StartTag {
                    name_end,
                    attrs_end: i,
                    empty: false,
                    end: i + 1,
                })
            }
            b'/' => {
                return (b.get(i + 1) == Some(&b'>')).then_some(StartTag {
                    name_end,
                    attrs_end: i,
                    empty: true,
                    end: i + 2,
                })
            }
            _ if i == before => return None, // attributes must be separated by white space
            _ => {}
        }
        i = scan_name(b, i)?;
        while b.get(i).copied().is_some_and(is_xml_space) {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            return None;
        }
        i += 1;
        while b.get(i).copied().is_some_and(is_xml_space) {
            i += 1;
        }
        let quote = *b.get(i).filter(|q| matches!(q, b'"' | b'\''))?;
        let len = memchr::memchr(quote, b.get(i + 1..)?)?;
        let value = b.get(i + 1..i + 1 + len)?;
        if memchr::memchr3(b'<', b'\t', b'\n', value).is_some() || value.contains(&b'\r') {
            return None;
        }
        i += len + 2;
    }
}

/// The end of an XML name starting at `from` (ASCII letters, digits, `_ - . :`, not starting
/// with a digit, `-` or `.`, at most one `:` and not at either end); `None` if there is none.
fn scan_name(b: &[u8], from: usize) -> Option<usize> {
    let first = *b.get(from)?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    let mut i = from + 1;
    let mut colons = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b':' => colons += 1,
            c if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.') => {}
            _ => break,
        }
        i += 1;
    }
    (colons <= 1 && b.get(i - 1) != Some(&b':')).then_some(i)
}

fn is_xml_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

/// Where `?>` starts (a processing instruction's end; every document's XML declaration has
/// one, so this avoids building a substring searcher per document).
fn pi_end(b: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'?', b).find(|&i| b.get(i + 1) == Some(&b'>'))
}

/// The part of a qualified name after its prefix ([`scan_name`] allows one `:` at most).
fn local_name(qname: &str) -> &str {
    match memchr::memchr(b':', qname.as_bytes()) {
        Some(i) => qname.get(i + 1..).unwrap_or(qname),
        None => qname,
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
        walk(input, Recorder::default).map(|r| r.0)
    }

    /// The plain scanner's events, or `None` when it leaves the document to quick-xml.
    fn record_scan(input: &str) -> Option<Result<Vec<String>, BodyError>> {
        let mut r = Recorder::default();
        scan(input, &mut r).map(|res| res.map(|()| r.0))
    }

    fn record_quick_xml(input: &str) -> Result<Vec<String>, BodyError> {
        let mut r = Recorder::default();
        read(input, &mut r).map(|()| r.0)
    }

    /// Whatever the plain scanner accepts, quick-xml reads the same way (the scanner only
    /// hands over; it never reports an error of its own).
    fn assert_engines_agree(input: &str) {
        if let Some(scanned) = record_scan(input) {
            let scanned = scanned.expect("the recorder never fails");
            assert_eq!(
                Ok(scanned),
                record_quick_xml(input),
                "engines disagree on {input:?}"
            );
        }
    }

    const DOCUMENTS: &[&str] = &[
        crate::sip::body::conf_invite::tests::A1,
        crate::sip::body::c3p::tests::B1,
        crate::sip::body::c3p::tests::B2,
        crate::sip::body::c3p::tests::N3,
        crate::sip::body::conference_info::tests::C2,
        crate::sip::body::conference_info::tests::C3,
        "<?xml version=\"1.0\"?>\n<a:r xmlns:a=\"u\" x = 'v' y=\"w\"><a:b c=\"{1}\">t e x t</a:b><e/> <f g='h'/></a:r>",
        "<r><a>1</a><a>2</a>tail</r>",
        "<r\n x=\"1\"\t/>",
    ];

    #[test]
    fn the_plain_scanner_reads_the_real_documents() {
        for doc in DOCUMENTS {
            let doc = doc.replace("\r\n", "\n");
            assert!(record_scan(&doc).is_some(), "scanner gave up on {doc}");
            assert_engines_agree(&doc);
        }
    }

    #[test]
    fn the_plain_scanner_hands_over_what_it_does_not_read() {
        for doc in [
            "<r>a &amp; b</r>",
            "<r>a\r\nb</r>",
            "<r><![CDATA[x]]></r>",
            "<r><!-- c --></r>",
            "<!DOCTYPE r><r/>",
            "\u{FEFF}<r/>",
            "<r a=\"x\ty\"/>",
            "<r a=\"x<y\"/>",
            "<r a:b:c=\"1\"/>",
            "<r a=\"1\"b=\"2\"/>",
            "<r></s>",
            "<r>",
            "<r><?pi x?></r>",
            "text<r/>",
            "<1r/>",
            "<r a/>",
        ] {
            assert!(
                record_scan(doc).is_none(),
                "scanner should hand over {doc:?}"
            );
        }
        // And the walk still reads (or rejects) them as quick-xml does.
        assert_eq!(
            record("<r>a &amp; b</r>").unwrap(),
            ["open r []", "close r = a & b"]
        );
        assert!(record("<r></s>").is_err());
    }

    mod engines {
        use super::*;
        use proptest::prelude::*;

        /// Documents built from tags, attributes and text, with some noise mixed in.
        fn document() -> impl Strategy<Value = String> {
            let name = prop_oneof![
                Just("a"),
                Just("b:c"),
                Just("user"),
                Just("ci:endpoint"),
                Just("x-y.z_1")
            ];
            let piece = prop_oneof![
                (
                    name.clone(),
                    proptest::option::of(("[a-z:]{1,5}", "[ -~]{0,8}"))
                )
                    .prop_map(|(n, a)| match a {
                        Some((k, v)) => format!("<{n} {k}=\"{}\">", v.replace('"', "")),
                        None => format!("<{n}>"),
                    }),
                name.clone().prop_map(|n| format!("</{n}>")),
                name.prop_map(|n| format!("<{n}/>")),
                "[ -~]{0,6}",
                Just("\n".to_string()),
                Just("<?p?>".to_string()),
            ];
            proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat())
        }

        proptest! {
            #[test]
            fn engines_agree_on_generated_documents(doc in document()) {
                assert_engines_agree(&doc);
            }

            #[test]
            fn engines_agree_on_mutated_documents(
                which in 0usize..DOCUMENTS.len(),
                cut in 0usize..4096,
                flips in proptest::collection::vec((0usize..4096, "[<>/=\"' a-z:?!]"), 0..6),
            ) {
                let mut doc: Vec<char> = DOCUMENTS[which].chars().collect();
                for (at, c) in flips {
                    if !doc.is_empty() {
                        let at = at % doc.len();
                        doc[at] = c.chars().next().unwrap_or('x');
                    }
                }
                doc.truncate(cut);
                let doc: String = doc.into_iter().collect();
                assert_engines_agree(&doc);
            }
        }
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
/// It works on bytes: only the pieces asked for are checked to be UTF-8.
pub(crate) struct RawTag<'a> {
    /// The local name (prefix removed).
    pub local: &'a str,
    /// `<name …/>`: the element has no content.
    pub empty: bool,
    /// The attribute text after the name, as [`scan_start_tag`] accepted it.
    attrs: &'a [u8],
}

/// An attribute as [`RawTag::attrs_named`] found it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RawAttr<'a> {
    Absent,
    /// The value needs no decoding.
    Plain(&'a str),
    /// The value holds an entity or character reference or is not UTF-8: use [`walk`].
    Unreadable,
}

impl<'a> RawTag<'a> {
    /// The attribute with this local name (namespace declarations are not attributes).
    #[cfg(test)]
    pub(crate) fn attr(&self, local: &str) -> RawAttr<'a> {
        let [found] = self.attrs_named([local]);
        found
    }

    /// Several attributes by local name, in one pass over the tag.
    pub(crate) fn attrs_named<const N: usize>(&self, names: [&str; N]) -> [RawAttr<'a>; N] {
        let mut out = [(); N].map(|_| RawAttr::Absent);
        for (name, value) in (CheckedAttrs { rest: self.attrs }) {
            let local = std::str::from_utf8(name)
                .map(local_name)
                .unwrap_or_default();
            for (want, slot) in names.iter().zip(out.iter_mut()) {
                if *slot == RawAttr::Absent && *want == local {
                    *slot = match std::str::from_utf8(value) {
                        Ok(v) if !v.contains('&') => RawAttr::Plain(v),
                        _ => RawAttr::Unreadable,
                    };
                }
            }
        }
        out
    }
}

/// The next start tag at or after byte `from`, skipping the XML declaration, processing
/// instructions, comments, end tags and text; returns the tag and the offset just after it.
/// `None` at the end of input and for anything this scanner does not read (CDATA, DOCTYPE, a
/// tag [`scan_start_tag`] does not accept): the caller then falls back to [`walk`].
pub(crate) fn next_start_tag(b: &[u8], from: usize) -> Option<(RawTag<'_>, usize)> {
    let mut pos = from;
    loop {
        let lt = pos + memchr::memchr(b'<', b.get(pos..)?)?;
        let rest = b.get(lt + 1..)?;
        match rest.first()? {
            b'?' => pos = lt + 1 + pi_end(rest)? + 2,
            b'!' if rest.starts_with(b"!--") => {
                pos = lt + 1 + memchr::memmem::find(rest, b"-->")? + 3;
            }
            b'!' => return None,
            b'/' => pos = lt + 1 + memchr::memchr(b'>', rest)? + 1,
            _ => {
                let tag = scan_start_tag(b, lt)?;
                let name = std::str::from_utf8(b.get(lt + 1..tag.name_end)?).ok()?;
                let raw = RawTag {
                    local: local_name(name),
                    empty: tag.empty,
                    attrs: b.get(tag.name_end..tag.attrs_end)?,
                };
                return Some((raw, tag.end));
            }
        }
    }
}

#[cfg(test)]
mod raw_tests {
    use super::*;

    #[test]
    fn start_tags_and_attributes() {
        let doc = r#"<?xml version="1.0"?><!-- c --><c:response xmlns:c="x" requestId='7' code="success"><addUser reason="a&amp;b"/></c:response>"#;
        let (root, end) = next_start_tag(doc.as_bytes(), 0).unwrap();
        assert_eq!(root.local, "response");
        assert_eq!(root.attr("requestId"), RawAttr::Plain("7"));
        assert_eq!(root.attr("code"), RawAttr::Plain("success"));
        assert_eq!(
            root.attr("c"),
            RawAttr::Absent,
            "namespace declarations are not attributes"
        );
        let (cmd, _) = next_start_tag(doc.as_bytes(), end).unwrap();
        assert_eq!(cmd.local, "addUser");
        assert_eq!(cmd.attr("reason"), RawAttr::Unreadable);
        assert!(next_start_tag(b"<![CDATA[x]]><a/>", 0).is_none());
        assert!(next_start_tag(b"<a b=\"1", 0).is_none());
        let (tag, _) = next_start_tag(b"<a x='1' y=\"2\" z=\"\xff\" w='a&amp;b'>", 0).unwrap();
        assert_eq!(
            tag.attrs_named(["y", "x", "z", "w", "v"]),
            [
                RawAttr::Plain("2"),
                RawAttr::Plain("1"),
                RawAttr::Unreadable,
                RawAttr::Unreadable,
                RawAttr::Absent
            ]
        );
        // Attributes this reader cannot follow: the tag is not read, the caller parses.
        assert!(next_start_tag(b"<a x='1' junk y='2'>", 0).is_none());
    }
}
