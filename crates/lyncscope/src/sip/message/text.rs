//! Line and white-space primitives shared by the start-line parser, the header index and the
//! header value helpers.

/// Splits off one line. Lines end with CRLF, LF, or a bare CR (as tshark reads them; fuzzed and
/// broken senders produce them); the line excludes its end.
pub(super) fn next_line(buf: &[u8]) -> (&[u8], &[u8]) {
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
pub(super) fn line_end(buf: &[u8]) -> Option<(usize, usize)> {
    let i = memchr::memchr2(b'\r', b'\n', buf)?;
    match (buf.get(i), buf.get(i + 1)) {
        (Some(b'\r'), Some(b'\n')) => Some((i, i + 2)),
        (Some(b'\r'), None) => None,
        _ => Some((i, i + 1)),
    }
}

pub(crate) fn trim(v: &[u8]) -> &[u8] {
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

pub(super) fn trim_end(v: &[u8]) -> &[u8] {
    let end = v
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    v.get(..end).unwrap_or_default()
}
