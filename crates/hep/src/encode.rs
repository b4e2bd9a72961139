//! HEP3 encoder, writing the chunks heplify writes, in heplify's order
//! (heplify src/hep/encoder.go), so Homer / heplify-server accept the packets.

use std::net::{IpAddr, Ipv6Addr};

use crate::decode::{chunk, FAMILY_IPV4, FAMILY_IPV6, HEP3_MAGIC, MAX_HEP3_PACKET};

/// One message to encode as HEP3. Byte fields are borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HepOut<'a> {
    /// IP protocol of the captured packet (6 TCP, 17 UDP).
    pub ip_protocol: u8,
    /// Source address; if one address is IPv6 both are sent as IPv6 (an IPv4
    /// address then becomes IPv4-mapped), because HEP has one family per packet.
    pub src_ip: IpAddr,
    /// Destination address.
    pub dst_ip: IpAddr,
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Capture time, Unix seconds.
    pub ts_sec: u32,
    /// Capture time, microseconds part.
    pub ts_usec: u32,
    /// Payload protocol type (1 = SIP).
    pub proto_type: u8,
    /// Capture agent id.
    pub node_id: u32,
    /// Authentication key, sent as chunk 0x000e when set.
    pub password: Option<&'a [u8]>,
    /// Correlation id (chunk 0x0011), e.g. the Call-ID.
    pub correlation_id: Option<&'a [u8]>,
    /// VLAN id (chunk 0x0012).
    pub vlan: Option<u16>,
    /// Node name (chunk 0x0013).
    pub node_name: Option<&'a [u8]>,
    /// The captured message.
    pub payload: &'a [u8],
}

/// Why a message cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The packet would exceed the 65,535 bytes the HEP3 length field can say.
    #[error("HEP3 packet would be {0} bytes, more than 65535")]
    TooLarge(usize),
}

fn put_chunk(out: &mut Vec<u8>, chunk_type: u16, value: &[u8]) {
    // Callers have checked the whole packet fits in u16, so every chunk does.
    let len = u16::try_from(6 + value.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&chunk_type.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(value);
}

fn to_v6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// Size in bytes of the HEP3 packet [`encode_v3`] writes for `m`.
pub fn encoded_len(m: &HepOut<'_>) -> usize {
    let addr = match (m.src_ip, m.dst_ip) {
        (IpAddr::V4(_), IpAddr::V4(_)) => 4,
        _ => 16,
    };
    let opt = |o: Option<&[u8]>| o.map_or(0, |v| 6 + v.len());
    6 + 7
        + 7
        + 2 * (6 + addr)
        + 8
        + 8
        + 10
        + 10
        + 7
        + 10
        + opt(m.password)
        + opt(m.correlation_id)
        + m.vlan.map_or(0, |_| 8)
        + opt(m.node_name)
        + 6
        + m.payload.len()
}

/// Appends `m` as one HEP3 packet to `out` and returns the number of bytes written.
///
/// On error nothing is appended.
pub fn encode_v3(m: &HepOut<'_>, out: &mut Vec<u8>) -> Result<usize, EncodeError> {
    let total = encoded_len(m);
    if total > MAX_HEP3_PACKET {
        return Err(EncodeError::TooLarge(total));
    }
    let start = out.len();
    out.reserve(total);
    out.extend_from_slice(HEP3_MAGIC);
    out.extend_from_slice(&u16::try_from(total).unwrap_or(u16::MAX).to_be_bytes());
    match (m.src_ip, m.dst_ip) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            put_chunk(out, chunk::IP_FAMILY, &[FAMILY_IPV4]);
            put_chunk(out, chunk::IP_PROTOCOL, &[m.ip_protocol]);
            put_chunk(out, chunk::IPV4_SRC, &s.octets());
            put_chunk(out, chunk::IPV4_DST, &d.octets());
        }
        (s, d) => {
            put_chunk(out, chunk::IP_FAMILY, &[FAMILY_IPV6]);
            put_chunk(out, chunk::IP_PROTOCOL, &[m.ip_protocol]);
            put_chunk(out, chunk::IPV6_SRC, &to_v6(s).octets());
            put_chunk(out, chunk::IPV6_DST, &to_v6(d).octets());
        }
    }
    put_chunk(out, chunk::SRC_PORT, &m.src_port.to_be_bytes());
    put_chunk(out, chunk::DST_PORT, &m.dst_port.to_be_bytes());
    put_chunk(out, chunk::TS_SEC, &m.ts_sec.to_be_bytes());
    put_chunk(out, chunk::TS_USEC, &m.ts_usec.to_be_bytes());
    put_chunk(out, chunk::PROTO_TYPE, &[m.proto_type]);
    put_chunk(out, chunk::NODE_ID, &m.node_id.to_be_bytes());
    if let Some(pw) = m.password {
        put_chunk(out, chunk::AUTH_KEY, pw);
    }
    if let Some(cid) = m.correlation_id {
        put_chunk(out, chunk::CORRELATION_ID, cid);
    }
    if let Some(vlan) = m.vlan {
        put_chunk(out, chunk::VLAN, &vlan.to_be_bytes());
    }
    if let Some(name) = m.node_name {
        put_chunk(out, chunk::NODE_NAME, name);
    }
    put_chunk(out, chunk::PAYLOAD, m.payload);
    debug_assert_eq!(out.len() - start, total);
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    /// Walks the chunk headers of an encoded packet and returns their type ids.
    fn chunk_types(p: &[u8]) -> Vec<u16> {
        let mut at = 6;
        let mut types = Vec::new();
        while at < p.len() {
            types.push(u16::from_be_bytes([p[at + 2], p[at + 3]]));
            at += usize::from(u16::from_be_bytes([p[at + 4], p[at + 5]]));
        }
        assert_eq!(at, p.len());
        types
    }

    #[test]
    fn heplify_chunk_order() {
        let mut m = HepOut {
            ip_protocol: 17,
            src_ip: Ipv4Addr::LOCALHOST.into(),
            dst_ip: Ipv4Addr::LOCALHOST.into(),
            src_port: 1,
            dst_port: 2,
            ts_sec: 3,
            ts_usec: 4,
            proto_type: 1,
            node_id: 2002,
            password: None,
            correlation_id: None,
            vlan: None,
            node_name: None,
            payload: b"x",
        };
        let mut buf = Vec::new();
        encode_v3(&m, &mut buf).unwrap();
        assert_eq!(chunk_types(&buf), [1, 2, 3, 4, 7, 8, 9, 10, 11, 12, 15]);
        assert_eq!(&buf[..4], b"HEP3");
        assert_eq!(usize::from(u16::from_be_bytes([buf[4], buf[5]])), buf.len());
        m.password = Some(b"pw");
        m.correlation_id = Some(b"cid");
        m.vlan = Some(7);
        m.node_name = Some(b"n");
        m.src_ip = "::1".parse().unwrap();
        buf.clear();
        encode_v3(&m, &mut buf).unwrap();
        assert_eq!(
            chunk_types(&buf),
            [1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 14, 17, 18, 19, 15]
        );
    }
}
