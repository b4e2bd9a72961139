//! Helpers shared by the fuzz targets: the frame-sequence encoding that the frame targets
//! (`net_decode`, `pipeline`) read, and the structure-aware TCP segment sequences of
//! `tcp_reassembly`.
//!
//! # Frame sequence encoding
//!
//! A fuzz input is a sequence of records, each
//!
//! ```text
//! selector: u8      link type: LINK_TYPES[selector % 16], or for 14 a raw u32 (BE) follows
//! dt: u16 (BE)      time since the previous frame in milliseconds; bit 15 set = backwards
//! len: u16 (BE)     frame length (clipped to what is left of the input)
//! data: [u8; len]
//! ```
//!
//! `tools/pcap2frames.py` turns a capture into this encoding for the seed corpora.

use arbitrary::Arbitrary;
use lyncscope::capture::Frame;
use lyncscope::Timestamp;

/// The link types the net layer decodes, by selector (14 reads a raw u32, 15 is Ethernet too).
pub const LINK_TYPES: [u32; 16] = [
    1,   // Ethernet
    113, // Linux SLL
    276, // Linux SLL2
    101, // raw IP
    228, // IPv4
    229, // IPv6
    12,  // raw IP (DLT 12)
    14,  // raw IP (DLT 14)
    0,   // BSD NULL
    108, // BSD LOOP
    9,   // PPP
    50,  // PPP in HDLC framing
    104, // Cisco HDLC
    239, // NFLOG
    u32::MAX,
    1,
];

/// Start of capture time for the synthetic frames: 2024-01-01T00:00:00Z.
pub const T0: i64 = 1_704_067_200_000_000_000;

/// One decoded record of the frame sequence encoding (data borrows the input).
pub struct RawFrame<'a> {
    /// `LINKTYPE_*`.
    pub link_type: u32,
    /// Capture time, ns.
    pub ts: i64,
    /// Frame bytes.
    pub data: &'a [u8],
}

/// Decodes the frame sequence encoding; stops at the first record whose header is cut off.
pub fn frames(mut data: &[u8]) -> Vec<RawFrame<'_>> {
    let mut out = Vec::new();
    let mut ts = T0;
    while let Some((&sel, rest)) = data.split_first() {
        data = rest;
        let link_type = match LINK_TYPES[usize::from(sel % 16)] {
            u32::MAX => {
                let Some((raw, rest)) = data.split_first_chunk::<4>() else {
                    break;
                };
                data = rest;
                u32::from_be_bytes(*raw)
            }
            lt => lt,
        };
        let Some((hdr, rest)) = data.split_first_chunk::<4>() else {
            break;
        };
        data = rest;
        let dt = u16::from_be_bytes([hdr[0], hdr[1]]);
        let len = usize::from(u16::from_be_bytes([hdr[2], hdr[3]])).min(data.len());
        let step = i64::from(dt & 0x7fff) * 1_000_000;
        ts = if dt & 0x8000 != 0 {
            ts - step
        } else {
            ts + step
        };
        let (frame, rest) = data.split_at(len);
        data = rest;
        out.push(RawFrame {
            link_type,
            ts,
            data: frame,
        });
    }
    out
}

/// The [`Frame`] of record `i` (numbered from 1, input 0).
pub fn frame<'a>(i: usize, f: &RawFrame<'a>) -> Frame<'a> {
    Frame {
        number: i as u64 + 1,
        timestamp: Timestamp(f.ts),
        link_type: f.link_type,
        data: f.data,
        original_len: f.data.len() as u32,
        source: 0,
    }
}

// ---------------------------------------------------------------------------------------------
// TCP segment sequences

/// What one direction of a connection sends when a segment takes its bytes from the script:
/// a realistic SIP exchange, so that segments cut from it exercise framing across segment
/// bounds, retransmissions, overlaps and gaps.
pub const CLIENT_SCRIPT: &[u8] = b"INVITE sip:alice@contoso.com;gruu;opaque=app:conf:focus:id:7QK1 SIP/2.0\r\n\
Via: SIP/2.0/TCP 10.0.0.1:50000;branch=z9hG4bK1\r\n\
Max-Forwards: 70\r\n\
From: <sip:bob@contoso.com>;tag=111\r\n\
To: <sip:alice@contoso.com;gruu;opaque=app:conf:focus:id:7QK1>\r\n\
Call-ID: call-1@10.0.0.1\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:bob@contoso.com;opaque=user:epid:x;gruu>\r\n\
Content-Type: application/cccp+xml\r\n\
Content-Length: 135\r\n\
\r\n\
<request xmlns=\"urn:ietf:params:xml:ns:cccp\" requestId=\"1\" C3PVersion=\"1\"><addUser><conferenceKeys confEntity=\"x\"/></addUser></request>\
ACK sip:alice@contoso.com SIP/2.0\r\n\
Via: SIP/2.0/TCP 10.0.0.1:50000;branch=z9hG4bK2\r\n\
From: <sip:bob@contoso.com>;tag=111\r\n\
To: <sip:alice@contoso.com>;tag=222\r\n\
Call-ID: call-1@10.0.0.1\r\n\
CSeq: 1 ACK\r\n\
Content-Length: 0\r\n\
\r\n\
\r\n\r\n\
MESSAGE sip:alice@contoso.com SIP/2.0\r\n\
v: SIP/2.0/TCP 10.0.0.1:50000;branch=z9hG4bK3\r\n\
f: <sip:bob@contoso.com>;tag=113\r\n\
t: <sip:alice@contoso.com>\r\n\
i: call-2@10.0.0.1\r\n\
CSeq: 2 MESSAGE\r\n\
c: text/plain\r\n\
l: 5\r\n\
\r\n\
hello\
BYE sip:alice@contoso.com SIP/2.0\r\n\
Via: SIP/2.0/TCP 10.0.0.1:50000;branch=z9hG4bK4\r\n\
From: <sip:bob@contoso.com>;tag=111\r\n\
To: <sip:alice@contoso.com>;tag=222\r\n\
Call-ID: call-1@10.0.0.1\r\n\
CSeq: 3 BYE\r\n\
Content-Length: 0\r\n\
\r\n";

/// The other direction's script.
pub const SERVER_SCRIPT: &[u8] = b"SIP/2.0 100 Trying\r\n\
Via: SIP/2.0/TCP 10.0.0.1:50000;branch=z9hG4bK1\r\n\
From: <sip:bob@contoso.com>;tag=111\r\n\
To: <sip:alice@contoso.com>\r\n\
Call-ID: call-1@10.0.0.1\r\n\
CSeq: 1 INVITE\r\n\
Content-Length: 0\r\n\
\r\n\
SIP/2.0 200 OK\r\n\
Via: SIP/2.0/TCP 10.0.0.1:50000;branch=z9hG4bK1\r\n\
From: <sip:bob@contoso.com>;tag=111\r\n\
To: <sip:alice@contoso.com>;tag=222\r\n\
Call-ID: call-1@10.0.0.1\r\n\
CSeq: 1 INVITE\r\n\
Content-Type: application/cccp+xml\r\n\
Content-Length: 117\r\n\
\r\n\
<response xmlns=\"urn:ietf:params:xml:ns:cccp\" requestId=\"1\" code=\"failure\"><addUser reason=\"no\"/></response>         \
SIP/2.0 200\r\n\
Via: SIP/2.0/TCP 10.0.0.1:50000;branch=z9hG4bK3\r\n\
From: <sip:bob@contoso.com>;tag=113\r\n\
To: <sip:alice@contoso.com>;tag=9\r\n\
Call-ID: call-2@10.0.0.1\r\n\
CSeq: 2 MESSAGE\r\n\
ms-diagnostics: 1018;reason=\"Failed\";source=\"fe01\"\r\n\
Content-Length: 0\r\n\
\r\n";

/// A WebSocket upgrade followed by a masked text frame carrying a SIP request.
pub const WS_SCRIPT: &[u8] =
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Protocol: sip\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\r\n\
\x81\x38OPTIONS sip:x@y SIP/2.0\r\nCall-ID: w\r\nCSeq: 1 OPTIONS\r\n\r\n";

/// A connection's addresses and initial sequence numbers.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct ConnSpec {
    /// Client port.
    pub client_port: u16,
    /// Server port selector: 5060, 5061, 443, 80, or the raw value.
    pub server_port: PortSel,
    /// Client initial sequence number (near 2³² exercises the wrap).
    pub isn_client: u32,
    /// Server initial sequence number.
    pub isn_server: u32,
    /// Which script the client sends (the server always sends [`SERVER_SCRIPT`]).
    pub websocket: bool,
}

/// A server port.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum PortSel {
    /// 5060.
    Sip,
    /// 5061.
    SipTls,
    /// 443.
    Https,
    /// Any.
    Other(u16),
}

impl PortSel {
    fn port(self) -> u16 {
        match self {
            PortSel::Sip => 5060,
            PortSel::SipTls => 5061,
            PortSel::Https => 443,
            PortSel::Other(p) => p,
        }
    }
}

/// Where a segment's sequence number lies.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum SeqSel {
    /// Right after the last byte this direction sent (in-order).
    Next,
    /// That, moved by a small amount (retransmission, overlap, gap).
    Shift(i16),
    /// Any sequence number.
    Raw(u32),
}

/// A segment's payload.
#[derive(Arbitrary, Debug, Clone)]
pub enum Payload {
    /// Bytes `start..start + len` of the direction's script; the sequence number is then the
    /// script offset (so retransmissions and gaps line up with the script).
    Script {
        /// Offset into the script.
        start: u16,
        /// Length.
        len: u16,
    },
    /// The rest of the script from where this direction is.
    ScriptRest,
    /// Arbitrary bytes, at the sequence number chosen by the segment.
    Bytes(Vec<u8>),
    /// No payload (a pure ACK, SYN, FIN or RST).
    Empty,
}

/// One TCP segment.
#[derive(Arbitrary, Debug, Clone)]
pub struct Segment {
    /// Connection index (modulo the connections).
    pub conn: u8,
    /// Sent by the server.
    pub from_server: bool,
    /// TCP flags (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, …).
    pub flags: u8,
    /// Sequence number for [`Payload::Bytes`] and [`Payload::Empty`].
    pub seq: SeqSel,
    /// Acknowledgement number, relative to the peer's ISN (an ACK beyond what the capture
    /// saw makes the reassembler give up a hole).
    pub ack: u16,
    /// Milliseconds since the previous segment (the 1 s gap timeout is reachable).
    pub dt_ms: u16,
    /// What the segment carries.
    pub payload: Payload,
}

/// A TCP capture: a few connections and their segments, in capture order.
#[derive(Arbitrary, Debug, Clone)]
pub struct TcpCase {
    /// Up to 3 connections are used (a default one if none).
    pub conns: Vec<ConnSpec>,
    /// The segments.
    pub segments: Vec<Segment>,
}

/// Most payload bytes in one segment (keeps every run fast).
const MAX_SEGMENT: usize = 4096;

impl TcpCase {
    /// The case as LINKTYPE_RAW IPv4 frames: (timestamp ns, packet bytes).
    pub fn packets(&self) -> Vec<(i64, Vec<u8>)> {
        let default = ConnSpec {
            client_port: 50000,
            server_port: PortSel::Sip,
            isn_client: 1000,
            isn_server: 5000,
            websocket: false,
        };
        let conns: Vec<ConnSpec> = if self.conns.is_empty() {
            vec![default]
        } else {
            self.conns.iter().take(3).copied().collect()
        };
        // Per connection and direction: the next sequence number, relative to the ISN.
        let mut next = vec![[0u32; 2]; conns.len()];
        let mut ts = T0;
        let mut out = Vec::with_capacity(self.segments.len());
        for seg in &self.segments {
            let ci = usize::from(seg.conn) % conns.len();
            let c = conns[ci];
            let d = usize::from(seg.from_server);
            let script: &[u8] = match (seg.from_server, c.websocket) {
                (true, _) => SERVER_SCRIPT,
                (false, false) => CLIENT_SCRIPT,
                (false, true) => WS_SCRIPT,
            };
            let (isn, peer_isn) = if seg.from_server {
                (c.isn_server, c.isn_client)
            } else {
                (c.isn_client, c.isn_server)
            };
            let cursor = next[ci][d];
            let (rel_seq, payload): (u32, &[u8]) = match &seg.payload {
                Payload::Script { start, len } => {
                    let s = usize::from(*start) % (script.len() + 1);
                    let e = (s + usize::from(*len)).min(script.len());
                    (s as u32, &script[s..e])
                }
                Payload::ScriptRest => {
                    let s = (cursor as usize).min(script.len());
                    (s as u32, &script[s..])
                }
                Payload::Bytes(b) => (seq_of(seg.seq, cursor), &b[..b.len().min(MAX_SEGMENT)]),
                Payload::Empty => (seq_of(seg.seq, cursor), &[]),
            };
            // A SYN takes one sequence number before the data.
            let syn = seg.flags & 0x02 != 0;
            let seq = isn.wrapping_add(rel_seq).wrapping_sub(u32::from(syn));
            let end = rel_seq.wrapping_add(payload.len() as u32);
            if end.wrapping_sub(cursor) as i32 > 0 {
                next[ci][d] = end;
            }
            let ack = peer_isn.wrapping_add(u32::from(seg.ack));
            let (sport, dport) = if seg.from_server {
                (c.server_port.port(), c.client_port)
            } else {
                (c.client_port, c.server_port.port())
            };
            let client = [10, 0, 0, 1 + ci as u8];
            let server = [10, 0, 0, 100];
            let (src, dst) = if seg.from_server {
                (server, client)
            } else {
                (client, server)
            };
            ts += i64::from(seg.dt_ms) * 1_000_000;
            out.push((
                ts,
                ipv4_tcp(src, dst, sport, dport, seq, ack, seg.flags, payload),
            ));
        }
        out
    }
}

fn seq_of(sel: SeqSel, cursor: u32) -> u32 {
    match sel {
        SeqSel::Next => cursor,
        SeqSel::Shift(d) => cursor.wrapping_add(d as i32 as u32),
        SeqSel::Raw(s) => s,
    }
}

/// An IPv4 packet carrying one TCP segment (checksums left zero: lyncscope does not check
/// them, as captures of offloading hosts carry wrong ones).
#[allow(clippy::too_many_arguments)]
pub fn ipv4_tcp(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let total = 40 + payload.len();
    let mut p = Vec::with_capacity(total);
    p.extend_from_slice(&[0x45, 0]);
    p.extend_from_slice(&(total.min(65535) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 1, 0x40, 0, 64, 6, 0, 0]);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ack.to_be_bytes());
    p.extend_from_slice(&[0x50, flags]);
    p.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
    p.extend_from_slice(payload);
    p
}
