//! `multipart/*` bodies (RFC 2046), zero-copy.
//!
//! Lync 2010/2013 clients offer the A/V MCU a `multipart/alternative` with two SDPs: first an
//! ICE draft-6 one marked `Content-Disposition: …; ms-proxy-2007fallback` for OCS 2007 peers,
//! then the ICE RFC 5245 one (protocol brief §4.3). [`select_sdp`] picks the part a Lync server
//! would use, which is the one the join analysis must inspect.
//!
//! The splitter is tolerant the way captures require: LF-only line ends, a preamble and an
//! epilogue, transport padding after a delimiter, and a missing closing delimiter (the parts
//! found so far are returned). Parts borrow from the body; at most [`MAX_PARTS`] are returned.

use memchr::memmem;

use super::{media_type, BodyError};

/// Most parts returned.
pub const MAX_PARTS: usize = 64;
/// Most header lines kept per part.
const MAX_PART_HEADERS: usize = 32;

/// One body part: its headers and its content, both borrowed from the multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    /// Header `(name, value)` pairs in order, trimmed; lines that are not UTF-8 `name: value`
    /// are skipped. A folded value spans its continuation lines.
    pub headers: Vec<(&'a str, &'a str)>,
    /// The content, without the line break that precedes the next delimiter.
    pub body: &'a [u8],
}

impl<'a> Part<'a> {
    /// The first header with this name (ASCII case ignored).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// `Content-Type`; RFC 2046 says a part without one is `text/plain`, but callers usually
    /// want to know it was absent, so this does not default.
    pub fn content_type(&self) -> Option<&'a str> {
        self.header("Content-Type")
    }

    /// `Content-Disposition`.
    pub fn content_disposition(&self) -> Option<&'a str> {
        self.header("Content-Disposition")
    }

    /// `Content-ID`.
    pub fn content_id(&self) -> Option<&'a str> {
        self.header("Content-ID")
    }

    /// True when the Content-Type is `application/sdp` (parameters and case ignored).
    pub fn is_sdp(&self) -> bool {
        self.content_type()
            .is_some_and(|ct| media_type(ct).eq_ignore_ascii_case("application/sdp"))
    }

    /// True when Content-Disposition carries the `ms-proxy-2007fallback` parameter: the SDP
    /// meant only for OCS 2007 peers.
    pub fn is_2007_fallback(&self) -> bool {
        self.content_disposition().is_some_and(|d| {
            d.split(';').any(|p| {
                p.split('=')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("ms-proxy-2007fallback")
            })
        })
    }
}

/// The `boundary` parameter of a Content-Type value, quoted or not.
pub fn boundary(content_type: &str) -> Option<&str> {
    let params = content_type.split_once(';')?.1;
    let mut rest = params;
    loop {
        rest = rest.trim_start_matches([';', ' ', '\t', '\r', '\n']);
        if rest.is_empty() {
            return None;
        }
        let eq = rest.find(['=', ';']).unwrap_or(rest.len());
        let name = rest.get(..eq)?.trim();
        let after = rest.get(eq..)?;
        let (value, next) = if let Some(v) = after.strip_prefix('=') {
            let v = v.trim_start();
            if let Some(q) = v.strip_prefix('"') {
                let end = q.find('"').unwrap_or(q.len());
                (q.get(..end)?, q.get(end + 1..).unwrap_or(""))
            } else {
                let end = v.find(';').unwrap_or(v.len());
                (v.get(..end)?.trim(), v.get(end..).unwrap_or(""))
            }
        } else {
            ("", after)
        };
        if name.eq_ignore_ascii_case("boundary") {
            return (!value.is_empty()).then_some(value);
        }
        rest = next;
    }
}

/// Splits a multipart body using the boundary of `content_type_header_value`.
pub fn parse<'a>(
    body: &'a [u8],
    content_type_header_value: &str,
) -> Result<Vec<Part<'a>>, BodyError> {
    let boundary = boundary(content_type_header_value).ok_or(BodyError::NoBoundary)?;
    let mut delimiter = Vec::with_capacity(boundary.len() + 2);
    delimiter.extend_from_slice(b"--");
    delimiter.extend_from_slice(boundary.as_bytes());
    let finder = memmem::Finder::new(&delimiter);

    let mut parts = Vec::new();
    // Start of the current part's content, once the first delimiter was seen.
    let mut part_start: Option<usize> = None;
    let mut search_from = 0;
    while let Some(found) = body.get(search_from..).and_then(|rest| finder.find(rest)) {
        let at = search_from + found;
        let after = at + delimiter.len();
        search_from = after;
        // A delimiter only counts at the start of a line.
        if at > 0 && body.get(at - 1) != Some(&b'\n') {
            continue;
        }
        let closing = body.get(after..after + 2) == Some(b"--");
        if let Some(start) = part_start.take() {
            if parts.len() < MAX_PARTS {
                let end = strip_line_break(body, start, at);
                parts.push(split_part(body.get(start..end).unwrap_or_default()));
            }
        }
        if closing {
            return finish(parts);
        }
        // Skip transport padding to the end of the delimiter line.
        let line_end = memchr::memchr(b'\n', body.get(after..).unwrap_or_default())
            .map_or(body.len(), |i| after + i + 1);
        part_start = Some(line_end);
        search_from = line_end;
    }
    // No closing delimiter: the capture was cut or the sender sloppy; keep what is there.
    if let Some(start) = part_start {
        if parts.len() < MAX_PARTS && start < body.len() {
            parts.push(split_part(body.get(start..).unwrap_or_default()));
        }
    }
    finish(parts)
}

fn finish(parts: Vec<Part<'_>>) -> Result<Vec<Part<'_>>, BodyError> {
    if parts.is_empty() {
        Err(BodyError::NoParts)
    } else {
        Ok(parts)
    }
}

/// End of a part's content: the line break before the delimiter at `at` belongs to the
/// delimiter (RFC 2046).
fn strip_line_break(body: &[u8], start: usize, at: usize) -> usize {
    let mut end = at;
    if end > start && body.get(end - 1) == Some(&b'\n') {
        end -= 1;
        if end > start && body.get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
    }
    end
}

/// Splits a part into headers and content at the first empty line. A part that starts with an
/// empty line has no headers; one without an empty line is all content.
fn split_part(part: &[u8]) -> Part<'_> {
    let (head, body) = match find_blank_line(part) {
        Some((head_end, body_start)) => (
            part.get(..head_end).unwrap_or_default(),
            part.get(body_start..).unwrap_or_default(),
        ),
        None => (&[][..], part),
    };
    Part {
        headers: parse_headers(head),
        body,
    }
}

/// `(end of headers, start of content)` around the first empty line (CRLF or LF).
fn find_blank_line(part: &[u8]) -> Option<(usize, usize)> {
    // The part begins with the empty line: no headers.
    if part.starts_with(b"\r\n") {
        return Some((0, 2));
    }
    if part.starts_with(b"\n") {
        return Some((0, 1));
    }
    let mut from = 0;
    while let Some(i) = part.get(from..).and_then(|p| memchr::memchr(b'\n', p)) {
        let nl = from + i;
        let next = part.get(nl + 1..).unwrap_or_default();
        if next.starts_with(b"\r\n") {
            return Some((nl + 1, nl + 3));
        }
        if next.starts_with(b"\n") {
            return Some((nl + 1, nl + 2));
        }
        from = nl + 1;
    }
    None
}

fn parse_headers(head: &[u8]) -> Vec<(&str, &str)> {
    let Ok(text) = std::str::from_utf8(head) else {
        // Fall back line by line so one bad byte costs one header.
        return head
            .split(|b| *b == b'\n')
            .filter_map(|l| std::str::from_utf8(l).ok())
            .filter_map(header_line)
            .take(MAX_PART_HEADERS)
            .collect();
    };
    let mut headers: Vec<(&str, &str)> = Vec::new();
    // Byte offsets of the current header's value within `text`, to extend over folded lines.
    let mut value_span: Option<(usize, usize)> = None;
    let mut offset = 0;
    for raw in text.split_inclusive('\n') {
        let line_start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\r', '\n']);
        if line.starts_with([' ', '\t']) {
            if let (Some((start, _)), Some(last)) = (value_span, headers.last_mut()) {
                let end = line_start + line.len();
                value_span = Some((start, end));
                if let Some(v) = text.get(start..end) {
                    last.1 = v.trim();
                }
            }
            continue;
        }
        value_span = None;
        if headers.len() >= MAX_PART_HEADERS {
            continue;
        }
        if let Some((name, value)) = header_line(line) {
            // The value's offset in `text`, for folding.
            let start = line_start + line.find(':').map_or(0, |c| c + 1);
            value_span = Some((start, line_start + line.len()));
            headers.push((name, value));
        }
    }
    headers
}

fn header_line(line: &str) -> Option<(&str, &str)> {
    let line = line.trim_end_matches('\r');
    let (name, value) = line.split_once(':')?;
    let name = name.trim();
    (!name.is_empty() && !name.contains(char::is_whitespace)).then(|| (name, value.trim()))
}

/// The SDP part to dissect: the first `application/sdp` part without `ms-proxy-2007fallback`,
/// else the first `application/sdp` part.
pub fn select_sdp<'p, 'a>(parts: &'p [Part<'a>]) -> Option<&'p Part<'a>> {
    parts
        .iter()
        .find(|p| p.is_sdp() && !p.is_2007_fallback())
        .or_else(|| parts.iter().find(|p| p.is_sdp()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::sip::body::sdp::{self, IceFlavour};

    const V1_CT: &str =
        "multipart/alternative;boundary=\"----=_NextPart_000_0042_01D9A1B2.3C4D5E60\"";

    /// Body of docs/protocol.md §8 V1, with CRLF line ends as on the wire.
    pub(crate) const V1_BODY: &str = "------=_NextPart_000_0042_01D9A1B2.3C4D5E60\r
Content-Type: application/sdp\r
Content-Transfer-Encoding: 7bit\r
Content-Disposition: session; handling=optional; ms-proxy-2007fallback\r
\r
v=0\r
o=- 0 0 IN IP4 192.0.2.22\r
s=session\r
c=IN IP4 192.0.2.22\r
b=CT:99980\r
t=0 0\r
m=audio 50020 RTP/AVP 117 104 114 9 0 8 101 13\r
a=candidate:VGhpc0lzQW5JY2V2NlVzZXJuYW1lRXhhbXBsZQ 1 YWJjZGVmZ2hpamtsbW5vcA UDP 0.830 192.0.2.22 50020\r
a=candidate:VGhpc0lzQW5JY2V2NlVzZXJuYW1lRXhhbXBsZQ 2 YWJjZGVmZ2hpamtsbW5vcA UDP 0.830 192.0.2.22 50021\r
a=cryptoscale:1 client AES_CM_128_HMAC_SHA1_80 inline:kO4d3/abseTSPSUPfWatrbU7otWVL6j6/tQOl8X2|2^31|1:1\r
a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:dmwVOiRw97jM9AdlX727JSjfijRUJmHZ+Dq1ei78|2^31|1:1\r
a=rtpmap:117 G722/8000/2\r
a=rtpmap:0 PCMU/8000\r
a=rtpmap:101 telephone-event/8000\r
a=ptime:20\r
\r
------=_NextPart_000_0042_01D9A1B2.3C4D5E60\r
Content-Type: application/sdp\r
Content-Transfer-Encoding: 7bit\r
Content-Disposition: session; handling=optional\r
\r
v=0\r
o=- 0 1 IN IP4 192.0.2.22\r
s=session\r
c=IN IP4 192.0.2.22\r
b=CT:99980\r
t=0 0\r
m=audio 50020 RTP/AVP 117 104 114 9 0 8 101 13\r
a=ice-ufrag:Qz7p\r
a=ice-pwd:k3v9X2bLw8rT5yNq1mE6sA0d\r
a=candidate:1 1 UDP 2130706431 192.0.2.22 50020 typ host\r
a=candidate:1 2 UDP 2130705918 192.0.2.22 50021 typ host\r
a=cryptoscale:1 client AES_CM_128_HMAC_SHA1_80 inline:kO4d3/abseTSPSUPfWatrbU7otWVL6j6/tQOl8X2|2^31|1:1\r
a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:dmwVOiRw97jM9AdlX727JSjfijRUJmHZ+Dq1ei78|2^31|1:1\r
a=rtpmap:117 G722/8000/2\r
a=rtpmap:0 PCMU/8000\r
a=rtpmap:101 telephone-event/8000\r
a=ptime:20\r
\r
------=_NextPart_000_0042_01D9A1B2.3C4D5E60--\r
";

    #[test]
    fn v1_two_sdp_alternatives() {
        let parts = parse(V1_BODY.as_bytes(), V1_CT).unwrap();
        assert_eq!(parts.len(), 2);
        assert!(parts[0].is_2007_fallback());
        assert!(!parts[1].is_2007_fallback());
        assert_eq!(parts[0].header("content-transfer-encoding"), Some("7bit"));
        assert!(parts[0].body.starts_with(b"v=0\r\n"));
        // The blank line before the delimiter is content; only the final CRLF belongs to it.
        assert!(parts[0].body.ends_with(b"a=ptime:20\r\n"));

        // §8.x: the dissector should choose part 2 (ICE RFC 5245).
        let chosen = select_sdp(&parts).unwrap();
        assert_eq!(chosen, &parts[1]);
        let offer = sdp::parse(chosen.body).unwrap();
        assert_eq!(offer.ice_flavour(), IceFlavour::Rfc5245);
        let fallback = sdp::parse(parts[0].body).unwrap();
        assert_eq!(fallback.ice_flavour(), IceFlavour::Draft6);
    }

    #[test]
    fn lf_only_preamble_epilogue_padding_and_unquoted_boundary() {
        let body = b"This is a preamble\n--xyz  \nContent-Type: text/plain\nContent-ID: <a@b>\n\nhello\n--xyz\n\nno headers here\n--xyz--  \nepilogue --xyz\n";
        let parts = parse(body, "multipart/mixed; charset=x; BOUNDARY=xyz").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].content_id(), Some("<a@b>"));
        assert_eq!(parts[0].body, b"hello");
        assert!(parts[1].headers.is_empty());
        assert_eq!(parts[1].body, b"no headers here");
        assert_eq!(select_sdp(&parts), None);
    }

    #[test]
    fn missing_closing_delimiter_keeps_parts() {
        let cut = &V1_BODY.as_bytes()[..V1_BODY.len() - 60];
        let parts = parse(cut, V1_CT).unwrap();
        assert_eq!(parts.len(), 2);
        assert!(parts[1].body.starts_with(b"v=0"));
        // Cut right after a delimiter line: the empty trailing part is not invented.
        let parts = parse(
            b"--b\r\nContent-Type: a/b\r\n\r\nx\r\n--b\r\n",
            "multipart/x;boundary=b",
        )
        .unwrap();
        assert_eq!(parts.len(), 1);
    }

    #[test]
    fn delimiter_must_start_a_line_and_folded_headers() {
        let body = b"--b\nContent-Disposition: session;\n handling=optional;\n\tms-proxy-2007fallback\nContent-Type: application/SDP\n\nx=--b inside\n--b--";
        let parts = parse(body, "multipart/alternative; boundary=\"b\"").unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].body, b"x=--b inside");
        assert!(parts[0].is_sdp());
        assert!(parts[0].is_2007_fallback());
        assert_eq!(
            parts[0].content_disposition(),
            Some("session;\n handling=optional;\n\tms-proxy-2007fallback")
        );
        // Only a fallback SDP: it is still better than nothing.
        assert_eq!(select_sdp(&parts), Some(&parts[0]));
    }

    #[test]
    fn boundary_parameter_forms() {
        assert_eq!(boundary("multipart/alternative;boundary=abc"), Some("abc"));
        assert_eq!(
            boundary("multipart/alternative; boundary = abc ; x=y"),
            Some("abc")
        );
        assert_eq!(
            boundary("multipart/alternative; x=\"a;boundary=no\"; boundary=\"q;q\""),
            Some("q;q")
        );
        assert_eq!(
            boundary("multipart/alternative; flag; boundary=z"),
            Some("z")
        );
        assert_eq!(boundary("multipart/alternative"), None);
        assert_eq!(boundary("multipart/alternative; boundary="), None);
        assert_eq!(
            boundary("multipart/alternative; boundary=\"unterminated"),
            Some("unterminated")
        );
    }

    #[test]
    fn hostile_inputs() {
        assert_eq!(
            parse(b"anything", "multipart/mixed"),
            Err(BodyError::NoBoundary)
        );
        assert_eq!(
            parse(b"", "multipart/mixed;boundary=b"),
            Err(BodyError::NoParts)
        );
        assert_eq!(
            parse(b"no delimiter", "multipart/mixed;boundary=b"),
            Err(BodyError::NoParts)
        );
        assert_eq!(
            parse(b"--b--", "multipart/mixed;boundary=b"),
            Err(BodyError::NoParts)
        );
        assert_eq!(
            parse(b"--b", "multipart/mixed;boundary=b"),
            Err(BodyError::NoParts)
        );
        let many = "--b\n\nx\n".repeat(1000);
        let parts = parse(many.as_bytes(), "multipart/mixed;boundary=b").unwrap();
        assert_eq!(parts.len(), MAX_PARTS);
        let bad = b"--b\nContent-Type: application/sdp\nX-Bad: \xff\xfe\n\nbody\n--b--";
        let parts = parse(bad, "multipart/mixed;boundary=b").unwrap();
        assert!(parts[0].is_sdp());
        assert_eq!(parts[0].headers.len(), 1);
    }
}
