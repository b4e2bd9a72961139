//! Transport headers (UDP, TCP, SCTP): zero-copy views in the style of `net/`, parsed with
//! slice patterns, never indexing. Every function takes the bytes as captured and returns
//! `None` when they are too short or inconsistent; the caller counts that
//! (`bad_transport_headers`). Checksums are not verified: captures taken on the sending host
//! carry offloaded, unfilled checksums.

/// A UDP header (RFC 768) and its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Udp<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    /// The payload, bounded by the UDP length when that is consistent (trailing link padding
    /// is not part of it); the captured bytes when the length is too small or too large.
    pub payload: &'a [u8],
}

pub(crate) fn udp(seg: &[u8]) -> Option<Udp<'_>> {
    let (&[s0, s1, d0, d1, l0, l1, _c0, _c1], body) = split::<8>(seg)?;
    let len = usize::from(u16::from_be_bytes([l0, l1]));
    let payload = match len.checked_sub(8) {
        Some(n) if n <= body.len() => body.get(..n).unwrap_or(body),
        _ => body,
    };
    Some(Udp {
        src_port: u16::from_be_bytes([s0, s1]),
        dst_port: u16::from_be_bytes([d0, d1]),
        payload,
    })
}

/// A TCP header (RFC 9293) and its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tcp<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    /// The flag bits (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, …).
    pub flags: u8,
    /// The bytes after the header and its options.
    pub payload: &'a [u8],
}

pub(crate) fn tcp(seg: &[u8]) -> Option<Tcp<'_>> {
    let (fixed, _) = split::<20>(seg)?;
    let &[s0, s1, d0, d1, q0, q1, q2, q3, a0, a1, a2, a3, off, flags, ..] = fixed;
    let header_len = usize::from(off >> 4) * 4;
    if header_len < 20 {
        return None;
    }
    Some(Tcp {
        src_port: u16::from_be_bytes([s0, s1]),
        dst_port: u16::from_be_bytes([d0, d1]),
        seq: u32::from_be_bytes([q0, q1, q2, q3]),
        ack: u32::from_be_bytes([a0, a1, a2, a3]),
        flags,
        payload: seg.get(header_len..)?,
    })
}

/// An SCTP common header (RFC 9260) and the chunks after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sctp<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub chunks: &'a [u8],
}

pub(crate) fn sctp(seg: &[u8]) -> Option<Sctp<'_>> {
    let (&[s0, s1, d0, d1, ..], chunks) = split::<12>(seg)?;
    Some(Sctp {
        src_port: u16::from_be_bytes([s0, s1]),
        dst_port: u16::from_be_bytes([d0, d1]),
        chunks,
    })
}

/// One SCTP chunk: its type, flags, the whole chunk (header included, `length` bytes) and
/// what follows it after the padding to four bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Chunk<'a> {
    pub kind: u8,
    pub flags: u8,
    pub chunk: &'a [u8],
    pub rest: &'a [u8],
}

/// The next chunk of `chunks`: `None` at the end, `Some(Err(()))` when the chunk's length is
/// inconsistent (shorter than its header or beyond the packet).
pub(crate) fn next_chunk(chunks: &[u8]) -> Option<Result<Chunk<'_>, ()>> {
    let (&[kind, flags, l0, l1], _) = split::<4>(chunks)?;
    let len = usize::from(u16::from_be_bytes([l0, l1]));
    let Some(chunk) = chunks.get(..len).filter(|_| len >= 4) else {
        return Some(Err(()));
    };
    // Chunks are padded to a multiple of four bytes; the last one's padding may be missing.
    let padded = (len + 3) & !3;
    Some(Ok(Chunk {
        kind,
        flags,
        chunk,
        rest: chunks.get(padded..).unwrap_or_default(),
    }))
}

/// The first `N` bytes as an array and the rest.
fn split<const N: usize>(d: &[u8]) -> Option<(&[u8; N], &[u8])> {
    let (head, rest) = d.split_first_chunk::<N>()?;
    Some((head, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udp_length_bounds_the_payload_unless_inconsistent() {
        let mut d = vec![0x13, 0xc4, 0x13, 0xc5, 0, 10, 0, 0, b'a', b'b', 0, 0];
        let u = udp(&d).expect("udp");
        assert_eq!(
            (u.src_port, u.dst_port, u.payload),
            (5060, 5061, &b"ab"[..])
        );
        d[5] = 4; // shorter than the header: the captured bytes are used
        assert_eq!(udp(&d).expect("udp").payload.len(), 4);
        d[5] = 200; // beyond the capture (snapshot length): what was captured
        assert_eq!(udp(&d).expect("udp").payload.len(), 4);
        assert_eq!(udp(&d[..7]), None);
    }

    #[test]
    fn tcp_header_with_options_and_bad_offsets() {
        let mut h = vec![0u8; 24];
        h[..4].copy_from_slice(&[0x13, 0xc4, 0x13, 0xc5]);
        h[4..8].copy_from_slice(&7u32.to_be_bytes());
        h[12] = 6 << 4; // 24 bytes: one option word
        h[13] = 0x12;
        h.extend_from_slice(b"SIP");
        let t = tcp(&h).expect("tcp");
        assert_eq!((t.seq, t.flags, t.payload), (7, 0x12, &b"SIP"[..]));
        h[12] = 4 << 4;
        assert_eq!(tcp(&h), None, "a header shorter than 20 bytes");
        h[12] = 15 << 4;
        assert_eq!(tcp(&h), None, "options beyond the segment");
        assert_eq!(tcp(&h[..19]), None);
    }

    #[test]
    fn sctp_chunks_with_padding_and_bad_lengths() {
        let mut p = vec![0x13, 0xc4, 0x13, 0xc4, 0, 0, 0, 1, 0, 0, 0, 0];
        p.extend_from_slice(&[0, 3, 0, 5, b'x', 0, 0, 0]); // 5 bytes, padded to 8
        p.extend_from_slice(&[6, 0, 0, 4]);
        let s = sctp(&p).expect("sctp");
        let Some(Ok(a)) = next_chunk(s.chunks) else {
            panic!("first chunk");
        };
        assert_eq!((a.kind, a.flags, a.chunk.len()), (0, 3, 5));
        let Some(Ok(b)) = next_chunk(a.rest) else {
            panic!("second chunk");
        };
        assert_eq!((b.kind, b.rest.len()), (6, 0));
        assert_eq!(next_chunk(b.rest), None);
        assert_eq!(next_chunk(&[0, 0, 0, 2]), Some(Err(())));
        assert_eq!(next_chunk(&[0, 0, 0, 9, 1]), Some(Err(())));
    }
}
