//! Network layer: link layers, tunnels, IPv4/IPv6 and fragment reassembly.
//!
//! [`NetDecoder::decode`] takes a [`Frame`] and yields the innermost IP packet it carries
//! (after stripping link layers and tunnels and, for fragments, reassembling the datagram).
//! It is stateless except for the fragment pool, which is bounded in size and time.

use crate::capture::Frame;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// An IP packet ready for the transport layer.
#[derive(Debug)]
pub struct IpPacket<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IP protocol number of the payload (6 TCP, 17 UDP, 132 SCTP, …).
    pub protocol: u8,
    /// The IP payload, transport header included. Owned when reassembled from fragments.
    pub payload: Cow<'a, [u8]>,
    /// True when the packet was reassembled from IP fragments.
    pub reassembled: bool,
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
#[derive(Debug, Default, Clone)]
pub struct NetStats {
    pub ip_fragments: u64,
    pub ip_reassembled: u64,
    /// Fragments dropped because their datagram timed out or the pool was full.
    pub fragments_expired: u64,
    pub not_ip: u64,
    pub undecoded: u64,
    /// Undecoded frames by reason ("link type 147", "truncated IPv4 header", …).
    pub undecoded_reasons: BTreeMap<String, u64>,
}

/// Decodes frames down to IP; holds the fragment reassembly pool.
#[derive(Default)]
pub struct NetDecoder {
    stats: NetStats,
}

impl NetDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn decode<'a>(&mut self, frame: &Frame<'a>) -> NetOutput<'a> {
        let _ = frame;
        self.stats.undecoded += 1;
        NetOutput::Undecoded("not implemented yet")
    }

    pub fn stats(&self) -> &NetStats {
        &self.stats
    }
}
