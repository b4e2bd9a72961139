//! Link-layer headers: what sits in front of the first IP header of a captured frame.
//!
//! * Ethernet II, with 802.3 length frames handed to LLC (only SNAP can carry IP), VLAN tags
//!   (802.1Q 0x8100, 802.1ad 0x88a8 and the pre-standard 0x9100 / 0x9200 QinQ types).
//! * Linux "cooked" captures, SLL (16-byte header, `tcpdump -i any` before libpcap 1.10) and
//!   SLL2 (20 bytes). The ARPHRD type tells what device the packet came from; whatever it
//!   is (Ethernet, loopback 772, tun/`ARPHRD_NONE` 65534, GRE 778, PPP 512, …), the kernel
//!   has already removed the device header and the protocol field holds the Ethernet type
//!   of the payload. Only a few devices use the field for something else: netlink (its
//!   family) and the Linux-internal values below 0x0600 (`ETH_P_802_2` means an LLC header
//!   follows, the others are not IP).
//! * BSD NULL (4-byte address family in the capturing host's byte order, which we guess)
//!   and LOOP (network order). `AF_INET6` differs by OS: 24 (NetBSD, OpenBSD), 28 (FreeBSD),
//!   30 (macOS), 10 (Linux).
//! * Raw IP (the version nibble decides), PPP, Cisco HDLC, NFLOG.
//! * PPPoE sessions and PPP (protocol field compression and address/control tolerated),
//!   MPLS label stacks.

use super::walk::Layer;
use super::{be16, be32};

/// `LINKTYPE_*` values handled here beyond the ones in [`crate::linktype`].
mod lt {
    pub const PPP: u32 = 9;
    pub const PPP_HDLC: u32 = 50;
    pub const C_HDLC: u32 = 104;
    pub const NFLOG: u32 = 239;
}

const ARPHRD_NETLINK: u16 = 824;
/// `ETH_P_802_2`: an 802.2 LLC header follows.
const ETH_P_802_2: u16 = 0x0004;

/// Dispatches on the link type; `None` when the link type is not supported.
#[inline]
pub(super) fn link(link_type: u32, d: &[u8]) -> Option<Result<Layer<'_>, &'static str>> {
    use crate::linktype::*;
    Some(match link_type {
        ETHERNET => ethernet(d),
        LINUX_SLL => sll(d),
        LINUX_SLL2 => sll2(d),
        RAW | IPV4 | IPV6 | RAW_DLT12 | RAW_DLT14 => Ok(Layer::Ip(d)),
        NULL => null(d, false),
        LOOP => null(d, true),
        lt::PPP | lt::PPP_HDLC => Ok(Layer::Ppp(d)),
        lt::C_HDLC => cisco_hdlc(d),
        lt::NFLOG => nflog(d),
        _ => return None,
    })
}

/// Ethernet II / 802.3: skips the MAC addresses.
#[inline]
pub(super) fn ethernet(d: &[u8]) -> Result<Layer<'_>, &'static str> {
    match (be16(d, 12), d.get(14..)) {
        (Some(ethertype), Some(payload)) => Ok(Layer::EtherType(ethertype, payload)),
        _ => Err("truncated Ethernet header"),
    }
}

/// One VLAN tag (TCI then the next type); returns the VLAN id and the next layer.
#[inline]
pub(super) fn vlan(d: &[u8]) -> Result<(u16, Layer<'_>), &'static str> {
    match (be16(d, 0), be16(d, 2), d.get(4..)) {
        (Some(tci), Some(ethertype), Some(payload)) => {
            Ok((tci & 0x0fff, Layer::EtherType(ethertype, payload)))
        }
        _ => Err("truncated VLAN tag"),
    }
}

/// 802.2 LLC: only SNAP with an Ethernet-type OUI carries IP; STP, IPX, NetBIOS… do not.
pub(super) fn llc(d: &[u8]) -> Result<Layer<'_>, &'static str> {
    let Some(&[dsap, ssap, control]) = d.get(..3) else {
        return Err("truncated LLC header");
    };
    if dsap != 0xaa || ssap != 0xaa || control != 0x03 {
        return Ok(Layer::NotIp);
    }
    let (Some(oui), Some(ethertype), Some(payload)) = (d.get(3..6), be16(d, 6), d.get(8..)) else {
        return Err("truncated SNAP header");
    };
    // OUI 0 is RFC 1042 encapsulation, 00-00-f8 Cisco's 802.1H variant: both mean "an
    // Ethernet type follows".
    if oui == [0, 0, 0] || oui == [0, 0, 0xf8] {
        Ok(Layer::EtherType(ethertype, payload))
    } else {
        Ok(Layer::NotIp)
    }
}

/// Linux cooked capture v1: type(2) ARPHRD(2) address length(2) address(8) protocol(2).
#[inline]
fn sll(d: &[u8]) -> Result<Layer<'_>, &'static str> {
    match (be16(d, 2), be16(d, 14), d.get(16..)) {
        (Some(arphrd), Some(protocol), Some(payload)) => Ok(cooked(arphrd, protocol, payload)),
        _ => Err("truncated Linux SLL header"),
    }
}

/// Linux cooked capture v2: protocol(2) reserved(2) ifindex(4) ARPHRD(2) type(1)
/// address length(1) address(8).
#[inline]
fn sll2(d: &[u8]) -> Result<Layer<'_>, &'static str> {
    match (be16(d, 0), be16(d, 8), d.get(20..)) {
        (Some(protocol), Some(arphrd), Some(payload)) => Ok(cooked(arphrd, protocol, payload)),
        _ => Err("truncated Linux SLL2 header"),
    }
}

#[inline]
fn cooked(arphrd: u16, protocol: u16, payload: &[u8]) -> Layer<'_> {
    if arphrd == ARPHRD_NETLINK {
        return Layer::NotIp;
    }
    match protocol {
        ETH_P_802_2 => Layer::Llc(payload),
        // Other Linux-internal protocol values (802.3 raw, CAN, 802.11, …).
        0..=0x05ff => Layer::NotIp,
        ethertype => Layer::EtherType(ethertype, payload),
    }
}

/// BSD NULL (host byte order) or LOOP (network byte order) 4-byte address family.
#[inline]
fn null(d: &[u8], network_order: bool) -> Result<Layer<'_>, &'static str> {
    let (Some(&[a, b, c, e]), Some(payload)) = (d.get(..4), d.get(4..)) else {
        return Err("truncated NULL/loopback header");
    };
    let family = if network_order {
        u32::from_be_bytes([a, b, c, e])
    } else {
        // The byte order of the capturing host is unknown; families are small numbers,
        // so whichever order gives a value below 65536 is the right one.
        let le = u32::from_le_bytes([a, b, c, e]);
        if le > 0xffff {
            le.swap_bytes()
        } else {
            le
        }
    };
    Ok(match family {
        2 => Layer::Ipv4(payload),
        10 | 24 | 28 | 30 => Layer::Ipv6(payload),
        _ => Layer::NotIp,
    })
}

/// PPPoE session stage: version/type(1) code(1) session(2) length(2), then a PPP protocol.
pub(super) fn pppoe_session(d: &[u8]) -> Result<Layer<'_>, &'static str> {
    let (Some(length), Some(payload)) = (be16(d, 4), d.get(6..)) else {
        return Err("truncated PPPoE header");
    };
    // The length field excludes Ethernet padding; trust it only when it fits.
    let payload = payload.get(..usize::from(length)).unwrap_or(payload);
    Ok(Layer::Ppp(payload))
}

/// PPP: optional 0xff 0x03 address/control (absent in PPPoE, present in HDLC-like
/// framing), then a 1-byte (compressed, odd) or 2-byte protocol.
pub(super) fn ppp(d: &[u8]) -> Result<Layer<'_>, &'static str> {
    let d = match d {
        [0xff, 0x03, rest @ ..] => rest,
        _ => d,
    };
    let (protocol, payload) = match d {
        [p, rest @ ..] if p & 1 == 1 => (u16::from(*p), rest),
        [hi, lo, rest @ ..] => (u16::from_be_bytes([*hi, *lo]), rest),
        _ => return Err("truncated PPP header"),
    };
    Ok(match protocol {
        0x0021 => Layer::Ipv4(payload),
        0x0057 => Layer::Ipv6(payload),
        0x0281 | 0x0283 => Layer::Mpls(payload),
        // Van Jacobson compressed TCP/IP, compressed or encrypted datagrams (CCP, MPPE):
        // IP, but not decodable without the session state.
        0x002d | 0x002f | 0x00fd | 0x00fb => return Err("compressed PPP"),
        _ => Layer::NotIp,
    })
}

/// Cisco HDLC: address(1) control(1) Ethernet type(2).
fn cisco_hdlc(d: &[u8]) -> Result<Layer<'_>, &'static str> {
    match (be16(d, 2), d.get(4..)) {
        (Some(ethertype), Some(payload)) => Ok(Layer::EtherType(ethertype, payload)),
        _ => Err("truncated Cisco HDLC header"),
    }
}

/// Linux NFLOG: family(1) version(1) resource id(2), then TLVs (length and type in host
/// byte order, little-endian on every platform that matters, each padded to 4 bytes);
/// the packet is the `NFULA_PAYLOAD` (9) TLV.
fn nflog(d: &[u8]) -> Result<Layer<'_>, &'static str> {
    const NFULA_PAYLOAD: u16 = 9;
    let Some(&family) = d.first() else {
        return Err("truncated NFLOG header");
    };
    let mut rest = d.get(4..).ok_or("truncated NFLOG header")?;
    while let Some(&[l0, l1, t0, t1]) = rest.get(..4) {
        let len = usize::from(u16::from_le_bytes([l0, l1]));
        let tlv_type = u16::from_le_bytes([t0, t1]) & 0x7fff;
        if len < 4 {
            return Err("bad NFLOG TLV");
        }
        if tlv_type == NFULA_PAYLOAD {
            let value = rest.get(4..len).ok_or("truncated NFLOG payload")?;
            return Ok(match family {
                2 => Layer::Ipv4(value),
                10 => Layer::Ipv6(value),
                _ => Layer::NotIp,
            });
        }
        let padded = len.checked_add(3).map(|l| l & !3).unwrap_or(len);
        rest = rest.get(padded..).unwrap_or(&[]);
    }
    Ok(Layer::NotIp)
}

/// MPLS label stack (at most 16 labels), then what the first nibble suggests: IPv4, IPv6,
/// or (0) a pseudowire control word in front of an Ethernet frame.
pub(super) fn mpls(mut d: &[u8]) -> Result<Layer<'_>, &'static str> {
    const MAX_LABELS: usize = 16;
    for _ in 0..MAX_LABELS {
        let entry = be32(d, 0).ok_or("truncated MPLS label")?;
        d = d.get(4..).unwrap_or(&[]);
        if entry & 0x100 != 0 {
            return match d.first().map(|b| b >> 4) {
                Some(4) => Ok(Layer::Ipv4(d)),
                Some(6) => Ok(Layer::Ipv6(d)),
                Some(0) => d
                    .get(4..)
                    .map(Layer::Ethernet)
                    .ok_or("truncated MPLS control word"),
                Some(_) => Err("unsupported MPLS payload"),
                None => Err("truncated MPLS payload"),
            };
        }
    }
    Err("MPLS label stack too deep")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_family_in_either_byte_order() {
        let v6 = [30, 0, 0, 0, 0x60];
        assert!(matches!(null(&v6, false), Ok(Layer::Ipv6(_))));
        let v6_be = [0, 0, 0, 30, 0x60];
        assert!(matches!(null(&v6_be, false), Ok(Layer::Ipv6(_))));
        let v4_loop = [0, 0, 0, 2, 0x45];
        assert!(matches!(null(&v4_loop, true), Ok(Layer::Ipv4(_))));
        assert!(matches!(null(&[7, 0, 0, 0], false), Ok(Layer::NotIp)));
        assert!(null(&[2, 0, 0], false).is_err());
    }

    #[test]
    fn ppp_protocol_forms() {
        assert!(matches!(ppp(&[0x00, 0x21, 0x45]), Ok(Layer::Ipv4(_))));
        assert!(matches!(ppp(&[0x21, 0x45]), Ok(Layer::Ipv4(_))));
        assert!(matches!(ppp(&[0xff, 0x03, 0x00, 0x57]), Ok(Layer::Ipv6(_))));
        assert!(matches!(ppp(&[0xc0, 0x21, 1]), Ok(Layer::NotIp)));
        assert!(ppp(&[0x00, 0xfd, 1]).is_err());
        assert!(ppp(&[0x00]).is_err());
    }

    #[test]
    fn llc_snap_and_stp() {
        let snap = [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00, 0x45];
        assert!(matches!(llc(&snap), Ok(Layer::EtherType(0x0800, [0x45]))));
        let stp = [0x42, 0x42, 0x03, 0, 0];
        assert!(matches!(llc(&stp), Ok(Layer::NotIp)));
        assert!(llc(&[0xaa, 0xaa]).is_err());
        assert!(llc(&[0xaa, 0xaa, 0x03, 0]).is_err());
    }

    #[test]
    fn mpls_stack() {
        let one = [0, 0x01, 0x01, 0x40, 0x45, 0];
        assert!(matches!(mpls(&one), Ok(Layer::Ipv4([0x45, 0]))));
        let two = [0, 0x01, 0x00, 0x40, 0, 0x02, 0x01, 0x40, 0x60];
        assert!(matches!(mpls(&two), Ok(Layer::Ipv6([0x60]))));
        let pw = [0, 0x01, 0x01, 0x40, 0, 0, 0, 0, 0xaa];
        assert!(matches!(mpls(&pw), Ok(Layer::Ethernet([0xaa]))));
        assert!(mpls(&[0u8; 80]).is_err());
        assert!(mpls(&[0, 1, 1]).is_err());
    }

    #[test]
    fn nflog_payload_tlv() {
        let mut d = vec![2, 0, 0, 0];
        d.extend_from_slice(&[5, 0, 1, 0, 0xee, 0, 0, 0]); // 5-byte TLV padded to 8
        d.extend_from_slice(&[6, 0, 9, 0, 0x45, 0x00]);
        assert!(matches!(nflog(&d), Ok(Layer::Ipv4([0x45, 0]))));
        assert!(matches!(nflog(&[2, 0, 0, 0]), Ok(Layer::NotIp)));
        assert!(nflog(&[2, 0, 0, 0, 2, 0, 9, 0]).is_err());
    }
}
