//! Turn the SIP text a log holds into a SIP message a parser frames exactly: CRLF line endings,
//! nothing before the start line, header names as written, the body kept, `Content-Length`
//! equal to the body present.
//!
//! Logs change line endings (sipe turns CRLF into LF; a text tool may turn LF into CRLF) and add
//! a line break before their end marker, so the body the log shows may differ from the body that
//! was sent by exactly those changes. The logged `Content-Length` tells which one was sent: the
//! candidates below are tried in order and the first whose length matches wins; only when none
//! matches is the header rewritten (and flagged).

use crate::bytes::{at, from, key_value, line_end, parse_dec, strip_cr, sub, trim};
use crate::Transport;

/// Where the normalised bytes are.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Out {
    /// `region[start..end]` is already the message.
    Slice(usize, usize),
    /// A rebuilt message.
    Owned(Vec<u8>),
}

/// Result of [`normalize`].
#[derive(Debug)]
pub(crate) struct Normalized {
    pub out: Out,
    pub logged_cl: Option<u64>,
    pub cl_fixed: bool,
    pub transport: Option<Transport>,
}

/// How to turn the logged body into the sent body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Body {
    /// The first `n` bytes as logged.
    Raw(usize),
    /// Every bare LF made CRLF; `strip` drops the final line break.
    ToCrlf { strip: bool },
    /// Every CRLF made LF; `strip` drops the final line break.
    ToLf { strip: bool },
}

/// `INVITE sip:x SIP/2.0` or `SIP/2.0 200 OK`.
pub(crate) fn is_start_line(line: &[u8]) -> bool {
    let line = strip_cr(line);
    if let Some(rest) = line.strip_prefix(b"SIP/2.0 ") {
        return rest.len() >= 3 && sub(rest, 0, 3).iter().all(u8::is_ascii_digit);
    }
    let Some(sp) = memchr::memchr(b' ', line) else {
        return false;
    };
    let method = sub(line, 0, sp);
    !method.is_empty()
        && method.iter().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
                )
        })
        && line.len() > sp + 9
        && line.ends_with(b" SIP/2.0")
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|c| matches!(c, b' ' | b'\t' | b'\r'))
}

fn header_is(name: &[u8], long: &[u8], compact: u8) -> bool {
    let name = trim(name);
    name.eq_ignore_ascii_case(long)
        || (name.len() == 1 && at(name, 0).eq_ignore_ascii_case(&compact))
}

fn via_transport(value: &[u8]) -> Option<Transport> {
    let v = trim(value);
    let proto = v.get(..8)?;
    if !proto.eq_ignore_ascii_case(b"SIP/2.0/") {
        return None;
    }
    let rest = from(v, 8);
    let end = rest
        .iter()
        .position(|c| matches!(c, b' ' | b'\t'))
        .unwrap_or(rest.len());
    let t = sub(rest, 0, end);
    if t.eq_ignore_ascii_case(b"TLS") {
        Some(Transport::Tls)
    } else if t.eq_ignore_ascii_case(b"TCP") {
        Some(Transport::Tcp)
    } else if t.eq_ignore_ascii_case(b"UDP") {
        Some(Transport::Udp)
    } else {
        None
    }
}

/// The Content-Length header line found: offsets of its value inside the region.
#[derive(Clone, Copy)]
struct ClPos {
    value_start: usize,
    value_end: usize,
}

/// Normalise the SIP text `region` (the start line first, possibly after blank lines).
/// `None` when the first non-blank line is not a SIP start line.
pub(crate) fn normalize(region: &[u8]) -> Option<Normalized> {
    // Leading blank lines are the log's, not the message's.
    let mut start = 0;
    loop {
        let (end, next) = line_end(region, start);
        if start >= region.len() {
            return None;
        }
        if is_blank(sub(region, start, end)) {
            start = next;
            continue;
        }
        if !is_start_line(sub(region, start, end)) {
            return None;
        }
        break;
    }

    let mut canonical = true;
    let mut cl: Option<ClPos> = None;
    let mut logged_cl = None;
    let mut transport = None;
    let mut pos = start;
    let mut first = true;
    // Set to the start of the body when the blank line after the headers is found.
    let mut body_start = None;
    while pos < region.len() {
        let (end, next) = line_end(region, pos);
        let raw = sub(region, pos, end);
        let line = strip_cr(raw);
        // A header line is canonical when it ends in exactly CRLF.
        if next == end || raw.len() == line.len() {
            canonical = false;
        }
        if !first && line.is_empty() {
            body_start = Some(next);
            break;
        }
        if !first {
            if let Some((name, value)) = key_value(line) {
                if cl.is_none() && header_is(name, b"content-length", b'l') {
                    let colon = memchr::memchr(b':', line).unwrap_or(0);
                    let after = from(line, colon + 1);
                    let lead = after.len() - after.trim_ascii_start().len();
                    let vs = pos + colon + 1 + lead;
                    let ve = vs + trim(value).len();
                    cl = Some(ClPos {
                        value_start: vs,
                        value_end: ve,
                    });
                    logged_cl = parse_dec(value);
                } else if transport.is_none() && header_is(name, b"via", b'v') {
                    transport = via_transport(value);
                }
            }
        }
        first = false;
        pos = next;
    }
    let (hdr_end, body_raw) = match body_start {
        Some(b) => (b, from(region, b)),
        None => {
            canonical = false;
            (region.len(), &[][..])
        }
    };

    let (body, body_len) = choose_body(body_raw, logged_cl);
    let cl_fixed = logged_cl != Some(body_len as u64) && !(cl.is_none() && body_len == 0);

    if canonical && !cl_fixed {
        if let Body::Raw(n) = body {
            return Some(Normalized {
                out: Out::Slice(start, hdr_end + n),
                logged_cl,
                cl_fixed,
                transport,
            });
        }
    }

    let mut out = Vec::with_capacity(region.len() + 24);
    let mut pos = start;
    let header_stop = body_start.map_or(region.len(), |b| b.saturating_sub(1));
    while pos < header_stop {
        let (end, next) = line_end(region, pos);
        let line = strip_cr(sub(region, pos, end.min(header_stop)));
        if line.is_empty() && pos != start {
            break;
        }
        match cl {
            Some(c) if cl_fixed && c.value_start >= pos && c.value_end <= end => {
                out.extend_from_slice(sub(region, pos, c.value_start));
                out.extend_from_slice(body_len.to_string().as_bytes());
                out.extend_from_slice(strip_cr(sub(region, c.value_end, end)));
            }
            _ => out.extend_from_slice(line),
        }
        out.extend_from_slice(b"\r\n");
        pos = next;
    }
    if cl.is_none() && body_len > 0 {
        out.extend_from_slice(b"Content-Length: ");
        out.extend_from_slice(body_len.to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    write_body(&mut out, body_raw, body);
    Some(Normalized {
        out: Out::Owned(out),
        logged_cl,
        cl_fixed,
        transport,
    })
}

/// Length of the final line break of `b` (0, 1 or 2).
fn final_break(b: &[u8]) -> usize {
    if b.ends_with(b"\r\n") {
        2
    } else if b.ends_with(b"\n") {
        1
    } else {
        0
    }
}

fn choose_body(raw: &[u8], declared: Option<u64>) -> (Body, usize) {
    let a = raw.len();
    let fb = final_break(raw);
    let mut bare_lf = 0usize;
    let mut crlf = 0usize;
    for i in memchr::memchr_iter(b'\n', raw) {
        if i > 0 && at(raw, i - 1) == b'\r' {
            crlf += 1;
        } else {
            bare_lf += 1;
        }
    }
    let to_crlf = a + bare_lf;
    let to_lf = a - crlf;
    let candidates = [
        (Body::Raw(a), a),
        (Body::Raw(a - fb), a - fb),
        (Body::ToCrlf { strip: false }, to_crlf),
        (
            Body::ToCrlf { strip: true },
            if fb > 0 { to_crlf - 2 } else { to_crlf },
        ),
        (Body::ToLf { strip: false }, to_lf),
        (
            Body::ToLf { strip: true },
            if fb > 0 { to_lf - 1 } else { to_lf },
        ),
    ];
    if let Some(d) = declared {
        if let Some(c) = candidates.iter().find(|(_, n)| *n as u64 == d) {
            return *c;
        }
    }
    if is_blank_body(raw) {
        // Only the log's own line break(s): the message had no body.
        return (Body::Raw(0), 0);
    }
    // No length to go by: keep everything present, with the line endings SIP uses.
    (Body::ToCrlf { strip: false }, to_crlf)
}

fn is_blank_body(raw: &[u8]) -> bool {
    raw.iter().all(|c| matches!(c, b'\r' | b'\n'))
}

fn write_body(out: &mut Vec<u8>, raw: &[u8], body: Body) {
    match body {
        Body::Raw(n) => out.extend_from_slice(sub(raw, 0, n)),
        Body::ToCrlf { strip } => {
            let src = if strip {
                sub(raw, 0, raw.len() - final_break(raw))
            } else {
                raw
            };
            let mut last = 0;
            for i in memchr::memchr_iter(b'\n', src) {
                let seg = sub(src, last, i);
                out.extend_from_slice(seg);
                if !seg.ends_with(b"\r") {
                    out.push(b'\r');
                }
                out.push(b'\n');
                last = i + 1;
            }
            out.extend_from_slice(from(src, last));
        }
        Body::ToLf { strip } => {
            let src = if strip {
                sub(raw, 0, raw.len() - final_break(raw))
            } else {
                raw
            };
            let mut last = 0;
            for i in memchr::memchr_iter(b'\n', src) {
                out.extend_from_slice(strip_cr(sub(src, last, i)));
                out.push(b'\n');
                last = i + 1;
            }
            out.extend_from_slice(from(src, last));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(region: &[u8]) -> (Vec<u8>, Normalized) {
        let n = normalize(region).expect("sip");
        let bytes = match &n.out {
            Out::Slice(a, b) => region[*a..*b].to_vec(),
            Out::Owned(v) => v.clone(),
        };
        (bytes, n)
    }

    #[test]
    fn canonical_message_is_borrowed() {
        let m = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TLS 10.0.0.1:5061\r\nContent-Length: 0\r\n\r\n";
        let n = normalize(m).unwrap();
        assert_eq!(n.out, Out::Slice(0, m.len()));
        assert_eq!(n.transport, Some(Transport::Tls));
        assert!(!n.cl_fixed);
        // The log's line break after the message is not part of it.
        let mut logged = m.to_vec();
        logged.extend_from_slice(b"\r\n");
        assert_eq!(normalize(&logged).unwrap().out, Out::Slice(0, m.len()));
    }

    #[test]
    fn lf_log_restores_crlf_body_by_content_length() {
        let sent = b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 10\r\n\r\nab\r\ncd\r\nef";
        let logged = b"\nMESSAGE sip:a@b SIP/2.0\nContent-Length: 10\n\nab\ncd\nef";
        let (bytes, n) = norm(logged);
        assert_eq!(bytes, sent);
        assert!(!n.cl_fixed);
        assert_eq!(n.logged_cl, Some(10));
    }

    #[test]
    fn mismatch_is_rewritten_and_flagged() {
        let logged = b"INVITE sip:a@b SIP/2.0\r\nCONTENT-LENGTH:  99 \r\n\r\nv=0\r\n";
        let (bytes, n) = norm(logged);
        assert_eq!(
            bytes,
            b"INVITE sip:a@b SIP/2.0\r\nCONTENT-LENGTH:  5 \r\n\r\nv=0\r\n"
        );
        assert!(n.cl_fixed);
        assert_eq!(n.logged_cl, Some(99));
    }

    #[test]
    fn missing_length_added_for_a_body() {
        let (bytes, n) = norm(b"MESSAGE sip:a@b SIP/2.0\r\nl: x\r\n\r\nhi");
        assert_eq!(bytes, b"MESSAGE sip:a@b SIP/2.0\r\nl: 2\r\n\r\nhi");
        assert!(n.cl_fixed);
        let (bytes, n) = norm(b"MESSAGE sip:a@b SIP/2.0\r\nTo: x\r\n\r\nhi");
        assert_eq!(
            bytes,
            b"MESSAGE sip:a@b SIP/2.0\r\nTo: x\r\nContent-Length: 2\r\n\r\nhi"
        );
        assert!(n.cl_fixed);
        let (bytes, n) = norm(b"ACK sip:a@b SIP/2.0\nTo: x");
        assert_eq!(bytes, b"ACK sip:a@b SIP/2.0\r\nTo: x\r\n\r\n");
        assert!(!n.cl_fixed);
    }

    #[test]
    fn not_sip() {
        assert!(normalize(b"GET / HTTP/1.1\r\n\r\n").is_none());
        assert!(normalize(b"\r\n\r\n").is_none());
        assert!(normalize(b"").is_none());
        assert!(is_start_line(b"SIP/2.0 504 Server time-out"));
        assert!(is_start_line(b"BENOTIFY sip:x SIP/2.0\r"));
        assert!(!is_start_line(b"SIP/2.0 5"));
        assert!(!is_start_line(b"hello world SIP/2.0x"));
    }

    #[test]
    fn crlf_log_of_lf_body() {
        // A body sent with LF only, logged by a tool that wrote CRLF.
        let logged = b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 6\r\n\r\na\r\nb\r\nc\r\n";
        let (bytes, n) = norm(logged);
        assert_eq!(
            bytes,
            b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 6\r\n\r\na\nb\nc\n"
        );
        assert!(!n.cl_fixed);
    }
}
