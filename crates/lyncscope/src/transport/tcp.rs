//! TCP stream reassembly for SIP.
//!
//! Each connection has two directions; each direction turns segments into an in-order byte
//! stream and frames SIP messages from it:
//!
//! * Segments are put in sequence order (Wireshark does not do this by default; captures taken
//!   on busy links routinely hold segments out of order). Sequence numbers are compared with
//!   wrapping arithmetic, so the 2³² wrap is harmless.
//! * Bytes already delivered (retransmissions, overlaps, keep-alive probes) are dropped.
//! * A hole that is not filled — the peer acknowledged bytes the capture never saw, the
//!   out-of-order queue grew past its bound, a second passed, or the stream ended — is given
//!   up: the message it cut is counted as incomplete and the stream resynchronises at the next
//!   SIP start line. Streams that start mid-message resynchronise the same way.
//! * In the common case (in order, nothing pending) messages are framed straight from the
//!   segment without copying; only the unfinished tail of a segment is buffered.
//!
//! Every buffer is bounded (per direction and in total) and the connection table has a size
//! limit with eviction; what is given up is counted in [`TransportStats`].

use super::websocket::{self, WsFrame};
use super::{
    scan_datagram, ConnectionDecoder, MsgContext, SipSink, StreamDecoder, Transport, TransportStats,
};
use crate::capture::Frame;
use crate::net::IpPacket;
use crate::sip::message::{self, FrameError, StreamProgress};
use crate::source::Origin;
use crate::Timestamp;
use ahash::RandomState;
use memchr::{memchr, memmem, memrchr};
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};

/// Most connections tracked at once; beyond, the least recently active is forgotten.
pub(crate) const MAX_CONNECTIONS: usize = 65_536;
/// Most bytes one direction may hold for an unfinished message.
pub const MAX_PENDING: usize = 4 * 1024 * 1024;
/// Most bytes held out of order per direction, and segments.
pub const MAX_OOO_BYTES: usize = 1024 * 1024;
/// Most segments held out of order per direction (a hole is given up beyond either bound).
pub const MAX_OOO_SEGMENTS: usize = 512;
/// Most bytes buffered over all connections.
pub const MAX_TOTAL_BUFFERED: usize = 256 * 1024 * 1024;
/// A hole older than this (capture time) is given up.
const GAP_TIMEOUT_NS: i64 = 1_000_000_000;
/// Connections idle longer than this are swept when the table is large.
const IDLE_NS: i64 = 300 * 1_000_000_000;
/// Longest HTTP header block (WebSocket upgrade) looked at.
const MAX_HTTP_HEADER: usize = 16 * 1024;
/// Longest WebSocket message reassembled from fragments.
pub(crate) const MAX_WS_MESSAGE: usize = 4 * 1024 * 1024;
/// Connections remembered after they were given up, so that later segments re-opening one are
/// not counted as a new connection (as many as the table holds; under 200 bytes each).
const MAX_FORGOTTEN: usize = MAX_CONNECTIONS;

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;

/// What a direction's byte stream carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum Mode {
    #[default]
    Sip,
    /// After a WebSocket upgrade (or frames recognised mid-stream).
    WebSocket,
}

#[derive(Default)]
struct Direction {
    started: bool,
    /// Sequence number of the next byte expected.
    next_seq: u32,
    /// Bytes received in order but not framed yet (an unfinished message).
    buf: Vec<u8>,
    /// Segments ahead of `next_seq`, keyed by their distance from the stream start, with the
    /// frame that carried each.
    ooo: BTreeMap<u64, (u64, Vec<u8>)>,
    /// The earliest frame that carried bytes now in `buf` (the unfinished message).
    buf_first_frame: u64,
    ooo_bytes: usize,
    /// Stream offset of `next_seq`.
    next_off: u64,
    gap_since: Option<Timestamp>,
    /// The sequence number just after the FIN, once a FIN was seen (it may arrive before the
    /// last data; the stream ends when `next_seq` reaches it).
    fin_at: Option<u32>,
    /// The stream reached its FIN.
    fin: bool,
    /// The last frame (and its time) that carried data in this direction: where messages
    /// completed by giving up a hole or by the end of the stream are reported.
    last_frame: u64,
    last_time: Timestamp,
    mode: Mode,
    /// A WebSocket message being assembled from fragments (unmasked).
    ws_message: Vec<u8>,
    /// How far framing got with the unfinished message at the start of `buf` (header lines
    /// indexed, its length once known): a message spread over many segments is indexed once.
    progress: StreamProgress,
    /// The next bytes to frame are not known to begin a message (the capture started
    /// mid-connection, a hole was given up, a bound dropped a message, bytes were skipped to
    /// resynchronise): a request line there may be the tail of a lost body glued to the real
    /// method.
    unaligned: bool,
}

/// Why a direction's held bytes are given up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GiveUp {
    /// The stream ended, broke off at a hole, or its connection was closed or forgotten.
    End,
    /// A memory bound: what is discarded is counted as dropped by the bound.
    Cap,
}

/// Why a connection is removed from the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Removal {
    /// FIN or RST, the table full, or idle too long.
    Closed,
    /// All connections together held more than [`MAX_TOTAL_BUFFERED`].
    TotalCap,
    /// The end of input.
    Finish,
}

struct Connection {
    dirs: [Direction; 2],
    /// The decoding layer that took this connection (TLS), between reassembly and framing.
    decoder: Option<Box<dyn ConnectionDecoder>>,
    /// The direction whose first bytes the decoding layer was shown (the TLS client).
    opener: usize,
    /// The decoding layer has seen the connection's first bytes.
    offered: bool,
    last_seen: Timestamp,
    /// The last frame of the connection: messages completed when it is closed are reported there.
    last_frame: u64,
    /// The input the last frame came from.
    origin: Origin,
}

/// A connection: its two ends, the lower first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ConnKey(SocketAddr, SocketAddr);

impl Hash for ConnKey {
    /// In one or a few wide writes: `SocketAddr`'s own hash makes six small ones per address,
    /// each a full round of the (DoS-resistant) hasher, for every segment.
    fn hash<H: Hasher>(&self, h: &mut H) {
        let (a, b) = (self.0, self.1);
        match (a.ip(), b.ip()) {
            (IpAddr::V4(x), IpAddr::V4(y)) => h.write_u128(
                u128::from(x.to_bits()) << 96
                    | u128::from(a.port()) << 80
                    | u128::from(y.to_bits()) << 48
                    | u128::from(b.port()) << 32,
            ),
            (x, y) => {
                let bits = |ip: IpAddr| match ip {
                    IpAddr::V4(v) => u128::from(v.to_bits()),
                    IpAddr::V6(v) => v.to_bits(),
                };
                h.write_u128(bits(x));
                h.write_u128(bits(y));
                h.write_u32(u32::from(a.port()) << 16 | u32::from(b.port()));
            }
        }
    }
}

/// All TCP connections of a capture.
#[derive(Default)]
pub struct TcpReassembler {
    conns: HashMap<ConnKey, Connection, RandomState>,
    total_buffered: usize,
    segments_since_sweep: u32,
    /// The layer offered every new connection's first bytes (a TLS decryptor), if any.
    decoders: Option<Box<dyn StreamDecoder>>,
    /// Connections removed from the table (bounded by [`MAX_FORGOTTEN`]), oldest first: a later
    /// segment without SYN re-opens the same connection, not a new one.
    forgotten: HashSet<ConnKey, RandomState>,
    forgotten_order: VecDeque<ConnKey>,
}

/// The context a direction needs while it frames bytes.
struct Emit<'s, 'd, S: SipSink> {
    ctx: MsgContext,
    stats: &'s mut TransportStats,
    sink: &'s mut S,
    /// The connection's decoding layer, when one took it: in-order bytes go through it before
    /// framing.
    decoder: Option<&'d mut (dyn ConnectionDecoder + 'static)>,
    /// The bytes being handled come from the direction that opened the connection.
    from_opener: bool,
}

impl TcpReassembler {
    /// Offers every new connection's first bytes to `decoders` (a TLS layer): a connection it
    /// takes has its in-order bytes decoded before SIP framing.
    pub fn set_decoders(&mut self, decoders: Box<dyn StreamDecoder>) {
        self.decoders = Some(decoders);
    }

    /// The decoding layer, if one was set.
    pub fn decoders(&self) -> Option<&dyn StreamDecoder> {
        self.decoders.as_deref()
    }

    /// One TCP segment: into its connection's direction, and every message it completes to `sink`.
    pub fn segment(
        &mut self,
        frame: &Frame<'_>,
        pkt: &IpPacket<'_>,
        stats: &mut TransportStats,
        sink: &mut impl SipSink,
    ) {
        let Some(h) = super::headers::tcp(&pkt.payload) else {
            stats.bad_transport_headers += 1;
            return;
        };
        let src = SocketAddr::new(pkt.src, h.src_port);
        let dst = SocketAddr::new(pkt.dst, h.dst_port);
        let (seq, ack, flags, payload) = (h.seq, h.ack, h.flags, h.payload);
        stats.tcp_segments += 1;

        let (key, d) = if src <= dst {
            (ConnKey(src, dst), 0)
        } else {
            (ConnKey(dst, src), 1)
        };
        self.maybe_sweep(frame.timestamp, stats, sink);
        let opens = !(payload.is_empty() && flags & SYN == 0);
        if opens && self.conns.len() >= MAX_CONNECTIONS && !self.conns.contains_key(&key) {
            self.evict_oldest(stats, sink);
        }
        // One lookup for the usual case, a segment of a known connection.
        let conn = match self.conns.entry(key) {
            Entry::Occupied(known) => known.into_mut(),
            // A bare ACK of a connection we never saw carries nothing.
            Entry::Vacant(_) if !opens => return,
            Entry::Vacant(new) => {
                if flags & SYN != 0 || !self.forgotten.contains(&key) {
                    stats.tcp_streams += 1;
                }
                new.insert(Connection {
                    dirs: Default::default(),
                    decoder: None,
                    opener: 0,
                    offered: false,
                    last_seen: frame.timestamp,
                    last_frame: frame.number,
                    origin: Origin::Capture {
                        input: frame.source,
                    },
                })
            }
        };
        conn.last_seen = frame.timestamp;
        conn.last_frame = frame.number;
        conn.origin = Origin::Capture {
            input: frame.source,
        };
        // The decoding layer is shown the first bytes of the stream, not the first segment that
        // arrived: a segment ahead of a missing one waits (it is shown once the hole fills and
        // the stream starts in order); a stream whose start was not captured starts where the
        // capture does.
        let at_start = {
            let dir = pair(&mut conn.dirs, d).0;
            let data_seq = if flags & SYN != 0 {
                seq.wrapping_add(1)
            } else {
                seq
            };
            !dir.started || flags & SYN != 0 || (dir.next_off == 0 && data_seq == dir.next_seq)
        };
        if !conn.offered && !payload.is_empty() && at_start {
            if let Some(layer) = self.decoders.as_mut() {
                conn.offered = true;
                conn.decoder = layer.open(payload, src, dst);
                conn.opener = d;
            }
        }
        // Taken out for the segment, so that the connection table stays free to change.
        let mut decoder = conn.decoder.take();
        let transport = if decoder.is_some() {
            Transport::Tls
        } else {
            Transport::Tcp
        };
        let opener = conn.opener;
        let mut emit = Emit {
            ctx: MsgContext::of_packet(frame, pkt, src, dst, transport),
            stats,
            sink,
            decoder: decoder.as_deref_mut(),
            from_opener: d == opener,
        };
        let before = conn.dirs.iter().map(Direction::buffered).sum::<usize>();

        if flags & SYN != 0 {
            let dir = &mut pair(&mut conn.dirs, d).0;
            if dir.started && dir.next_seq != seq.wrapping_add(1) {
                // A new connection reusing the ports: finish the old one first.
                emit.stats.tcp_streams += 1;
                let current = emit.ctx;
                for (i, old) in conn.dirs.iter_mut().enumerate() {
                    emit.ctx = old.context(&key, i, current);
                    old.flush(GiveUp::End, &mut emit);
                    *old = Direction::default();
                }
                emit.ctx = current;
            }
            let dir = &mut pair(&mut conn.dirs, d).0;
            if !dir.started {
                dir.started = true;
                dir.next_seq = seq.wrapping_add(1);
            }
        }
        // An acknowledgement beyond a hole in the other direction proves the hole's bytes were
        // sent and received but not captured: give the hole up now instead of waiting.
        if flags & ACK != 0 {
            let other = &mut pair(&mut conn.dirs, d).1;
            if other.started && !other.ooo.is_empty() && seq_after(ack, other.next_seq) {
                // Messages freed this way belong to the other direction and its last segment.
                let current = emit.ctx;
                emit.ctx = other.context(&key, 1 - d, current);
                emit.from_opener = 1 - d == opener;
                other.skip_gaps_until_ack(ack, &mut emit);
                emit.from_opener = d == opener;
                emit.ctx = current;
            }
        }
        if !payload.is_empty() {
            let data_seq = if flags & SYN != 0 {
                seq.wrapping_add(1)
            } else {
                seq
            };
            let dir = &mut pair(&mut conn.dirs, d).0;
            dir.last_frame = frame.number;
            dir.last_time = frame.timestamp;
            dir.data(data_seq, payload, &mut emit);
        }
        let dir = &mut pair(&mut conn.dirs, d).0;
        if flags & FIN != 0 {
            if !dir.started {
                dir.started = true;
                dir.next_seq = seq;
            }
            let syn = u32::from(flags & SYN != 0);
            dir.fin_at = Some(seq.wrapping_add(syn).wrapping_add(payload.len() as u32));
        }
        // The stream ends once every byte before the FIN arrived (a FIN can be captured before
        // the last data segment).
        let fin_reached = dir.fin_at.is_some_and(|f| !seq_after(f, dir.next_seq));
        if !dir.fin && fin_reached && dir.ooo.is_empty() {
            dir.fin = true;
            dir.flush(GiveUp::End, &mut emit);
        }
        let after = conn.dirs.iter().map(Direction::buffered).sum::<usize>();
        self.total_buffered = (self.total_buffered + after).saturating_sub(before);
        let closed = flags & RST != 0 || conn.dirs.iter().all(|x| x.fin && x.buffered() == 0);
        let Emit {
            ctx, stats, sink, ..
        } = emit;
        conn.decoder = decoder;
        let over = self.total_buffered > MAX_TOTAL_BUFFERED;
        if !closed && !over {
            return;
        }
        // Closed, or too much held overall: give up what this connection holds.
        let why = if closed {
            Removal::Closed
        } else {
            stats.tcp_total_cap_hits += 1;
            Removal::TotalCap
        };
        let mut emit = Emit {
            ctx,
            stats,
            sink,
            decoder: None,
            from_opener: false,
        };
        self.remove(&key, why, &mut emit);
    }

    /// End of input: every held byte is framed if it can be, the rest counted.
    pub fn finish(&mut self, stats: &mut TransportStats, sink: &mut impl SipSink) {
        let keys: Vec<_> = self.conns.keys().copied().collect();
        for key in keys {
            let ctx = self.last_ctx(&key);
            let mut emit = Emit {
                ctx,
                stats: &mut *stats,
                sink: &mut *sink,
                decoder: None,
                from_opener: false,
            };
            self.remove(&key, Removal::Finish, &mut emit);
        }
    }

    fn remove<S: SipSink>(&mut self, key: &ConnKey, why: Removal, emit: &mut Emit<'_, '_, S>) {
        if why != Removal::Finish {
            self.forget(*key);
        }
        let give_up = if why == Removal::TotalCap {
            GiveUp::Cap
        } else {
            GiveUp::End
        };
        if let Some(mut conn) = self.conns.remove(key) {
            let current = emit.ctx;
            for (i, dir) in conn.dirs.iter_mut().enumerate() {
                let held = dir.buffered();
                // The connection's own decoding layer frames what it still holds.
                let mut own = Emit {
                    ctx: dir.context(key, i, current),
                    stats: &mut *emit.stats,
                    sink: &mut *emit.sink,
                    decoder: conn.decoder.as_deref_mut(),
                    from_opener: i == conn.opener,
                };
                dir.flush(give_up, &mut own);
                self.total_buffered = self.total_buffered.saturating_sub(held);
            }
            if let Some(d) = conn.decoder.as_deref_mut() {
                d.finish();
            }
        }
    }

    /// Remembers a connection leaving the table, forgetting the oldest remembered beyond the
    /// bound.
    fn forget(&mut self, key: ConnKey) {
        if !self.forgotten.insert(key) {
            return;
        }
        self.forgotten_order.push_back(key);
        if self.forgotten_order.len() > MAX_FORGOTTEN {
            if let Some(old) = self.forgotten_order.pop_front() {
                self.forgotten.remove(&old);
            }
        }
    }

    fn last_ctx(&self, key: &ConnKey) -> MsgContext {
        let (time, frame, origin) = self
            .conns
            .get(key)
            .map_or((Timestamp(0), 0, Origin::default()), |c| {
                (c.last_seen, c.last_frame, c.origin)
            });
        MsgContext {
            frame,
            first_frame: frame,
            time,
            src: key.0,
            dst: key.1,
            transport: Transport::Tcp,
            ip_reassembled: false,
            reassembled: true,
            icmp_quoted: false,
            link_type: 0,
            origin,
        }
    }

    /// Makes room in a full table by closing the connections seen least recently: the oldest
    /// sixteenth at once, because finding one oldest means a pass over the whole table, and
    /// doing that for every new connection of a SYN flood would be quadratic.
    fn evict_oldest(&mut self, stats: &mut TransportStats, sink: &mut impl SipSink) {
        let mut ages: Vec<(Timestamp, ConnKey)> =
            self.conns.iter().map(|(k, c)| (c.last_seen, *k)).collect();
        let n = (ages.len() / 16).max(1).min(ages.len());
        if n == 0 {
            return;
        }
        ages.select_nth_unstable_by_key(n - 1, |(t, _)| *t);
        ages.truncate(n);
        for (_, key) in ages {
            stats.tcp_streams_evicted += 1;
            let ctx = self.last_ctx(&key);
            let mut emit = Emit {
                ctx,
                stats: &mut *stats,
                sink: &mut *sink,
                decoder: None,
                from_opener: false,
            };
            self.remove(&key, Removal::Closed, &mut emit);
        }
    }

    /// Forgets idle connections now and then, once the table is large.
    fn maybe_sweep(&mut self, now: Timestamp, stats: &mut TransportStats, sink: &mut impl SipSink) {
        self.segments_since_sweep += 1;
        if self.segments_since_sweep < 8192 || self.conns.len() < MAX_CONNECTIONS / 4 {
            return;
        }
        self.segments_since_sweep = 0;
        let idle: Vec<_> = self
            .conns
            .iter()
            .filter(|(_, c)| now.0.saturating_sub(c.last_seen.0) > IDLE_NS)
            .map(|(k, _)| *k)
            .collect();
        for key in idle {
            let ctx = self.last_ctx(&key);
            let mut emit = Emit {
                ctx,
                stats: &mut *stats,
                sink: &mut *sink,
                decoder: None,
                from_opener: false,
            };
            self.remove(&key, Removal::Closed, &mut emit);
        }
    }
}

/// Direction `d` (0 or 1) of a connection, and the other one.
fn pair(dirs: &mut [Direction; 2], d: usize) -> (&mut Direction, &mut Direction) {
    let [a, b] = dirs;
    if d == 0 {
        (a, b)
    } else {
        (b, a)
    }
}

/// True if `a` is after `b` in sequence space.
fn seq_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

impl Direction {
    /// The context of messages this direction completes outside its own segments (after a
    /// hole is given up because of the peer's ACK, or when the stream ends): its own addresses,
    /// its last data frame.
    fn context(&self, key: &ConnKey, index: usize, base: MsgContext) -> MsgContext {
        let (src, dst) = if index == 0 {
            (key.0, key.1)
        } else {
            (key.1, key.0)
        };
        let (frame, time) = if self.last_frame == 0 {
            (base.frame, base.time)
        } else {
            (self.last_frame, self.last_time)
        };
        MsgContext {
            frame,
            first_frame: frame,
            time,
            src,
            dst,
            ..base
        }
    }

    fn buffered(&self) -> usize {
        self.buf.len() + self.ooo_bytes + self.ws_message.len()
    }

    fn data<S: SipSink>(&mut self, seq: u32, payload: &[u8], emit: &mut Emit<'_, '_, S>) {
        if !self.started {
            // The capture started mid-connection: take this segment as the stream start;
            // framing resynchronises at the first SIP start line. A segment's first bytes are
            // where senders start their writes, so a request line right there is trusted
            // whatever its method (tshark does the same); only after a hole, a bound or
            // skipped bytes is a request's method token suspect (see `unaligned_start`).
            self.started = true;
            self.next_seq = seq;
        }
        let diff = seq.wrapping_sub(self.next_seq) as i32;
        if diff < 0 {
            let old = diff.unsigned_abs() as usize;
            if old >= payload.len() {
                emit.stats.tcp_retransmissions += 1;
                return;
            }
            // Overlap: only the new tail counts.
            emit.stats.tcp_retransmissions += 1;
            let tail = payload.get(old..).unwrap_or_default();
            self.in_order(tail, emit);
        } else if diff == 0 {
            self.in_order(payload, emit);
        } else {
            self.out_of_order(diff as u64, payload, emit);
        }
        if !self.ooo.is_empty() {
            let since = *self.gap_since.get_or_insert(emit.ctx.time);
            let stale = emit.ctx.time.0.saturating_sub(since.0) > GAP_TIMEOUT_NS;
            let full = self.ooo_bytes > MAX_OOO_BYTES || self.ooo.len() > MAX_OOO_SEGMENTS;
            if full {
                emit.stats.tcp_reorder_cap_hits += 1;
            }
            if stale || full {
                self.skip_first_gap(GiveUp::End, emit);
            }
        }
    }

    fn out_of_order<S: SipSink>(&mut self, ahead: u64, payload: &[u8], emit: &mut Emit<'_, '_, S>) {
        let off = self.next_off + ahead;
        match self.ooo.get(&off) {
            Some((_, held)) if held.len() >= payload.len() => {
                emit.stats.tcp_retransmissions += 1;
            }
            _ => {
                emit.stats.tcp_out_of_order += 1;
                let old = self
                    .ooo
                    .insert(off, (emit.ctx.first_frame, payload.to_vec()));
                self.ooo_bytes = self.ooo_bytes + payload.len() - old.map_or(0, |(_, o)| o.len());
            }
        }
    }

    /// Appends in-order bytes, then whatever held segments they make contiguous, and frames.
    fn in_order<S: SipSink>(&mut self, payload: &[u8], emit: &mut Emit<'_, '_, S>) {
        self.advance(payload.len());
        let this_frame = emit.ctx.first_frame;
        if emit.decoder.is_none()
            && self.buf.is_empty()
            && self.ooo.is_empty()
            && self.ws_message.is_empty()
        {
            // Fast path: frame straight from the segment; buffer only the unfinished tail.
            emit.ctx.reassembled = false;
            let used = frame_bytes(
                payload,
                0,
                &mut self.mode,
                &mut self.ws_message,
                &mut self.progress,
                &mut self.unaligned,
                emit,
            );
            self.buf
                .extend_from_slice(payload.get(used..).unwrap_or_default());
            self.buf_first_frame = this_frame;
            self.bound_pending(emit);
            return;
        }
        let pre = self.buf.len();
        if pre == 0 {
            self.buf_first_frame = this_frame;
        }
        self.append(payload, emit);
        self.drain_ooo(emit);
        if self.mode == Mode::Sip && self.buf.len() < self.progress.need() {
            // The unfinished message is still short of its Content-Length.
            self.bound_pending(emit);
            return;
        }
        self.frame_buffer(pre, emit);
        emit.ctx.first_frame = this_frame;
    }

    fn advance(&mut self, n: usize) {
        self.next_seq = self.next_seq.wrapping_add(n as u32);
        self.next_off += n as u64;
    }

    /// Appends in-order stream bytes to `buf`, through the connection's decoding layer when it
    /// has one (which may hold bytes back until a whole record came).
    fn append<S: SipSink>(&mut self, bytes: &[u8], emit: &mut Emit<'_, '_, S>) {
        match emit.decoder.as_deref_mut() {
            Some(d) => d.data(emit.from_opener, bytes, &mut self.buf),
            None => self.buf.extend_from_slice(bytes),
        }
    }

    /// Moves held segments that are now contiguous into `buf`.
    fn drain_ooo<S: SipSink>(&mut self, emit: &mut Emit<'_, '_, S>) {
        while let Some(entry) = self.ooo.first_entry() {
            let off = *entry.key();
            if off > self.next_off {
                break;
            }
            let (frame, seg) = entry.remove();
            self.ooo_bytes -= seg.len();
            let skip = (self.next_off - off) as usize;
            if let Some(tail) = seg.get(skip..).filter(|t| !t.is_empty()) {
                self.buf_first_frame = if self.buf.is_empty() {
                    frame
                } else {
                    self.buf_first_frame.min(frame)
                };
                self.append(tail, emit);
                self.advance(tail.len());
            }
        }
        if self.ooo.is_empty() {
            self.gap_since = None;
        }
    }

    fn frame_buffer<S: SipSink>(&mut self, pre: usize, emit: &mut Emit<'_, '_, S>) {
        let buf = std::mem::take(&mut self.buf);
        emit.ctx.reassembled = pre > 0;
        // Messages framed here may have started in any frame that fed `buf`.
        emit.ctx.first_frame = self.buf_first_frame.min(emit.ctx.frame);
        let used = frame_bytes(
            &buf,
            pre,
            &mut self.mode,
            &mut self.ws_message,
            &mut self.progress,
            &mut self.unaligned,
            emit,
        );
        self.buf = buf;
        self.buf.drain(..used.min(self.buf.len()));
        self.bound_pending(emit);
    }

    /// An unfinished message larger than the bound is given up; its bytes still to come are
    /// skipped while resynchronising.
    fn bound_pending<S: SipSink>(&mut self, emit: &mut Emit<'_, '_, S>) {
        if self.buf.len() > MAX_PENDING {
            emit.stats.incomplete_messages += 1;
            emit.stats.tcp_message_cap_hits += 1;
            emit.stats.tcp_bytes_dropped_by_cap += self.buf.len() as u64;
            self.unaligned = true;
            self.buf.clear();
            self.buf.shrink_to(64 * 1024);
            self.progress = StreamProgress::default();
        }
    }

    /// Gives up the first hole: the unfinished message before it is incomplete, and framing
    /// resumes (resynchronising) with the held bytes after it.
    fn skip_first_gap<S: SipSink>(&mut self, why: GiveUp, emit: &mut Emit<'_, '_, S>) {
        let Some((&off, _)) = self.ooo.first_key_value() else {
            return;
        };
        emit.stats.tcp_gaps += 1;
        self.abandon_partial(why, emit);
        if let Some(d) = emit.decoder.as_deref_mut() {
            d.gap(emit.from_opener);
        }
        let missing = off.saturating_sub(self.next_off);
        self.next_seq = self.next_seq.wrapping_add(missing as u32);
        self.next_off = off;
        // The bytes after a hole start wherever the lost segment ended.
        self.unaligned = true;
        self.drain_ooo(emit);
        self.frame_buffer(0, emit);
        if !self.ooo.is_empty() {
            self.gap_since = Some(emit.ctx.time);
        }
    }

    fn skip_gaps_until_ack<S: SipSink>(&mut self, ack: u32, emit: &mut Emit<'_, '_, S>) {
        while !self.ooo.is_empty() && seq_after(ack, self.next_seq) {
            let before = self.next_off;
            self.skip_first_gap(GiveUp::End, emit);
            if self.next_off == before {
                break;
            }
        }
    }

    /// What is left of an unfinished message when its stream breaks off (`why`: at a hole or
    /// its end, or because a memory bound gave the connection up). A message counts as started
    /// only once its start line arrived whole: bytes that merely could become one (a text
    /// segment ahead of a hole) are skipped bytes, not a lost message.
    fn abandon_partial<S: SipSink>(&mut self, why: GiveUp, emit: &mut Emit<'_, '_, S>) {
        let breaks = message::leading_line_breaks(&self.buf);
        let rest = self.buf.get(breaks..).unwrap_or_default();
        if !rest.is_empty() {
            let started = self.mode == Mode::WebSocket || message::parse_start_line(rest).is_some();
            if started {
                emit.stats.incomplete_messages += 1;
            }
            if why == GiveUp::Cap {
                emit.stats.tcp_bytes_dropped_by_cap += rest.len() as u64;
            } else if !started {
                emit.stats.tcp_bytes_skipped += rest.len() as u64;
            }
        }
        if !self.ws_message.is_empty() {
            emit.stats.incomplete_messages += 1;
            if why == GiveUp::Cap {
                emit.stats.tcp_bytes_dropped_by_cap += self.ws_message.len() as u64;
            }
        }
        self.buf.clear();
        self.ws_message.clear();
        self.progress = StreamProgress::default();
    }

    /// The stream ends: give up every hole, frame what can be framed, count the rest.
    fn flush<S: SipSink>(&mut self, why: GiveUp, emit: &mut Emit<'_, '_, S>) {
        while !self.ooo.is_empty() {
            self.skip_first_gap(why, emit);
        }
        self.abandon_partial(why, emit);
        self.buf = Vec::new();
        self.ooo_bytes = 0;
    }
}

/// Frames every complete message in `buf`; returns the bytes used. `pre` is how many leading
/// bytes were buffered before the current segment (messages starting there were reassembled).
/// `unaligned`: `buf` is not known to start at a message boundary; updated for the bytes left.
#[allow(clippy::too_many_arguments)]
fn frame_bytes<S: SipSink>(
    buf: &[u8],
    pre: usize,
    mode: &mut Mode,
    ws_message: &mut Vec<u8>,
    progress: &mut StreamProgress,
    unaligned: &mut bool,
    emit: &mut Emit<'_, '_, S>,
) -> usize {
    let mut pos = 0;
    let mut aligned = !*unaligned;
    // What was saved is about the message at the start of `buf`; later ones start afresh.
    let mut saved = std::mem::take(progress);
    while let Some(rest) = buf.get(pos..) {
        if *mode == Mode::WebSocket {
            match websocket::parse_frame(rest) {
                WsFrame::Frame {
                    fin,
                    opcode,
                    payload,
                    mask,
                    used,
                } => {
                    emit.stats.websocket_frames += 1;
                    websocket_payload(fin, opcode, payload, mask, ws_message, emit);
                    pos += used;
                    continue;
                }
                WsFrame::Incomplete => break,
                WsFrame::Invalid => *mode = Mode::Sip,
            }
            continue;
        }
        let breaks = message::leading_line_breaks(rest);
        if breaks > 0 {
            // Keep-alives between messages keep a boundary; after skipped bytes they prove none.
            pos += breaks;
            continue;
        }
        if rest.is_empty() {
            break;
        }
        if !aligned {
            match unaligned_start(rest) {
                Unaligned::Wait => break,
                Unaligned::Trust => aligned = true,
                Unaligned::Skip(n) => {
                    // A lost body's tail glued to a known method: skip to the method.
                    emit.stats.tcp_bytes_skipped += n as u64;
                    pos += n;
                    aligned = true;
                    continue;
                }
                Unaligned::Resync => match not_sip(rest, mode) {
                    Some(skip) => {
                        if *mode == Mode::Sip {
                            emit.stats.tcp_bytes_skipped += skip as u64;
                        }
                        pos += skip;
                        continue;
                    }
                    None => break,
                },
            }
        }
        let mut here = if pos == 0 {
            std::mem::take(&mut saved)
        } else {
            StreamProgress::default()
        };
        let framed = message::frame_stream_resume(rest, &mut here);
        if matches!(framed, Err(FrameError::Incomplete)) {
            *progress = here;
        }
        match framed {
            Ok((msg, used)) => {
                let saved = emit.ctx.reassembled;
                emit.ctx.reassembled = saved && pos < pre;
                emit.sink.message(&emit.ctx, &msg);
                emit.ctx.reassembled = saved;
                pos += used;
                aligned = true;
            }
            Err(FrameError::Incomplete) => break,
            Err(FrameError::HeaderTooLong) | Err(FrameError::BodyTooLong) => {
                emit.stats.malformed_messages += 1;
                pos += skip_line(rest);
                aligned = false;
            }
            Err(FrameError::NotSip) => match not_sip(rest, mode) {
                Some(skip) => {
                    if *mode == Mode::Sip {
                        // A start line that was meant as one but is not valid: the message is
                        // malformed, and skipped up to the next valid start line.
                        if skip > 0 && message::bad_start_line(rest) {
                            emit.stats.malformed_messages += 1;
                        }
                        emit.stats.tcp_bytes_skipped += skip as u64;
                        // A line found by searching is not known to begin a message.
                        aligned = skip == 0;
                    }
                    pos += skip;
                }
                None => break,
            },
        }
    }
    *unaligned = !aligned;
    pos
}

/// What to do with stream bytes that are not known to start a message.
enum Unaligned {
    /// The first line has not arrived whole.
    Wait,
    /// It is a status line, or a request line with a known method: frame it.
    Trust,
    /// A known method starts this many bytes in (the tail of a lost body before it).
    Skip(usize),
    /// Not a start line that can be trusted here: resynchronise at the next line.
    Resync,
}

/// Decides on a start line found where no message boundary is known (after a hole, a bound, or
/// a search for the next start line, which may land on a body's line): a status line begins
/// with `SIP/2.0`, which a body's tail cannot hide, but a request's method token can be the
/// last bytes of a body glued to the real method (`QQQQMESSAGE sip:…`), so only a known
/// method, found at the end of the token, is trusted.
fn unaligned_start(rest: &[u8]) -> Unaligned {
    match message::parse_start_line(rest) {
        Some((message::StartLine::Response { .. }, _)) => Unaligned::Trust,
        Some((message::StartLine::Request { method, .. }, _)) => {
            match message::method_start(method) {
                Some(0) => Unaligned::Trust,
                Some(n) => Unaligned::Skip(n),
                None => Unaligned::Resync,
            }
        }
        None if message::looks_like_start(rest) => Unaligned::Wait,
        None => Unaligned::Resync,
    }
}

/// Decides what to do with stream bytes that are not a SIP start line: the bytes to skip, or
/// `None` to wait for more. Recognises a WebSocket upgrade and WebSocket frames.
fn not_sip(rest: &[u8], mode: &mut Mode) -> Option<usize> {
    if rest.starts_with(b"GET ") || rest.starts_with(b"HTTP/1.") {
        match memmem::find(rest, b"\r\n\r\n") {
            Some(end) => {
                let head = rest.get(..end).unwrap_or_default();
                if contains_ignore_case(head, b"websocket") {
                    *mode = Mode::WebSocket;
                }
                return Some(end + 4);
            }
            None if rest.len() < MAX_HTTP_HEADER => return None,
            None => {}
        }
    }
    if websocket::carries_sip(rest) {
        *mode = Mode::WebSocket;
        return Some(0);
    }
    // Resynchronise: the next line that starts like a SIP message.
    let mut from = 0;
    while let Some(nl) = memchr(b'\n', rest.get(from..)?) {
        let cand = from + nl + 1;
        let tail = rest.get(cand..).unwrap_or_default();
        if tail.is_empty() {
            return Some(cand);
        }
        if message::leading_line_breaks(tail) == 0 && message::looks_like_start(tail) {
            return Some(cand);
        }
        from = cand;
    }
    // No start line yet: keep the last partial line, unless it is already too long to be one.
    match memrchr(b'\n', rest) {
        Some(nl) => Some(nl + 1),
        None if rest.len() > 4096 => Some(rest.len()),
        None => None,
    }
}

fn skip_line(rest: &[u8]) -> usize {
    memchr(b'\n', rest).map_or(rest.len(), |i| i + 1)
}

fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

fn websocket_payload<S: SipSink>(
    fin: bool,
    opcode: u8,
    payload: &[u8],
    mask: Option<[u8; 4]>,
    ws_message: &mut Vec<u8>,
    emit: &mut Emit<'_, '_, S>,
) {
    // Control frames (close, ping, pong) carry no SIP.
    if opcode >= 8 {
        return;
    }
    if opcode != 0 {
        if !ws_message.is_empty() {
            emit.stats.incomplete_messages += 1; // a new message while one was unfinished
        }
        ws_message.clear();
    }
    if ws_message.len() + payload.len() > MAX_WS_MESSAGE {
        emit.stats.incomplete_messages += 1;
        emit.stats.websocket_cap_hits += 1;
        ws_message.clear();
        return;
    }
    let mut ctx = emit.ctx;
    ctx.transport = Transport::Ws;
    if fin && ws_message.is_empty() && mask.is_none() {
        scan_datagram(payload, &ctx, emit.stats, emit.sink);
        return;
    }
    let start = ws_message.len();
    ws_message.extend_from_slice(payload);
    if let Some(key) = mask {
        websocket::unmask(ws_message.get_mut(start..).unwrap_or_default(), key);
    }
    if fin {
        ctx.reassembled = ctx.reassembled || start > 0;
        scan_datagram(ws_message, &ctx, emit.stats, emit.sink);
        ws_message.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::Collect;
    use super::*;
    use proptest::prelude::*;
    use std::borrow::Cow;
    use std::net::{IpAddr, Ipv4Addr};

    const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    fn tcp(seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0u8; 20];
        v[0..2].copy_from_slice(&5060u16.to_be_bytes());
        v[2..4].copy_from_slice(&5061u16.to_be_bytes());
        v[4..8].copy_from_slice(&seq.to_be_bytes());
        v[12] = 5 << 4;
        v[13] = flags;
        v.extend_from_slice(payload);
        v
    }

    fn feed(
        r: &mut TcpReassembler,
        stats: &mut TransportStats,
        sink: &mut Collect,
        n: u64,
        seg: Vec<u8>,
    ) {
        let frame = Frame {
            number: n,
            timestamp: Timestamp(n as i64 * 1000),
            link_type: 1,
            data: &[],
            original_len: 0,
            source: 0,
        };
        let pkt = IpPacket {
            src: IpAddr::V4(A),
            dst: IpAddr::V4(B),
            protocol: 6,
            payload: Cow::Owned(seg),
            reassembled: false,
            first_frame: 0,
        };
        r.segment(&frame, &pkt, stats, sink);
    }

    fn msg(i: usize, body: usize) -> Vec<u8> {
        let body = "x".repeat(body);
        format!(
            "MESSAGE sip:b@h SIP/2.0\r\nCall-ID: c{i}\r\nCSeq: {i} MESSAGE\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    fn stream(n: usize) -> Vec<u8> {
        let mut s = Vec::new();
        for i in 0..n {
            s.extend(msg(i, (i * 37) % 1500));
            if i % 3 == 0 {
                s.extend_from_slice(b"\r\n\r\n");
            }
        }
        s
    }

    fn call_ids(sink: &Collect) -> Vec<Vec<u8>> {
        sink.messages
            .iter()
            .map(|(_, _, raw)| raw.clone())
            .collect()
    }

    /// A stand-in for TLS: records of `[0x17, len, len × (byte ^ 0x5a)]`, taken when the first
    /// byte is 0x17; a record is decoded only once whole; a gap drops the partial record.
    #[derive(Default)]
    struct ToyLayer {
        gaps: std::sync::Arc<std::sync::atomic::AtomicU32>,
    }

    struct ToyConn {
        held: [Vec<u8>; 2],
        gaps: std::sync::Arc<std::sync::atomic::AtomicU32>,
    }

    impl StreamDecoder for ToyLayer {
        fn open(
            &mut self,
            first: &[u8],
            _: SocketAddr,
            _: SocketAddr,
        ) -> Option<Box<dyn ConnectionDecoder>> {
            (first.first() == Some(&0x17)).then(|| {
                Box::new(ToyConn {
                    held: Default::default(),
                    gaps: self.gaps.clone(),
                }) as Box<dyn ConnectionDecoder>
            })
        }
    }

    impl ConnectionDecoder for ToyConn {
        fn data(&mut self, from_opener: bool, bytes: &[u8], out: &mut Vec<u8>) {
            let held = &mut self.held[usize::from(!from_opener)];
            held.extend_from_slice(bytes);
            let mut used = 0;
            while let Some([0x17, len, ..]) = held.get(used..used + 2) {
                let Some(body) = held.get(used + 2..used + 2 + *len as usize) else {
                    break;
                };
                out.extend(body.iter().map(|b| b ^ 0x5a));
                used += 2 + *len as usize;
            }
            held.drain(..used);
        }
        fn gap(&mut self, from_opener: bool) {
            self.held[usize::from(!from_opener)].clear();
            self.gaps.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn toy_records(plain: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in plain.chunks(200) {
            out.push(0x17);
            out.push(chunk.len() as u8);
            out.extend(chunk.iter().map(|b| b ^ 0x5a));
        }
        out
    }

    #[test]
    fn a_stream_decoder_sits_between_reassembly_and_framing() {
        let data = stream(10);
        let wire = toy_records(&data);
        let layer = ToyLayer::default();
        let gaps = layer.gaps.clone();
        let mut r = TcpReassembler::default();
        r.set_decoders(Box::new(layer));
        let (mut st, mut sink) = (TransportStats::default(), Collect::default());
        feed(&mut r, &mut st, &mut sink, 1, tcp(999, SYN, b""));
        // Segments cut across records, the second and third swapped.
        let chunks: Vec<&[u8]> = wire.chunks(333).collect();
        let mut order: Vec<usize> = (0..chunks.len()).collect();
        order.swap(1, 2);
        for (n, i) in order.into_iter().enumerate() {
            let seq = 1000 + (i * 333) as u32;
            feed(
                &mut r,
                &mut st,
                &mut sink,
                2 + n as u64,
                tcp(seq, ACK, chunks[i]),
            );
        }
        assert_eq!(sink.messages.len(), 10);
        assert!(sink.messages.iter().all(|(_, t, _)| *t == Transport::Tls));
        let mut got = Vec::new();
        for (_, _, raw) in &sink.messages {
            got.extend_from_slice(raw);
        }
        assert!(data.windows(got.len().min(data.len())).count() > 0);
        assert_eq!(call_ids(&sink).len(), 10);
        assert_eq!(gaps.load(std::sync::atomic::Ordering::Relaxed), 0);
        assert_eq!(st.incomplete_messages, 0);
        // A connection whose first bytes the layer does not take stays plain TCP.
        let mut plain = Collect::default();
        let mut r2 = TcpReassembler::default();
        r2.set_decoders(Box::new(ToyLayer::default()));
        feed(&mut r2, &mut st, &mut plain, 1, tcp(1000, ACK, &msg(1, 10)));
        assert_eq!(plain.messages.len(), 1);
        assert_eq!(plain.messages[0].1, Transport::Tcp);
    }

    #[test]
    fn the_decoder_is_shown_the_stream_start_not_the_first_segment_to_arrive() {
        let data = stream(4);
        let wire = toy_records(&data);
        let mut r = TcpReassembler::default();
        r.set_decoders(Box::new(ToyLayer::default()));
        let (mut st, mut sink) = (TransportStats::default(), Collect::default());
        feed(&mut r, &mut st, &mut sink, 1, tcp(999, SYN, b""));
        let chunks: Vec<&[u8]> = wire.chunks(101).collect();
        // The second segment (mid-record) arrives before the first.
        let mut order: Vec<usize> = (0..chunks.len()).collect();
        order.swap(0, 1);
        for (n, i) in order.into_iter().enumerate() {
            let seq = 1000 + (i * 101) as u32;
            feed(
                &mut r,
                &mut st,
                &mut sink,
                2 + n as u64,
                tcp(seq, ACK, chunks[i]),
            );
        }
        assert_eq!(sink.messages.len(), 4);
        assert!(sink.messages.iter().all(|(_, t, _)| *t == Transport::Tls));
    }

    #[test]
    fn a_gap_is_told_to_the_stream_decoder() {
        let wire = toy_records(&stream(6));
        let layer = ToyLayer::default();
        let gaps = layer.gaps.clone();
        let mut r = TcpReassembler::default();
        r.set_decoders(Box::new(layer));
        let (mut st, mut sink) = (TransportStats::default(), Collect::default());
        let chunks: Vec<&[u8]> = wire.chunks(100).collect();
        for (i, c) in chunks.iter().enumerate() {
            if i == 3 {
                continue; // never captured
            }
            feed(
                &mut r,
                &mut st,
                &mut sink,
                1 + i as u64,
                tcp(1000 + (i * 100) as u32, ACK, c),
            );
        }
        r.finish(&mut st, &mut sink);
        assert_eq!(gaps.load(std::sync::atomic::Ordering::Relaxed), 1);
        assert!(st.tcp_gaps >= 1);
        assert!(
            !sink.messages.is_empty(),
            "messages after the gap are found again"
        );
    }

    #[test]
    fn messages_across_segments_and_several_per_segment() {
        let data = stream(10);
        let mut r = TcpReassembler::default();
        let (mut st, mut sink) = (TransportStats::default(), Collect::default());
        feed(&mut r, &mut st, &mut sink, 1, tcp(999, SYN, b""));
        for (i, chunk) in data.chunks(333).enumerate() {
            let seq = 1000 + (i * 333) as u32;
            feed(
                &mut r,
                &mut st,
                &mut sink,
                2 + i as u64,
                tcp(seq, ACK, chunk),
            );
        }
        assert_eq!(sink.messages.len(), 10);
        assert_eq!(st.incomplete_messages, 0);
    }

    #[test]
    fn gap_resynchronises_and_counts_the_cut_message() {
        let data = stream(6);
        let mut r = TcpReassembler::default();
        let (mut st, mut sink) = (TransportStats::default(), Collect::default());
        let cut = data.len() / 3;
        let lost = 100;
        feed(&mut r, &mut st, &mut sink, 1, tcp(0, ACK, &data[..cut]));
        feed(
            &mut r,
            &mut st,
            &mut sink,
            2,
            tcp((cut + lost) as u32, ACK, &data[cut + lost..]),
        );
        r.finish(&mut st, &mut sink);
        assert_eq!(st.tcp_gaps, 1);
        assert!(st.incomplete_messages >= 1);
        assert!(
            sink.messages.len() >= 4,
            "messages after the gap are found: {}",
            sink.messages.len()
        );
    }

    #[test]
    fn stream_starting_mid_message() {
        let data = stream(4);
        let mut r = TcpReassembler::default();
        let (mut st, mut sink) = (TransportStats::default(), Collect::default());
        feed(&mut r, &mut st, &mut sink, 1, tcp(7, ACK, &data[40..]));
        assert_eq!(sink.messages.len(), 3);
        assert!(st.tcp_bytes_skipped > 0);
    }

    #[test]
    fn sequence_wrap() {
        let data = stream(5);
        let mut r = TcpReassembler::default();
        let (mut st, mut sink) = (TransportStats::default(), Collect::default());
        let isn = u32::MAX - 500;
        feed(&mut r, &mut st, &mut sink, 1, tcp(isn, SYN, b""));
        let mut seq = isn.wrapping_add(1);
        for (i, chunk) in data.chunks(200).enumerate() {
            feed(
                &mut r,
                &mut st,
                &mut sink,
                2 + i as u64,
                tcp(seq, ACK, chunk),
            );
            seq = seq.wrapping_add(chunk.len() as u32);
        }
        assert_eq!(sink.messages.len(), 5);
    }

    #[test]
    fn websocket_after_upgrade() {
        let mut data =
            b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: sip\r\n\r\n".to_vec();
        let sip = msg(1, 10);
        let key = [1u8, 2, 3, 4];
        data.push(0x81);
        data.push(0x80 | 126);
        data.extend_from_slice(&(sip.len() as u16).to_be_bytes());
        data.extend_from_slice(&key);
        data.extend(sip.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        let mut r = TcpReassembler::default();
        let (mut st, mut sink) = (TransportStats::default(), Collect::default());
        feed(&mut r, &mut st, &mut sink, 1, tcp(0, ACK, &data[..50]));
        feed(&mut r, &mut st, &mut sink, 2, tcp(50, ACK, &data[50..]));
        assert_eq!(sink.messages.len(), 1);
        assert_eq!(sink.messages[0].1, Transport::Ws);
        assert_eq!(sink.messages[0].2, sip);
    }

    /// A bare ACK from B back to A.
    fn feed_ack_back(
        r: &mut TcpReassembler,
        st: &mut TransportStats,
        sink: &mut Collect,
        n: u64,
        ack: u32,
    ) {
        let mut v = vec![0u8; 20];
        v[0..2].copy_from_slice(&5061u16.to_be_bytes());
        v[2..4].copy_from_slice(&5060u16.to_be_bytes());
        v[8..12].copy_from_slice(&ack.to_be_bytes());
        v[12] = 5 << 4;
        v[13] = ACK;
        let frame = Frame {
            number: n,
            timestamp: Timestamp(n as i64 * 1000),
            link_type: 1,
            data: &[],
            original_len: 0,
            source: 0,
        };
        let pkt = IpPacket {
            src: IpAddr::V4(B),
            dst: IpAddr::V4(A),
            protocol: 6,
            payload: Cow::Owned(v),
            reassembled: false,
            first_frame: n,
        };
        r.segment(&frame, &pkt, st, sink);
    }

    #[test]
    fn messages_freed_by_the_peers_ack_keep_their_direction_and_frame() {
        let (m1, m2, m3) = (msg(1, 5), msg(2, 5), msg(3, 5));
        let mut r = TcpReassembler::default();
        let (mut st, mut sink) = (TransportStats::default(), Collect::default());
        feed(&mut r, &mut st, &mut sink, 1, tcp(100, ACK, &m1));
        let lost = 100 + m1.len() as u32;
        let third = lost + m2.len() as u32;
        feed(&mut r, &mut st, &mut sink, 2, tcp(third, ACK, &m3));
        feed_ack_back(&mut r, &mut st, &mut sink, 3, third + m3.len() as u32);
        assert_eq!(sink.messages.len(), 2);
        assert_eq!(
            sink.messages[1].0, 2,
            "reported at the frame that carried it, not the ACK"
        );
        assert_eq!(sink.directions[1], (IpAddr::V4(A), IpAddr::V4(B)));
        assert_eq!(st.tcp_gaps, 1);
    }

    #[test]
    fn a_full_connection_table_evicts_the_least_recent_in_batches() {
        let mut r = TcpReassembler::default();
        let (mut st, mut sink) = (TransportStats::default(), Collect::default());
        let total = MAX_CONNECTIONS + 10;
        for i in 0..total {
            let mut seg = tcp(1, SYN, b"");
            let port = 1024 + (i % 60_000) as u16;
            seg[0..2].copy_from_slice(&port.to_be_bytes());
            let frame = Frame {
                number: i as u64,
                timestamp: Timestamp(i as i64 * 1000),
                link_type: 1,
                data: &[],
                original_len: 0,
                source: 0,
            };
            let src = Ipv4Addr::new(10, 0, (i / 60_000) as u8, 1);
            let pkt = IpPacket {
                src: IpAddr::V4(src),
                dst: IpAddr::V4(B),
                protocol: 6,
                payload: Cow::Owned(seg),
                reassembled: false,
                first_frame: i as u64,
            };
            r.segment(&frame, &pkt, &mut st, &mut sink);
        }
        assert!(r.conns.len() <= MAX_CONNECTIONS);
        assert_eq!(st.tcp_streams_evicted, (MAX_CONNECTIONS / 16) as u64);
        // The oldest went, the newest stayed.
        let first = ConnKey(
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 1024),
            SocketAddr::new(IpAddr::V4(B), 5061),
        );
        assert!(!r.conns.contains_key(&first));
        // The lower end first: 10.0.0.2 before 10.0.1.1.
        let last_port = 1024 + ((total - 1) % 60_000) as u16;
        let last = ConnKey(
            SocketAddr::new(IpAddr::V4(B), 5061),
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1)), last_port),
        );
        assert!(r.conns.contains_key(&last));
        assert_eq!(st.tcp_streams, total as u64);
    }

    #[test]
    fn a_huge_wrong_content_length_does_not_swallow_the_stream() {
        let bad = b"MESSAGE sip:b@h SIP/2.0\r\nCall-ID: bad\r\nCSeq: 1 MESSAGE\r\nContent-Length: 5000000\r\n\r\n";
        let mut data = bad.to_vec();
        data.extend(msg(2, 5));
        data.extend(msg(3, 5));
        let mut r = TcpReassembler::default();
        let (mut st, mut sink) = (TransportStats::default(), Collect::default());
        // Cut inside the next message's start line first: the body's first line is not there
        // yet, so nothing is decided until it is.
        let cut = bad.len() + 5;
        feed(&mut r, &mut st, &mut sink, 1, tcp(100, ACK, &data[..cut]));
        assert_eq!(sink.messages.len(), 0);
        feed(
            &mut r,
            &mut st,
            &mut sink,
            2,
            tcp(100 + cut as u32, ACK, &data[cut..]),
        );
        assert_eq!(
            sink.messages.len(),
            3,
            "the next messages are not held for 5 MB"
        );
        assert_eq!(sink.messages[0].2, bad.to_vec());
        assert_eq!(sink.messages[1].2, msg(2, 5));
        assert_eq!(sink.messages[2].2, msg(3, 5));
    }

    #[test]
    fn a_sipfrag_body_may_begin_with_a_status_line() {
        // message/sipfrag carries a start line by design: a long one is waited for as usual.
        let frag = b"NOTIFY sip:b@h SIP/2.0\r\nCall-ID: n\r\nCSeq: 2 NOTIFY\r\nContent-Type: message/sipfrag\r\nContent-Length: 2000000\r\n\r\nSIP/2.0 200 OK\r\n";
        let mut r = TcpReassembler::default();
        let (mut st, mut sink) = (TransportStats::default(), Collect::default());
        feed(&mut r, &mut st, &mut sink, 1, tcp(100, ACK, frag));
        assert_eq!(sink.messages.len(), 0);
    }

    #[test]
    fn a_fin_captured_before_the_last_data_does_not_end_the_stream_early() {
        let data = stream(3);
        let cut = data.len() / 2;
        let mut r = TcpReassembler::default();
        let (mut st, mut sink) = (TransportStats::default(), Collect::default());
        feed(&mut r, &mut st, &mut sink, 1, tcp(100, ACK, &data[..cut]));
        feed(
            &mut r,
            &mut st,
            &mut sink,
            2,
            tcp(100 + data.len() as u32, ACK | FIN, b""),
        );
        feed(
            &mut r,
            &mut st,
            &mut sink,
            3,
            tcp(100 + cut as u32, ACK, &data[cut..]),
        );
        assert_eq!(sink.messages.len(), 3);
        assert_eq!(st.incomplete_messages, 0);
    }

    #[test]
    fn a_15_kb_notify_across_many_segments() {
        let roster = "<user entity=\"sip:u@example.com\"/>".repeat(450);
        let notify = format!(
            "NOTIFY sip:b@h SIP/2.0\r\nCall-ID: roster\r\nCSeq: 2 NOTIFY\r\nEvent: conference\r\nContent-Type: application/conference-info+xml\r\nContent-Length: {}\r\n\r\n{roster}",
            roster.len()
        );
        assert!(notify.len() > 15_000);
        let mut data = notify.into_bytes();
        data.extend(msg(1, 3));
        let mut r = TcpReassembler::default();
        let (mut st, mut sink) = (TransportStats::default(), Collect::default());
        for (i, chunk) in data.chunks(1460).enumerate() {
            feed(
                &mut r,
                &mut st,
                &mut sink,
                1 + i as u64,
                tcp(100 + (i * 1460) as u32, ACK, chunk),
            );
        }
        assert_eq!(sink.messages.len(), 2);
        assert!(sink.messages[0].2.len() > 15_000);
        assert_eq!(sink.messages[0].0, 11, "completed by the 11th segment");
        assert_eq!(st.incomplete_messages, 0);
    }

    #[test]
    fn a_bad_start_line_is_malformed_and_the_stream_resynchronises() {
        let mut data =
            b"SIP/2.0 99999999 OK\r\nCall-ID: bad\r\nContent-Length: 3\r\n\r\nabc".to_vec();
        let skipped = data.len();
        for i in 1..=3 {
            data.extend(msg(i, 10));
        }
        let mut r = TcpReassembler::default();
        let (mut st, mut sink) = (TransportStats::default(), Collect::default());
        feed(&mut r, &mut st, &mut sink, 1, tcp(99, SYN, b""));
        feed(&mut r, &mut st, &mut sink, 2, tcp(100, ACK, &data));
        r.finish(&mut st, &mut sink);
        assert_eq!(sink.messages.len(), 3);
        assert_eq!(st.malformed_messages, 1);
        assert_eq!(st.incomplete_messages, 0);
        assert_eq!(st.tcp_bytes_skipped, skipped as u64);
    }

    #[test]
    fn text_ahead_of_holes_is_skipped_not_counted_as_messages() {
        let mut r = TcpReassembler::default();
        let (mut st, mut sink) = (TransportStats::default(), Collect::default());
        let text = b"not sip at all and no line end".to_vec();
        // Every other segment never captured: each hole is given up by the timeout.
        for i in 0..200u32 {
            let seq = 100 + i * 2 * text.len() as u32;
            let mut frame = Frame {
                number: u64::from(i) + 1,
                timestamp: Timestamp(i64::from(i) * 2 * GAP_TIMEOUT_NS),
                link_type: 1,
                data: &[],
                original_len: 0,
                source: 0,
            };
            frame.number = u64::from(i) + 1;
            let pkt = IpPacket {
                src: IpAddr::V4(A),
                dst: IpAddr::V4(B),
                protocol: 6,
                payload: Cow::Owned(tcp(seq, ACK, &text)),
                reassembled: false,
                first_frame: frame.number,
            };
            r.segment(&frame, &pkt, &mut st, &mut sink);
        }
        r.finish(&mut st, &mut sink);
        assert!(st.tcp_gaps >= 199, "{}", st.tcp_gaps);
        assert_eq!(st.incomplete_messages, 0);
        assert_eq!(st.tcp_bytes_skipped, 200 * text.len() as u64);
        assert!(sink.messages.is_empty());
    }

    #[test]
    fn a_method_glued_to_a_body_tail_after_a_hole_is_found_whole() {
        let body = "Q".repeat(40);
        let first = format!(
            "MESSAGE sip:b@h SIP/2.0\r\nCall-ID: q\r\nCSeq: 1 MESSAGE\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes();
        let mut data = first.clone();
        data.extend(msg(2, 5));
        data.extend(msg(3, 5));
        // The hole ends ten bytes before the body does.
        let hole = (first.len() - 30, first.len() - 10);
        let mut r = TcpReassembler::default();
        let (mut st, mut sink) = (TransportStats::default(), Collect::default());
        feed(&mut r, &mut st, &mut sink, 1, tcp(99, SYN, b""));
        feed(
            &mut r,
            &mut st,
            &mut sink,
            2,
            tcp(100, ACK, &data[..hole.0]),
        );
        feed(
            &mut r,
            &mut st,
            &mut sink,
            3,
            tcp(100 + hole.1 as u32, ACK, &data[hole.1..]),
        );
        r.finish(&mut st, &mut sink);
        assert_eq!(call_ids(&sink), vec![msg(2, 5), msg(3, 5)]);
        assert_eq!(st.incomplete_messages, 1);
        assert_eq!(st.tcp_bytes_skipped, 10);
        // Also when the search for a start line lands on the body's line.
        let mut data = b"junk\r\n".to_vec();
        data.extend_from_slice(b"QQQQ");
        data.extend(msg(4, 5));
        let mut r = TcpReassembler::default();
        let (mut st, mut sink) = (TransportStats::default(), Collect::default());
        feed(&mut r, &mut st, &mut sink, 1, tcp(100, ACK, &data));
        assert_eq!(call_ids(&sink), vec![msg(4, 5)]);
        assert_eq!(st.tcp_bytes_skipped, 10);
    }

    #[test]
    fn a_connection_given_up_and_reopened_counts_once() {
        let mut r = TcpReassembler::default();
        let (mut st, mut sink) = (TransportStats::default(), Collect::default());
        let m = msg(1, 5);
        feed(&mut r, &mut st, &mut sink, 1, tcp(99, SYN, b""));
        feed(&mut r, &mut st, &mut sink, 2, tcp(100, ACK | RST, &m));
        // A late segment of the same connection opens it again: the same connection.
        feed(
            &mut r,
            &mut st,
            &mut sink,
            3,
            tcp(100 + m.len() as u32, ACK, &m),
        );
        assert_eq!(st.tcp_streams, 1);
        // A new SYN on the same ports is a new connection.
        feed(&mut r, &mut st, &mut sink, 4, tcp(5000, SYN, b""));
        assert_eq!(st.tcp_streams, 2);
        assert_eq!(sink.messages.len(), 2);
    }

    #[test]
    fn a_message_over_the_pending_bound_is_counted_once_with_its_bytes() {
        let total = MAX_PENDING + 100_000;
        let head = format!(
            "MESSAGE sip:b@h SIP/2.0\r\nCall-ID: big\r\nContent-Length: {:08}\r\n\r\n",
            0
        )
        .len();
        let mut data = format!(
            "MESSAGE sip:b@h SIP/2.0\r\nCall-ID: big\r\nContent-Length: {:08}\r\n\r\n",
            total - head
        )
        .into_bytes();
        data.resize(total, b'x');
        data.extend(msg(2, 5));
        let mut r = TcpReassembler::default();
        let (mut st, mut sink) = (TransportStats::default(), Collect::default());
        feed(&mut r, &mut st, &mut sink, 1, tcp(99, SYN, b""));
        for (i, c) in data.chunks(65_000).enumerate() {
            let seq = 100 + (i * 65_000) as u32;
            feed(&mut r, &mut st, &mut sink, 2 + i as u64, tcp(seq, ACK, c));
        }
        r.finish(&mut st, &mut sink);
        assert_eq!(call_ids(&sink), vec![msg(2, 5)]);
        assert_eq!(st.incomplete_messages, 1);
        assert_eq!(st.tcp_message_cap_hits, 1);
        assert!(st.tcp_bytes_dropped_by_cap > MAX_PENDING as u64);
        assert_eq!(
            st.tcp_bytes_dropped_by_cap + st.tcp_bytes_skipped,
            total as u64
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]
        /// Any order of segments, with duplicates and overlaps mixed in, yields the same
        /// messages as the stream in order.
        #[test]
        fn any_segment_order_gives_the_same_messages(
            cuts in proptest::collection::vec(1usize..900, 1..40),
            order_seed in any::<u64>(),
            dups in proptest::collection::vec((0usize..60, 0usize..40, 1usize..200), 0..10),
        ) {
            let data = stream(8);
            let mut segs = Vec::new();
            let mut pos = 0;
            for c in cuts.iter().cycle() {
                if pos >= data.len() { break; }
                let end = (pos + c).min(data.len());
                segs.push((pos, end));
                pos = end;
            }
            // Overlapping and duplicate segments.
            for (i, back, len) in dups {
                if let Some(&(s, _)) = segs.get(i % segs.len()) {
                    let s = s.saturating_sub(back);
                    segs.push((s, (s + len).min(data.len())));
                }
            }
            // Shuffle (deterministic from the seed), keeping the reorder window small enough
            // for the gap timeout not to fire: frames are 1 µs apart.
            let mut x = order_seed | 1;
            for i in (1..segs.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                segs.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let mut r = TcpReassembler::default();
            let (mut st, mut sink) = (TransportStats::default(), Collect::default());
            feed(&mut r, &mut st, &mut sink, 1, tcp(99, SYN, b""));
            for (n, (s, e)) in segs.iter().enumerate() {
                feed(&mut r, &mut st, &mut sink, 2 + n as u64, tcp(100 + *s as u32, ACK, &data[*s..*e]));
            }
            r.finish(&mut st, &mut sink);
            let mut expected = Collect::default();
            let mut st2 = TransportStats::default();
            let mut r2 = TcpReassembler::default();
            feed(&mut r2, &mut st2, &mut expected, 1, tcp(100, ACK, &data));
            prop_assert_eq!(call_ids(&sink), call_ids(&expected));
            prop_assert_eq!(st.incomplete_messages, 0);
        }

        /// One hole anywhere in a stream of messages whose bodies run straight into the next
        /// start line: every message reported is one of those sent (never a body's tail glued
        /// to a method), every message that starts after the hole is found, and at most the
        /// one message the hole cut is counted as incomplete.
        #[test]
        fn after_a_hole_only_whole_messages_are_found(at in 0usize..4000, len in 1usize..600) {
            let msgs: Vec<Vec<u8>> = (0..8).map(|i| msg(i, 20 + (i * 53) % 300)).collect();
            let data = msgs.concat();
            let at = at % data.len();
            let end = (at + len).min(data.len());
            let mut r = TcpReassembler::default();
            let (mut st, mut sink) = (TransportStats::default(), Collect::default());
            feed(&mut r, &mut st, &mut sink, 1, tcp(99, SYN, b""));
            feed(&mut r, &mut st, &mut sink, 2, tcp(100, ACK, &data[..at]));
            feed(&mut r, &mut st, &mut sink, 3, tcp(100 + end as u32, ACK, &data[end..]));
            r.finish(&mut st, &mut sink);
            let got = call_ids(&sink);
            for m in &got {
                prop_assert!(msgs.contains(m), "not a message sent: {:?}", String::from_utf8_lossy(m));
            }
            let mut start = 0;
            for m in &msgs {
                if start >= end || start + m.len() <= at {
                    prop_assert!(got.contains(m), "lost: {:?}", String::from_utf8_lossy(m));
                }
                start += m.len();
            }
            prop_assert!(st.incomplete_messages <= 1);
        }

        #[test]
        fn garbage_never_panics(chunks in proptest::collection::vec((any::<u32>(), any::<u8>(), proptest::collection::vec(any::<u8>(), 0..300)), 1..30)) {
            let mut r = TcpReassembler::default();
            let (mut st, mut sink) = (TransportStats::default(), Collect::default());
            for (n, (seq, flags, data)) in chunks.into_iter().enumerate() {
                feed(&mut r, &mut st, &mut sink, n as u64, tcp(seq, flags, &data));
            }
            r.finish(&mut st, &mut sink);
        }
    }
}
