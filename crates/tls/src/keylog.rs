//! NSS key log parsing (`SSLKEYLOGFILE`, RFC 9850): `<label> <client random hex> <secret hex>`.

/// Longest key log line considered; longer lines are bad lines (a label, 64 + 96 hex chars and
/// two spaces is under 200 bytes).
pub const MAX_KEYLOG_LINE: usize = 512;

/// Longest secret in a key log line: 48 bytes (master secret, SHA-384 TLS 1.3 secret).
pub const MAX_SECRET_LEN: usize = 48;

/// A secret of 32 or 48 bytes, stored inline.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Secret {
    len: u8,
    bytes: [u8; MAX_SECRET_LEN],
}

impl std::fmt::Debug for Secret {
    // Key material is never printed (README: key handling).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({} bytes)", self.len)
    }
}

impl Secret {
    pub(crate) fn new(b: &[u8]) -> Option<Secret> {
        let mut bytes = [0u8; MAX_SECRET_LEN];
        bytes.get_mut(..b.len())?.copy_from_slice(b);
        Some(Secret {
            len: u8::try_from(b.len()).ok()?,
            bytes,
        })
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }
}

/// The labels this crate uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Label {
    ClientRandom,
    ClientHandshake,
    ServerHandshake,
    ClientTraffic0,
    ServerTraffic0,
}

/// Result of parsing one line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// Blank line or `#` comment.
    Ignored,
    /// A known label that is not needed (early data, exporter, historic `RSA`).
    Unused,
    Entry(Label, [u8; 32], Secret),
    Bad,
}

/// Decodes lower- or upper-case hex; None on odd length or a non-hex digit.
#[cfg(test)]
pub fn decode_hex(s: &[u8]) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() / 2);
    for pair in s.chunks_exact(2) {
        let &[h, l] = <&[u8; 2]>::try_from(pair).ok()?;
        out.push(nibble(h)? << 4 | nibble(l)?);
    }
    Some(out)
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn hex_into(s: &[u8], out: &mut [u8]) -> bool {
    if s.len() != out.len() * 2 {
        return false;
    }
    for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
        match (
            pair.first().copied().and_then(nibble),
            pair.get(1).copied().and_then(nibble),
        ) {
            (Some(h), Some(l)) => *o = h << 4 | l,
            _ => return false,
        }
    }
    true
}

/// Parses one line (without its line end; a trailing `\r` is tolerated).
pub(crate) fn parse_line(line: &[u8]) -> Line {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = trim(line);
    if line.is_empty() || line.first() == Some(&b'#') {
        return Line::Ignored;
    }
    if line.len() > MAX_KEYLOG_LINE {
        return Line::Bad;
    }
    let mut parts = line
        .split(|&b| b == b' ' || b == b'\t')
        .filter(|p| !p.is_empty());
    let (Some(label), Some(random), Some(secret), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Line::Bad;
    };
    let label = match label {
        b"CLIENT_RANDOM" => Label::ClientRandom,
        b"CLIENT_HANDSHAKE_TRAFFIC_SECRET" => Label::ClientHandshake,
        b"SERVER_HANDSHAKE_TRAFFIC_SECRET" => Label::ServerHandshake,
        b"CLIENT_TRAFFIC_SECRET_0" => Label::ClientTraffic0,
        b"SERVER_TRAFFIC_SECRET_0" => Label::ServerTraffic0,
        b"RSA" | b"CLIENT_EARLY_TRAFFIC_SECRET" | b"EXPORTER_SECRET" | b"EARLY_EXPORTER_SECRET" => {
            return Line::Unused
        }
        _ => return Line::Bad,
    };
    let mut cr = [0u8; 32];
    if !hex_into(random, &mut cr) {
        return Line::Bad;
    }
    let want: &[usize] = match label {
        Label::ClientRandom => &[48],
        _ => &[32, 48],
    };
    if !want.contains(&(secret.len() / 2)) {
        return Line::Bad;
    }
    let mut buf = [0u8; MAX_SECRET_LEN];
    let Some(dst) = buf.get_mut(..secret.len() / 2) else {
        return Line::Bad;
    };
    if !hex_into(secret, dst) {
        return Line::Bad;
    }
    match Secret::new(dst) {
        Some(s) => Line::Entry(label, cr, s),
        None => Line::Bad,
    }
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let Some((f, rest)) = s.split_first() {
        if f.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    while let Some((l, rest)) = s.split_last() {
        if l.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const CR: &str = "0001020304050607080910111213141516171819202122232425262728293031";

    #[test]
    fn parses_labels() {
        let ms = "ab".repeat(48);
        let l = format!("CLIENT_RANDOM {CR} {ms}\r");
        match parse_line(l.as_bytes()) {
            Line::Entry(Label::ClientRandom, cr, s) => {
                assert_eq!(cr[1], 1);
                assert_eq!(s.as_slice(), &[0xab; 48][..]);
            }
            other => panic!("{other:?}"),
        }
        let l = format!("SERVER_TRAFFIC_SECRET_0 {CR} {}", "CD".repeat(32));
        assert!(
            matches!(parse_line(l.as_bytes()), Line::Entry(Label::ServerTraffic0, _, s) if s.as_slice().len() == 32)
        );
        assert_eq!(parse_line(b"# comment"), Line::Ignored);
        assert_eq!(parse_line(b"   "), Line::Ignored);
        let l = format!("EXPORTER_SECRET {CR} {}", "00".repeat(32));
        assert_eq!(parse_line(l.as_bytes()), Line::Unused);
    }

    #[test]
    fn rejects_bad_lines() {
        // Wrong secret length for CLIENT_RANDOM, non-hex, missing field, extra field, unknown label.
        let bad = [
            format!("CLIENT_RANDOM {CR} {}", "ab".repeat(32)),
            format!("CLIENT_RANDOM {CR} {}", "zz".repeat(48)),
            format!("CLIENT_RANDOM {CR}"),
            format!("CLIENT_RANDOM {CR} {} extra", "ab".repeat(48)),
            format!("NOPE {CR} {}", "ab".repeat(48)),
            format!("CLIENT_RANDOM {} {}", &CR[..62], "ab".repeat(48)),
        ];
        for b in &bad {
            assert_eq!(parse_line(b.as_bytes()), Line::Bad, "{b}");
        }
    }

    #[test]
    fn hex() {
        assert_eq!(decode_hex(b"00fF10"), Some(vec![0, 255, 16]));
        assert_eq!(decode_hex(b"0"), None);
        assert_eq!(decode_hex(b"0g"), None);
    }
}
