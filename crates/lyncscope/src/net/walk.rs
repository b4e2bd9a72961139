//! The layer state machine: from a link-layer frame down to the innermost IP payload.
//!
//! Each step looks at one [`Layer`], asks the protocol module to parse its header and moves
//! to the next layer, until an IP payload that is not a tunnel is reached. Keeping the
//! chaining here (rather than having parsers call each other) makes recursion impossible:
//! nesting is a loop with explicit bounds on steps, VLAN tags and tunnel depth, so hostile
//! input can neither overflow the stack nor loop forever.
//!
//! The walk is pure: it borrows the bytes it is given and returns slices of them. A
//! fragment is returned to the caller, which owns the reassembly pool; a reassembled
//! datagram is walked again from [`Layer::Ipv6Ext`] or [`Layer::IpPayload`] so that tunnels
//! carried in fragments are decoded too.

use super::{be16, ipv4, ipv6, link, tunnel};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub(super) const ETH_IPV4: u16 = 0x0800;
pub(super) const ETH_IPV6: u16 = 0x86dd;
pub(super) const ETH_VLAN: u16 = 0x8100;
pub(super) const ETH_QINQ: u16 = 0x88a8;
pub(super) const ETH_QINQ_OLD: u16 = 0x9100;
pub(super) const ETH_QINQ_OLD2: u16 = 0x9200;
pub(super) const ETH_PPPOE_DISC: u16 = 0x8863;
pub(super) const ETH_PPPOE_SESS: u16 = 0x8864;
pub(super) const ETH_MPLS_UC: u16 = 0x8847;
pub(super) const ETH_MPLS_MC: u16 = 0x8848;
pub(super) const ETH_TEB: u16 = 0x6558;

/// Tunnels inside tunnels beyond this depth are not decoded.
pub(super) const MAX_TUNNEL_DEPTH: u8 = 8;
/// VLAN tags beyond this count (per walk) are not decoded.
const MAX_VLAN_TAGS: u8 = 8;
/// Upper bound on the steps of one walk. Every step but a few consumes header bytes, so this
/// is never reached by real traffic; it is the backstop that guarantees termination.
const MAX_STEPS: usize = 96;

/// Where the walk currently is: the bytes starting at some protocol's header.
#[derive(Clone, Copy, Debug)]
pub(super) enum Layer<'a> {
    /// A whole frame of the given `LINKTYPE_*`.
    Link(u32, &'a [u8]),
    /// An Ethernet frame, starting with the destination MAC.
    Ethernet(&'a [u8]),
    /// The payload of an Ethernet-style type field (also used by SLL, GRE, Geneve, …).
    EtherType(u16, &'a [u8]),
    /// An IEEE 802.2 LLC header (802.3 frames with a length field).
    Llc(&'a [u8]),
    /// A PPP frame: optional address/control, then the protocol field.
    Ppp(&'a [u8]),
    /// An MPLS label stack.
    Mpls(&'a [u8]),
    /// An IP packet whose version nibble decides between IPv4 and IPv6.
    Ip(&'a [u8]),
    Ipv4(&'a [u8]),
    Ipv6(&'a [u8]),
    /// IPv6 extension headers (or the upper layer) starting with header type `next`.
    Ipv6Ext {
        addrs: Addrs<'a>,
        next: u8,
        data: &'a [u8],
        /// Bytes at the end of `data` that the IPv6 payload length declares but the
        /// capture lacks.
        missing: u32,
    },
    /// The payload of an IP packet (not a fragment) with the given protocol.
    IpPayload {
        addrs: Addrs<'a>,
        protocol: u8,
        data: &'a [u8],
    },
    /// A well-formed frame that carries something other than IP.
    NotIp,
}

/// Context that separates otherwise identical fragment keys: the same private addresses
/// may appear on several VLANs or inside several tunnels of one capture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(super) struct Channel {
    /// The last two VLAN ids seen (outer << 12 | inner).
    pub vlan: u32,
    /// A mix of the tunnel identifiers crossed (GRE key, TEID, VNI, ERSPAN session, …).
    pub tunnel: u32,
    /// Number of tunnels crossed.
    pub depth: u8,
}

/// Source and destination addresses as they appear in an IP header: 8 bytes for IPv4, 32
/// for IPv6.
///
/// Layers carry this reference rather than `IpAddr` values: moving `IpAddr`s (a tag byte
/// and an unaligned array) from step to step costs store-forwarding stalls that made the
/// walk several times slower; a reference moves in a register and is converted once.
#[derive(Clone, Copy, Debug)]
pub(super) struct Addrs<'a>(pub &'a [u8]);

impl Addrs<'_> {
    /// (source, destination); unspecified addresses if the bytes are not an address pair,
    /// which the parsers never produce.
    #[inline]
    pub fn pair(self) -> (IpAddr, IpAddr) {
        let b = self.0;
        if let (Some(s), Some(d)) = (b.first_chunk::<4>(), b.last_chunk::<4>()) {
            if b.len() == 8 {
                return (Ipv4Addr::from(*s).into(), Ipv4Addr::from(*d).into());
            }
        }
        match (b.first_chunk::<16>(), b.last_chunk::<16>()) {
            (Some(s), Some(d)) if b.len() == 32 => {
                (Ipv6Addr::from(*s).into(), Ipv6Addr::from(*d).into())
            }
            _ => (Ipv6Addr::UNSPECIFIED.into(), Ipv6Addr::UNSPECIFIED.into()),
        }
    }
}

/// An IP packet found by the walk, borrowing the walked bytes.
#[derive(Debug)]
pub(super) struct PacketRef<'a> {
    pub addrs: Addrs<'a>,
    pub protocol: u8,
    pub payload: &'a [u8],
}

/// Identifies the datagram a fragment belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct FragKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 protocol (part of the IPv4 key); 0 for IPv6, whose key does not include it.
    pub protocol: u8,
    /// IPv4 identification (16 bits) or IPv6 fragment identification (32 bits).
    pub id: u32,
    pub channel: Channel,
}

/// One IP fragment, borrowing its data from the walked bytes.
#[derive(Debug)]
pub(super) struct Fragment<'a> {
    pub key: FragKey,
    /// Byte offset of `data` in the datagram.
    pub offset: u32,
    /// More fragments follow (MF / M flag).
    pub more: bool,
    /// Protocol of the reassembled payload: the IPv4 protocol, or the IPv6 fragment header's
    /// next header (only meaningful in the fragment with offset 0).
    pub protocol: u8,
    /// The fragment data that was captured.
    pub data: &'a [u8],
    /// Length the fragment data has according to the IP header; larger than `data.len()`
    /// when the capture was cut by a snapshot length.
    pub declared_len: u32,
}

/// The outcome of a walk.
#[derive(Debug)]
pub(super) enum Walk<'a> {
    Packet(PacketRef<'a>),
    Fragment(Fragment<'a>),
    NotIp,
    Undecoded(&'static str),
    UnsupportedLinkType(u32),
}

/// Unwraps a parser result or ends the walk with its reason.
macro_rules! step {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(reason) => return Walk::Undecoded(reason),
        }
    };
}

/// The common cases without the generality of the state machine: Ethernet (with at most
/// one VLAN tag), Linux SLL / SLL2 or raw IP, then IPv4 or IPv6 (without extension
/// headers) carrying TCP or UDP that is neither a fragment nor a tunnel. `None` sends the
/// frame down the full walk, which gives the same answer for the frames accepted here.
#[inline]
pub(super) fn fast_path(link_type: u32, d: &[u8]) -> Option<PacketRef<'_>> {
    use crate::linktype;
    const ARPHRD_NETLINK: u16 = 824;
    let (ethertype, ip) = match link_type {
        linktype::ETHERNET => match be16(d, 12)? {
            ETH_VLAN => (be16(d, 16)?, d.get(18..)?),
            ethertype => (ethertype, d.get(14..)?),
        },
        linktype::LINUX_SLL if be16(d, 2)? != ARPHRD_NETLINK => (be16(d, 14)?, d.get(16..)?),
        linktype::LINUX_SLL2 if be16(d, 8)? != ARPHRD_NETLINK => (be16(d, 0)?, d.get(20..)?),
        linktype::RAW | linktype::IPV4 | linktype::IPV6 => match d.first()? >> 4 {
            4 => (ETH_IPV4, d),
            6 => (ETH_IPV6, d),
            _ => return None,
        },
        _ => return None,
    };
    let (addrs, protocol, payload) = match ethertype {
        ETH_IPV4 => {
            let h = ipv4::parse(ip).ok()?;
            if h.more_fragments || h.frag_offset != 0 {
                return None;
            }
            (h.addrs, h.protocol, h.payload)
        }
        ETH_IPV6 => {
            let h = ipv6::parse(ip).ok()?;
            (h.addrs, h.next_header, h.payload)
        }
        _ => return None,
    };
    match protocol {
        6 => {}
        17 if tunnel::udp(payload).is_none() => {}
        _ => return None,
    }
    Some(PacketRef {
        addrs,
        protocol,
        payload,
    })
}

/// Walks from `layer` to the innermost IP payload.
pub(super) fn walk(layer: Layer<'_>) -> Walk<'_> {
    walk_in(layer, Channel::default())
}

/// Walks from `layer`, already inside `channel` (used to resume a reassembled datagram).
pub(super) fn walk_in(mut layer: Layer<'_>, mut channel: Channel) -> Walk<'_> {
    let mut vlan_tags = 0u8;
    for _ in 0..MAX_STEPS {
        layer = match layer {
            Layer::Link(link_type, d) => match link::link(link_type, d) {
                Some(next) => step!(next),
                None => return Walk::UnsupportedLinkType(link_type),
            },
            Layer::Ethernet(d) => step!(link::ethernet(d)),
            Layer::EtherType(ethertype, d) => match ethertype {
                ETH_IPV4 => Layer::Ipv4(d),
                ETH_IPV6 => Layer::Ipv6(d),
                ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD | ETH_QINQ_OLD2 => {
                    vlan_tags += 1;
                    if vlan_tags > MAX_VLAN_TAGS {
                        return Walk::Undecoded("too many VLAN tags");
                    }
                    let (vid, next) = step!(link::vlan(d));
                    channel.vlan = ((channel.vlan << 12) | u32::from(vid)) & 0xff_ffff;
                    next
                }
                ETH_PPPOE_SESS => step!(link::pppoe_session(d)),
                ETH_PPPOE_DISC => Layer::NotIp,
                ETH_MPLS_UC | ETH_MPLS_MC => Layer::Mpls(d),
                ETH_TEB => Layer::Ethernet(d),
                // Values up to 1500 are 802.3 lengths, not types: an LLC header follows.
                0..=0x05dc => Layer::Llc(d),
                _ => Layer::NotIp,
            },
            Layer::Llc(d) => step!(link::llc(d)),
            Layer::Ppp(d) => step!(link::ppp(d)),
            Layer::Mpls(d) => step!(link::mpls(d)),
            Layer::Ip(d) => match d.first().map(|b| b >> 4) {
                Some(4) => Layer::Ipv4(d),
                Some(6) => Layer::Ipv6(d),
                Some(_) => return Walk::Undecoded("bad IP version"),
                None => return Walk::Undecoded("truncated IP header"),
            },
            Layer::Ipv4(d) => {
                let h = step!(ipv4::parse(d));
                if h.more_fragments || h.frag_offset != 0 {
                    let (src, dst) = h.addrs.pair();
                    return Walk::Fragment(Fragment {
                        key: FragKey {
                            src,
                            dst,
                            protocol: h.protocol,
                            id: u32::from(h.id),
                            channel,
                        },
                        offset: u32::from(h.frag_offset),
                        more: h.more_fragments,
                        protocol: h.protocol,
                        data: h.payload,
                        declared_len: h.declared_len,
                    });
                }
                Layer::IpPayload {
                    addrs: h.addrs,
                    protocol: h.protocol,
                    data: h.payload,
                }
            }
            Layer::Ipv6(d) => {
                let h = step!(ipv6::parse(d));
                Layer::Ipv6Ext {
                    addrs: h.addrs,
                    next: h.next_header,
                    data: h.payload,
                    missing: h.missing,
                }
            }
            Layer::Ipv6Ext {
                addrs,
                next,
                data,
                missing,
            } => match step!(ipv6::extensions(next, data, missing)) {
                ipv6::Upper::Protocol(protocol, data) => Layer::IpPayload {
                    addrs,
                    protocol,
                    data,
                },
                ipv6::Upper::Fragment(f) => {
                    let (src, dst) = addrs.pair();
                    return Walk::Fragment(Fragment {
                        key: FragKey {
                            src,
                            dst,
                            protocol: 0,
                            id: f.id,
                            channel,
                        },
                        offset: u32::from(f.offset),
                        more: f.more,
                        protocol: f.next_header,
                        data: f.data,
                        declared_len: f.declared_len,
                    });
                }
            },
            Layer::IpPayload {
                addrs,
                protocol,
                data,
            } => {
                let (next, tunnel_id) = match protocol {
                    // TCP first: the most common protocol never is a tunnel.
                    6 => return packet(addrs, protocol, data),
                    17 => match tunnel::udp(data) {
                        None => return packet(addrs, protocol, data),
                        Some(inner) => step!(inner),
                    },
                    4 => (Layer::Ipv4(data), 0),
                    41 => (Layer::Ipv6(data), 0),
                    47 => step!(tunnel::gre(data)),
                    97 => step!(tunnel::etherip(data)),
                    137 => (Layer::Mpls(data), 0),
                    51 => {
                        let (next_protocol, rest) = step!(ipv6::authentication_header(data));
                        layer = Layer::IpPayload {
                            addrs,
                            protocol: next_protocol,
                            data: rest,
                        };
                        continue;
                    }
                    50 => return Walk::Undecoded("ESP"),
                    _ => return packet(addrs, protocol, data),
                };
                channel.depth += 1;
                if channel.depth > MAX_TUNNEL_DEPTH {
                    return Walk::Undecoded("tunnel nesting too deep");
                }
                channel.tunnel = channel.tunnel.rotate_left(7) ^ tunnel_id;
                next
            }
            Layer::NotIp => return Walk::NotIp,
        };
    }
    Walk::Undecoded("too many layers")
}

#[inline]
fn packet<'a>(addrs: Addrs<'a>, protocol: u8, payload: &'a [u8]) -> Walk<'a> {
    Walk::Packet(PacketRef {
        addrs,
        protocol,
        payload,
    })
}
