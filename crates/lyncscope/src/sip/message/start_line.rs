//! The start line: a request line or a status line, and the heuristic that tells SIP from
//! other text protocols.

use memchr::memchr;

use super::text::{line_end, trim, trim_end};

/// The first line of a SIP message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartLine<'a> {
    /// A request line: `method SP Request-URI SP SIP/2.0`.
    Request {
        /// The method token as written (any case, any token: `INVITE`, `SERVICE`, …).
        method: &'a [u8],
        /// The Request-URI, trimmed.
        uri: &'a [u8],
    },
    /// A status line: `SIP/2.0 SP status SP reason`.
    Response {
        /// The status code, 100–699.
        status: u16,
        /// The reason phrase, trimmed; may be empty.
        reason: &'a [u8],
    },
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
pub(crate) fn parse_start_line(buf: &[u8]) -> Option<(StartLine<'_>, usize)> {
    // The start line may also end with a bare CR (as tshark accepts); header lines end at LF.
    let (end, after) = line_end(buf)?;
    parse_start_line_text(buf.get(..end)?).map(|s| (s, after))
}

/// True if `buf` starts like a SIP message (used to resynchronise streams), even when the
/// line end has not arrived yet. Once the first line is complete, only a line that parses as a
/// start line counts: a line that merely begins like one (`SIP/2.0 99999999 OK`) is not waited
/// on, so it cannot hold the stream.
pub(crate) fn looks_like_start(buf: &[u8]) -> bool {
    match line_end(buf) {
        Some((end, _)) => buf
            .get(..end)
            .is_some_and(|l| parse_start_line_text(l).is_some()),
        None if buf.len() > MAX_START_LINE_WAIT => false,
        // An unfinished line: plausible while it can still become a start line.
        None => {
            let line = buf.strip_suffix(b"\r").unwrap_or(buf);
            if line.iter().any(|&c| (c < 0x20 && c != b'\t') || c == 0x7f) {
                return false;
            }
            if line
                .get(..8)
                .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/2.0 "))
            {
                return could_become_status(line.get(8..).unwrap_or_default());
            }
            // A prefix of "SIP/2.0 " (zip stops at the shorter of the two).
            if line
                .iter()
                .zip(b"SIP/2.0 ")
                .all(|(a, b)| a.eq_ignore_ascii_case(b))
            {
                return true;
            }
            let tok = line.iter().take_while(|&&c| is_token_char(c)).count();
            matches!(line.get(tok), None | Some(b' '))
        }
    }
}

/// An unfinished start line longer than this is not waited on (real ones are under 300 bytes;
/// a Request-URI may be long, but not this long).
const MAX_START_LINE_WAIT: usize = 2048;

/// Whether what follows `SIP/2.0 ` in an unfinished line can still become `3DIGIT [SP reason]`.
fn could_become_status(rest: &[u8]) -> bool {
    let digits = rest
        .iter()
        .take(3)
        .take_while(|c| c.is_ascii_digit())
        .count();
    match rest.get(digits) {
        None => true,
        Some(b' ' | b'\t') => digits == 3,
        Some(_) => false,
    }
}

/// True if the complete first line of `buf` was meant as a start line but is not a valid one:
/// it begins with `SIP/2.0 ` (a status line with a bad code) or ends with ` SIP/2.0` (a request
/// line with a bad method or URI). A stream counts such a message as malformed, not as noise.
pub(crate) fn bad_start_line(buf: &[u8]) -> bool {
    let Some((end, _)) = line_end(buf) else {
        return false;
    };
    let line = buf.get(..end).unwrap_or_default();
    if parse_start_line_text(line).is_some() {
        return false;
    }
    let line = trim_end(line);
    let starts = line
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/2.0 "));
    let ends = line
        .len()
        .checked_sub(8)
        .and_then(|at| line.get(at..))
        .is_some_and(|s| s.eq_ignore_ascii_case(b" SIP/2.0"));
    starts || ends
}

/// Methods a request line may be trusted with where the stream's message boundary is not known
/// (after a hole, at a capture's first segment): RFC 3261 and its extensions, and the Microsoft
/// ones Lync uses.
const KNOWN_METHODS: [&[u8]; 17] = [
    b"INVITE",
    b"ACK",
    b"BYE",
    b"CANCEL",
    b"REGISTER",
    b"OPTIONS",
    b"PRACK",
    b"SUBSCRIBE",
    b"NOTIFY",
    b"PUBLISH",
    b"INFO",
    b"REFER",
    b"MESSAGE",
    b"UPDATE",
    b"SERVICE",
    b"BENOTIFY",
    b"NEGOTIATE",
];

/// Where a request line found at an unknown message boundary really begins: a known method can
/// follow the tail of a lost body on the same line (`QQQQMESSAGE sip:…`), and the method token
/// must start at a line that begins a message. Returns the offset of the longest known method
/// the token ends with (0 when the token is one), or `None` when no known method ends it.
pub(crate) fn method_start(method: &[u8]) -> Option<usize> {
    KNOWN_METHODS
        .iter()
        .filter(|m| {
            method
                .len()
                .checked_sub(m.len())
                .and_then(|at| method.get(at..))
                .is_some_and(|tail| tail.eq_ignore_ascii_case(m))
        })
        .map(|m| method.len() - m.len())
        .min()
}

pub(super) fn parse_start_line_text(line: &[u8]) -> Option<StartLine<'_>> {
    // Control bytes (NUL, …) cannot appear in a start line: the URI escapes them and the
    // reason phrase is text.
    if line.iter().any(|&c| (c < 0x20 && c != b'\t') || c == 0x7f) {
        return None;
    }
    // `SIP/2.0 200` without a reason phrase is a status line: RFC 3261 allows an empty
    // Reason-Phrase (after a space), and senders often leave the space out too.
    if line.len() >= 11 && line.get(..8)?.eq_ignore_ascii_case(b"SIP/2.0 ") {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_status_line_may_have_no_reason_phrase() {
        for line in [
            &b"SIP/2.0 200\r\n"[..],
            b"SIP/2.0 200 \r\n",
            b"SIP/2.0 200\t\r\n",
            b"SIP/2.0 200\n",
            b"sip/2.0 200\rVia: x",
        ] {
            assert_eq!(
                parse_start_line(line).map(|(s, _)| s),
                Some(StartLine::Response {
                    status: 200,
                    reason: b""
                }),
                "{:?}",
                String::from_utf8_lossy(line)
            );
            assert!(looks_like_start(line));
        }
        assert!(parse_start_line(b"SIP/2.0 2000\r\n").is_none());
    }

    #[test]
    fn a_complete_line_that_only_begins_like_sip_is_not_waited_on() {
        for bad in [
            &b"SIP/2.0 99999999 OK\r\n"[..],
            b"SIP/2.0 099 Low\r\n",
            b"SIP/2.0 OK\r\n",
            b"INVITE foo@bar SIP/2.0\r\n",
        ] {
            assert!(!looks_like_start(bad), "{:?}", String::from_utf8_lossy(bad));
            assert!(bad_start_line(bad), "{:?}", String::from_utf8_lossy(bad));
        }
        // Unfinished lines: waited on while they can still become a start line.
        assert!(looks_like_start(b"SIP/2.0 "));
        assert!(looks_like_start(b"SIP/2.0 48"));
        assert!(looks_like_start(b"SIP/2.0 486 Busy"));
        assert!(!looks_like_start(b"SIP/2.0 9999"));
        assert!(!looks_like_start(b"SIP/2.0 OK"));
        assert!(looks_like_start(b"INVITE sip:a@b SI"));
        assert!(!bad_start_line(b"SIP/2.0 99999999 OK"), "not complete yet");
        assert!(!bad_start_line(b"SIP/2.0 200 OK\r\n"));
        assert!(!bad_start_line(b"Call-ID: x\r\n"));
    }

    #[test]
    fn a_method_glued_to_a_body_tail_is_found() {
        assert_eq!(method_start(b"MESSAGE"), Some(0));
        assert_eq!(method_start(b"options"), Some(0));
        assert_eq!(method_start(b"QQQQQQQQQQMESSAGE"), Some(10));
        assert_eq!(
            method_start(b"xBENOTIFY"),
            Some(1),
            "the longest known method"
        );
        assert_eq!(method_start(b"FOO"), None);
        assert_eq!(method_start(b""), None);
    }

    proptest::proptest! {
        /// The status line's code is kept whatever follows it (nothing, white space, a reason),
        /// and a line accepted as a start line is never called a bad one.
        #[test]
        fn status_codes_survive_any_reason(code in 100u16..700, reason in "[ \t]?[ -~]{0,20}") {
            let line = format!("SIP/2.0 {code}{reason}\r\n");
            let parsed = parse_start_line(line.as_bytes()).map(|(s, _)| s);
            let sep = reason.bytes().next();
            if reason.is_empty() || matches!(sep, Some(b' ' | b'\t')) {
                let ok = matches!(parsed, Some(StartLine::Response { status, .. }) if status == code);
                proptest::prop_assert!(ok);
            } else {
                proptest::prop_assert!(parsed.is_none());
            }
            proptest::prop_assert_eq!(parsed.is_some(), !bad_start_line(line.as_bytes()));
            proptest::prop_assert_eq!(parsed.is_some(), looks_like_start(line.as_bytes()));
        }
    }
}
