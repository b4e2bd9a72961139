//! Did media flow? The ICE connectivity checks (STUN Binding) and the SRTP/SRTCP packets of
//! each A/V MCU join, counted between the candidates of the client's offer and those of the
//! MCU's answer (docs/joins.md §8).
//!
//! When both SDPs of an A/V step are known, every candidate address of both sides (host,
//! server-reflexive, relay, and the `c=`/`m=` address with its RTCP port) is registered in one
//! hash map from socket address to the steps that offered it. The transport layer hands every
//! UDP datagram that is not SIP to `Conferences::datagram`: while nothing is registered that
//! costs one branch; after, one hash lookup of the source address; only a datagram between a
//! candidate of one side and a candidate of the other is classified and counted into the
//! step's [`MediaFlow`]. Packets are counted, never kept: memory does not grow with media.
//!
//! Telling packets apart (RFC 7983 §7): a first byte of 0–3 is STUN, 128–191 RTP or RTCP; with
//! rtcp-mux RTCP has a packet type of 192–223 in the second byte (RFC 5761 §4). SRTP leaves
//! those headers in clear (RFC 3711 §3.1). MS-ICE2 speaks two STUN formats, the old one without
//! the magic cookie, so the cookie is not required (MS-ICE2 2.2.2). Candidates over TCP (RFC 4571
//! framing) are not followed.

#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)
)]

use crate::sip::body::{multipart, BodyKind};
use crate::sip::message::{Hdr, Message};
use crate::transport::MsgContext;
use crate::Timestamp;
use ahash::RandomState;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

/// Most candidate addresses registered over the whole capture: 16 bytes of key and a small
/// list each, about 64 MiB at worst; a capture of a hundred thousand joins needs a tenth.
pub const MAX_ADDRESSES: usize = 1_000_000;
/// Most steps one address is registered for: an MCU reuses a port only after a call ended, so
/// a few are real; more would make every packet to it walk a long list.
pub const MAX_STEPS_PER_ADDRESS: usize = 8;
/// Most candidate addresses kept per side of one step: real clients offer well under 20
/// (host, reflexive, relay, each for RTP and RTCP, IPv4 and IPv6).
pub const MAX_CANDIDATES: usize = 32;

/// What a datagram on a media 5-tuple is, from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packet {
    /// A STUN Binding request (a connectivity check).
    BindingRequest,
    /// A STUN Binding success response (class 0x0101): the check was answered.
    BindingSuccess,
    /// A STUN Binding error response.
    BindingError,
    /// Another STUN message (indications, TURN methods).
    OtherStun,
    /// RTP (or SRTP: the header is clear).
    Rtp,
    /// RTCP (or SRTCP), told from RTP by its packet type.
    Rtcp,
    /// Anything else (DTLS, TURN ChannelData, garbage).
    Other,
}

/// Classifies a UDP payload (RFC 7983 §7, RFC 5761 §4, MS-ICE2 2.2.2). Never panics; reads at
/// most the first 4 bytes and the length.
pub fn classify(payload: &[u8]) -> Packet {
    match payload {
        // STUN: the two top bits zero, a 20-byte header, a length counting the attributes
        // after it in 4-byte units. Both MS-ICE2 formats share this header; the old one has a
        // 16-byte transaction ID where RFC 5389 has the cookie and 12 bytes.
        [t0 @ 0..=3, t1, l0, l1, ..] if payload.len() >= 20 => {
            let len = usize::from(u16::from_be_bytes([*l0, *l1]));
            if len % 4 != 0 || len + 20 != payload.len() {
                return Packet::Other;
            }
            match u16::from_be_bytes([*t0, *t1]) {
                0x0001 => Packet::BindingRequest,
                0x0101 => Packet::BindingSuccess,
                0x0111 => Packet::BindingError,
                _ => Packet::OtherStun,
            }
        }
        // Version 2 (the first two bits 10): RTCP packet types 192–223 sit where RTP has the
        // marker bit and payload type.
        [128..=191, 192..=223, ..] if payload.len() >= 8 => Packet::Rtcp,
        [128..=191, ..] if payload.len() >= 12 => Packet::Rtp,
        _ => Packet::Other,
    }
}

/// What an A/V step's ICE checks came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IceOutcome {
    /// A check was answered with a Binding success response, or RTP/RTCP flowed on a pair.
    Succeeded,
    /// Checks were sent and none was answered, and no media flowed.
    Failed,
    /// No packet between the two sides' candidates: the capture point may not see media.
    NotSeen,
}

impl IceOutcome {
    /// The name used in the JSON and text reports.
    pub fn as_str(self) -> &'static str {
        match self {
            IceOutcome::Succeeded => "succeeded",
            IceOutcome::Failed => "failed",
            IceOutcome::NotSeen => "not-seen",
        }
    }
}

/// Counters of one direction of a step's media.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Direction {
    /// STUN Binding requests (connectivity checks) sent this way.
    pub checks: u32,
    /// Binding success responses sent this way (answers to the other side's checks).
    pub successes: u32,
    /// Binding error responses sent this way.
    pub errors: u32,
    /// RTP packets.
    pub rtp: u64,
    /// RTCP packets.
    pub rtcp: u64,
    /// UDP payload bytes of the RTP and RTCP packets.
    pub bytes: u64,
    /// Datagrams that were neither STUN nor RTP/RTCP.
    pub other: u64,
}

impl Direction {
    /// Nothing counted.
    pub const NONE: Direction = Direction {
        checks: 0,
        successes: 0,
        errors: 0,
        rtp: 0,
        rtcp: 0,
        bytes: 0,
        other: 0,
    };

    /// RTP and RTCP packets.
    pub fn media_packets(&self) -> u64 {
        self.rtp + self.rtcp
    }
}

/// An A/V step's media: the candidates of both SDPs and what was seen between them.
#[derive(Clone, Debug, Default)]
pub struct MediaFlow {
    /// Candidate addresses of the client's offer (UDP only), at most [`MAX_CANDIDATES`].
    pub client: Vec<SocketAddr>,
    /// Candidate addresses of the MCU's answer (its own, or the A/V Edge's relay).
    pub mcu: Vec<SocketAddr>,
    /// The answer was read and the addresses registered.
    pub registered: bool,
    /// What was seen between the candidates, from the first datagram counted (boxed: a
    /// capture of SIP alone has none, and it was 250 of the flow's 296 bytes).
    traffic: Option<Box<Traffic>>,
}

/// The checks and media seen between an A/V step's candidates.
#[derive(Clone, Debug, Default)]
pub struct Traffic {
    /// Client to MCU.
    pub to_mcu: Direction,
    /// MCU to client.
    pub to_client: Direction,
    /// The pair that carried media (client address, MCU address): the first pair with RTP
    /// or RTCP, else the first pair whose check was answered.
    pub pair: Option<(SocketAddr, SocketAddr)>,
    pair_has_media: bool,
    /// The client address of the first check the client sent.
    pub first_check_from: Option<SocketAddr>,
    /// First and last check the client sent.
    pub checks_span: Option<(Timestamp, Timestamp)>,
    /// First and last RTP/RTCP packet, either way.
    pub media_span: Option<(Timestamp, Timestamp)>,
}

/// What a flow with no datagram counted reads as.
static NO_TRAFFIC: Traffic = Traffic {
    to_mcu: Direction::NONE,
    to_client: Direction::NONE,
    pair: None,
    pair_has_media: false,
    first_check_from: None,
    checks_span: None,
    media_span: None,
};

impl MediaFlow {
    /// A flow with the client's candidates, before the answer.
    pub fn offered(client: Vec<SocketAddr>) -> Self {
        MediaFlow {
            client,
            ..MediaFlow::default()
        }
    }

    /// The checks and media counted between the candidates (all zero before any).
    pub fn traffic(&self) -> &Traffic {
        self.traffic.as_deref().unwrap_or(&NO_TRAFFIC)
    }

    /// The capture holds something between the candidates: a check or a media packet.
    pub fn seen(&self) -> bool {
        let t = self.traffic();
        let (m, c) = (&t.to_mcu, &t.to_client);
        m.checks + c.checks > 0 || m.media_packets() + c.media_packets() > 0
    }

    /// What the checks came to (see [`IceOutcome`]).
    pub fn outcome(&self) -> IceOutcome {
        let t = self.traffic();
        let answered = t.to_client.successes + t.to_mcu.successes > 0;
        let media = t.to_mcu.media_packets() + t.to_client.media_packets() > 0;
        if answered || media {
            IceOutcome::Succeeded
        } else if t.to_mcu.checks + t.to_client.checks > 0 {
            IceOutcome::Failed
        } else {
            IceOutcome::NotSeen
        }
    }

    /// Adds one datagram, sent by the client when `up`.
    fn count(&mut self, up: bool, client: SocketAddr, mcu: SocketAddr, ctx: &MsgContext, p: &[u8]) {
        let kind = classify(p);
        let t = self.traffic.get_or_insert_with(Box::default);
        let dir = if up { &mut t.to_mcu } else { &mut t.to_client };
        match kind {
            Packet::BindingRequest => {
                dir.checks = dir.checks.saturating_add(1);
                if up {
                    t.first_check_from.get_or_insert(client);
                    let span = t.checks_span.get_or_insert((ctx.time, ctx.time));
                    span.1 = span.1.max(ctx.time);
                }
            }
            Packet::BindingSuccess => {
                dir.successes = dir.successes.saturating_add(1);
                t.pair.get_or_insert((client, mcu));
            }
            Packet::BindingError => dir.errors = dir.errors.saturating_add(1),
            Packet::Rtp | Packet::Rtcp => {
                dir.bytes += p.len() as u64;
                if kind == Packet::Rtp {
                    dir.rtp += 1;
                } else {
                    dir.rtcp += 1;
                }
                if !t.pair_has_media {
                    t.pair = Some((client, mcu));
                    t.pair_has_media = true;
                }
                let span = t.media_span.get_or_insert((ctx.time, ctx.time));
                span.1 = span.1.max(ctx.time);
            }
            Packet::OtherStun | Packet::Other => dir.other += 1,
        }
    }
}

/// Which step registered an address, and for which side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StepRef {
    pub conference: u32,
    pub participant: u32,
    pub dialog: u32,
    /// The address is one of the client's (else the MCU's).
    pub client_side: bool,
}

/// Counters of the media matching.
#[derive(Clone, Copy, Debug, Default)]
pub struct MediaStats {
    /// UDP datagrams matched to an A/V step (STUN, RTP, RTCP, other).
    pub datagrams: u64,
    /// Candidate addresses not registered because of a bound ([`MAX_ADDRESSES`],
    /// [`MAX_STEPS_PER_ADDRESS`], [`MAX_CANDIDATES`]): packets to them are not counted.
    pub candidates_dropped: u64,
}

/// The steps of one address: nearly always one, held inline (a vector each cost a heap
/// block of four for 142,000 addresses of a million-message capture: 9 MB).
#[derive(Clone, Debug)]
enum Steps {
    One(StepRef),
    Many(Vec<StepRef>),
}

impl Steps {
    fn as_slice(&self) -> &[StepRef] {
        match self {
            Steps::One(r) => std::slice::from_ref(r),
            Steps::Many(v) => v,
        }
    }

    fn push(&mut self, r: StepRef) {
        match self {
            Steps::One(first) => *self = Steps::Many(vec![*first, r]),
            Steps::Many(v) => v.push(r),
        }
    }
}

/// Candidate addresses of A/V steps, to find the step of a media datagram.
///
/// Built when the first datagram that is not SIP comes: until then the steps wait in a list.
/// A capture of SIP alone (a Front End's, a log, a HEP feed) never needs it, and it was the
/// largest part of the media analysis' memory (15 MB at a million messages). Built late in
/// the order the steps came, it is the index registering them as they came would have made,
/// less the steps no longer kept (an attempt pushed out by newer ones), which could not be
/// counted into anyway.
#[derive(Default)]
pub(crate) struct MediaIndex {
    by_addr: HashMap<SocketAddr, Steps, RandomState>,
    /// Steps whose candidates are known, in order, while the index is not built.
    waiting: Vec<StepRef>,
    built: bool,
    /// Steps held in `Steps::Many` lists (for the byte budget).
    spilled: usize,
    /// The counters.
    pub stats: MediaStats,
}

impl MediaIndex {
    /// Bytes of the index and of the list of steps waiting for it (for the byte budget; a
    /// hash table initialises all its buckets).
    pub fn bytes(&self) -> usize {
        self.by_addr.capacity() * (std::mem::size_of::<(SocketAddr, Steps)>() + 1) * 8 / 7
            + (self.waiting.capacity() + self.spilled) * std::mem::size_of::<StepRef>()
    }

    /// Registers a step whose both sides' candidates are known (`flow`).
    pub fn register(&mut self, r: StepRef, flow: &MediaFlow) {
        if self.built {
            self.index(r, flow);
        } else {
            self.waiting.push(r);
        }
    }

    /// Builds the index, if it is not built, from the steps waiting; `flow_of` finds a step's
    /// flow (`None` for a step no longer kept).
    pub fn build<'f>(&mut self, mut flow_of: impl FnMut(&StepRef) -> Option<&'f MediaFlow>) {
        if self.built {
            return;
        }
        self.built = true;
        for r in std::mem::take(&mut self.waiting) {
            if let Some(flow) = flow_of(&r) {
                self.index(r, flow);
            }
        }
    }

    /// Adds both sides' addresses of a step.
    fn index(&mut self, r: StepRef, flow: &MediaFlow) {
        let sides = [(true, &flow.client), (false, &flow.mcu)];
        for (client_side, addrs) in sides {
            for a in addrs {
                if self.by_addr.len() >= MAX_ADDRESSES && !self.by_addr.contains_key(a) {
                    self.stats.candidates_dropped += 1;
                    continue;
                }
                let r = StepRef { client_side, ..r };
                let steps = match self.by_addr.entry(*a) {
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(Steps::One(r));
                        continue;
                    }
                    std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                };
                if steps.as_slice().contains(&r) {
                    continue;
                }
                if steps.as_slice().len() >= MAX_STEPS_PER_ADDRESS {
                    self.stats.candidates_dropped += 1;
                    continue;
                }
                self.spilled += if steps.as_slice().len() == 1 { 2 } else { 1 };
                steps.push(r);
            }
        }
    }

    /// The steps a datagram from `src` may belong to: empty unless `src` is a registered
    /// candidate. One branch while nothing is registered, one hash lookup after.
    #[inline]
    pub fn lookup(&self, src: &SocketAddr) -> &[StepRef] {
        if self.by_addr.is_empty() {
            return &[];
        }
        self.by_addr.get(src).map_or(&[], Steps::as_slice)
    }

    /// Counts a datagram into `flow` when `src` → `dst` joins one of its client candidates to
    /// one of its MCU candidates (`r` says which side `src` is on). Returns whether it did.
    pub fn count(
        &mut self,
        r: &StepRef,
        flow: &mut MediaFlow,
        ctx: &MsgContext,
        payload: &[u8],
    ) -> bool {
        let (client, mcu) = if r.client_side {
            (ctx.src, ctx.dst)
        } else {
            (ctx.dst, ctx.src)
        };
        let other_side = if r.client_side {
            &flow.mcu
        } else {
            &flow.client
        };
        let peer = if r.client_side { mcu } else { client };
        if !other_side.contains(&peer) {
            return false;
        }
        self.stats.datagrams += 1;
        flow.count(r.client_side, client, mcu, ctx, payload);
        true
    }
}

/// The SDP of an INVITE or its answer: the body itself, or the SDP part of a multipart body.
pub(crate) fn sdp_body<'m>(msg: &Message<'m>, kind: Option<BodyKind>) -> Option<&'m [u8]> {
    match kind {
        Some(BodyKind::Sdp) => Some(msg.body()),
        Some(BodyKind::Multipart) => {
            let ct = msg
                .header(Hdr::ContentType)
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default();
            let parts = multipart::parse(msg.body(), &ct).ok()?;
            multipart::select_sdp(&parts).map(|p| p.body)
        }
        _ => None,
    }
}

/// Every UDP candidate address of the audio and video media of an SDP: `a=candidate` and
/// `a=x-candidate*` lines of any type, and the `c=` address with the `m=` port and the RTCP
/// port (`a=rtcp`, else the next port). At most [`MAX_CANDIDATES`]; `dropped` counts the rest.
pub(crate) fn candidate_addresses(body: &[u8], dropped: &mut u64) -> Vec<SocketAddr> {
    // One pass over the lines without allocating (the full `sdp::parse` cost 40% of the
    // conference analysis on A/V-heavy captures).
    let text = String::from_utf8_lossy(body);
    let mut out: Vec<SocketAddr> = Vec::new();
    let mut add = |ip: &str, port: u16| {
        let Ok(ip) = ip.trim_matches(|c| c == '[' || c == ']').parse::<IpAddr>() else {
            return;
        };
        if port == 0 || ip.is_unspecified() {
            return;
        }
        let a = SocketAddr::new(ip, port);
        if out.contains(&a) {
            return;
        }
        if out.len() >= MAX_CANDIDATES {
            *dropped += 1;
            return;
        }
        out.push(a);
    };
    let mut session_c: Option<&str> = None;
    // The current media section: kept (audio/video, port not 0), its c=, port and RTCP port.
    let mut media: Option<(Option<&str>, u16, Option<u16>)> = None;
    let mut in_media = false;
    let end_section = |m: Option<(Option<&str>, u16, Option<u16>)>,
                       session_c: Option<&str>,
                       add: &mut dyn FnMut(&str, u16)| {
        if let Some((c, port, rtcp)) = m {
            if let Some(ip) = c.or(session_c) {
                add(ip, port);
                add(ip, rtcp.unwrap_or(port.saturating_add(1)));
            }
        }
    };
    for line in text.lines() {
        let line = line.trim_end();
        if let Some(m) = line.strip_prefix("m=") {
            end_section(media.take(), session_c, &mut add);
            in_media = true;
            let mut f = m.split_ascii_whitespace();
            let kind = f.next().unwrap_or("");
            let port = f
                .next()
                .and_then(|p| p.split('/').next())
                .and_then(|p| p.parse::<u16>().ok())
                .unwrap_or(0);
            let av = kind.eq_ignore_ascii_case("audio") || kind.eq_ignore_ascii_case("video");
            media = (av && port != 0).then_some((None, port, None));
        } else if let Some(c) = line.strip_prefix("c=") {
            let ip = c.split_ascii_whitespace().nth(2);
            match (&mut media, in_media) {
                (Some(m), true) => m.0 = ip,
                (_, false) => session_c = ip,
                _ => {}
            }
        } else if let (Some(r), Some(m)) = (line.strip_prefix("a=rtcp:"), media.as_mut()) {
            m.2 = r
                .split_ascii_whitespace()
                .next()
                .and_then(|p| p.parse().ok());
        } else if let (Some(rest), true) = (line.strip_prefix("a="), media.is_some()) {
            let Some((name, value)) = rest.split_once(':') else {
                continue;
            };
            if name != "candidate" && !name.starts_with("x-candidate") {
                continue;
            }
            let mut f = value.split_ascii_whitespace();
            let tok: [&str; 7] = std::array::from_fn(|_| f.next().unwrap_or(""));
            let [_, _, t2, t3, t4, t5, t6] = tok;
            // RFC 5245: <fnd> <comp> <transport> <prio> <ip> <port> typ …; draft 6:
            // <user> <comp> <pwd> <transport> <q> <ip> <port> (Candidate::parse's rule).
            let (transport, ip, port) = if t6 == "typ" {
                (t2, t4, t5)
            } else {
                (t3, t5, t6)
            };
            if transport.eq_ignore_ascii_case("UDP") {
                if let Ok(port) = port.parse() {
                    add(ip, port);
                }
            }
        }
    }
    end_section(media.take(), session_c, &mut add);
    // Kept as long as the step: without the room a vector's growth leaves.
    out.shrink_to_fit();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Transport;

    fn stun(kind: u16, cookie: bool) -> Vec<u8> {
        let mut v = kind.to_be_bytes().to_vec();
        v.extend_from_slice(&8u16.to_be_bytes());
        if cookie {
            v.extend_from_slice(&0x2112_a442u32.to_be_bytes());
            v.extend_from_slice(&[7; 12]);
        } else {
            v.extend_from_slice(&[9; 16]); // MS-ICE2 old format: a 16-byte transaction ID
        }
        v.extend_from_slice(&[0x80, 0x22, 0, 4, b'M', b'S', b'-', b'1']);
        v
    }

    #[test]
    fn both_stun_formats_are_checks() {
        for cookie in [true, false] {
            assert_eq!(classify(&stun(0x0001, cookie)), Packet::BindingRequest);
            assert_eq!(classify(&stun(0x0101, cookie)), Packet::BindingSuccess);
            assert_eq!(classify(&stun(0x0111, cookie)), Packet::BindingError);
            assert_eq!(classify(&stun(0x0016, cookie)), Packet::OtherStun);
        }
        // A length that does not match the datagram is not STUN.
        let mut bad = stun(0x0001, true);
        bad.push(0);
        assert_eq!(classify(&bad), Packet::Other);
    }

    #[test]
    fn rtcp_is_told_from_rtp_by_its_packet_type() {
        let mut rtp = vec![0x80, 0x75, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4];
        rtp.extend_from_slice(&[0xaa; 40]);
        assert_eq!(classify(&rtp), Packet::Rtp);
        rtp[1] = 0x80 | 104; // marker bit set, payload type 104
        assert_eq!(classify(&rtp), Packet::Rtp);
        let sr = [0x80, 200, 0, 6, 1, 2, 3, 4, 0, 0, 0, 0];
        assert_eq!(classify(&sr), Packet::Rtcp);
        let rr = [0x81, 201, 0, 1, 1, 2, 3, 4];
        assert_eq!(classify(&rr), Packet::Rtcp);
    }

    proptest::proptest! {
        /// Any bytes classify without panicking, and a STUN verdict needs a length that
        /// matches the datagram.
        #[test]
        fn any_payload_classifies(p in proptest::collection::vec(proptest::num::u8::ANY, 0..80)) {
            let k = classify(&p);
            if matches!(
                k,
                Packet::BindingRequest | Packet::BindingSuccess | Packet::BindingError
            ) {
                let len = p.get(2..4).map(|l| u16::from_be_bytes([l[0], l[1]]));
                proptest::prop_assert_eq!(len.map(|l| usize::from(l) + 20), Some(p.len()));
            }
        }
    }

    #[test]
    fn garbage_and_short_packets_are_other() {
        for p in [
            &[][..],
            &[0x00],
            &[0x80, 0x00, 0x00],
            &[0x40; 30],
            &[
                0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ],
            b"\r\n\r\n",
        ] {
            assert_eq!(classify(p), Packet::Other, "{p:?}");
        }
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("address")
    }

    fn ctx(src: &str, dst: &str, ms: i64) -> MsgContext {
        MsgContext {
            frame: 1,
            first_frame: 1,
            time: Timestamp(ms * 1_000_000),
            src: addr(src),
            dst: addr(dst),
            transport: Transport::Udp,
            ip_reassembled: false,
            reassembled: false,
            icmp_quoted: false,
            link_type: 1,
            origin: Default::default(),
        }
    }

    /// A datagram through the index, as the conference analysis does it.
    fn feed(index: &mut MediaIndex, flow: &mut MediaFlow, c: &MsgContext, p: &[u8]) -> bool {
        let refs = index.lookup(&c.src).to_vec();
        let mut hit = false;
        for r in refs {
            hit |= index.count(&r, flow, c, p);
        }
        hit
    }

    const OFFER: &str =
        "v=0\r\no=- 0 0 IN IP4 192.0.2.22\r\ns=session\r\nc=IN IP4 192.0.2.22\r\nt=0 0\r\n\
m=audio 50010 RTP/SAVP 0\r\na=candidate:1 1 UDP 2130706431 192.0.2.22 50010 typ host\r\n\
a=candidate:1 2 UDP 2130705918 192.0.2.22 50011 typ host\r\n\
a=candidate:2 1 TCP-ACT 1684798463 192.0.2.22 50010 typ srflx raddr 192.0.2.22 rport 50010\r\n\
a=candidate:3 1 UDP 16648703 198.51.100.9 50012 typ srflx raddr 192.0.2.22 rport 50012\r\n";
    const ANSWER: &str =
        "v=0\r\no=- 0 1 IN IP4 192.0.2.5\r\ns=session\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\n\
m=audio 52000 RTP/SAVP 0\r\na=rtcp:52001\r\n\
a=candidate:1 1 UDP 2130706431 192.0.2.5 52000 typ host\r\n\
a=candidate:4 1 UDP 16648703 203.0.113.7 55000 typ relay raddr 192.0.2.5 rport 52000\r\n";

    fn flow() -> (MediaIndex, MediaFlow) {
        let mut dropped = 0;
        let flow = MediaFlow {
            client: candidate_addresses(OFFER.as_bytes(), &mut dropped),
            mcu: candidate_addresses(ANSWER.as_bytes(), &mut dropped),
            registered: true,
            ..MediaFlow::default()
        };
        let mut index = MediaIndex::default();
        let r = StepRef {
            conference: 0,
            participant: 0,
            dialog: 3,
            client_side: true,
        };
        index.register(r, &flow);
        index.build(|_| Some(&flow));
        (index, flow)
    }

    #[test]
    fn every_udp_candidate_and_the_media_address_are_registered() {
        let (_, f) = flow();
        assert_eq!(
            f.client,
            vec![
                addr("192.0.2.22:50010"),
                addr("192.0.2.22:50011"),
                addr("198.51.100.9:50012")
            ]
        );
        assert_eq!(
            f.mcu,
            vec![
                addr("192.0.2.5:52000"),
                addr("203.0.113.7:55000"),
                addr("192.0.2.5:52001")
            ]
        );
    }

    #[test]
    fn checks_to_a_relay_candidate_and_answers_the_other_way_are_matched() {
        let (mut index, mut f) = flow();
        assert_eq!(f.outcome(), IceOutcome::NotSeen);
        let req = stun(0x0001, false);
        let c = ctx("192.0.2.22:50010", "203.0.113.7:55000", 0);
        assert!(feed(&mut index, &mut f, &c, &req));
        assert_eq!(f.outcome(), IceOutcome::Failed);
        // Reversed direction: the relay answers the client.
        let c = ctx("203.0.113.7:55000", "192.0.2.22:50010", 40);
        assert!(feed(&mut index, &mut f, &c, &stun(0x0101, false)));
        assert_eq!(f.outcome(), IceOutcome::Succeeded);
        assert_eq!(
            f.traffic().pair,
            Some((addr("192.0.2.22:50010"), addr("203.0.113.7:55000")))
        );
        assert_eq!(
            (f.traffic().to_mcu.checks, f.traffic().to_client.successes),
            (1, 1)
        );
        // RTP on another pair moves the selected pair there.
        let rtp = [0x80, 0x75, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4, 9, 9];
        let c = ctx("192.0.2.5:52000", "198.51.100.9:50012", 60);
        assert!(feed(&mut index, &mut f, &c, &rtp));
        assert_eq!(
            f.traffic().pair,
            Some((addr("198.51.100.9:50012"), addr("192.0.2.5:52000")))
        );
        assert_eq!(
            (f.traffic().to_client.rtp, f.traffic().to_client.bytes),
            (1, 14)
        );
        assert_eq!(
            f.traffic().media_span,
            Some((Timestamp(60_000_000), Timestamp(60_000_000)))
        );
    }

    #[test]
    fn packets_between_two_candidates_of_one_side_or_to_strangers_are_not_counted() {
        let (mut index, mut f) = flow();
        let rtp = [0x80, 0x75, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4];
        for (src, dst) in [
            ("192.0.2.22:50010", "192.0.2.22:50011"),
            ("192.0.2.22:50010", "192.0.2.99:52000"),
            ("192.0.2.99:50010", "192.0.2.5:52000"),
        ] {
            assert!(
                !feed(&mut index, &mut f, &ctx(src, dst, 0), &rtp),
                "{src} {dst}"
            );
        }
        assert_eq!(f.outcome(), IceOutcome::NotSeen);
        assert_eq!(index.stats.datagrams, 0);
    }

    #[test]
    fn an_empty_index_looks_nothing_up_and_bounds_are_counted() {
        let index = MediaIndex::default();
        assert!(index.lookup(&addr("192.0.2.22:50010")).is_empty());
        let mut index = MediaIndex::default();
        let f = MediaFlow {
            client: vec![addr("192.0.2.22:50010")],
            mcu: vec![addr("192.0.2.5:52000")],
            ..MediaFlow::default()
        };
        for d in 0..(MAX_STEPS_PER_ADDRESS as u32 + 2) {
            let r = StepRef {
                conference: 0,
                participant: 0,
                dialog: d,
                client_side: true,
            };
            index.register(r, &f);
        }
        // Nothing is indexed (nor dropped) before a datagram asks for the index.
        assert_eq!(index.stats.candidates_dropped, 0);
        assert!(index.lookup(&addr("192.0.2.5:52000")).is_empty());
        // Built in the order the steps came; a step no longer kept is left out.
        index.build(|r| (r.dialog != 1).then_some(&f));
        assert_eq!(index.stats.candidates_dropped, 2);
        let steps: Vec<u32> = index
            .lookup(&addr("192.0.2.5:52000"))
            .iter()
            .map(|r| r.dialog)
            .collect();
        assert_eq!(steps, [0, 2, 3, 4, 5, 6, 7, 8]);
        // Built once: later steps are indexed as they come.
        index.build(|_| None);
        index.register(
            StepRef {
                conference: 0,
                participant: 0,
                dialog: 99,
                client_side: true,
            },
            &f,
        );
        assert_eq!(index.stats.candidates_dropped, 4);
        assert_eq!(
            index.lookup(&addr("192.0.2.5:52000")).len(),
            MAX_STEPS_PER_ADDRESS
        );
        assert!(!index
            .lookup(&addr("192.0.2.5:52000"))
            .iter()
            .any(|r| r.dialog == 99));
    }

    /// Bob's A/V join as the analysis sees it: offer, 200 with the answer, the datagrams, and
    /// a BYE from bob `bye_after_ms` after the 200 (with `ms-client-diagnostics` if given).
    fn diagnose_join(
        datagrams: &[(&str, &str, i64, Vec<u8>)],
        bye: Option<(i64, Option<&str>)>,
    ) -> (
        crate::analysis::JoinState,
        Option<crate::analysis::Cause>,
        IceOutcome,
    ) {
        use crate::sip::message::frame_stream;
        use crate::transport::SipSink;
        let mcu = "sip:alice@example.com;gruu;opaque=app:conf:audio-video:id:ABC";
        let head = |start: &str, cseq: &str, to_tag: &str, extra: &str, body: &str| {
            let ct = if body.is_empty() {
                ""
            } else {
                "Content-Type: application/sdp\r\n"
            };
            format!(
                "{start}\r\nVia: SIP/2.0/TLS 192.0.2.22:50000;branch=z9hG4bK{cseq}\r\n\
                 From: <sip:bob@example.com>;tag=b1\r\nTo: <{mcu}>{to_tag}\r\n\
                 Call-ID: av-1\r\nCSeq: {cseq}\r\n{extra}{ct}Content-Length: {}\r\n\r\n{body}",
                body.len()
            )
        };
        let mut a = crate::analysis::Analysis::new(false);
        let send = |a: &mut crate::analysis::Analysis, text: String, c: MsgContext| {
            let (m, _) = frame_stream(text.as_bytes()).expect("SIP");
            a.message(&c, &m);
        };
        let (bob, fe) = ("192.0.2.22:50000", "192.0.2.5:5061");
        let before = a.memory_used();
        send(
            &mut a,
            head(&format!("INVITE {mcu} SIP/2.0"), "1 INVITE", "", "", OFFER),
            ctx(bob, fe, 0),
        );
        send(
            &mut a,
            head("SIP/2.0 200 OK", "1 INVITE", ";tag=m1", "", ANSWER),
            ctx(fe, bob, 300),
        );
        // The byte budget counts the flow with its counters and candidates, then the index
        // once a datagram builds it.
        let flow = std::mem::size_of::<MediaFlow>() + std::mem::size_of::<Traffic>();
        assert!(a.memory_used() >= before + flow + 6 * std::mem::size_of::<SocketAddr>());
        let offered = a.memory_used();
        for (src, dst, ms, p) in datagrams {
            a.datagram(&ctx(src, dst, 300 + ms), p);
        }
        if !datagrams.is_empty() {
            assert!(a.memory_used() > offered);
        }
        if let Some((after, diag)) = bye {
            let extra = diag
                .map(|d| format!("ms-client-diagnostics: {d}\r\n"))
                .unwrap_or_default();
            send(
                &mut a,
                head(
                    &format!("BYE {mcu} SIP/2.0"),
                    "2 BYE",
                    ";tag=m1",
                    &extra,
                    "",
                ),
                ctx(bob, fe, 300 + after),
            );
        }
        let conf = a.conferences().list().first().expect("conference");
        let p = conf.participants.first().expect("bob");
        let d = conf.diagnose(p);
        let outcome = p
            .media_step()
            .and_then(|s| s.flow.as_deref())
            .map_or(IceOutcome::NotSeen, MediaFlow::outcome);
        (d.state, d.cause, outcome)
    }

    #[test]
    fn the_diagnosis_tells_failed_media_from_media_not_seen_and_media_flowing() {
        use crate::analysis::{Cause, JoinState};
        let (client, mcu, relay) = ("192.0.2.22:50010", "192.0.2.5:52000", "203.0.113.7:55000");
        let check = |ms| (client, mcu, ms, stun(0x0001, false));
        let diag = Some("23; reason=\"media connectivity failure\"");
        // Checks answered through the relay candidate: joined, whatever the BYE says (no
        // focus dialog here, so a BYE on the A/V dialog alone does not make it `left`).
        let answered = [check(10), (relay, client, 30, stun(0x0101, false))];
        let (state, cause, ice) = diagnose_join(&answered, Some((5_000, diag)));
        assert_eq!(
            (state, cause, ice),
            (JoinState::Joined, None, IceOutcome::Succeeded)
        );
        // Nothing seen, nothing said: the capture point may not see media.
        let (state, cause, ice) = diagnose_join(&[], None);
        assert_eq!(
            (state, cause, ice),
            (JoinState::Joined, None, IceOutcome::NotSeen)
        );
        // Nothing seen, a BYE long after with a client diagnostic: an ordinary end.
        let (state, _, _) = diagnose_join(&[], Some((60_000, diag)));
        assert_eq!(state, JoinState::Joined);
        // Nothing seen, the client hangs up soon with a diagnostic.
        let (state, cause, _) = diagnose_join(&[], Some((5_000, diag)));
        assert_eq!(state, JoinState::Failed);
        let hung_up = Cause::MediaFailed {
            checks_unanswered: false,
            hung_up: true,
        };
        assert_eq!(cause, Some(hung_up));
        // Checks unanswered, the call ended without a diagnostic.
        let unanswered = [check(10), check(110), check(310)];
        let (state, cause, ice) = diagnose_join(&unanswered, Some((40_000, None)));
        let failed = Cause::MediaFailed {
            checks_unanswered: true,
            hung_up: false,
        };
        assert_eq!(
            (state, cause, ice),
            (JoinState::Failed, Some(failed), IceOutcome::Failed)
        );
        // Checks unanswered but the call is still up and the STUN timeout has not passed:
        // not decided yet.
        let (state, cause, ice) = diagnose_join(&unanswered, None);
        assert_eq!(
            (state, cause, ice),
            (JoinState::Joined, None, IceOutcome::Failed)
        );
        // ... and once it has, they failed.
        let late = [check(10), check(40_000)];
        let (state, cause, _) = diagnose_join(&late, None);
        assert_eq!((state, cause), (JoinState::Failed, Some(failed)));
    }
}
