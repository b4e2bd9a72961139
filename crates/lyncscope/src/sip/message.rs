//! A tolerant, zero-copy SIP message view.
//!
//! [`Message`] borrows the bytes it was framed from: the start line, the header block and the
//! body are slices, and the headers the hot path needs (Call-ID, CSeq, From, To, the top Via,
//! Content-Type, Content-Length, …) are indexed in one pass into a fixed array, so parsing a
//! message allocates nothing. Everything else is found on demand by [`Message::headers`].
//!
//! Tolerance follows what real traffic and RFC 4475 throw at a dissector: any method token
//! (`SERVICE`, `BENOTIFY`, lowercase `options`), compact header names (`i`, `v`, `l`, …), LF-only
//! line ends, folded (continued) header lines, `Via :` with space before the colon, bytes that are
//! not UTF-8, and a Content-Length that is missing, invalid, shorter or longer than the data.
//!
//! Framing — where a message ends — depends on the transport, so it lives here too:
//! [`frame_datagram`] (UDP, SCTP, WebSocket: the datagram bounds the message) and
//! [`frame_stream`] (TCP: Content-Length decides, and more bytes may be needed).

use memchr::memchr;

/// The first line of a SIP message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartLine<'a> {
    Request { method: &'a [u8], uri: &'a [u8] },
    Response { status: u16, reason: &'a [u8] },
}

/// Headers indexed by the single parsing pass (the first occurrence of each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Hdr {
    CallId,
    CSeq,
    From,
    To,
    Via,
    ContentType,
    ContentLength,
    Contact,
    Event,
    Expires,
    UserAgent,
    Server,
    MsDiagnostics,
    MsDiagnosticsPublic,
    MsClientDiagnostics,
}

const HDR_COUNT: usize = 15;

/// Upper bounds that keep hostile input from holding memory or time.
pub mod limits {
    /// A header block longer than this is not SIP (or not worth waiting for).
    pub const MAX_HEADER_BYTES: usize = 64 * 1024;
    /// A Content-Length above this is treated as invalid.
    pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
}

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

/// What the Content-Length header said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentLength {
    Absent,
    Invalid,
    Value(usize),
}

/// Why bytes that looked like SIP could not be framed as a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The bytes do not begin with a SIP request or status line.
    NotSip,
    /// More bytes are needed (stream transports only).
    Incomplete,
    /// The header block exceeds [`limits::MAX_HEADER_BYTES`] without ending.
    HeaderTooLong,
    /// Content-Length exceeds [`limits::MAX_BODY_BYTES`].
    BodyTooLong,
}

impl<'a> Message<'a> {
    /// The whole message as framed: start line, headers and body.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    pub fn start(&self) -> StartLine<'a> {
        self.start
    }

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

    pub fn request_uri(&self) -> Option<&'a [u8]> {
        match self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

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

    pub fn body(&self) -> &'a [u8] {
        self.raw.get(self.body_at..).unwrap_or_default()
    }

    pub fn content_length(&self) -> ContentLength {
        self.content_length
    }

    /// The value of an indexed header (first occurrence), trimmed. Folded values still contain
    /// their line breaks; see [`unfold`].
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

/// Splits off one line. Lines end with CRLF, LF, or a bare CR (as tshark reads them; fuzzed and
/// broken senders produce them); the line excludes its end.
fn next_line(buf: &[u8]) -> (&[u8], &[u8]) {
    match line_end(buf) {
        Some((end, next)) => (
            buf.get(..end).unwrap_or_default(),
            buf.get(next..).unwrap_or_default(),
        ),
        None => (buf, &[]),
    }
}

/// Where the first line of `buf` ends and the next begins: `(end, next)`. A CR at the very end
/// of `buf` may be the first half of a CRLF, so it does not end a line yet.
#[inline]
fn line_end(buf: &[u8]) -> Option<(usize, usize)> {
    let i = memchr::memchr2(b'\r', b'\n', buf)?;
    match (buf.get(i), buf.get(i + 1)) {
        (Some(b'\r'), Some(b'\n')) => Some((i, i + 2)),
        (Some(b'\r'), None) => None,
        _ => Some((i, i + 1)),
    }
}

pub fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    v.get(start..end).unwrap_or_default()
}

/// Joins a folded header value into one line (`"a\r\n  b"` → `"a b"`), lossily as UTF-8.
pub fn unfold(v: &[u8]) -> String {
    let mut out = String::with_capacity(v.len());
    for (i, part) in v.split(|&c| c == b'\n').enumerate() {
        let part = trim(part);
        if part.is_empty() {
            continue;
        }
        if i > 0 && !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&String::from_utf8_lossy(part));
    }
    out
}

/// Maps a header name (long or compact, any case) to the indexed header it is.
fn known(name: &[u8]) -> Option<Hdr> {
    let lower = |c: u8| c.to_ascii_lowercase();
    let eq = |s: &[u8]| name.eq_ignore_ascii_case(s);
    match name.len() {
        1 => match lower(*name.first()?) {
            b'i' => Some(Hdr::CallId),
            b'f' => Some(Hdr::From),
            b't' => Some(Hdr::To),
            b'v' => Some(Hdr::Via),
            b'c' => Some(Hdr::ContentType),
            b'l' => Some(Hdr::ContentLength),
            b'm' => Some(Hdr::Contact),
            b'o' => Some(Hdr::Event),
            _ => None,
        },
        2 if eq(b"to") => Some(Hdr::To),
        3 if eq(b"via") => Some(Hdr::Via),
        4 if eq(b"cseq") => Some(Hdr::CSeq),
        4 if eq(b"from") => Some(Hdr::From),
        5 if eq(b"event") => Some(Hdr::Event),
        6 if eq(b"server") => Some(Hdr::Server),
        7 if eq(b"call-id") => Some(Hdr::CallId),
        7 if eq(b"contact") => Some(Hdr::Contact),
        7 if eq(b"expires") => Some(Hdr::Expires),
        10 if eq(b"user-agent") => Some(Hdr::UserAgent),
        12 if eq(b"content-type") => Some(Hdr::ContentType),
        14 if eq(b"content-length") => Some(Hdr::ContentLength),
        14 if eq(b"ms-diagnostics") => Some(Hdr::MsDiagnostics),
        21 if eq(b"ms-diagnostics-public") => Some(Hdr::MsDiagnosticsPublic),
        21 if eq(b"ms-client-diagnostics") => Some(Hdr::MsClientDiagnostics),
        _ => None,
    }
}

/// The long form of a compact header name, for name comparison.
fn canonical(name: &[u8]) -> Option<&'static [u8]> {
    if name.len() != 1 {
        return None;
    }
    Some(match name.first()?.to_ascii_lowercase() {
        b'i' => b"call-id",
        b'f' => b"from",
        b't' => b"to",
        b'v' => b"via",
        b'c' => b"content-type",
        b'l' => b"content-length",
        b'm' => b"contact",
        b'o' => b"event",
        b'e' => b"content-encoding",
        b's' => b"subject",
        b'k' => b"supported",
        b'r' => b"refer-to",
        b'b' => b"referred-by",
        b'u' => b"allow-events",
        b'x' => b"session-expires",
        _ => return None,
    })
}

/// True for a character allowed in an RFC 3261 `token` (method names).
fn is_token_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&c)
}

/// Parses the start line, if `buf` begins with one. Returns the line and the offset after it.
///
/// A request line is `token SP uri SP SIP/2.0`, where the URI must contain a `:` (a scheme);
/// that is the check tshark's SIP heuristic makes too, and it keeps HTTP and other text
/// protocols out. A status line is `SIP/2.0 SP 3DIGIT [SP reason]`.
pub fn parse_start_line(buf: &[u8]) -> Option<(StartLine<'_>, usize)> {
    // The start line may also end with a bare CR (as tshark accepts); header lines end at LF.
    let (end, after) = line_end(buf)?;
    parse_start_line_text(buf.get(..end)?).map(|s| (s, after))
}

/// True if `buf` starts like a SIP message (used to resynchronise streams), even when the
/// line end has not arrived yet.
pub fn looks_like_start(buf: &[u8]) -> bool {
    let head = buf.get(..buf.len().min(16)).unwrap_or_default();
    if head.len() >= 8
        && head
            .get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/2.0 "))
    {
        return true;
    }
    match line_end(buf) {
        Some((end, _)) => buf
            .get(..end)
            .is_some_and(|l| parse_start_line_text(l).is_some()),
        None if buf.len() > 2048 => false,
        // An unfinished line: plausible while it can still become a start line.
        None => {
            let line = buf.strip_suffix(b"\r").unwrap_or(buf);
            if line.iter().any(|&c| (c < 0x20 && c != b'\t') || c == 0x7f) {
                return false;
            }
            let n = line.len().min(8);
            if line
                .get(..n)
                .is_some_and(|p| p.eq_ignore_ascii_case(&b"SIP/2.0 "[..n]))
            {
                return true;
            }
            let tok = line.iter().take_while(|&&c| is_token_char(c)).count();
            matches!(line.get(tok), None | Some(b' '))
        }
    }
}

fn parse_start_line_text(line: &[u8]) -> Option<StartLine<'_>> {
    // Control bytes (NUL, …) cannot appear in a start line: the URI escapes them and the
    // reason phrase is text.
    if line.iter().any(|&c| (c < 0x20 && c != b'\t') || c == 0x7f) {
        return None;
    }
    if line.len() >= 12 && line.get(..8)?.eq_ignore_ascii_case(b"SIP/2.0 ") {
        let code = line.get(8..11)?;
        if !code.iter().all(u8::is_ascii_digit) {
            return None;
        }
        if let Some(&c) = line.get(11) {
            if c != b' ' && c != b'\t' {
                return None;
            }
        }
        let status = code.iter().fold(0u16, |a, &d| a * 10 + (d - b'0') as u16);
        if !(100..=699).contains(&status) {
            return None;
        }
        let reason = trim(line.get(12..).unwrap_or_default());
        return Some(StartLine::Response { status, reason });
    }
    let line = trim_end(line);
    let sp1 = memchr(b' ', line)?;
    let method = line.get(..sp1)?;
    if method.is_empty() || !method.iter().all(|&c| is_token_char(c)) {
        return None;
    }
    let rest = line.get(sp1 + 1..)?;
    let version = rest.get(rest.len().checked_sub(7)?..)?;
    if !version.eq_ignore_ascii_case(b"SIP/2.0") {
        return None;
    }
    let uri = trim(rest.get(..rest.len() - 7)?);
    if uri.is_empty() || memchr(b':', uri).is_none() || uri.contains(&b' ') {
        return None;
    }
    Some(StartLine::Request { method, uri })
}

fn trim_end(v: &[u8]) -> &[u8] {
    let end = v
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    v.get(..end).unwrap_or_default()
}

/// The start line and indexed headers of a message whose header block is complete.
struct Head<'a> {
    start: StartLine<'a>,
    headers_at: usize,
    body_at: usize,
    index: [(u32, u32); HDR_COUNT],
    content_length: ContentLength,
    bad_header_lines: u16,
}

/// How far a stream got with an unfinished message, so that more bytes continue the work
/// instead of starting over (the bytes already seen are the same; only more are appended).
#[derive(Clone, Copy, Debug, Default)]
pub struct StreamProgress {
    /// Header lines indexed so far.
    head: HeadProgress,
    /// The message's full length, once its header block is complete; 0 before.
    need: usize,
}

impl StreamProgress {
    /// The buffer length below which framing cannot succeed yet (0: unknown).
    pub fn need(&self) -> usize {
        self.need
    }
}

/// The state of indexing a header block whose end has not arrived.
#[derive(Clone, Copy, Debug, Default)]
struct HeadProgress {
    /// Offset of the first line not indexed yet; 0 when nothing was indexed.
    pos: usize,
    index: [(u32, u32); HDR_COUNT],
    last: Option<usize>,
    bad_header_lines: u16,
}

/// Indexes the header block. `Err(Incomplete)` if the blank line has not arrived.
fn parse_head(buf: &[u8]) -> Result<Head<'_>, FrameError> {
    parse_head_from(buf, &mut HeadProgress::default())
}

/// [`parse_head`], resuming at `progress` and saving it when the block is unfinished.
fn parse_head_from<'a>(buf: &'a [u8], progress: &mut HeadProgress) -> Result<Head<'a>, FrameError> {
    let (start, headers_at) = match parse_start_line(buf) {
        Some(v) => v,
        None if !looks_like_start(buf) => return Err(FrameError::NotSip),
        None if buf.len() > limits::MAX_HEADER_BYTES => return Err(FrameError::HeaderTooLong),
        None => return Err(FrameError::Incomplete),
    };
    let resume = progress.pos >= headers_at && progress.pos <= buf.len();
    let HeadProgress {
        mut pos,
        mut index,
        mut last, // index slot of the previous header, for folding
        mut bad_header_lines,
    } = if resume {
        *progress
    } else {
        HeadProgress {
            pos: headers_at,
            ..HeadProgress::default()
        }
    };
    loop {
        let Some(rest) = buf.get(pos..) else {
            return Err(FrameError::Incomplete);
        };
        let Some((end, after)) = line_end(rest) else {
            if buf.len() > limits::MAX_HEADER_BYTES {
                return Err(FrameError::HeaderTooLong);
            }
            *progress = HeadProgress {
                pos,
                index,
                last,
                bad_header_lines,
            };
            return Err(FrameError::Incomplete);
        };
        let line = rest.get(..end).unwrap_or_default();
        let next = pos + after;
        if line.is_empty() {
            // Kept for a body still on its way: the next try starts at this blank line.
            *progress = HeadProgress {
                pos,
                index,
                last,
                bad_header_lines,
            };
            let content_length = content_length_of(buf, &index);
            return Ok(Head {
                start,
                headers_at,
                body_at: next,
                index,
                content_length,
                bad_header_lines,
            });
        }
        if next > limits::MAX_HEADER_BYTES {
            return Err(FrameError::HeaderTooLong);
        }
        match line.first() {
            Some(b' ') | Some(b'\t') => {
                // A folded continuation extends the previous header's value.
                if let Some(slot) = last.and_then(|i| index.get_mut(i)) {
                    let end = pos + trim_end(line).len();
                    if slot.1 != 0 && end > slot.1 as usize {
                        slot.1 = end as u32;
                    }
                }
            }
            // Header names are short: a plain loop finds the colon sooner than a vector
            // search gets going (this runs for every header line of every message).
            _ => match line.iter().position(|&c| c == b':') {
                Some(colon) => {
                    let name = trim(line.get(..colon).unwrap_or_default());
                    last = None;
                    if let Some(h) = known(name) {
                        let slot = &mut index[h as usize];
                        if slot.1 == 0 {
                            let v_start = pos + colon + 1;
                            let raw_v = line.get(colon + 1..).unwrap_or_default();
                            let lead = raw_v.iter().take_while(|c| c.is_ascii_whitespace()).count();
                            let v_end = pos + trim_end(line).len();
                            let s = (v_start + lead).min(v_end);
                            *slot = (s as u32, v_end.max(s) as u32);
                            if slot.1 == 0 {
                                // An empty value at offset 0 cannot happen (start line comes
                                // first), but keep "present" distinguishable anyway.
                                *slot = (s as u32, s as u32);
                            }
                            last = Some(h as usize);
                        }
                    }
                }
                None => bad_header_lines = bad_header_lines.saturating_add(1),
            },
        }
        pos = next;
    }
}

fn content_length_of(buf: &[u8], index: &[(u32, u32); HDR_COUNT]) -> ContentLength {
    let (s, e) = index[Hdr::ContentLength as usize];
    if e == 0 {
        return ContentLength::Absent;
    }
    let v = trim(buf.get(s as usize..e as usize).unwrap_or_default());
    if v.is_empty() || v.len() > 12 || !v.iter().all(u8::is_ascii_digit) {
        return ContentLength::Invalid;
    }
    let n = v.iter().fold(0usize, |a, &d| a * 10 + (d - b'0') as usize);
    if n > limits::MAX_BODY_BYTES {
        ContentLength::Invalid
    } else {
        ContentLength::Value(n)
    }
}

fn build<'a>(buf: &'a [u8], head: Head<'a>, end: usize, body_complete: bool) -> Message<'a> {
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

/// Frames one message at the start of a datagram (UDP, SCTP chunk, WebSocket message).
///
/// The datagram bounds the message: without a usable Content-Length the body is the rest of
/// the datagram; with one that promises more than is there, the body is what is there and
/// `body_complete` is false. Returns the message and the bytes it used; the caller looks for
/// another message after skipping line breaks.
pub fn frame_datagram(buf: &[u8]) -> Result<(Message<'_>, usize), FrameError> {
    let head = match parse_head(buf) {
        Ok(h) => h,
        // In a datagram a missing blank line means the headers run to the end.
        Err(FrameError::Incomplete) => return frame_headers_only(buf),
        Err(e) => return Err(e),
    };
    let body_at = head.body_at;
    let avail = buf.len().saturating_sub(body_at);
    let (end, complete) = match head.content_length {
        ContentLength::Value(n) if n <= avail => (body_at + n, true),
        ContentLength::Value(_) => (buf.len(), false),
        ContentLength::Absent | ContentLength::Invalid => (buf.len(), true),
    };
    Ok((build(buf, head, end, complete), end))
}

/// A datagram whose header block never ends with a blank line: everything is headers.
fn frame_headers_only(buf: &[u8]) -> Result<(Message<'_>, usize), FrameError> {
    let mut padded_head = None;
    // Re-run the indexer on the bytes as if a blank line followed; the index stays valid for
    // `buf` because offsets only point into the prefix that exists.
    let mut tmp = Vec::with_capacity(buf.len() + 4);
    tmp.extend_from_slice(buf);
    tmp.extend_from_slice(b"\r\n\r\n");
    if let Ok(h) = parse_head(&tmp) {
        padded_head = Some((h.index, h.content_length, h.bad_header_lines, h.headers_at));
    }
    let (index, content_length, bad, headers_at) = padded_head.ok_or(FrameError::NotSip)?;
    let (start, _) = match parse_start_line(buf) {
        Some(v) => v,
        None => {
            let (line, _) = next_line(buf);
            (
                parse_start_line_text(line).ok_or(FrameError::NotSip)?,
                buf.len(),
            )
        }
    };
    let mut index = index;
    for slot in index.iter_mut() {
        if slot.1 as usize > buf.len() {
            *slot = (0, 0);
        }
    }
    let head = Head {
        start,
        headers_at: headers_at.min(buf.len()),
        body_at: buf.len(),
        index,
        content_length,
        bad_header_lines: bad,
    };
    Ok((build(buf, head, buf.len(), false), buf.len()))
}

/// Frames one message at the start of a stream buffer (TCP).
///
/// Returns `Incomplete` until the header block and the Content-Length bytes of body have
/// arrived. A message without Content-Length has an empty body (RFC 3261 makes the header
/// mandatory on streams); an invalid one is treated the same way.
pub fn frame_stream(buf: &[u8]) -> Result<(Message<'_>, usize), FrameError> {
    frame_stream_resume(buf, &mut StreamProgress::default())
}

/// [`frame_stream`] for a message that arrives in pieces: `progress` (start with the default,
/// keep it while the same message is pending, reset it when the buffer changes other than by
/// appending) carries the header lines already indexed and, once the header block is complete,
/// the message's length — so each segment of a long message costs only its own bytes instead
/// of indexing the same headers again. The result is the same as [`frame_stream`]'s.
pub fn frame_stream_resume<'a>(
    buf: &'a [u8],
    progress: &mut StreamProgress,
) -> Result<(Message<'a>, usize), FrameError> {
    let head = parse_head_from(buf, &mut progress.head)?;
    let body_len = match head.content_length {
        ContentLength::Value(n) => n,
        ContentLength::Absent | ContentLength::Invalid => 0,
    };
    let end = head.body_at + body_len;
    if end > buf.len() {
        if body_len > IMPLAUSIBLE_BODY {
            match body_begins_a_message(buf, &head) {
                // The Content-Length is wrong: the next message follows the header block. Frame
                // this one without a body (incomplete) rather than hold the stream.
                Some(true) => {
                    let at = head.body_at;
                    return Ok((build(buf, head, at, false), at));
                }
                Some(false) => {}
                None => return Err(FrameError::Incomplete), // look again with more bytes
            }
        }
        progress.need = end;
        return Err(FrameError::Incomplete);
    }
    Ok((build(buf, head, end, true), end))
}

/// A body longer than this is unusual enough that a SIP start line right after the header block
/// is taken to mean a wrong Content-Length (a 500-user roster NOTIFY is about 215 KB).
const IMPLAUSIBLE_BODY: usize = 1024 * 1024;

/// Whether the body begins with a complete SIP start line (`None`: its first line has not
/// arrived). A `message/*` body (sipfrag, a whole message) may begin with one by design.
fn body_begins_a_message(buf: &[u8], head: &Head<'_>) -> Option<bool> {
    let (s, e) = head.index[Hdr::ContentType as usize];
    let content_type = buf.get(s as usize..e as usize).unwrap_or_default();
    if content_type
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"message/"))
    {
        return Some(false);
    }
    let body = buf.get(head.body_at..).unwrap_or_default();
    line_end(body)?;
    Some(parse_start_line(body).is_some())
}

/// Number of leading CR / LF bytes (keep-alives and separators between messages).
pub fn leading_line_breaks(buf: &[u8]) -> usize {
    buf.iter()
        .take_while(|&&c| c == b'\r' || c == b'\n')
        .count()
}

/// Parses a CSeq value: `1 INVITE`. Tolerant: the method is whatever token follows the number
/// (mangled bytes included), so that a damaged method still shows; a value without a number
/// does not parse (callers keep the raw text).
pub fn parse_cseq(v: &[u8]) -> Option<(u32, &[u8])> {
    let v = trim(v);
    let digits = v.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 10 {
        return None;
    }
    let num = v.get(..digits)?.iter().try_fold(0u32, |a, &d| {
        a.checked_mul(10)?.checked_add((d - b'0') as u32)
    })?;
    let rest = trim(v.get(digits..)?);
    let end = rest
        .iter()
        .position(|c| c.is_ascii_whitespace())
        .unwrap_or(rest.len());
    let method = rest.get(..end)?;
    (!method.is_empty()).then_some((num, method))
}

/// True if a CSeq value is exactly `<number> <method>` (single space, nothing else), i.e. its
/// text can be rebuilt from the parsed parts.
pub fn cseq_is_canonical(v: &[u8]) -> bool {
    let v = trim(v);
    match parse_cseq(v) {
        Some((n, m)) => {
            let digits = v.iter().take_while(|c| c.is_ascii_digit()).count();
            v.get(digits) == Some(&b' ')
                && v.get(digits + 1..) == Some(m)
                && (digits == 1 || v.first() != Some(&b'0'))
                && n.to_string().len() == digits
        }
        None => false,
    }
}

/// Splits on `sep` outside double quotes and angle brackets.
pub fn split_top_level(v: &[u8], sep: u8) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    let mut pos = 0;
    let mut in_quotes = false;
    let mut in_angle = false;
    let mut escaped = false;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        while let Some(&c) = v.get(pos) {
            pos += 1;
            if in_quotes {
                match c {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => in_quotes = false,
                    _ => {}
                }
                continue;
            }
            match c {
                b'"' => in_quotes = true,
                b'<' => in_angle = true,
                b'>' => in_angle = false,
                _ if c == sep && !in_angle => {
                    let part = v.get(start..pos - 1).unwrap_or_default();
                    start = pos;
                    return Some(part);
                }
                _ => {}
            }
        }
        done = true;
        Some(v.get(start..).unwrap_or_default())
    })
}

/// A parameter of the top Via, read left to right and stopping at `name`: the branch comes
/// before Lync's long quoted `ms-internal-info="…"`, which is then never scanned. `None` when
/// this reading does not apply (a `<`, a quote before the parameters, a backslash or no end in
/// a quoted value): [`via_param_general`] decides then. `Some(None)`: no such parameter.
fn leading_via_param<'a>(via: &'a [u8], name: &[u8]) -> Option<Option<&'a [u8]>> {
    // With a `<` anywhere, what precedes `>` is a URI's (see `header_param`).
    if memchr(b'<', via).is_some() {
        return None;
    }
    // The sent-by part ends at the first `;` (parameters) or `,` (the next Via on the line).
    let mut i = 0;
    loop {
        match via.get(i) {
            None | Some(b',') => return Some(None),
            Some(b';') => break,
            Some(b'"') => return None,
            Some(_) => i += 1,
        }
    }
    loop {
        let start = i + 1;
        let mut j = start;
        loop {
            match via.get(j) {
                None | Some(b';') | Some(b',') => break,
                Some(b'"') => {
                    let quoted = via.get(j + 1..)?;
                    let len = memchr(b'"', quoted)?;
                    if memchr(b'\\', quoted.get(..len)?).is_some() {
                        return None;
                    }
                    j += len + 2;
                }
                Some(_) => j += 1,
            }
        }
        if let Some(v) = via.get(start..j).and_then(|p| param_value(p, name)) {
            return Some(Some(v));
        }
        match via.get(j) {
            Some(b';') => i = j,
            _ => return Some(None),
        }
    }
}

/// A parameter of the top Via, by splitting: the top Via ends at the first comma outside
/// quotes (several Vias may share one line).
fn via_param_general<'a>(via: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let top = if memchr(b'"', via).is_none() {
        via.get(..memchr(b',', via).unwrap_or(via.len()))
            .unwrap_or(via)
    } else {
        split_top_level(via, b',').next().unwrap_or(via)
    };
    header_param(top, name)
}

/// The value of a header parameter (`;name=value`) of a name-addr or Via value: parameters after
/// the closing `>` when there is one, else after the URI. Quotes around the value are removed.
/// A parameter present without a value yields an empty slice.
pub fn header_param<'a>(value: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    // Parameters inside <...> belong to the URI, not the header.
    let params_from = match memchr(b'<', value) {
        Some(lt) => lt + memchr(b'>', value.get(lt..)?)? + 1,
        None => 0,
    };
    let params = value.get(params_from..)?;
    // Quoted parameter values may hold `;`: only then is the careful splitter needed.
    if memchr(b'"', params).is_some() {
        let mut parts = split_top_level(params, b';');
        if params_from == 0 {
            parts.next(); // the URI / sent-by part
        }
        return parts.find_map(|p| param_value(p, name));
    }
    let mut rest = params;
    if params_from == 0 {
        rest = rest.get(memchr(b';', rest)? + 1..)?;
    }
    loop {
        // Parameters are short: plain loops (here and in `param_value`) beat vector searches.
        let end = rest.iter().position(|&c| c == b';').unwrap_or(rest.len());
        if let Some(v) = rest.get(..end).and_then(|p| param_value(p, name)) {
            return Some(v);
        }
        rest = rest.get(end + 1..)?;
    }
}

/// `value` of one `name=value` parameter if its name is `name` (ASCII case ignored).
#[inline]
fn param_value<'a>(p: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let p = trim(p);
    let (n, v) = match p.iter().position(|&c| c == b'=') {
        Some(eq) => (trim(p.get(..eq)?), trim(p.get(eq + 1..)?)),
        None => (p, p.get(p.len()..)?),
    };
    if !n.eq_ignore_ascii_case(name) {
        return None;
    }
    Some(
        v.strip_prefix(b"\"")
            .and_then(|x| x.strip_suffix(b"\""))
            .unwrap_or(v),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &[u8] =
        b"INVITE sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP SIP/2.0\r\n\
Via: SIP/2.0/TLS 192.0.2.22:50622;branch=z9hG4bKb1b2b3b4\r\n\
Max-Forwards: 70\r\n\
From: <sip:bob@example.com>;tag=6f5e4d3c2b;epid=7d6c5b4a39\r\n\
To: <sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP>\r\n\
Call-ID: b7e2d1c0f9a84b3c9d2e1f0a9b8c7d6e\r\n\
CSeq: 1 INVITE\r\n\
Content-Type: application/cccp+xml\r\n\
Content-Length: 5\r\n\
\r\n\
hello";

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
    fn stream_waits_for_body_and_headers() {
        for cut in 0..INVITE.len() {
            match frame_stream(&INVITE[..cut]) {
                Err(FrameError::Incomplete) => {}
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
    }

    #[test]
    fn compact_lf_only_folded_and_space_before_colon() {
        let msg = b"OPTIONS sip:x@y SIP/2.0\nv: SIP/2.0/UDP h;branch=z9hG4bK1\ni: abc@h\nf: <sip:a@h>;tag=1\nt : sip:b@h\nSubject: one\n  two\nCSeq : 7 OPTIONS\nl: 0\n\n";
        let (m, used) = frame_stream(msg).unwrap();
        assert_eq!(used, msg.len());
        assert_eq!(m.call_id(), Some(&b"abc@h"[..]));
        assert_eq!(m.cseq(), Some((7, &b"OPTIONS"[..])));
        assert_eq!(m.from_tag(), Some(&b"1"[..]));
        assert_eq!(m.via_branch(), Some(&b"z9hG4bK1"[..]));
        let subject: Vec<_> = m.headers_named("subject").collect();
        assert_eq!(subject.len(), 1);
        assert_eq!(unfold(subject[0]), "one two");
        assert_eq!(m.headers_named("Call-ID").next(), Some(&b"abc@h"[..]));
    }

    #[test]
    fn any_method_token_and_status_lines() {
        for line in [
            &b"SERVICE sip:a@b SIP/2.0\r\n"[..],
            b"BENOTIFY sip:a@b SIP/2.0\r\n",
            b"options sip:a@b SIP/2.0\r\n",
        ] {
            assert!(matches!(
                parse_start_line(line),
                Some((StartLine::Request { .. }, _))
            ));
        }
        assert!(matches!(
            parse_start_line(b"SIP/2.0 488 Not Acceptable Here\r\n"),
            Some((StartLine::Response { status: 488, .. }, _))
        ));
        assert!(
            parse_start_line(b"INVITE foo@bar SIP/2.0\r\n").is_none(),
            "a URI needs a scheme"
        );
        assert!(parse_start_line(b"GET / HTTP/1.1\r\n").is_none());
        assert!(parse_start_line(b"SIP/2.0 20 OK\r\n").is_none());
        assert!(parse_start_line(b"IN\xffVITE sip:a@b SIP/2.0\r\n").is_none());
    }

    #[test]
    fn datagram_content_length_shorter_and_longer() {
        let short =
            b"MESSAGE sip:a@b SIP/2.0\r\nCall-ID: x\r\nContent-Length: 5\r\n\r\nHelloGARBAGE";
        let (m, used) = frame_datagram(short).unwrap();
        assert_eq!(m.body(), b"Hello");
        assert_eq!(used, short.len() - 7);
        let long = b"MESSAGE sip:a@b SIP/2.0\r\nCall-ID: x\r\nContent-Length: 500\r\n\r\nHello";
        let (m, used) = frame_datagram(long).unwrap();
        assert_eq!(m.body(), b"Hello");
        assert!(!m.body_complete);
        assert_eq!(used, long.len());
        let bad = b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: bad\r\n\r\nbody";
        let (m, _) = frame_datagram(bad).unwrap();
        assert_eq!(m.content_length(), ContentLength::Invalid);
        assert_eq!(m.body(), b"body");
    }

    #[test]
    fn datagram_without_blank_line_is_all_headers() {
        let m = b"REGISTER sip:a@b SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 REGISTER";
        let (msg, used) = frame_datagram(m).unwrap();
        assert_eq!(used, m.len());
        assert_eq!(msg.call_id(), Some(&b"x"[..]));
        assert_eq!(msg.cseq(), Some((1, &b"REGISTER"[..])));
    }

    #[test]
    fn params_quoted_and_inside_brackets() {
        let v = b"\"A;B\" <sip:a@b;tag=no>;epid=\"a:b\";tag=yes";
        assert_eq!(header_param(v, b"tag"), Some(&b"yes"[..]));
        assert_eq!(header_param(v, b"epid"), Some(&b"a:b"[..]));
        let bare = b"sip:a@b;tag=1";
        assert_eq!(header_param(bare, b"tag"), Some(&b"1"[..]));
        let via =
            b"SIP/2.0/UDP h:5060;received=1.2.3.4;branch=z9hG4bKx, SIP/2.0/UDP g;branch=z9hG4bKy";
        assert_eq!(
            header_param(split_top_level(via, b',').next().unwrap(), b"branch"),
            Some(&b"z9hG4bKx"[..])
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
#[cfg(test)]
mod cseq_tests {
    use super::*;

    #[test]
    fn cseq_text_forms() {
        assert!(cseq_is_canonical(b"1 INVITE"));
        assert!(cseq_is_canonical(b" 12 ACK "));
        assert!(!cseq_is_canonical(b"926786296    ACK"));
        assert!(!cseq_is_canonical(b"01 INVITE"));
        assert!(!cseq_is_canonical(b"%s"));
        assert_eq!(parse_cseq(b"1 INV\xffTE"), Some((1, &b"INV\xffTE"[..])));
        assert_eq!(parse_cseq(b"? INVITE"), None);
    }
}

#[cfg(test)]
mod hostile {
    //! The parser on hostile input: never a panic, and what it reports stays inside the input.
    use super::*;
    use proptest::prelude::*;

    const SEED: &[u8] = b"INVITE sip:a@b;opaque=app:conf:focus:id:X SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1, SIP/2.0/UDP g\r\nFrom: \"A;<b>\" <sip:a@b>;tag=\"x;y\"\r\nTo: <sip:b@c>\r\ni: id\r\nCSeq: 1 INVITE\r\nSubject: a\r\n b\r\nContent-Length: 4\r\n\r\nbody";

    fn exercise(buf: &[u8]) {
        for (m, used) in [frame_datagram(buf), frame_stream(buf)]
            .into_iter()
            .flatten()
        {
            {
                assert!(used <= buf.len());
                assert!(m.raw().len() <= buf.len());
                let _ = (
                    m.call_id(),
                    m.cseq(),
                    m.from_tag(),
                    m.to_tag(),
                    m.via_branch(),
                    m.content_type(),
                );
                let _ = m.headers().count();
                let _ = m.headers_named("subject").map(unfold).count();
                assert!(m.body().len() <= m.raw().len());
            }
        }
        let _ = looks_like_start(buf);
        let _ = header_param(buf, b"tag");
        let _ = parse_cseq(buf);
        let _ = cseq_is_canonical(buf);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]
        #[test]
        fn random_bytes(buf in proptest::collection::vec(any::<u8>(), 0..600)) {
            exercise(&buf);
        }

        #[test]
        fn mutated_messages(edits in proptest::collection::vec((0usize..300, any::<u8>()), 1..20), cut in 0usize..400) {
            let mut buf = SEED.to_vec();
            for (at, byte) in edits {
                let at = at % buf.len();
                buf[at] = byte;
            }
            buf.truncate(cut.min(buf.len()));
            exercise(&buf);
        }

        /// The left-to-right reading of the top Via's branch agrees with splitting, whenever it
        /// applies.
        #[test]
        fn via_branch_reading_equals_splitting(
            parts in proptest::collection::vec(prop_oneof![
                Just(";branch=z9hG4bK1".to_string()),
                Just(";BRANCH = \"z9\"".to_string()),
                Just(";ms-internal-info=\"a;b,c\\\"d\"".to_string()),
                Just(";ms-internal-info=\"AbC;,x\"".to_string()),
                Just(",SIP/2.0/TLS h2;branch=z9hG4bK2".to_string()),
                Just(";received=1.2.3.4".to_string()),
                Just("\"".to_string()),
                Just("<sip:x;branch=y>".to_string()),
                Just(";branch".to_string()),
                "[ -~]{0,8}",
            ], 0..8),
        ) {
            let via = format!("SIP/2.0/TLS 192.0.2.1:5061{}", parts.concat());
            let via = via.as_bytes();
            if let Some(fast) = leading_via_param(via, b"branch") {
                prop_assert_eq!(fast, via_param_general(via, b"branch"));
            }
        }

        /// Framing a message that arrives in pieces, resuming each time, gives what framing
        /// the bytes at once gives, at every step (also for mutated, folded, LF-only input).
        #[test]
        fn resumed_framing_equals_framing_at_once(
            edits in proptest::collection::vec((0usize..300, any::<u8>()), 0..6),
            cuts in proptest::collection::vec(0usize..400, 1..8),
            folded in any::<bool>(),
            lf_only in any::<bool>(),
        ) {
            let mut buf = SEED.to_vec();
            if folded {
                buf = String::from_utf8_lossy(&buf).replacen("\r\nCSeq:", "\r\n  \r\nCSeq:", 1).into_bytes();
            }
            if lf_only {
                buf.retain(|&c| c != b'\r');
            }
            for (at, byte) in edits {
                let at = at % buf.len();
                buf[at] = byte;
            }
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (buf.len() + 1)).collect();
            cuts.sort_unstable();
            cuts.push(buf.len());
            let mut progress = StreamProgress::default();
            for cut in cuts {
                let part = &buf[..cut];
                let resumed = frame_stream_resume(part, &mut progress).map(|(m, u)| (format!("{m:?}"), u));
                let at_once = frame_stream(part).map(|(m, u)| (format!("{m:?}"), u));
                prop_assert_eq!(&resumed, &at_once);
                if resumed.is_ok() {
                    break;
                }
            }
        }
    }

    #[test]
    fn resumed_framing_skips_indexed_lines() {
        let cut = SEED.len() / 2;
        let mut progress = StreamProgress::default();
        assert_eq!(
            frame_stream_resume(&SEED[..cut], &mut progress).err(),
            Some(FrameError::Incomplete)
        );
        assert!(progress.head.pos > 0, "indexed lines are remembered");
        let (m, used) = frame_stream_resume(SEED, &mut progress).unwrap();
        assert_eq!(used, SEED.len());
        assert_eq!(m.call_id(), frame_stream(SEED).unwrap().0.call_id());
        // With the header block complete and the body not, the message's length is known.
        let body_at = SEED.len() - frame_stream(SEED).unwrap().0.body().len();
        let mut progress = StreamProgress::default();
        let _ = frame_stream_resume(&SEED[..body_at + 1], &mut progress);
        assert_eq!(progress.need(), SEED.len());
    }
}
