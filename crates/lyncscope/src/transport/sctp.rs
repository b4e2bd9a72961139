//! SCTP (RFC 9260) DATA chunks carrying SIP (RFC 4168).
//!
//! Each DATA chunk's user data is one SIP message or, when the B/E flags say so, a fragment of
//! one. Fragments are collected per association direction and stream until the E (end)
//! fragment arrives, in TSN order; the collection is bounded and what is dropped is counted.

use super::headers;
use super::{scan_datagram, MsgContext, SipSink, Transport, TransportStats};
use crate::capture::Frame;
use crate::net::IpPacket;
use ahash::RandomState;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

const CHUNK_DATA: u8 = 0;
const FLAG_END: u8 = 0x01;
const FLAG_BEGIN: u8 = 0x02;
/// Most fragment streams held at once, and bytes per fragmented message.
const MAX_PARTIAL_STREAMS: usize = 4096;
pub(crate) const MAX_MESSAGE: usize = 4 * 1024 * 1024;

/// A message being reassembled: fragments by TSN.
#[derive(Default)]
struct Partial {
    fragments: BTreeMap<u32, (u8, Vec<u8>)>,
    bytes: usize,
    /// The frame of the first fragment that arrived.
    first_frame: u64,
}

#[derive(Default)]
/// SCTP DATA chunks reassembled into SIP messages, per association and stream.
pub struct SctpReassembler {
    partial: HashMap<(SocketAddr, SocketAddr, u16), Partial, RandomState>,
}

impl SctpReassembler {
    /// One SCTP packet: every DATA chunk in it, reassembled when fragmented.
    pub fn packet(
        &mut self,
        frame: &Frame<'_>,
        pkt: &IpPacket<'_>,
        stats: &mut TransportStats,
        sink: &mut impl SipSink,
    ) {
        let Some(h) = headers::sctp(&pkt.payload) else {
            stats.bad_transport_headers += 1;
            return;
        };
        stats.sctp_packets += 1;
        let src = SocketAddr::new(pkt.src, h.src_port);
        let dst = SocketAddr::new(pkt.dst, h.dst_port);
        let ctx = MsgContext::of_packet(frame, pkt, src, dst, Transport::Sctp);
        let mut rest = h.chunks;
        while let Some(next) = headers::next_chunk(rest) {
            let Ok(c) = next else {
                stats.bad_transport_headers += 1;
                return;
            };
            if c.kind == CHUNK_DATA {
                self.data(c.chunk, c.flags, &ctx, stats, sink);
            }
            rest = c.rest;
        }
    }

    fn data(
        &mut self,
        chunk: &[u8],
        flags: u8,
        ctx: &MsgContext,
        stats: &mut TransportStats,
        sink: &mut impl SipSink,
    ) {
        let Some((&[_, _, _, _, t0, t1, t2, t3, s0, s1, ..], user)) =
            chunk.split_first_chunk::<16>()
        else {
            stats.bad_transport_headers += 1;
            return;
        };
        stats.sctp_data_chunks += 1;
        let tsn = u32::from_be_bytes([t0, t1, t2, t3]);
        let stream = u16::from_be_bytes([s0, s1]);
        if flags & (FLAG_BEGIN | FLAG_END) == FLAG_BEGIN | FLAG_END {
            scan_datagram(user, ctx, stats, sink);
            return;
        }
        let key = (ctx.src, ctx.dst, stream);
        if !self.partial.contains_key(&key) && self.partial.len() >= MAX_PARTIAL_STREAMS {
            stats.incomplete_messages += self.partial.len() as u64;
            stats.sctp_cap_hits += self.partial.len() as u64;
            self.partial.clear();
        }
        let p = self.partial.entry(key).or_default();
        if p.bytes + user.len() > MAX_MESSAGE {
            stats.incomplete_messages += 1;
            stats.sctp_cap_hits += 1;
            self.partial.remove(&key);
            return;
        }
        if p.fragments.is_empty() {
            p.first_frame = ctx.first_frame;
        }
        p.bytes += user.len();
        p.fragments.insert(tsn, (flags, user.to_vec()));
        let first_frame = p.first_frame;
        // Complete when a B fragment and an E fragment are linked by consecutive TSNs.
        let Some(message) = assemble(&p.fragments) else {
            return;
        };
        self.partial.remove(&key);
        let mut ctx = *ctx;
        ctx.reassembled = true;
        ctx.first_frame = first_frame.min(ctx.first_frame);
        scan_datagram(&message, &ctx, stats, sink);
    }

    /// End of input: unfinished fragmented messages are counted as incomplete.
    pub fn finish(&mut self, stats: &mut TransportStats) {
        stats.incomplete_messages += self.partial.len() as u64;
        self.partial.clear();
    }
}

fn assemble(fragments: &BTreeMap<u32, (u8, Vec<u8>)>) -> Option<Vec<u8>> {
    let (&first, &(flags, _)) = fragments.iter().find(|(_, (f, _))| f & FLAG_BEGIN != 0)?;
    let _ = flags;
    let mut out = Vec::new();
    let mut tsn = first;
    loop {
        let (f, data) = fragments.get(&tsn)?;
        out.extend_from_slice(data);
        if f & FLAG_END != 0 {
            return Some(out);
        }
        tsn = tsn.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::Collect;
    use super::*;
    use crate::Timestamp;
    use std::borrow::Cow;
    use std::net::{IpAddr, Ipv4Addr};

    fn data_chunk(tsn: u32, flags: u8, data: &[u8]) -> Vec<u8> {
        let mut c = vec![CHUNK_DATA, flags, 0, 0];
        c.extend_from_slice(&tsn.to_be_bytes());
        c.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
        c.extend_from_slice(data);
        let len = c.len() as u16;
        c[2..4].copy_from_slice(&len.to_be_bytes());
        while c.len() % 4 != 0 {
            c.push(0);
        }
        c
    }

    fn packet(chunks: &[Vec<u8>]) -> Vec<u8> {
        let mut p = vec![0x13, 0xc4, 0x13, 0xc4, 0, 0, 0, 1, 0, 0, 0, 0];
        for c in chunks {
            p.extend_from_slice(c);
        }
        p
    }

    fn run(pkts: Vec<Vec<u8>>) -> (Collect, TransportStats) {
        let mut r = SctpReassembler::default();
        let (mut st, mut sink) = (TransportStats::default(), Collect::default());
        for (i, p) in pkts.into_iter().enumerate() {
            let frame = Frame {
                number: i as u64 + 1,
                timestamp: Timestamp(0),
                link_type: 1,
                data: &[],
                original_len: 0,
                source: 0,
            };
            let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
            let pkt = IpPacket {
                src: ip,
                dst: ip,
                protocol: 132,
                payload: Cow::Owned(p),
                reassembled: false,
                first_frame: 0,
            };
            r.packet(&frame, &pkt, &mut st, &mut sink);
        }
        r.finish(&mut st);
        (sink, st)
    }

    #[test]
    fn whole_and_fragmented_messages() {
        let m = b"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: 1\r\nContent-Length: 0\r\n\r\n";
        let (sink, _) = run(vec![packet(&[data_chunk(1, 3, m), data_chunk(2, 3, m)])]);
        assert_eq!(sink.messages.len(), 2);
        let (a, b) = m.split_at(20);
        let (sink, st) = run(vec![
            packet(&[data_chunk(8, FLAG_END, b)]),
            packet(&[data_chunk(7, FLAG_BEGIN, a)]),
        ]);
        assert_eq!(sink.messages.len(), 1);
        assert_eq!(st.incomplete_messages, 0);
        let (sink, st) = run(vec![packet(&[data_chunk(7, FLAG_BEGIN, a)])]);
        assert_eq!(sink.messages.len(), 0);
        assert_eq!(st.incomplete_messages, 1);
    }

    #[test]
    fn bad_chunk_lengths_do_not_panic() {
        let mut p = packet(&[]);
        p.extend_from_slice(&[0, 3, 0, 2]);
        let (_, st) = run(vec![p, vec![1, 2, 3]]);
        assert_eq!(st.bad_transport_headers, 2);
    }
}
