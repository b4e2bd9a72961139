//! Transport layer: from IP packets to framed SIP messages.
//!
//! * UDP: every datagram, on any port, is checked for a SIP start line (as tshark's heuristic
//!   does); several messages in one datagram are all found; CRLF keep-alives are skipped.
//! * TCP ([`tcp`]): per direction, segments are put in sequence order, duplicate and
//!   overlapping bytes dropped, and the byte stream is framed by Content-Length. After a gap
//!   (a segment that never came) the stream resynchronises at the next SIP start line.
//!   WebSocket (RFC 7118) on a TCP stream is recognised by its HTTP upgrade or by its frames.
//! * SCTP ([`sctp`]): DATA chunks, fragmented or not.
//!
//! Every message is handed to a [`SipSink`] together with a [`MsgContext`] saying where and
//! when it was seen. Every byte that is given up is counted in [`TransportStats`].

#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)
)]

mod headers;
pub mod sctp;
pub mod tcp;
mod websocket;

use crate::capture::Frame;
use crate::net::IpPacket;
use crate::sip::message::{self, FrameError, Message};
use crate::source::{Origin, SourceMessage};
use crate::Timestamp;
use std::net::{IpAddr, SocketAddr};

pub use crate::source::Transport;

/// Where and when a message was seen.
#[derive(Clone, Copy, Debug)]
pub struct MsgContext {
    /// The frame that completed the message (the last segment or fragment of it).
    pub frame: u64,
    /// The first frame that carried part of the message (equal to `frame` for a message in one
    /// packet). Frames of the same flow between the two carried the rest.
    pub first_frame: u64,
    /// When the completing frame was captured.
    pub time: Timestamp,
    /// Sender address and port.
    pub src: SocketAddr,
    /// Receiver address and port.
    pub dst: SocketAddr,
    /// How it travelled.
    pub transport: Transport,
    /// The IP datagram was reassembled from fragments.
    pub ip_reassembled: bool,
    /// The message spanned several TCP segments (or WebSocket / SCTP fragments).
    pub reassembled: bool,
    /// The message was quoted in an ICMP error (it bounced: port unreachable, …).
    pub icmp_quoted: bool,
    /// `LINKTYPE_*` of the frame that completed the message (0 for a message that came
    /// whole from a log or a capture agent).
    pub link_type: u32,
    /// Where the message was seen.
    pub origin: Origin,
}

impl MsgContext {
    /// The context of a message carried by `pkt`, between `src` and `dst` (with ports).
    pub fn of_packet(
        frame: &Frame<'_>,
        pkt: &IpPacket<'_>,
        src: SocketAddr,
        dst: SocketAddr,
        transport: Transport,
    ) -> Self {
        MsgContext {
            frame: frame.number,
            first_frame: pkt.first_frame.min(frame.number),
            time: frame.timestamp,
            src,
            dst,
            transport,
            ip_reassembled: pkt.reassembled,
            reassembled: false,
            icmp_quoted: false,
            link_type: frame.link_type,
            origin: Origin::Capture {
                input: frame.source,
            },
        }
    }

    /// The context of a packet seen in `frame`, ports still to be filled in.
    pub fn at(
        frame: &Frame<'_>,
        src: IpAddr,
        dst: IpAddr,
        transport: Transport,
        ip_reassembled: bool,
    ) -> Self {
        MsgContext {
            frame: frame.number,
            first_frame: frame.number,
            time: frame.timestamp,
            src: SocketAddr::new(src, 0),
            dst: SocketAddr::new(dst, 0),
            transport,
            ip_reassembled,
            reassembled: false,
            icmp_quoted: false,
            link_type: frame.link_type,
            origin: Origin::Capture {
                input: frame.source,
            },
        }
    }
}

/// A layer between TCP reassembly and SIP framing (a TLS decryptor): it is shown the first
/// bytes of every new TCP connection and may take it; a connection it takes has its in-order
/// bytes, per direction, turned into the bytes SIP is framed from.
pub trait StreamDecoder: Send {
    /// The first payload bytes of a new connection, sent from `src` to `dst`: a decoder for
    /// this connection if the layer takes it, else `None` (it stays plain TCP).
    fn open(
        &mut self,
        first: &[u8],
        src: SocketAddr,
        dst: SocketAddr,
    ) -> Option<Box<dyn ConnectionDecoder>>;
}

/// One TCP connection's decoding state (see [`StreamDecoder`]).
pub trait ConnectionDecoder: Send {
    /// In-order stream bytes of one direction (`from_opener`: the direction whose first bytes
    /// opened the decoder, the TLS client); the decoded bytes are appended to `out`, in order.
    fn data(&mut self, from_opener: bool, bytes: &[u8], out: &mut Vec<u8>);
    /// Bytes of one direction were lost (a hole in the capture was given up): what follows
    /// cannot be decoded in sequence with what came before.
    fn gap(&mut self, from_opener: bool);
    /// The connection ended (closed, evicted, or the end of input).
    fn finish(&mut self) {}
}

/// Receives every SIP message the transport layer frames.
pub trait SipSink {
    /// One framed message and where it was seen.
    fn message(&mut self, ctx: &MsgContext, msg: &Message<'_>);

    /// A UDP datagram that holds no SIP (media, STUN, DNS, …): its context (addresses with
    /// ports) and payload, for a sink that follows media. Ignored unless implemented.
    fn datagram(&mut self, ctx: &MsgContext, payload: &[u8]) {
        let _ = (ctx, payload);
    }
}

/// Counters of the transport layer.
#[derive(Debug, Default, Clone)]
pub struct TransportStats {
    /// UDP datagrams seen.
    pub udp_datagrams: u64,
    /// UDP datagrams that do not start with a SIP start line (RTP, DNS, …).
    pub udp_not_sip: u64,
    /// Datagrams or stream gaps holding only CR/LF (SIP keep-alives).
    pub keepalives: u64,
    /// Bytes after the last message of a datagram that are not another SIP message.
    pub trailing_bytes: u64,
    /// TCP segments seen.
    pub tcp_segments: u64,
    /// TCP connections seen. A connection given up (closed, evicted, over a memory bound) and
    /// re-opened by its later segments counts once; a new SYN on the same ports is a new one.
    pub tcp_streams: u64,
    /// Segments that came ahead of a missing one and were held.
    pub tcp_out_of_order: u64,
    /// Segments (or parts) whose bytes were already delivered.
    pub tcp_retransmissions: u64,
    /// Holes in a TCP stream that were given up (segments never captured).
    pub tcp_gaps: u64,
    /// Stream bytes passed over while looking for the next SIP start line: bytes that are not
    /// SIP, the rest of a message cut by a gap or given up at a bound, a message whose start
    /// line is bad, an unfinished line left when a stream breaks off.
    pub tcp_bytes_skipped: u64,
    /// TCP connections forgotten because the connection table was full.
    pub tcp_streams_evicted: u64,
    /// Bytes held for unfinished messages that a memory bound discarded (the per-direction
    /// bound, [`tcp_message_cap_hits`](Self::tcp_message_cap_hits), or the total bound,
    /// [`tcp_total_cap_hits`](Self::tcp_total_cap_hits)). The rest of such a message, arriving
    /// later, is in `tcp_bytes_skipped`.
    pub tcp_bytes_dropped_by_cap: u64,
    /// Unfinished messages given up because one direction held more than its bound (4 MiB)
    /// for them; each is also one of `incomplete_messages`.
    pub tcp_message_cap_hits: u64,
    /// Connections given up part way because all connections together held more than the total
    /// bound (256 MiB); the messages they were assembling are in `incomplete_messages`.
    pub tcp_total_cap_hits: u64,
    /// Holes given up early because a direction held more segments or bytes out of order than
    /// its bound (512 segments, 1 MiB); each is also one of `tcp_gaps`.
    pub tcp_reorder_cap_hits: u64,
    /// SCTP messages given up because one was fragmented over more than 4 MiB, or more than
    /// 4,096 streams were reassembling at once (all of them are given up); each is also one of
    /// `incomplete_messages`.
    pub sctp_cap_hits: u64,
    /// WebSocket messages given up because their fragments held more than 4 MiB; each is also
    /// one of `incomplete_messages`.
    pub websocket_cap_hits: u64,
    /// SCTP packets seen.
    pub sctp_packets: u64,
    /// SCTP DATA chunks seen.
    pub sctp_data_chunks: u64,
    /// WebSocket frames seen.
    pub websocket_frames: u64,
    /// SIP messages that were started (their start line arrived) but never completed (stream
    /// ended, gap, bound hit), each counted once.
    pub incomplete_messages: u64,
    /// Bytes that started like SIP but could not be framed (header block too long, a start
    /// line that begins or ends like one but is not valid, …), one per message.
    pub malformed_messages: u64,
    /// Packets with a truncated or inconsistent transport header.
    pub bad_transport_headers: u64,
    /// IP packets of other protocols (ESP, …) and ICMP messages that quote no UDP.
    pub other_protocols: u64,
    /// SIP messages found quoted in ICMP errors.
    pub icmp_quoted_sip: u64,
    /// Messages handed over whole by logs and capture agents.
    pub source_messages: u64,
    /// Of those, the ones that held no SIP message that could be framed.
    pub source_not_sip: u64,
}

/// The transport layer's state: TCP connections and SCTP associations.
#[derive(Default)]
pub struct TransportLayer {
    tcp: tcp::TcpReassembler,
    sctp: sctp::SctpReassembler,
    stats: TransportStats,
}

impl TransportLayer {
    /// An empty transport layer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The transport counters.
    pub fn stats(&self) -> &TransportStats {
        &self.stats
    }

    /// Sets the layer between TCP reassembly and SIP framing (see [`StreamDecoder`]).
    pub fn set_stream_decoder(&mut self, decoders: Box<dyn StreamDecoder>) {
        self.tcp.set_decoders(decoders);
    }

    /// Handles one IP packet, handing every complete SIP message to `sink`.
    pub fn handle(&mut self, frame: &Frame<'_>, pkt: &IpPacket<'_>, sink: &mut impl SipSink) {
        let payload: &[u8] = &pkt.payload;
        match pkt.protocol {
            17 => {
                let mut ctx =
                    MsgContext::at(frame, pkt.src, pkt.dst, Transport::Udp, pkt.reassembled);
                ctx.first_frame = pkt.first_frame.min(frame.number);
                self.udp(ctx, payload, sink)
            }
            6 => self.tcp.segment(frame, pkt, &mut self.stats, sink),
            132 => self.sctp.packet(frame, pkt, &mut self.stats, sink),
            1 | 58 => self.icmp(frame, pkt.protocol == 58, payload, sink),
            _ => self.stats.other_protocols += 1,
        }
    }

    /// An ICMP error quoting a UDP datagram that carried SIP: the message is reported (flagged
    /// as quoted), because a request that bounced is evidence of why a step failed.
    fn icmp(&mut self, frame: &Frame<'_>, v6: bool, payload: &[u8], sink: &mut impl SipSink) {
        match crate::net::quoted_packet(payload, v6) {
            Some(q) if q.protocol == 17 => {
                // A quoted datagram is not a UDP datagram of this capture: only the SIP found
                // in it counts.
                let (datagrams, not_sip, keepalives) = (
                    self.stats.udp_datagrams,
                    self.stats.udp_not_sip,
                    self.stats.keepalives,
                );
                let mut ctx = MsgContext::at(frame, q.src, q.dst, Transport::Udp, false);
                ctx.icmp_quoted = true;
                self.udp(ctx, &q.payload, sink);
                self.stats.udp_datagrams = datagrams;
                self.stats.udp_not_sip = not_sip;
                self.stats.keepalives = keepalives;
            }
            _ => self.stats.other_protocols += 1,
        }
    }

    /// A message handed over whole by a log or a capture agent: framed as one datagram (a
    /// source gives one message per record; anything after it is counted as trailing bytes).
    pub fn message(&mut self, m: &SourceMessage<'_>, sink: &mut impl SipSink) {
        self.stats.source_messages += 1;
        let ctx = MsgContext {
            frame: m.number,
            first_frame: m.number,
            time: m.time,
            src: m.src,
            dst: m.dst,
            transport: m.transport,
            ip_reassembled: false,
            reassembled: false,
            icmp_quoted: false,
            link_type: 0,
            origin: m.origin,
        };
        if scan_datagram(m.bytes, &ctx, &mut self.stats, sink) == 0 {
            self.stats.source_not_sip += 1;
        }
    }

    /// Ends every stream: messages still waiting for bytes are counted as incomplete.
    pub fn finish(&mut self, sink: &mut impl SipSink) {
        self.tcp.finish(&mut self.stats, sink);
        self.sctp.finish(&mut self.stats);
    }

    /// A UDP datagram; `ctx` has the addresses, and gets the ports here.
    fn udp(&mut self, mut ctx: MsgContext, seg: &[u8], sink: &mut impl SipSink) {
        let Some(udp) = headers::udp(seg) else {
            self.stats.bad_transport_headers += 1;
            return;
        };
        self.stats.udp_datagrams += 1;
        let payload = udp.payload;
        ctx.src.set_port(udp.src_port);
        ctx.dst.set_port(udp.dst_port);
        let found = scan_datagram(payload, &ctx, &mut self.stats, sink);
        if ctx.icmp_quoted {
            self.stats.icmp_quoted_sip += found as u64;
        }
        if found == 0 {
            if message::leading_line_breaks(payload) == payload.len() && !payload.is_empty() {
                self.stats.keepalives += 1;
            } else {
                self.stats.udp_not_sip += 1;
                if !ctx.icmp_quoted {
                    sink.datagram(&ctx, payload);
                }
            }
        }
    }
}

/// Frames every SIP message of a datagram-like payload (UDP, SCTP, a WebSocket message).
/// Returns the number of messages found.
pub(crate) fn scan_datagram(
    payload: &[u8],
    ctx: &MsgContext,
    stats: &mut TransportStats,
    sink: &mut impl SipSink,
) -> usize {
    let mut rest = payload;
    let mut found = 0;
    loop {
        let skip = message::leading_line_breaks(rest);
        rest = rest.get(skip..).unwrap_or_default();
        if rest.is_empty() {
            break;
        }
        match message::frame_datagram(rest) {
            Ok((msg, used)) => {
                sink.message(ctx, &msg);
                found += 1;
                rest = rest.get(used.max(1)..).unwrap_or_default();
            }
            Err(FrameError::NotSip) => {
                if found > 0 {
                    stats.trailing_bytes += rest.len() as u64;
                }
                break;
            }
            Err(_) => {
                stats.malformed_messages += 1;
                break;
            }
        }
    }
    found
}

#[cfg(test)]
pub(crate) mod testutil {
    //! A sink that records what it is given, for the transport tests.
    use super::*;

    #[derive(Default)]
    pub struct Collect {
        pub messages: Vec<(u64, Transport, Vec<u8>)>,
        pub directions: Vec<(IpAddr, IpAddr)>,
    }

    impl SipSink for Collect {
        fn message(&mut self, ctx: &MsgContext, msg: &Message<'_>) {
            self.messages
                .push((ctx.frame, ctx.transport, msg.raw().to_vec()));
            self.directions.push((ctx.src.ip(), ctx.dst.ip()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::Collect;
    use super::*;
    use std::net::Ipv4Addr;

    fn ctx() -> MsgContext {
        let a = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5060);
        MsgContext {
            frame: 1,
            first_frame: 1,
            time: Timestamp(0),
            src: a,
            dst: a,
            transport: Transport::Udp,
            ip_reassembled: false,
            reassembled: false,
            icmp_quoted: false,
            link_type: 1,
            origin: Default::default(),
        }
    }

    #[test]
    fn icmp_errors_quoting_sip_and_truncated_quotes() {
        use crate::net::IpPacket;
        use std::borrow::Cow;
        let sip =
            b"INVITE sip:b@h SIP/2.0\r\nCall-ID: q\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
        let mut quoted = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let total = (20 + 8 + sip.len()) as u16;
        quoted[2..4].copy_from_slice(&total.to_be_bytes());
        quoted.extend_from_slice(&[0x13, 0xc4, 0x13, 0xc4]);
        quoted.extend_from_slice(&((8 + sip.len()) as u16).to_be_bytes());
        quoted.extend_from_slice(&[0, 0]);
        quoted.extend_from_slice(sip);
        let frame = Frame {
            number: 9,
            timestamp: Timestamp(0),
            link_type: 1,
            data: &[],
            original_len: 0,
            source: 0,
        };
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let mut layer = TransportLayer::new();
        let mut sink = Collect::default();
        for cut in [quoted.len(), 24, 20] {
            let mut icmp = vec![3, 3, 0, 0, 0, 0, 0, 0];
            icmp.extend_from_slice(&quoted[..cut]);
            let pkt = IpPacket {
                src: ip,
                dst: ip,
                protocol: 1,
                payload: Cow::Owned(icmp),
                reassembled: false,
                first_frame: 9,
            };
            layer.handle(&frame, &pkt, &mut sink);
        }
        assert_eq!(sink.messages.len(), 1);
        assert_eq!(layer.stats().icmp_quoted_sip, 1);
        assert_eq!(layer.stats().udp_datagrams, 0);
    }

    #[test]
    fn several_messages_in_one_datagram_and_keepalives() {
        let m = b"\r\n\r\nOPTIONS sip:a@b SIP/2.0\r\nCall-ID: 1\r\nContent-Length: 0\r\n\r\n\r\nSIP/2.0 200 OK\r\nCall-ID: 1\r\nContent-Length: 2\r\n\r\nhi\r\n";
        let mut sink = Collect::default();
        let mut stats = TransportStats::default();
        assert_eq!(scan_datagram(m, &ctx(), &mut stats, &mut sink), 2);
        assert_eq!(stats.trailing_bytes, 0);
        assert!(sink.messages[1].2.ends_with(b"hi"));
    }

    #[test]
    fn trailing_junk_is_counted() {
        let m = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\nJUNK";
        let mut sink = Collect::default();
        let mut stats = TransportStats::default();
        assert_eq!(scan_datagram(m, &ctx(), &mut stats, &mut sink), 1);
        assert_eq!(stats.trailing_bytes, 4);
    }
}
