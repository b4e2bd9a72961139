//! Packet building: Ethernet (optionally 802.1Q-tagged), IPv4 (with fragmentation), IPv6,
//! UDP and TCP, with correct lengths and checksums.
//!
//! These are pure functions from header fields and payload to bytes; the state that makes a
//! sequence of packets consistent (IP ids, TCP sequence numbers) lives in [`super::wire`].

use std::net::IpAddr;

pub(crate) const ETHERTYPE_IPV4: u16 = 0x0800;
pub(crate) const ETHERTYPE_IPV6: u16 = 0x86dd;
pub(crate) const ETHERTYPE_VLAN: u16 = 0x8100;
pub(crate) const PROTO_TCP: u8 = 6;
pub(crate) const PROTO_UDP: u8 = 17;

pub(crate) const TCP_FIN: u8 = 0x01;
pub(crate) const TCP_SYN: u8 = 0x02;
pub(crate) const TCP_PSH: u8 = 0x08;
pub(crate) const TCP_ACK: u8 = 0x10;

pub(crate) const IPV4_HEADER_LEN: usize = 20;
pub(crate) const UDP_HEADER_LEN: usize = 8;

/// The Internet checksum (RFC 1071) over the concatenation of `parts`.
pub(crate) fn internet_checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u64 = 0;
    let mut odd: Option<u8> = None;
    for part in parts {
        for &byte in *part {
            match odd.take() {
                Some(high) => sum += u64::from(u16::from_be_bytes([high, byte])),
                None => odd = Some(byte),
            }
        }
    }
    if let Some(high) = odd {
        sum += u64::from(u16::from_be_bytes([high, 0]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The pseudo-header that TCP and UDP checksums cover (RFC 768/793, RFC 8200 §8.1).
fn pseudo_header(src: IpAddr, dst: IpAddr, protocol: u8, len: usize) -> Vec<u8> {
    let mut p = Vec::with_capacity(40);
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
            p.extend_from_slice(&[0, protocol]);
            p.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            p.extend_from_slice(&to_v6(src).octets());
            p.extend_from_slice(&to_v6(dst).octets());
            p.extend_from_slice(&(len as u32).to_be_bytes());
            p.extend_from_slice(&[0, 0, 0, protocol]);
        }
    }
    p
}

fn to_v6(ip: IpAddr) -> std::net::Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// The checksum of a TCP segment or UDP datagram (header with a zero checksum field, and
/// payload) between two addresses.
pub(crate) fn transport_checksum(src: IpAddr, dst: IpAddr, protocol: u8, segment: &[u8]) -> u16 {
    internet_checksum(&[&pseudo_header(src, dst, protocol, segment.len()), segment])
}

/// An Ethernet II frame, with an 802.1Q tag when `vlan` is set.
pub(crate) fn ethernet(
    dst: [u8; 6],
    src: [u8; 6],
    vlan: Option<u16>,
    ethertype: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = Vec::with_capacity(18 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    if let Some(id) = vlan {
        f.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
        f.extend_from_slice(&(id & 0x0fff).to_be_bytes()); // priority 0, DEI 0
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// The fields of an IPv4 header that vary between the packets built here.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ipv4Fields {
    pub src: std::net::Ipv4Addr,
    pub dst: std::net::Ipv4Addr,
    pub protocol: u8,
    pub id: u16,
    pub ttl: u8,
    pub dont_fragment: bool,
}

/// One IPv4 packet: `payload` at fragment offset `offset` bytes (a multiple of 8), with the
/// More Fragments flag as given.
pub(crate) fn ipv4_packet(
    f: &Ipv4Fields,
    offset: usize,
    more_fragments: bool,
    payload: &[u8],
) -> Vec<u8> {
    let total = IPV4_HEADER_LEN + payload.len();
    let mut flags_offset = (offset / 8) as u16;
    if more_fragments {
        flags_offset |= 0x2000;
    }
    if f.dont_fragment {
        flags_offset |= 0x4000;
    }
    let mut h = [0u8; IPV4_HEADER_LEN];
    h[0] = 0x45;
    h[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    h[4..6].copy_from_slice(&f.id.to_be_bytes());
    h[6..8].copy_from_slice(&flags_offset.to_be_bytes());
    h[8] = f.ttl;
    h[9] = f.protocol;
    h[12..16].copy_from_slice(&f.src.octets());
    h[16..20].copy_from_slice(&f.dst.octets());
    let sum = internet_checksum(&[&h]);
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    let mut p = Vec::with_capacity(total);
    p.extend_from_slice(&h);
    p.extend_from_slice(payload);
    p
}

/// Splits `payload` (a whole UDP datagram) into IPv4 packets that fit `mtu`: every fragment
/// but the last carries a multiple of 8 bytes and has More Fragments set; all share the id.
pub(crate) fn ipv4_fragments(f: &Ipv4Fields, payload: &[u8], mtu: usize) -> Vec<Vec<u8>> {
    if IPV4_HEADER_LEN + payload.len() <= mtu {
        return vec![ipv4_packet(f, 0, false, payload)];
    }
    let step = (mtu - IPV4_HEADER_LEN) / 8 * 8;
    let unfragmented = Ipv4Fields {
        dont_fragment: false,
        ..*f
    };
    payload
        .chunks(step)
        .enumerate()
        .map(|(i, chunk)| {
            let offset = i * step;
            let more = offset + chunk.len() < payload.len();
            ipv4_packet(&unfragmented, offset, more, chunk)
        })
        .collect()
}

/// An IPv6 packet without extension headers.
pub(crate) fn ipv6_packet(
    src: std::net::Ipv6Addr,
    dst: std::net::Ipv6Addr,
    next_header: u8,
    hop_limit: u8,
    flow_label: u32,
    payload: &[u8],
) -> Vec<u8> {
    let mut p = Vec::with_capacity(40 + payload.len());
    let first = (6u32 << 28) | (flow_label & 0x000f_ffff);
    p.extend_from_slice(&first.to_be_bytes());
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.push(next_header);
    p.push(hop_limit);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(payload);
    p
}

/// A UDP datagram (header and payload) with its checksum (0 is sent as `ffff`).
pub(crate) fn udp_datagram(
    src: IpAddr,
    dst: IpAddr,
    src_port: u16,
    dst_port: u16,
    payload: &[u8],
) -> Vec<u8> {
    let len = UDP_HEADER_LEN + payload.len();
    let mut d = Vec::with_capacity(len);
    d.extend_from_slice(&src_port.to_be_bytes());
    d.extend_from_slice(&dst_port.to_be_bytes());
    d.extend_from_slice(&(len as u16).to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.extend_from_slice(payload);
    let sum = match transport_checksum(src, dst, PROTO_UDP, &d) {
        0 => 0xffff,
        s => s,
    };
    d[6..8].copy_from_slice(&sum.to_be_bytes());
    d
}

/// The fields of a TCP header.
#[derive(Clone, Debug)]
pub(crate) struct TcpFields<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    /// Options, already padded to a multiple of 4 bytes.
    pub options: &'a [u8],
}

/// A TCP segment (header and payload) with its checksum.
pub(crate) fn tcp_segment(src: IpAddr, dst: IpAddr, f: &TcpFields<'_>, payload: &[u8]) -> Vec<u8> {
    let header_len = 20 + f.options.len();
    let mut s = Vec::with_capacity(header_len + payload.len());
    s.extend_from_slice(&f.src_port.to_be_bytes());
    s.extend_from_slice(&f.dst_port.to_be_bytes());
    s.extend_from_slice(&f.seq.to_be_bytes());
    s.extend_from_slice(&f.ack.to_be_bytes());
    s.push(((header_len / 4) as u8) << 4);
    s.push(f.flags);
    s.extend_from_slice(&f.window.to_be_bytes());
    s.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
    s.extend_from_slice(f.options);
    s.extend_from_slice(payload);
    let sum = transport_checksum(src, dst, PROTO_TCP, &s);
    s[16..18].copy_from_slice(&sum.to_be_bytes());
    s
}

/// The options of a SYN as Windows sends them: MSS, NOP, window scale 8, NOP, NOP, SACK
/// permitted.
pub(crate) fn syn_options(mss: u16) -> [u8; 12] {
    let m = mss.to_be_bytes();
    [2, 4, m[0], m[1], 1, 3, 3, 8, 1, 1, 4, 2]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn checksum_matches_rfc1071_example() {
        // RFC 1071 §3: 0001 f203 f4f5 f6f7 sums to ddf2, checksum 220d
        assert_eq!(
            internet_checksum(&[&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]]),
            0x220d
        );
        // odd split across parts gives the same result
        assert_eq!(
            internet_checksum(&[&[0x00, 0x01, 0xf2], &[0x03, 0xf4, 0xf5, 0xf6, 0xf7]]),
            0x220d
        );
    }

    #[test]
    fn ipv4_header_verifies_and_fragments_line_up() {
        let f = Ipv4Fields {
            src: Ipv4Addr::new(192, 0, 2, 1),
            dst: Ipv4Addr::new(198, 51, 100, 10),
            protocol: PROTO_UDP,
            id: 0x1234,
            ttl: 127,
            dont_fragment: false,
        };
        let payload: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
        let frags = ipv4_fragments(&f, &payload, 1500);
        assert_eq!(frags.len(), 3);
        let mut joined = Vec::new();
        for (i, p) in frags.iter().enumerate() {
            assert!(p.len() <= 1500);
            assert_eq!(internet_checksum(&[&p[..20]]), 0);
            let fo = u16::from_be_bytes([p[6], p[7]]);
            assert_eq!(usize::from(fo & 0x1fff) * 8, joined.len());
            assert_eq!(fo & 0x2000 != 0, i < 2);
            assert_eq!(u16::from_be_bytes([p[4], p[5]]), 0x1234);
            joined.extend_from_slice(&p[20..]);
        }
        assert_eq!(joined, payload);
    }

    #[test]
    fn udp_and_tcp_checksums_verify() {
        let (a, b) = (
            IpAddr::from([192, 0, 2, 1]),
            IpAddr::from([198, 51, 100, 10]),
        );
        let d = udp_datagram(a, b, 5060, 5060, b"OPTIONS");
        assert_eq!(transport_checksum(a, b, PROTO_UDP, &d), 0);
        let opts = syn_options(1460);
        let f = TcpFields {
            src_port: 50000,
            dst_port: 5060,
            seq: 1,
            ack: 0,
            flags: TCP_SYN,
            window: 64240,
            options: &opts,
        };
        let s = tcp_segment(a, b, &f, b"");
        assert_eq!(s.len(), 32);
        assert_eq!(transport_checksum(a, b, PROTO_TCP, &s), 0);
        let (c, d6) = (
            IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]),
            IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 2]),
        );
        let s6 = tcp_segment(c, d6, &f, b"odd");
        assert_eq!(transport_checksum(c, d6, PROTO_TCP, &s6), 0);
    }
}
