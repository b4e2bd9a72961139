//! [`Message`]: the zero-copy view of one framed message.

use memchr::memchr;

use super::index::{canonical, ContentLength, Hdr, Head, HDR_COUNT};
use super::params::{header_param, leading_via_param, parse_cseq, via_param_general};
use super::start_line::StartLine;
use super::text::{next_line, trim};

/// One SIP message, borrowed from the bytes it was framed from.
#[derive(Clone, Debug)]
pub struct Message<'a> {
    raw: &'a [u8],
    start: StartLine<'a>,
    /// Offset of the header block (after the start line) in `raw`.
    headers_at: usize,
    /// Offset of the body in `raw` (after the blank line).
    body_at: usize,
    index: [(u32, u32); HDR_COUNT],
    content_length: ContentLength,
    /// Header lines without a colon, seen while indexing.
    pub bad_header_lines: u16,
    /// False when the Content-Length promised more bytes than the datagram carried.
    pub body_complete: bool,
    /// The dialog keys, found once where the message was framed when it is handed to another
    /// thread ([`Message::detach`]), so that the analysis' thread does not search for them.
    keys: Option<Keys>,
}

/// Where a message's dialog keys are: each `(offset, length)` in the message, or [`Keys::NONE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Keys {
    call_id: (u32, u32),
    from_tag: (u32, u32),
    to_tag: (u32, u32),
    via_branch: (u32, u32),
}

impl Keys {
    /// A key the message does not have.
    const NONE: (u32, u32) = (u32::MAX, 0);

    fn of(m: &Message<'_>) -> Keys {
        let span = |part: Option<&[u8]>| {
            let Some(p) = part else {
                return Keys::NONE;
            };
            // Found in the message, so it lies inside (and a message is far below 4 GiB).
            let (at, len) = offset_in(m.raw, p);
            (
                u32::try_from(at).unwrap_or(u32::MAX),
                u32::try_from(len).unwrap_or(0),
            )
        };
        Keys {
            call_id: span(m.find_call_id()),
            from_tag: span(m.find_from_tag()),
            to_tag: span(m.find_to_tag()),
            via_branch: span(m.find_via_branch()),
        }
    }

    fn get(raw: &[u8], (at, len): (u32, u32)) -> Option<&[u8]> {
        if (at, len) == Keys::NONE {
            return None;
        }
        raw.get(at as usize..(at as usize).saturating_add(len as usize))
    }
}

impl<'a> Message<'a> {
    /// The whole message as framed: start line, headers and body.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The start line: a request's method and URI, or a response's status and reason.
    pub fn start(&self) -> StartLine<'a> {
        self.start
    }

    /// True for a request, false for a response.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The request method, or `None` for a response.
    pub fn method(&self) -> Option<&'a [u8]> {
        match self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The Request-URI, or `None` for a response.
    pub fn request_uri(&self) -> Option<&'a [u8]> {
        match self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    /// The status code (100–699), or `None` for a request.
    pub fn status(&self) -> Option<u16> {
        match self.start {
            StartLine::Response { status, .. } => Some(status),
            StartLine::Request { .. } => None,
        }
    }

    /// The header block: every header line, without the start line and the blank line.
    pub fn header_block(&self) -> &'a [u8] {
        self.raw
            .get(self.headers_at..self.body_at)
            .unwrap_or_default()
    }

    /// The body: the bytes after the blank line, up to Content-Length when there is a usable
    /// one; empty when there is no body. Check [`Message::body_complete`] before decoding it.
    pub fn body(&self) -> &'a [u8] {
        self.raw.get(self.body_at..).unwrap_or_default()
    }

    /// What the Content-Length header said, whatever the body turned out to be.
    pub fn content_length(&self) -> ContentLength {
        self.content_length
    }

    /// The value of an indexed header (first occurrence), trimmed. Folded values still contain
    /// their line breaks; see [`unfold`](super::unfold).
    pub fn header(&self, h: Hdr) -> Option<&'a [u8]> {
        let (s, e) = *self.index.get(h as usize)?;
        if e == 0 {
            return None;
        }
        self.raw.get(s as usize..e as usize)
    }

    /// Every header in order, by name and value (compact names as written).
    pub fn headers(&self) -> HeaderIter<'a> {
        HeaderIter {
            rest: self.header_block(),
        }
    }

    /// Values of every header called `name` (case-insensitive; compact forms match their long
    /// names), in order.
    pub fn headers_named<'n>(&self, name: &'n str) -> impl Iterator<Item = &'a [u8]> + 'n
    where
        'a: 'n,
    {
        let want = canonical(name.as_bytes()).unwrap_or(name.as_bytes());
        self.headers().filter_map(move |(n, v)| {
            canonical(n)
                .unwrap_or(n)
                .eq_ignore_ascii_case(want)
                .then_some(v)
        })
    }

    /// Call-ID, trimmed.
    pub fn call_id(&self) -> Option<&'a [u8]> {
        self.key(|k| k.call_id, Self::find_call_id)
    }

    /// A dialog key: where [`Message::detach`] found it, or found now.
    fn key(
        &self,
        span: fn(&Keys) -> (u32, u32),
        find: fn(&Self) -> Option<&'a [u8]>,
    ) -> Option<&'a [u8]> {
        match &self.keys {
            Some(k) => Keys::get(self.raw, span(k)),
            None => find(self),
        }
    }

    fn find_call_id(&self) -> Option<&'a [u8]> {
        self.header(Hdr::CallId).map(trim).filter(|v| !v.is_empty())
    }

    /// CSeq as (number, method) when it parses.
    pub fn cseq(&self) -> Option<(u32, &'a [u8])> {
        parse_cseq(self.header(Hdr::CSeq)?)
    }

    /// The `tag` parameter of From.
    pub fn from_tag(&self) -> Option<&'a [u8]> {
        self.key(|k| k.from_tag, Self::find_from_tag)
    }

    fn find_from_tag(&self) -> Option<&'a [u8]> {
        header_param(self.header(Hdr::From)?, b"tag")
    }

    /// The `tag` parameter of To.
    pub fn to_tag(&self) -> Option<&'a [u8]> {
        self.key(|k| k.to_tag, Self::find_to_tag)
    }

    fn find_to_tag(&self) -> Option<&'a [u8]> {
        header_param(self.header(Hdr::To)?, b"tag")
    }

    /// The `branch` parameter of the top Via.
    pub fn via_branch(&self) -> Option<&'a [u8]> {
        self.key(|k| k.via_branch, Self::find_via_branch)
    }

    fn find_via_branch(&self) -> Option<&'a [u8]> {
        let via = self.header(Hdr::Via)?;
        match leading_via_param(via, b"branch") {
            Some(found) => found,
            None => via_param_general(via, b"branch"),
        }
    }

    /// The media type of Content-Type, without parameters, trimmed.
    pub fn content_type(&self) -> Option<&'a [u8]> {
        let v = self.header(Hdr::ContentType)?;
        let end = memchr(b';', v).unwrap_or(v.len());
        let t = trim(v.get(..end)?);
        (!t.is_empty()).then_some(t)
    }
}

/// Iterator over `(name, value)` header pairs of a header block.
pub struct HeaderIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for HeaderIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let line_start = self.rest;
            let (line, mut rest) = next_line(line_start);
            // A folded header continues on lines that start with white space; its value runs
            // to the end of the last continuation line.
            let mut end_of_value = line.len();
            while let Some(b' ' | b'\t') = rest.first() {
                let (cont, after_cont) = next_line(rest);
                end_of_value = (line_start.len() - rest.len()) + cont.len();
                rest = after_cont;
            }
            self.rest = rest;
            let whole = line_start.get(..end_of_value).unwrap_or_default();
            let Some(colon) = memchr(b':', line) else {
                continue; // a line without a colon is not a header; counted when indexing
            };
            let name = trim(line.get(..colon).unwrap_or_default());
            let value = trim(whole.get(colon + 1..).unwrap_or_default());
            return Some((name, value));
        }
    }
}

/// A [`Message`] without its bytes: the offsets its view holds, so that a message framed on
/// one thread is handed to another with a copy of its bytes and viewed there again without
/// being parsed twice ([`Message::detach`], [`Detached::attach`]).
#[derive(Clone, Copy, Debug)]
pub struct Detached {
    len: usize,
    start: DetachedStart,
    headers_at: usize,
    body_at: usize,
    index: [(u32, u32); HDR_COUNT],
    content_length: ContentLength,
    bad_header_lines: u16,
    body_complete: bool,
    keys: Option<Keys>,
}

/// The start line's slices as `(offset, length)` in the message.
#[derive(Clone, Copy, Debug)]
enum DetachedStart {
    Request {
        method: (usize, usize),
        uri: (usize, usize),
    },
    Response {
        status: u16,
        reason: (usize, usize),
    },
}

/// Where `part` lies in `whole`, as `(offset, length)`. The start line is parsed from the
/// message's own bytes, so it always lies inside; `(0, 0)` would only come from a part
/// borrowed elsewhere.
fn offset_in(whole: &[u8], part: &[u8]) -> (usize, usize) {
    let at = (part.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize);
    match at.checked_add(part.len()) {
        Some(end) if end <= whole.len() => (at, part.len()),
        _ => (0, 0),
    }
}

impl Message<'_> {
    /// The view's offsets, without the bytes: [`Detached::attach`] to a copy of
    /// [`Message::raw`] gives this message back. The dialog keys (Call-ID, tags, branch) are
    /// found here, once, and the view attached again answers them without a search.
    pub fn detach(&self) -> Detached {
        self.detach_finding_keys(true)
    }

    /// [`Message::detach`], finding the dialog keys only when `find_keys`: a thread with time
    /// to spare finds them for the thread the message goes to.
    pub(crate) fn detach_finding_keys(&self, find_keys: bool) -> Detached {
        let start = match self.start {
            StartLine::Request { method, uri } => DetachedStart::Request {
                method: offset_in(self.raw, method),
                uri: offset_in(self.raw, uri),
            },
            StartLine::Response { status, reason } => DetachedStart::Response {
                status,
                reason: offset_in(self.raw, reason),
            },
        };
        Detached {
            len: self.raw.len(),
            start,
            headers_at: self.headers_at,
            body_at: self.body_at,
            index: self.index,
            content_length: self.content_length,
            bad_header_lines: self.bad_header_lines,
            body_complete: self.body_complete,
            keys: self.keys.or_else(|| find_keys.then(|| Keys::of(self))),
        }
    }
}

impl Detached {
    /// The message again, over `raw` (the bytes of the message it was detached from); `None`
    /// when `raw` is not as long as they were.
    pub fn attach<'b>(&self, raw: &'b [u8]) -> Option<Message<'b>> {
        if raw.len() != self.len {
            return None;
        }
        let part = |(at, len): (usize, usize)| raw.get(at..at + len).unwrap_or_default();
        let start = match self.start {
            DetachedStart::Request { method, uri } => StartLine::Request {
                method: part(method),
                uri: part(uri),
            },
            DetachedStart::Response { status, reason } => StartLine::Response {
                status,
                reason: part(reason),
            },
        };
        Some(Message {
            raw,
            start,
            headers_at: self.headers_at,
            body_at: self.body_at,
            index: self.index,
            content_length: self.content_length,
            bad_header_lines: self.bad_header_lines,
            body_complete: self.body_complete,
            keys: self.keys,
        })
    }
}

pub(super) fn build<'a>(
    buf: &'a [u8],
    head: Head<'a>,
    end: usize,
    body_complete: bool,
) -> Message<'a> {
    Message {
        raw: buf.get(..end).unwrap_or(buf),
        start: head.start,
        headers_at: head.headers_at,
        body_at: head.body_at.min(end),
        index: head.index,
        content_length: head.content_length,
        bad_header_lines: head.bad_header_lines,
        body_complete,
        keys: None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::frame_stream;
    use super::super::samples::INVITE;
    use super::*;

    #[test]
    fn parses_a_lync_focus_invite() {
        let (m, used) = frame_stream(INVITE).unwrap();
        assert_eq!(used, INVITE.len());
        assert_eq!(m.method(), Some(&b"INVITE"[..]));
        assert_eq!(
            m.request_uri(),
            Some(&b"sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP"[..])
        );
        assert_eq!(m.call_id(), Some(&b"b7e2d1c0f9a84b3c9d2e1f0a9b8c7d6e"[..]));
        assert_eq!(m.cseq(), Some((1, &b"INVITE"[..])));
        assert_eq!(m.from_tag(), Some(&b"6f5e4d3c2b"[..]));
        assert_eq!(m.to_tag(), None);
        assert_eq!(m.via_branch(), Some(&b"z9hG4bKb1b2b3b4"[..]));
        assert_eq!(m.content_type(), Some(&b"application/cccp+xml"[..]));
        assert_eq!(m.body(), b"hello");
        let to = m.header(Hdr::To).unwrap();
        assert!(
            to.ends_with(b"id:JL3GPNYP>"),
            "opaque with colons is kept whole"
        );
    }

    #[test]
    fn non_utf8_is_fine() {
        let m = b"INVITE sip:a@b SIP/2.0\r\nFrom: \"J\xf6rg\" <sip:j@b>;tag=9\r\nCall-ID: c\r\nContent-Length: 0\r\n\r\n";
        let (msg, _) = frame_stream(m).unwrap();
        assert_eq!(msg.from_tag(), Some(&b"9"[..]));
        assert_eq!(msg.call_id(), Some(&b"c"[..]));
    }

    /// Everything a view answers, as one comparable value.
    fn answers(m: &Message<'_>) -> String {
        let mut headers: Vec<(Vec<u8>, Vec<u8>)> =
            m.headers().map(|(n, v)| (n.to_vec(), v.to_vec())).collect();
        headers.push((b"body".to_vec(), m.body().to_vec()));
        format!(
            "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {} {} {headers:?}",
            m.start(),
            m.call_id(),
            m.cseq(),
            m.header(Hdr::From),
            m.header(Hdr::ContentType),
            m.content_length(),
            m.from_tag(),
            m.bad_header_lines,
            m.body_complete
        )
    }

    #[test]
    fn a_detached_view_attached_to_a_copy_answers_as_the_original() {
        let mut samples: Vec<Vec<u8>> = vec![
            INVITE.to_vec(),
            b"SIP/2.0 180 Ringing\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n".to_vec(),
            b"SIP/2.0 200\r\nVia: a\r\nbad line\r\nContent-Length: 9\r\n\r\nshort".to_vec(),
            // Compact forms, an empty tag, a branch after other parameters, a folded Call-ID.
            b"BYE sip:a SIP/2.0\r\nv: SIP/2.0/TLS h;received=1;branch=z9\r\nf: <sip:a>;tag=\r\nt: <sip:b>;x=1;TAG=t2\r\ni: \r\n  folded-id\r\n\r\n".to_vec(),
            b"ACK sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h, SIP/2.0/UDP g;branch=second\r\nCall-ID:\r\nFrom: x\r\n\r\n".to_vec(),
        ];
        // Cut short anywhere: whatever frames still answers the same.
        samples.extend((1..INVITE.len()).step_by(37).map(|n| INVITE[..n].to_vec()));
        for bytes in &samples {
            let Ok((m, _)) = frame_stream(bytes) else {
                continue;
            };
            let copy = m.raw().to_vec();
            let d = m.detach();
            let again = d.attach(&copy).expect("same length");
            assert_eq!(answers(&again), answers(&m));
            // The keys found at detaching are the keys a search finds.
            assert!(again.keys.is_some() && m.keys.is_none());
            let lazy = m
                .detach_finding_keys(false)
                .attach(&copy)
                .expect("same length");
            assert!(lazy.keys.is_none());
            assert_eq!(answers(&lazy), answers(&m));
            assert_eq!(
                (
                    again.call_id(),
                    again.from_tag(),
                    again.to_tag(),
                    again.via_branch()
                ),
                (m.call_id(), m.from_tag(), m.to_tag(), m.via_branch())
            );
            assert!(d.attach(&copy[..copy.len() - 1]).is_none());
        }
    }
}
