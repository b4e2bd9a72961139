//! Small byte helpers that never panic: every slice is taken with `get`, so an offset computed
//! from hostile input yields an empty slice instead of a panic.

use std::borrow::Cow;

/// `data[a..b]`, or empty when out of range.
#[inline]
pub(crate) fn sub(data: &[u8], a: usize, b: usize) -> &[u8] {
    data.get(a..b).unwrap_or(&[])
}

/// `data[a..]`, or empty when out of range.
#[inline]
pub(crate) fn from(data: &[u8], a: usize) -> &[u8] {
    data.get(a..).unwrap_or(&[])
}

/// The byte at `i`, or 0.
#[inline]
pub(crate) fn at(data: &[u8], i: usize) -> u8 {
    data.get(i).copied().unwrap_or(0)
}

/// End of the line starting at `start` (index of its `\n`, or `data.len()`), and the start of
/// the next line.
#[inline]
pub(crate) fn line_end(data: &[u8], start: usize) -> (usize, usize) {
    match memchr::memchr(b'\n', from(data, start)) {
        Some(i) => (start + i, start + i + 1),
        None => (data.len(), data.len()),
    }
}

/// The line without its `\r` before `\n` (the `\n` is already excluded).
#[inline]
pub(crate) fn strip_cr(line: &[u8]) -> &[u8] {
    match line.split_last() {
        Some((b'\r', rest)) => rest,
        _ => line,
    }
}

/// Trim ASCII spaces and tabs (and CR) on both sides.
pub(crate) fn trim(mut s: &[u8]) -> &[u8] {
    while let Some((f, rest)) = s.split_first() {
        if matches!(f, b' ' | b'\t' | b'\r') {
            s = rest;
        } else {
            break;
        }
    }
    while let Some((l, rest)) = s.split_last() {
        if matches!(l, b' ' | b'\t' | b'\r') {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// Position of `needle` in `hay`.
#[inline]
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// Text for a report: borrowed when valid UTF-8, lossy otherwise.
#[inline]
pub(crate) fn text(b: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(b)
}

/// `Some(text)` when the trimmed value is not empty.
pub(crate) fn opt_text(b: &[u8]) -> Option<Cow<'_, str>> {
    let t = trim(b);
    if t.is_empty() {
        None
    } else {
        Some(text(t))
    }
}

/// Parse unsigned decimal digits (the whole slice), no overflow.
pub(crate) fn parse_dec(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(v)
}

/// Parse hex digits (the whole slice, optional `0x`), no overflow.
pub(crate) fn parse_hex(b: &[u8]) -> Option<u64> {
    let b = b
        .strip_prefix(b"0x")
        .or_else(|| b.strip_prefix(b"0X"))
        .unwrap_or(b);
    if b.is_empty() || b.len() > 16 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in b {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        v = (v << 4) | u64::from(d);
    }
    Some(v)
}

/// Split `Key: value` at the first colon; the key must be a token without spaces.
pub(crate) fn key_value(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = memchr::memchr(b':', line)?;
    let key = sub(line, 0, colon);
    if key.is_empty() || key.iter().any(|c| matches!(c, b' ' | b'\t')) {
        return None;
    }
    Some((key, trim(from(line, colon + 1))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_do_not_panic_out_of_range() {
        assert_eq!(sub(b"abc", 2, 10), b"");
        assert_eq!(sub(b"abc", 3, 1), b"");
        assert_eq!(from(b"abc", 9), b"");
        assert_eq!(at(b"abc", 9), 0);
        assert_eq!(line_end(b"ab\ncd", 0), (2, 3));
        assert_eq!(line_end(b"ab\ncd", 3), (5, 5));
        assert_eq!(line_end(b"ab", 7), (2, 2));
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_dec(b"1503"), Some(1503));
        assert_eq!(parse_dec(b"99999999999999999999"), None);
        assert_eq!(parse_dec(b"1a"), None);
        assert_eq!(parse_hex(b"0xc3e93c5e"), Some(0xc3e9_3c5e));
        assert_eq!(parse_hex(b"06E4"), Some(0x06e4));
        assert_eq!(parse_hex(b"0x"), None);
        assert_eq!(parse_hex(b"12345678901234567"), None);
    }

    #[test]
    fn key_values() {
        assert_eq!(
            key_value(b"Peer: lyncservr.contoso.com:61182"),
            Some((&b"Peer"[..], &b"lyncservr.contoso.com:61182"[..]))
        );
        assert_eq!(key_value(b"not a key: x"), None);
        assert_eq!(key_value(b"no colon"), None);
        assert_eq!(trim(b" \t x \r"), b"x");
    }
}
