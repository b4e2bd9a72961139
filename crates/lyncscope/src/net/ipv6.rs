//! IPv6 header (RFC 8200) and its extension header chain.
//!
//! The chain is followed through hop-by-hop options (0), routing (43), destination options
//! (60) and the authentication header (51, RFC 4302, whose length unit differs), up to the
//! upper-layer protocol. A fragment header (44) stops the walk: the rest is fragment data,
//! to be reassembled and walked again from the fragment header's next header. An atomic
//! fragment (offset 0, M clear, RFC 6946) is just skipped. ESP (50) cannot be decoded
//! without keys and ends the walk as undecoded. "No next header" (59) is returned as the
//! upper layer, like any protocol the transport layer does not know.
//!
//! A payload length of 0 means a jumbogram or a segmentation-offloaded packet; the captured
//! length is used then. Jumbograms cannot be fragmented, so reassembly never sees them.

use super::walk::Addrs;
use super::{be16, be32};

const HEADER_LEN: usize = 40;
/// More extension headers than this in one packet are treated as malformed.
const MAX_EXTENSIONS: usize = 16;

#[derive(Debug)]
pub(super) struct Header<'a> {
    /// Source and destination, kept as header bytes until needed.
    pub addrs: Addrs<'a>,
    pub next_header: u8,
    /// The payload (extension headers included) as captured, trimmed to the payload length.
    pub payload: &'a [u8],
    /// Bytes of the payload that the payload length declares but the capture lacks.
    pub missing: u32,
}

#[inline]
pub(super) fn parse(d: &[u8]) -> Result<Header<'_>, &'static str> {
    let (Some(first), Some(payload_len), Some(&next_header), Some(addrs)) =
        (d.first(), be16(d, 4), d.get(6), d.get(8..40))
    else {
        return Err("truncated IPv6 header");
    };
    if first >> 4 != 6 {
        return Err("bad IPv6 version");
    }
    let (end, missing) = match payload_len {
        0 => (d.len(), 0),
        n => {
            let declared_end = HEADER_LEN + usize::from(n);
            (
                declared_end.min(d.len()),
                declared_end.saturating_sub(d.len()),
            )
        }
    };
    Ok(Header {
        addrs: Addrs(addrs),
        next_header,
        payload: d.get(HEADER_LEN..end).unwrap_or(&[]),
        missing: u32::try_from(missing).unwrap_or(u32::MAX),
    })
}

/// A fragment header and the fragment data after it.
#[derive(Debug)]
pub(super) struct FragmentHeader<'a> {
    pub next_header: u8,
    /// Fragment offset in bytes.
    pub offset: u16,
    pub more: bool,
    pub id: u32,
    pub data: &'a [u8],
    pub declared_len: u32,
}

/// Where the extension header chain ends.
#[derive(Debug)]
pub(super) enum Upper<'a> {
    /// The upper-layer protocol and its bytes.
    Protocol(u8, &'a [u8]),
    Fragment(FragmentHeader<'a>),
}

/// Follows the extension headers starting with header type `next` over `d`, of which
/// `missing` bytes at the end were not captured.
#[inline]
pub(super) fn extensions(
    mut next: u8,
    mut d: &[u8],
    missing: u32,
) -> Result<Upper<'_>, &'static str> {
    for _ in 0..MAX_EXTENSIONS {
        match next {
            0 | 43 | 60 => {
                let (Some(&n), Some(&len)) = (d.first(), d.get(1)) else {
                    return Err("truncated IPv6 extension header");
                };
                let len = (usize::from(len) + 1) * 8;
                d = d.get(len..).ok_or("truncated IPv6 extension header")?;
                next = n;
            }
            51 => (next, d) = authentication_header(d)?,
            44 => {
                let (Some(&n), Some(offset_flags), Some(id), Some(rest)) =
                    (d.first(), be16(d, 2), be32(d, 4), d.get(8..))
                else {
                    return Err("truncated IPv6 fragment header");
                };
                let offset = offset_flags & 0xfff8;
                let more = offset_flags & 1 != 0;
                if offset == 0 && !more {
                    (next, d) = (n, rest);
                    continue;
                }
                return Ok(Upper::Fragment(FragmentHeader {
                    next_header: n,
                    offset,
                    more,
                    id,
                    data: rest,
                    declared_len: u32::try_from(rest.len())
                        .unwrap_or(u32::MAX)
                        .saturating_add(missing),
                }));
            }
            50 => return Err("ESP"),
            protocol => return Ok(Upper::Protocol(protocol, d)),
        }
    }
    Err("too many IPv6 extension headers")
}

/// Skips an authentication header (IPv4 or IPv6): next header(1), length in 4-byte units
/// minus 2 (1).
pub(super) fn authentication_header(d: &[u8]) -> Result<(u8, &[u8]), &'static str> {
    let (Some(&next), Some(&len)) = (d.first(), d.get(1)) else {
        return Err("truncated authentication header");
    };
    let len = (usize::from(len) + 2) * 4;
    let rest = d.get(len..).ok_or("truncated authentication header")?;
    Ok((next, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv6Addr};

    fn header(payload_len: u16, next: u8) -> Vec<u8> {
        let mut h = vec![0x60, 0, 0, 0];
        h.extend_from_slice(&payload_len.to_be_bytes());
        h.extend_from_slice(&[next, 64]);
        h.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        h.extend_from_slice(&Ipv6Addr::UNSPECIFIED.octets());
        h
    }

    #[test]
    fn payload_length_trims_and_reports_missing() {
        let mut p = header(4, 17);
        p.extend_from_slice(&[1, 2, 3, 4, 0, 0]);
        let h = parse(&p).unwrap();
        assert_eq!(
            (h.payload, h.missing, h.next_header),
            (&[1, 2, 3, 4][..], 0, 17)
        );
        assert_eq!(h.addrs.pair().0, IpAddr::V6(Ipv6Addr::LOCALHOST));
        let h = parse(&p[..42]).unwrap();
        assert_eq!((h.payload, h.missing), (&[1, 2][..], 2));
        assert!(parse(&p[..39]).is_err());
        p[0] = 0x40;
        assert_eq!(parse(&p).unwrap_err(), "bad IPv6 version");
    }

    #[test]
    fn extension_chain() {
        // hop-by-hop (8) → destination options (16) → AH (12) → UDP
        let mut d = vec![60, 0, 1, 4, 0, 0, 0, 0];
        d.extend_from_slice(&[51, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        d.extend_from_slice(&[17, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        d.extend_from_slice(b"udp");
        assert!(matches!(
            extensions(0, &d, 0),
            Ok(Upper::Protocol(17, b"udp"))
        ));
        assert!(extensions(0, &d[..20], 0).is_err());
        assert_eq!(extensions(50, &d, 0).unwrap_err(), "ESP");
        assert!(matches!(
            extensions(59, &[], 0),
            Ok(Upper::Protocol(59, []))
        ));
    }

    #[test]
    fn fragment_header() {
        let d = [17, 0, 0x05, 0x01, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3];
        let Ok(Upper::Fragment(f)) = extensions(44, &d, 5) else {
            panic!("not a fragment")
        };
        assert_eq!(
            (f.next_header, f.offset, f.more, f.id),
            (17, 0x0500, true, 0xdeadbeef)
        );
        assert_eq!((f.data, f.declared_len), (&[1, 2, 3][..], 8));
        let atomic = [17, 0, 0, 0, 0, 0, 0, 1, 9];
        assert!(matches!(
            extensions(44, &atomic, 0),
            Ok(Upper::Protocol(17, [9]))
        ));
        assert!(extensions(44, &d[..7], 0).is_err());
    }

    #[test]
    fn extension_loop_is_bounded() {
        let d = [0u8; 8 * 40];
        assert_eq!(
            extensions(0, &d, 0).unwrap_err(),
            "too many IPv6 extension headers"
        );
    }
}
