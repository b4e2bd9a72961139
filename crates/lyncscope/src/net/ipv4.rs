//! IPv4 header (RFC 791).
//!
//! The payload is bounded by the total length, which removes Ethernet padding from short
//! packets. When the capture holds fewer bytes than the total length (snapshot length),
//! the payload is what was captured and `declared_len` tells how much is missing. A total
//! length of 0 is taken as "unknown" (TCP segmentation offload on the capturing host
//! leaves it 0) and the captured length is used. The header checksum is not verified:
//! captures taken on the sending host routinely carry offloaded, unfilled checksums.

use super::walk::Addrs;

/// The fields of an IPv4 header that the network layer needs.
#[derive(Debug)]
pub(super) struct Header<'a> {
    /// Source and destination, kept as header bytes until needed.
    pub addrs: Addrs<'a>,
    pub protocol: u8,
    pub id: u16,
    /// Fragment offset in bytes.
    pub frag_offset: u16,
    pub more_fragments: bool,
    /// The payload as captured (trimmed to the total length).
    pub payload: &'a [u8],
    /// Payload length according to the header.
    pub declared_len: u32,
}

const MIN_HEADER: usize = 20;

#[inline]
pub(super) fn parse(d: &[u8]) -> Result<Header<'_>, &'static str> {
    let Some(fixed) = d.get(..MIN_HEADER) else {
        return Err("truncated IPv4 header");
    };
    let &[vihl, _tos, tl0, tl1, id0, id1, fo0, fo1, _ttl, protocol, _c0, _c1, ..] = fixed else {
        return Err("truncated IPv4 header");
    };
    if vihl >> 4 != 4 {
        return Err("bad IPv4 version");
    }
    let header_len = usize::from(vihl & 0x0f) * 4;
    if header_len < MIN_HEADER {
        return Err("bad IPv4 header length");
    }
    let total_len = usize::from(u16::from_be_bytes([tl0, tl1]));
    let (end, declared_len) = if total_len == 0 {
        (d.len(), d.len().saturating_sub(header_len))
    } else if total_len < header_len {
        return Err("bad IPv4 total length");
    } else {
        (total_len.min(d.len()), total_len - header_len)
    };
    let payload = d.get(header_len..end).ok_or("truncated IPv4 header")?;
    let flags_offset = u16::from_be_bytes([fo0, fo1]);
    Ok(Header {
        addrs: Addrs(fixed.get(12..20).unwrap_or_default()),
        protocol,
        id: u16::from_be_bytes([id0, id1]),
        frag_offset: (flags_offset & 0x1fff) << 3,
        more_fragments: flags_offset & 0x2000 != 0,
        payload,
        declared_len: u32::try_from(declared_len).unwrap_or(u32::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(total_len: u16, flags_offset: u16, ihl: u8) -> Vec<u8> {
        let mut h = vec![0x40 | ihl, 0];
        h.extend_from_slice(&total_len.to_be_bytes());
        h.extend_from_slice(&[0x12, 0x34]);
        h.extend_from_slice(&flags_offset.to_be_bytes());
        h.extend_from_slice(&[64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        h.resize(usize::from(ihl) * 4, 0);
        h
    }

    #[test]
    fn trims_padding_and_reads_fragment_fields() {
        let mut p = header(24, 0x2001, 5);
        p.extend_from_slice(&[1, 2, 3, 4, 0, 0, 0, 0]);
        let h = parse(&p).unwrap();
        assert_eq!(h.payload, &[1, 2, 3, 4]);
        assert_eq!(h.id, 0x1234);
        assert!(h.more_fragments);
        assert_eq!(h.frag_offset, 8);
        assert_eq!(h.addrs.pair().0, std::net::Ipv4Addr::new(10, 0, 0, 1));
    }

    #[test]
    fn options_and_truncation() {
        let mut p = header(28 + 100, 0, 6);
        p.extend_from_slice(&[9; 4]);
        let h = parse(&p).unwrap();
        assert_eq!(h.payload, &[9; 4]);
        assert_eq!(h.declared_len, 104);
        assert!(parse(&p[..22]).is_err());
        assert_eq!(
            parse(&header(10, 0, 5)).unwrap_err(),
            "bad IPv4 total length"
        );
        let mut short_ihl = header(20, 0, 5);
        short_ihl[0] = 0x44;
        assert_eq!(parse(&short_ihl).unwrap_err(), "bad IPv4 header length");
        let mut v6 = header(20, 0, 5);
        v6[0] = 0x65;
        assert_eq!(parse(&v6).unwrap_err(), "bad IPv4 version");
    }

    #[test]
    fn zero_total_length_means_captured_length() {
        let mut p = header(0, 0, 5);
        p.extend_from_slice(&[7; 10]);
        assert_eq!(parse(&p).unwrap().payload, &[7; 10]);
    }
}
