//! Network layer: link layers, tunnels, IPv4/IPv6 and fragment reassembly.
//!
//! [`NetDecoder::decode`] takes a [`Frame`] and yields the innermost IP packet it carries
//! (after stripping link layers and tunnels and, for fragments, reassembling the datagram).
//! It is stateless except for the fragment pool, which is bounded in size and time.
//!
//! The decoding is hand-written rather than delegated to a crate because SIP captures come
//! from everywhere: Linux cooked captures of loopback / tun / GRE devices, SLL2, ERSPAN
//! mirrors, GTP-U from mobile cores, PPPoE access networks, and reassembly must be bounded
//! against hostile input. Each protocol lives in its own module, in the style of
//! smoltcp's `wire`: small parsers over `&[u8]` that return borrowed views, never copy and
//! never panic, whatever the bytes are.
//!
//! * `link`: Ethernet (VLAN, QinQ, LLC/SNAP), Linux SLL / SLL2, BSD NULL / LOOP, raw IP,
//!   PPP, PPPoE, Cisco HDLC, NFLOG, MPLS.
//! * `ipv4`, `ipv6`: the IP headers and the IPv6 extension header chain.
//! * `tunnel`: GRE (ERSPAN I/II/III, PPTP, WCCP), GTP-U, VXLAN, Geneve, EtherIP.
//! * `defrag`: the bounded fragment reassembly pool.
//! * `walk`: the state machine that chains the parsers together, one layer per step.
//!
//! The common paths (Ethernet with at most one VLAN tag, SLL, SLL2 or raw IP, then IPv4 or
//! IPv6 carrying TCP or UDP, neither a fragment nor a tunnel) take a straight-line fast path
//! that gives the same result as the state machine; nothing on the way allocates and the
//! payload is a slice of the frame. Only reassembly copies: a reassembled datagram is owned,
//! and is decoded further (it may be a tunnel) from its own buffer.
//!
//! Call [`NetDecoder::flush`] at the end of the input so that datagrams still waiting for
//! fragments are counted as expired.

// Parsing layers: input bytes can be anything, so no indexing or unwrapping may panic on them.
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)
)]

mod defrag;
mod ipv4;
mod ipv6;
mod link;
mod tunnel;
mod walk;

#[cfg(test)]
mod tests;

use crate::capture::Frame;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;

pub use defrag::DefragConfig;

use defrag::{Inserted, Pool};
use walk::{Layer, Walk};

/// An IP packet ready for the transport layer.
#[derive(Debug)]
pub struct IpPacket<'a> {
    /// Source address of the innermost IP header (inside any tunnel).
    pub src: IpAddr,
    /// Destination address of the innermost IP header (inside any tunnel).
    pub dst: IpAddr,
    /// IP protocol number of the payload (6 TCP, 17 UDP, 132 SCTP, …).
    pub protocol: u8,
    /// The IP payload, transport header included. Owned when reassembled from fragments.
    pub payload: Cow<'a, [u8]>,
    /// True when the packet was reassembled from IP fragments.
    pub reassembled: bool,
    /// Number of the first frame that carried part of the packet: the current frame, or for a
    /// reassembled datagram the frame of the fragment that arrived first.
    pub first_frame: u64,
}

/// What one frame turned out to be.
#[derive(Debug)]
pub enum NetOutput<'a> {
    /// An IP packet (possibly reassembled, possibly from inside a tunnel).
    Packet(IpPacket<'a>),
    /// An IP fragment that is held until its datagram is complete.
    FragmentHeld,
    /// A well-formed frame that does not carry IP (ARP, LLDP, STP, …): counted, not an error.
    NotIp,
    /// A frame that could not be decoded: unknown link type, truncated or malformed header.
    Undecoded(&'static str),
}

/// Counters of the network layer; every frame that does not become an [`IpPacket`] is
/// counted in one of them.
///
/// Per frame exactly one of `packets`, `fragments_held`, `not_ip`, `undecoded` is
/// incremented, so `frames == packets + fragments_held + not_ip + undecoded`.
#[derive(Debug, Default, Clone)]
pub struct NetStats {
    /// Frames given to [`NetDecoder::decode`].
    pub frames: u64,
    /// Frames that produced a [`NetOutput::Packet`] (reassembled or not).
    pub packets: u64,
    /// Frames that carried an IP fragment (whether held or completing a datagram).
    pub ip_fragments: u64,
    /// Frames that produced [`NetOutput::FragmentHeld`].
    pub fragments_held: u64,
    /// Datagrams completed by reassembly.
    pub ip_reassembled: u64,
    /// Fragments dropped because their datagram timed out or the pool was full.
    pub fragments_expired: u64,
    /// Incomplete datagrams dropped because they were older than the timeout (or flushed).
    pub datagrams_expired: u64,
    /// Incomplete datagrams dropped to keep the pool within its bounds.
    pub datagrams_evicted: u64,
    /// Frames that produced [`NetOutput::NotIp`].
    pub not_ip: u64,
    /// Frames that produced [`NetOutput::Undecoded`]; by reason in `undecoded_reasons`.
    pub undecoded: u64,
    /// Undecoded frames by reason ("link type 147", "truncated IPv4 header", …).
    pub undecoded_reasons: BTreeMap<String, u64>,
}

/// How many times a reassembled datagram may lead to another reassembly (a fragmented
/// tunnel carrying fragments): each round consumes a completed datagram, so this only guards
/// against pathological nesting.
const MAX_REASSEMBLY_ROUNDS: usize = 4;

/// Without fragments arriving, expired datagrams are still released every this many frames
/// (a power of two minus one, used as a mask).
const EXPIRY_CHECK_MASK: u64 = 0xff;

/// Decodes frames down to IP; holds the fragment reassembly pool.
#[derive(Default)]
pub struct NetDecoder {
    stats: NetStats,
    pool: Pool,
    /// Capture clock: the latest frame timestamp seen (ns), so that reordered or merged
    /// inputs never make time run backwards for the pool.
    now: i64,
    reason_buf: String,
}

impl NetDecoder {
    /// A decoder with the default reassembly limits ([`DefragConfig::default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder whose reassembly pool uses `config` instead of the defaults.
    pub fn with_defrag_config(config: DefragConfig) -> Self {
        NetDecoder {
            pool: Pool::new(config),
            ..Self::default()
        }
    }

    /// Decodes one frame down to IP: strips the link layer and any tunnels, and feeds IP
    /// fragments to the reassembly pool. Frames must come in capture order.
    pub fn decode<'a>(&mut self, frame: &Frame<'a>) -> NetOutput<'a> {
        self.stats.frames += 1;
        self.now = self.now.max(frame.timestamp.0);
        self.pool.current_frame = frame.number;
        if self.stats.frames & EXPIRY_CHECK_MASK == 0 && !self.pool.is_empty() {
            self.pool.expire(self.now, &mut self.stats);
        }
        if let Some(p) = walk::fast_path(frame.link_type, frame.data) {
            self.stats.packets += 1;
            let (src, dst) = p.addrs.pair();
            return NetOutput::Packet(IpPacket {
                src,
                dst,
                protocol: p.protocol,
                payload: Cow::Borrowed(p.payload),
                reassembled: false,
                first_frame: frame.number,
            });
        }
        let out = match walk::walk(Layer::Link(frame.link_type, frame.data)) {
            Walk::Packet(p) => {
                let (src, dst) = p.addrs.pair();
                NetOutput::Packet(IpPacket {
                    src,
                    dst,
                    protocol: p.protocol,
                    payload: Cow::Borrowed(p.payload),
                    reassembled: false,
                    first_frame: frame.number,
                })
            }
            Walk::Fragment(f) => {
                self.stats.ip_fragments += 1;
                self.reassemble(f)
            }
            Walk::NotIp => NetOutput::NotIp,
            Walk::Undecoded(reason) => NetOutput::Undecoded(reason),
            Walk::UnsupportedLinkType(link_type) => {
                // A whole capture may have an unsupported link type: format the key into
                // a reused buffer rather than allocating per frame.
                use std::fmt::Write;
                self.reason_buf.clear();
                let _ = write!(self.reason_buf, "link type {link_type}");
                self.stats.undecoded += 1;
                bump(&mut self.stats.undecoded_reasons, &self.reason_buf);
                return NetOutput::Undecoded("unsupported link type");
            }
        };
        self.count(&out);
        out
    }

    /// Drops every datagram still waiting for fragments, counting them as expired (call at
    /// the end of the input so that the counters account for every fragment).
    pub fn flush(&mut self) {
        self.pool.flush(&mut self.stats);
    }

    /// Datagrams currently held by the reassembly pool and the bytes they use.
    pub fn defrag_usage(&self) -> (usize, usize) {
        self.pool.usage()
    }

    /// The counters so far.
    pub fn stats(&self) -> &NetStats {
        &self.stats
    }

    fn count(&mut self, out: &NetOutput<'_>) {
        let s = &mut self.stats;
        match out {
            NetOutput::Packet(_) => s.packets += 1,
            NetOutput::FragmentHeld => s.fragments_held += 1,
            NetOutput::NotIp => s.not_ip += 1,
            NetOutput::Undecoded(reason) => {
                s.undecoded += 1;
                bump(&mut s.undecoded_reasons, reason);
            }
        }
    }

    /// Adds a fragment to the pool; when it completes a datagram, decodes the datagram
    /// further (it may be a tunnel, whose inner packet may itself be a fragment).
    fn reassemble(&mut self, first: walk::Fragment<'_>) -> NetOutput<'static> {
        let mut done = match self.pool.insert(&first, self.now, &mut self.stats) {
            Ok(Inserted::Held) => return NetOutput::FragmentHeld,
            Ok(Inserted::Complete(d)) => d,
            Err(reason) => return NetOutput::Undecoded(reason),
        };
        let mut first_frame = done.first_frame;
        for _ in 0..MAX_REASSEMBLY_ROUNDS {
            let mut data = std::mem::take(&mut done.data);
            let (layer, channel) = done.resume_layer(&data);
            let (src, dst, protocol, range) = match walk::walk_in(layer, channel) {
                Walk::Packet(p) => {
                    // The packet is a slice of `data`; keep that part of the buffer.
                    let start = (p.payload.as_ptr() as usize).wrapping_sub(data.as_ptr() as usize);
                    let (src, dst) = p.addrs.pair();
                    (
                        src,
                        dst,
                        p.protocol,
                        start..start.saturating_add(p.payload.len()),
                    )
                }
                Walk::Fragment(f) => match self.pool.insert(&f, self.now, &mut self.stats) {
                    Ok(Inserted::Held) => return NetOutput::FragmentHeld,
                    Ok(Inserted::Complete(d)) => {
                        first_frame = first_frame.min(d.first_frame);
                        done = d;
                        continue;
                    }
                    Err(reason) => return NetOutput::Undecoded(reason),
                },
                Walk::NotIp => return NetOutput::NotIp,
                Walk::Undecoded(reason) => return NetOutput::Undecoded(reason),
                // Only the first layer of a frame can be a link type.
                Walk::UnsupportedLinkType(_) => {
                    return NetOutput::Undecoded("unsupported link type")
                }
            };
            if range.end <= data.len() {
                data.truncate(range.end);
                data.drain(..range.start);
            } else {
                data.clear();
            }
            return NetOutput::Packet(IpPacket {
                src,
                dst,
                protocol,
                payload: Cow::Owned(data),
                reassembled: true,
                first_frame,
            });
        }
        NetOutput::Undecoded("fragments nested too deep")
    }
}

/// Which flow a frame belongs to, as far as the frame alone tells: the innermost IP addresses,
/// the transport ports when the frame carries the transport header (not in a non-first IP
/// fragment), and the IP identification when the frame is a fragment. Used to pick the frames
/// that carried a given SIP message (for `-w`), without touching the decoder's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameFlow {
    /// Source address of the innermost IP header (the outer one for a fragmented tunnel).
    pub src: IpAddr,
    /// Destination address of the innermost IP header (the outer one for a fragmented tunnel).
    pub dst: IpAddr,
    /// IP protocol number of the innermost packet (6 TCP, 17 UDP, 132 SCTP, …).
    pub protocol: u8,
    /// (source, destination) ports of UDP, TCP or SCTP; `None` when the frame does not carry
    /// the transport header.
    pub ports: Option<(u16, u16)>,
    /// The IP identification of a fragment (IPv4 16 bits, IPv6 32 bits); `None` when the frame
    /// is not a fragment. For a fragmented tunnel these are the outer (tunnel) addresses.
    pub fragment_id: Option<u32>,
}

/// The flow of one frame ([`FrameFlow`]); `None` for frames that do not carry IP or do not
/// decode. Stateless: fragments are not reassembled.
pub fn frame_flow(link_type: u32, data: &[u8]) -> Option<FrameFlow> {
    let ports = |protocol: u8, payload: &[u8]| match protocol {
        6 | 17 | 132 => Some((be16(payload, 0)?, be16(payload, 2)?)),
        _ => None,
    };
    if let Some(p) = walk::fast_path(link_type, data) {
        let (src, dst) = p.addrs.pair();
        return Some(FrameFlow {
            src,
            dst,
            protocol: p.protocol,
            ports: ports(p.protocol, p.payload),
            fragment_id: None,
        });
    }
    match walk::walk(Layer::Link(link_type, data)) {
        Walk::Packet(p) => {
            let (src, dst) = p.addrs.pair();
            Some(FrameFlow {
                src,
                dst,
                protocol: p.protocol,
                ports: ports(p.protocol, p.payload),
                fragment_id: None,
            })
        }
        Walk::Fragment(f) => Some(FrameFlow {
            src: f.key.src,
            dst: f.key.dst,
            protocol: f.protocol,
            // Only the first fragment starts with the transport header.
            ports: if f.offset == 0 {
                ports(f.protocol, f.data)
            } else {
                None
            },
            fragment_id: Some(f.key.id),
        }),
        Walk::NotIp | Walk::Undecoded(_) | Walk::UnsupportedLinkType(_) => None,
    }
}

/// Counts one more `key`, allocating only the first time a key is seen.
fn bump(counts: &mut BTreeMap<String, u64>, key: &str) {
    match counts.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            counts.insert(key.to_owned(), 1);
        }
    }
}

/// Big-endian u16 at `at`, if the bytes are there.
#[inline]
fn be16(d: &[u8], at: usize) -> Option<u16> {
    match d.get(at..at.checked_add(2)?)? {
        &[a, b] => Some(u16::from_be_bytes([a, b])),
        _ => None,
    }
}

/// Big-endian u32 at `at`, if the bytes are there.
#[inline]
fn be32(d: &[u8], at: usize) -> Option<u32> {
    match d.get(at..at.checked_add(4)?)? {
        &[a, b, c, e] => Some(u32::from_be_bytes([a, b, c, e])),
        _ => None,
    }
}

/// The IP packet quoted in an ICMP or ICMPv6 error message (destination unreachable, time
/// exceeded, parameter problem, packet too big): the payload starts 8 bytes into the ICMP
/// message. Returns `None` for other ICMP types, for a quoted fragment that is not the first,
/// and for anything that does not parse. The quote is often the whole original packet, so a
/// SIP request that bounced ("port unreachable") can be shown for what it was. `first_frame` is
/// 0: the caller knows the frame.
pub fn quoted_packet(icmp: &[u8], v6: bool) -> Option<IpPacket<'_>> {
    let kind = *icmp.first()?;
    let is_error = if v6 {
        (1..=4).contains(&kind)
    } else {
        matches!(kind, 3 | 4 | 5 | 11 | 12)
    };
    if !is_error {
        return None;
    }
    let quoted = icmp.get(8..)?;
    match quoted.first()? >> 4 {
        4 => {
            let h = ipv4::parse(quoted).ok()?;
            if h.frag_offset != 0 {
                return None;
            }
            let (src, dst) = h.addrs.pair();
            Some(IpPacket {
                src,
                dst,
                protocol: h.protocol,
                payload: Cow::Borrowed(h.payload),
                reassembled: false,
                first_frame: 0,
            })
        }
        6 => {
            let h = ipv6::parse(quoted).ok()?;
            let (src, dst) = h.addrs.pair();
            match ipv6::extensions(h.next_header, h.payload, h.missing).ok()? {
                ipv6::Upper::Protocol(protocol, payload) => Some(IpPacket {
                    src,
                    dst,
                    protocol,
                    payload: Cow::Borrowed(payload),
                    reassembled: false,
                    first_frame: 0,
                }),
                _ => None,
            }
        }
        _ => None,
    }
}
