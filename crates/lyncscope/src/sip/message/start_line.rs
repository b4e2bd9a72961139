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
/// line end has not arrived yet.
pub(crate) fn looks_like_start(buf: &[u8]) -> bool {
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

pub(super) fn parse_start_line_text(line: &[u8]) -> Option<StartLine<'_>> {
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
}
