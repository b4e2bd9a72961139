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
        self.header(Hdr::CallId).map(trim).filter(|v| !v.is_empty())
    }

    /// CSeq as (number, method) when it parses.
    pub fn cseq(&self) -> Option<(u32, &'a [u8])> {
        parse_cseq(self.header(Hdr::CSeq)?)
    }

    /// The `tag` parameter of From.
    pub fn from_tag(&self) -> Option<&'a [u8]> {
        header_param(self.header(Hdr::From)?, b"tag")
    }

    /// The `tag` parameter of To.
    pub fn to_tag(&self) -> Option<&'a [u8]> {
        header_param(self.header(Hdr::To)?, b"tag")
    }

    /// The `branch` parameter of the top Via.
    pub fn via_branch(&self) -> Option<&'a [u8]> {
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
}
