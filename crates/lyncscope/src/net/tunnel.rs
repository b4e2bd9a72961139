//! Tunnels: headers between an outer IP payload and an inner packet or frame.
//!
//! Each parser returns the next [`Layer`] and a tunnel identifier (GRE key, PPTP call id,
//! ERSPAN session, TEID, VNI; 0 when there is none) that keeps fragments of different
//! tunnels apart in the reassembly pool.
//!
//! * GRE (RFC 2784 / 2890, and the RFC 1701 routing field): checksum, key, sequence and
//!   source routes are skipped; the protocol type is an Ethernet type, with GRE-only values:
//!   ERSPAN type I/II 0x88be (type II has the sequence bit set and an 8-byte header, type I
//!   has neither), ERSPAN type III 0x22eb (12 bytes, plus an 8-byte platform subheader when
//!   the O bit is set; the frame type says Ethernet or IP), PPP 0x880b (PPTP) and 0x8881
//!   (3GPP2 A10), WCCP redirection 0x883e. Version 1 is PPTP's enhanced GRE (RFC 2637):
//!   key = payload length + call id, optional sequence and acknowledgement numbers.
//! * UDP tunnels, recognised by port: GTP-U (2152, either port; only G-PDU messages carry a
//!   user packet), VXLAN (destination 4789), Geneve (destination 6081). A UDP datagram on
//!   those ports whose header does not look like the tunnel is left alone: it is returned
//!   as an ordinary UDP packet, since some other application may use the port.
//! * EtherIP (IP protocol 97, RFC 3378).

use super::walk::Layer;
use super::{be16, be32};

const GRE_CHECKSUM: u16 = 0x8000;
const GRE_ROUTING: u16 = 0x4000;
const GRE_KEY: u16 = 0x2000;
const GRE_SEQ: u16 = 0x1000;
const GRE_ACK: u16 = 0x0080;

const PROTO_ERSPAN_1_2: u16 = 0x88be;
const PROTO_ERSPAN_3: u16 = 0x22eb;
const PROTO_PPP: u16 = 0x880b;
const PROTO_A10_PPP: u16 = 0x8881;
const PROTO_WCCP: u16 = 0x883e;

const PORT_GTP_U: u16 = 2152;
const PORT_VXLAN: u16 = 4789;
const PORT_GENEVE: u16 = 6081;

type Inner<'a> = Result<(Layer<'a>, u32), &'static str>;

const GRE_TRUNCATED: &str = "truncated GRE header";

/// GRE, versions 0 and 1.
pub(super) fn gre(d: &[u8]) -> Inner<'_> {
    let (Some(flags), Some(protocol)) = (be16(d, 0), be16(d, 2)) else {
        return Err(GRE_TRUNCATED);
    };
    match flags & 0x7 {
        0 => {
            let mut off = 4usize;
            if flags & (GRE_CHECKSUM | GRE_ROUTING) != 0 {
                off += 4;
            }
            let mut key = 0;
            if flags & GRE_KEY != 0 {
                key = be32(d, off).ok_or(GRE_TRUNCATED)?;
                off += 4;
            }
            let has_seq = flags & GRE_SEQ != 0;
            if has_seq {
                off += 4;
            }
            if flags & GRE_ROUTING != 0 {
                off = skip_source_routes(d, off)?;
            }
            let payload = d.get(off..).ok_or(GRE_TRUNCATED)?;
            gre_payload(protocol, has_seq, key, payload)
        }
        1 => {
            // Enhanced GRE: the key field is mandatory and holds payload length + call id.
            if flags & GRE_KEY == 0 {
                return Err("bad enhanced GRE header");
            }
            let (Some(payload_len), Some(call_id)) = (be16(d, 4), be16(d, 6)) else {
                return Err(GRE_TRUNCATED);
            };
            let mut off = 8usize;
            if flags & GRE_SEQ != 0 {
                off += 4;
            }
            if flags & GRE_ACK != 0 {
                off += 4;
            }
            let payload = d.get(off..).ok_or(GRE_TRUNCATED)?;
            // Acknowledgement-only packets have no payload at all.
            let payload = payload.get(..usize::from(payload_len)).unwrap_or(payload);
            let id = u32::from(call_id);
            match protocol {
                PROTO_PPP | PROTO_A10_PPP => ppp(payload, id),
                ethertype => Ok((Layer::EtherType(ethertype, payload), id)),
            }
        }
        _ => Err("unsupported GRE version"),
    }
}

/// RFC 1701 source route entries: address family(2) offset(1) length(1) data, ending with
/// an entry of family 0 and length 0.
fn skip_source_routes(d: &[u8], mut off: usize) -> Result<usize, &'static str> {
    const MAX_ENTRIES: usize = 32;
    for _ in 0..MAX_ENTRIES {
        let (Some(family), Some(&len)) = (be16(d, off), d.get(off + 3)) else {
            return Err(GRE_TRUNCATED);
        };
        off += 4 + usize::from(len);
        if family == 0 && len == 0 {
            return Ok(off);
        }
    }
    Err("bad GRE routing field")
}

fn gre_payload(protocol: u16, has_seq: bool, key: u32, payload: &[u8]) -> Inner<'_> {
    match protocol {
        // Without the sequence bit, ERSPAN type I: the mirrored frame follows directly.
        PROTO_ERSPAN_1_2 if has_seq => erspan2(payload),
        PROTO_ERSPAN_1_2 => Ok((Layer::Ethernet(payload), key)),
        PROTO_ERSPAN_3 => erspan3(payload),
        PROTO_PPP | PROTO_A10_PPP => ppp(payload, key),
        PROTO_WCCP => {
            // WCCPv2 inserts a 4-byte redirect header; WCCPv1 sends the IP packet directly.
            let inner = match payload.first() {
                Some(b) if b >> 4 == 4 => payload,
                _ => payload.get(4..).ok_or("truncated WCCP redirect header")?,
            };
            Ok((Layer::Ip(inner), key))
        }
        ethertype => Ok((Layer::EtherType(ethertype, payload), key)),
    }
}

fn ppp(payload: &[u8], id: u32) -> Inner<'_> {
    // HDLC-like framing with flag bytes also escapes bytes inside the packet, which would
    // need a copy to undo.
    if payload.first() == Some(&0x7e) {
        return Err("HDLC-framed PPP");
    }
    Ok((Layer::Ppp(payload), id))
}

/// ERSPAN type II: ver(4) VLAN(12) COS(3) En(2) T(1) session(10) reserved(12) index(20).
fn erspan2(d: &[u8]) -> Inner<'_> {
    match (be16(d, 2), d.get(8..)) {
        (Some(session), Some(frame)) => Ok((Layer::Ethernet(frame), u32::from(session & 0x3ff))),
        _ => Err("truncated ERSPAN header"),
    }
}

/// ERSPAN type III: ver(4) VLAN(12) COS(3) BSO(2) T(1) session(10) timestamp(32) SGT(16)
/// P(1) FT(5) HW ID(6) D(1) Gra(2) O(1), then the optional platform subheader.
fn erspan3(d: &[u8]) -> Inner<'_> {
    let (Some(session), Some(bits)) = (be16(d, 2), be16(d, 10)) else {
        return Err("truncated ERSPAN header");
    };
    let header_len = if bits & 1 != 0 { 20 } else { 12 };
    let frame = d.get(header_len..).ok_or("truncated ERSPAN header")?;
    let session = u32::from(session & 0x3ff);
    match (bits >> 10) & 0x1f {
        0 => Ok((Layer::Ethernet(frame), session)),
        2 => Ok((Layer::Ip(frame), session)),
        _ => Err("unsupported ERSPAN frame type"),
    }
}

/// EtherIP: version(4) reserved(12), then an Ethernet frame.
pub(super) fn etherip(d: &[u8]) -> Inner<'_> {
    d.get(2..)
        .map(|frame| (Layer::Ethernet(frame), 0))
        .ok_or("truncated EtherIP header")
}

/// A UDP datagram that may be a tunnel: `None` when it is not (the common case, decided by
/// the ports alone), otherwise the inner layer or why it could not be decoded.
#[inline]
pub(super) fn udp(d: &[u8]) -> Option<Inner<'_>> {
    let (src_port, dst_port) = (be16(d, 0)?, be16(d, 2)?);
    if src_port != PORT_GTP_U
        && dst_port != PORT_GTP_U
        && dst_port != PORT_VXLAN
        && dst_port != PORT_GENEVE
    {
        return None;
    }
    // The UDP length bounds the payload when it is consistent.
    let length = usize::from(be16(d, 4)?);
    let payload = d.get(8..length).or_else(|| d.get(8..))?;
    match dst_port {
        PORT_VXLAN => vxlan(payload),
        PORT_GENEVE => geneve(payload),
        _ => gtp_u(payload),
    }
}

/// GTPv1-U (3GPP TS 29.281): flags(1) type(1) length(2) TEID(4), then, when any of E / S /
/// PN is set, sequence(2) N-PDU(1) next extension type(1), then the extension headers
/// (length in 4-byte units, last byte = next type) when E is set.
fn gtp_u(d: &[u8]) -> Option<Inner<'_>> {
    const G_PDU: u8 = 255;
    const MAX_EXTENSIONS: usize = 16;
    let (&flags, &msg_type, length, teid) = (d.first()?, d.get(1)?, be16(d, 2)?, be32(d, 4)?);
    // Version 1, protocol type GTP; anything else on the port is not ours. Only G-PDUs
    // carry a user packet; echo, error indication and end marker are plain UDP.
    if flags & 0xf0 != 0x30 || msg_type != G_PDU {
        return None;
    }
    Some((|| {
        const TRUNCATED: &str = "truncated GTP-U header";
        let end = 8usize.saturating_add(usize::from(length)).min(d.len());
        let mut off = 8usize;
        if flags & 0x07 != 0 {
            let mut next = *d.get(11).ok_or(TRUNCATED)?;
            off = 12;
            if flags & 0x04 != 0 {
                let mut count = 0;
                while next != 0 {
                    count += 1;
                    if count > MAX_EXTENSIONS {
                        return Err("too many GTP-U extension headers");
                    }
                    let len = usize::from(*d.get(off).ok_or(TRUNCATED)?) * 4;
                    if len == 0 {
                        return Err("bad GTP-U extension header");
                    }
                    next = *d.get(off + len - 1).ok_or(TRUNCATED)?;
                    off += len;
                }
            }
        }
        let inner = d.get(off..end).ok_or(TRUNCATED)?;
        Ok((Layer::Ip(inner), teid))
    })())
}

/// VXLAN (RFC 7348): flags(1, I = 0x08) reserved(3) VNI(3) reserved(1), then Ethernet.
fn vxlan(d: &[u8]) -> Option<Inner<'_>> {
    let (&flags, vni_word, frame) = (d.first()?, be32(d, 4)?, d.get(8..)?);
    if flags & 0x08 == 0 {
        return None;
    }
    Some(Ok((Layer::Ethernet(frame), vni_word >> 8)))
}

/// Geneve (RFC 8926): ver(2) option length(6, 4-byte units) flags(1) protocol(2) VNI(3)
/// reserved(1), options, then a payload of the given Ethernet type.
fn geneve(d: &[u8]) -> Option<Inner<'_>> {
    let (&first, protocol, vni_word) = (d.first()?, be16(d, 2)?, be32(d, 4)?);
    if first >> 6 != 0 {
        return None;
    }
    let options = usize::from(first & 0x3f) * 4;
    Some(
        d.get(8 + options..)
            .map(|payload| (Layer::EtherType(protocol, payload), vni_word >> 8))
            .ok_or("truncated Geneve header"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gre_optional_fields() {
        // C + K + S: checksum(4) key(4) seq(4)
        let mut d = vec![0xb0, 0x00, 0x08, 0x00, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 1];
        d.push(0x45);
        let (layer, key) = gre(&d).unwrap();
        assert!(matches!(layer, Layer::EtherType(0x0800, [0x45])));
        assert_eq!(key, 42);
        assert_eq!(gre(&d[..10]).unwrap_err(), GRE_TRUNCATED);
        assert_eq!(gre(&[0, 3, 8, 0]).unwrap_err(), "unsupported GRE version");
    }

    #[test]
    fn gre_source_routes() {
        let mut d = vec![0x40, 0x00, 0x08, 0x00, 0, 0, 0, 0];
        d.extend_from_slice(&[0x08, 0x00, 0, 4, 1, 2, 3, 4]); // one SRE with 4 bytes
        d.extend_from_slice(&[0, 0, 0, 0]); // terminator
        d.push(0x45);
        assert!(matches!(gre(&d), Ok((Layer::EtherType(0x0800, [0x45]), 0))));
        assert!(gre(&d[..14]).is_err());
    }

    #[test]
    fn enhanced_gre() {
        // K + S + A, version 1, PPP, payload length 3, call id 7
        let d = [
            0x30, 0x81, 0x88, 0x0b, 0, 3, 0, 7, 0, 0, 0, 1, 0, 0, 0, 2, 0x21, 0x45, 0, 0xee,
        ];
        let (layer, id) = gre(&d).unwrap();
        assert!(matches!(layer, Layer::Ppp([0x21, 0x45, 0])));
        assert_eq!(id, 7);
        assert!(gre(&[0x10, 0x01, 0x88, 0x0b, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn erspan_versions() {
        let mut ii = vec![0x10, 0x00, 0x00, 0x05, 0, 0, 0, 0];
        ii.push(0xaa);
        assert!(matches!(erspan2(&ii), Ok((Layer::Ethernet([0xaa]), 5))));
        let mut iii = vec![0x20, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1];
        iii.extend_from_slice(&[0; 8]);
        iii.push(0xbb);
        assert!(matches!(erspan3(&iii), Ok((Layer::Ethernet([0xbb]), 9))));
        iii[10] = 0x08; // FT = 2: IP
        assert!(matches!(erspan3(&iii), Ok((Layer::Ip([0xbb]), 9))));
        iii[10] = 0x04; // FT = 1
        assert!(erspan3(&iii).is_err());
        assert!(erspan2(&ii[..7]).is_err());
    }

    #[test]
    fn udp_tunnels_by_port() {
        let mut vx = vec![
            0x12, 0x34, 0x12, 0xb5, 0, 17, 0, 0, 0x08, 0, 0, 0, 0, 0, 1, 0,
        ];
        vx.push(0xcc);
        assert!(matches!(udp(&vx), Some(Ok((Layer::Ethernet([0xcc]), 1)))));
        vx[8] = 0;
        assert!(udp(&vx).is_none());
        let sip = [0x13, 0xc4, 0x13, 0xc4, 0, 9, 0, 0, b'I'];
        assert!(udp(&sip).is_none());
    }

    #[test]
    fn gtp_u_header_forms() {
        let plain = [0x30, 0xff, 0, 1, 0, 0, 0, 9, 0x45];
        assert!(matches!(gtp_u(&plain), Some(Ok((Layer::Ip([0x45]), 9)))));
        // E set: optional fields, one 4-byte extension header, then the packet.
        let ext = [
            0x34, 0xff, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0x85, 1, 0x10, 0x09, 0, 0x60,
        ];
        assert!(matches!(gtp_u(&ext), Some(Ok((Layer::Ip([0x60]), 1)))));
        let bad_ext = [
            0x34, 0xff, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0x85, 0, 0, 0, 0, 0x60,
        ];
        assert!(matches!(gtp_u(&bad_ext), Some(Err(_))));
        let echo = [0x32, 0x01, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0];
        assert!(gtp_u(&echo).is_none());
        let rtp = [0x80, 0x00, 0, 1, 0, 0, 0, 0, 0];
        assert!(gtp_u(&rtp).is_none());
    }

    #[test]
    fn geneve_options() {
        let mut d = vec![0x01, 0, 0x65, 0x58, 0, 0, 3, 0, 1, 2, 3, 4];
        d.push(0xdd);
        assert!(matches!(
            geneve(&d),
            Some(Ok((Layer::EtherType(0x6558, [0xdd]), 3)))
        ));
        assert!(matches!(geneve(&d[..10]), Some(Err(_))));
    }
}
