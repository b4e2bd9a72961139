//! Reading header values: parameters (`;tag=`, the top Via's `branch`), top-level splitting
//! that respects quotes and angle brackets, and CSeq.

use memchr::memchr;

use super::text::trim;

/// Parses a CSeq value: `1 INVITE`. Tolerant: the method is whatever token follows the number
/// (mangled bytes included), so that a damaged method still shows; a value without a number
/// does not parse (callers keep the raw text).
pub(super) fn parse_cseq(v: &[u8]) -> Option<(u32, &[u8])> {
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
pub(crate) fn cseq_is_canonical(v: &[u8]) -> bool {
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
fn split_top_level(v: &[u8], sep: u8) -> impl Iterator<Item = &[u8]> {
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
pub(super) fn leading_via_param<'a>(via: &'a [u8], name: &[u8]) -> Option<Option<&'a [u8]>> {
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
pub(super) fn via_param_general<'a>(via: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
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
pub(super) fn header_param<'a>(value: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
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
    use proptest::prelude::*;

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
    fn cseq_text_forms() {
        assert!(cseq_is_canonical(b"1 INVITE"));
        assert!(cseq_is_canonical(b" 12 ACK "));
        assert!(!cseq_is_canonical(b"926786296    ACK"));
        assert!(!cseq_is_canonical(b"01 INVITE"));
        assert!(!cseq_is_canonical(b"%s"));
        assert_eq!(parse_cseq(b"1 INV\xffTE"), Some((1, &b"INV\xffTE"[..])));
        assert_eq!(parse_cseq(b"? INVITE"), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]
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

    }
}
