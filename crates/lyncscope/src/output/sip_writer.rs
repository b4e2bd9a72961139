//! `-w FILE`: writes every packet that carried SIP — every IP fragment and TCP segment of every
//! message — to a capture file as the messages complete.
//!
//! Which packets carried a message is only known once the message is complete (the last TCP
//! segment or IP fragment arrives), so [`SipWriter`] keeps a bounded ring of recent frames
//! (their bytes, link type, time and number). It is a [`MessageTap`] of the pipeline: it sees
//! every frame before the pipeline decodes it, then the [`MsgContext`] of every SIP message.
//! For a message, the frames `first_frame..=frame` that belong to its flow — the same IP source
//! and destination, and the same ports when the frame carries them (later IP fragments do not),
//! or for a reassembled datagram the fragments with the same IP identification — and that were
//! not written yet are written in frame order. Frames that left the ring before their message
//! completed cannot be written; they are counted ([`SipWriterStats::packets_lost`]), never
//! dropped silently.
//!
//! The file is classic pcap when every frame has one link type, pcapng with one interface per
//! link type otherwise. The caller declares the link types it knows up front (a live capture
//! knows every interface's); if a frame of another link type is written after a classic pcap
//! was started, the file written so far is converted to pcapng in place (this only happens with
//! offline inputs that mix link types late).
//!
//! Output is buffered; [`SipWriter::finish`] flushes it. A write error stops the writing (the
//! analysis goes on) and is returned by [`SipWriter::finish`]. A file made by
//! [`SipWriter::create`] is written under a temporary name beside it and renamed over it by
//! [`SipWriter::finish`], so that a failure (a full disk, a run that ends early) never leaves a
//! half-written file in place of an old one; without a successful finish the temporary file is
//! removed.

use super::carried::{Carrier, MessageSpan};
use super::export::Replacement;
use crate::capture::Frame;
use crate::net::{frame_flow, FrameFlow};
use crate::pipeline::MessageTap;
use crate::transport::MsgContext;
use crate::{linktype, Timestamp};
use lyncscope_base::writer::{Interface, PcapNgWriter, PcapWriter, Section, TsResolution};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Bounds of the ring of recent frames.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RingLimits {
    /// Most frames held.
    pub frames: usize,
    /// Most bytes the held frames take (their buffers and bookkeeping).
    pub bytes: usize,
    /// Most frames remembered (number and flow, no bytes) after they left the ring unwritten,
    /// to count the ones a later message needed.
    pub remembered: usize,
}

impl Default for RingLimits {
    /// 200,000 frames or 64 MiB, whichever comes first (seconds of a busy link; a TCP hole is
    /// given up after one second of capture time), and 100,000 remembered frames (about 6 MB).
    fn default() -> Self {
        RingLimits {
            frames: 200_000,
            bytes: 64 * 1024 * 1024,
            remembered: 100_000,
        }
    }
}

/// What was written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SipWriterStats {
    /// Packets written to the file.
    pub packets_written: u64,
    /// SIP messages whose packets were written (as far as the ring still had them).
    pub messages: u64,
    /// Packets that carried part of a SIP message but had left the ring before the message
    /// completed, so were not written.
    pub packets_lost: u64,
    /// SIP messages that lack at least one packet in the file (the lost packets, or packets so
    /// old that not even their number was remembered).
    pub messages_cut: u64,
    /// The file is pcapng (several link types) rather than classic pcap.
    pub pcapng: bool,
}

/// A frame held in the ring.
struct Held {
    number: u64,
    timestamp: Timestamp,
    link_type: u32,
    orig_len: u32,
    data: Vec<u8>,
    flow: Option<FrameFlow>,
    written: bool,
}

/// Memory a held frame takes: its buffer, the ring entry, and the allocator's overhead.
fn held_cost(capacity: usize) -> usize {
    capacity + std::mem::size_of::<Held>() + 16
}

/// The file being written.
enum Out<W: Write> {
    /// Nothing written yet: the format is chosen with the first packet.
    Pending(BufWriter<W>),
    Pcap {
        w: PcapWriter<BufWriter<W>>,
        link_type: u32,
    },
    PcapNg {
        w: PcapNgWriter<BufWriter<W>>,
        /// (link type, interface id).
        interfaces: Vec<(u32, u32)>,
    },
    /// A write failed; the error is in `SipWriter::error`.
    Failed,
}

/// Writes the packets that carried SIP (see the module documentation).
pub struct SipWriter<W: Read + Write + Seek> {
    out: Out<W>,
    resolution: TsResolution,
    /// Link types (with interface names) known before the first packet.
    declared: Vec<(u32, String)>,
    limits: RingLimits,
    ring: VecDeque<Held>,
    ring_bytes: usize,
    /// Packets are made for whole messages: the file is pcapng, so that each carries its
    /// origin as a packet comment.
    pcapng_wanted: bool,
    /// The inputs' names, for the comments of synthesized packets.
    input_names: Vec<String>,
    /// The next TCP sequence number of each flow of synthesized packets.
    tcp_seq: std::collections::HashMap<(std::net::SocketAddr, std::net::SocketAddr), u32>,
    /// Buffers of frames that left the ring, reused for new frames.
    spare: Vec<Vec<u8>>,
    /// Frames that left the ring unwritten: number and flow.
    gone: VecDeque<(u64, Option<FrameFlow>)>,
    /// Frames numbered below this were forgotten entirely (0: none).
    forgotten_below: u64,
    stats: SipWriterStats,
    error: Option<io::Error>,
    /// The temporary file renamed over the output by a successful finish.
    replace: Option<Replacement>,
}

impl SipWriter<File> {
    /// Starts writing `path`: into a temporary file beside it (opened for reading too, so that a
    /// classic pcap can be converted to pcapng if a second link type shows up), renamed over
    /// `path` by [`SipWriter::finish`]. An existing `path` is untouched until then.
    pub fn create(path: &Path, resolution: TsResolution) -> io::Result<Self> {
        let (replace, file) = Replacement::create(path)?;
        let mut w = SipWriter::new(file, resolution, RingLimits::default());
        w.replace = Some(replace);
        Ok(w)
    }
}

impl<W: Read + Write + Seek> SipWriter<W> {
    /// A writer to `out` whose ring of recent frames is bounded by `limits`.
    pub(crate) fn new(out: W, resolution: TsResolution, limits: RingLimits) -> Self {
        SipWriter {
            out: Out::Pending(BufWriter::with_capacity(256 * 1024, out)),
            resolution,
            declared: Vec::new(),
            limits,
            ring: VecDeque::new(),
            ring_bytes: 0,
            tcp_seq: std::collections::HashMap::new(),
            pcapng_wanted: false,
            input_names: Vec::new(),
            spare: Vec::new(),
            gone: VecDeque::new(),
            forgotten_below: 0,
            stats: SipWriterStats::default(),
            error: None,
            replace: None,
        }
    }

    /// Names the inputs (in order), so that a packet made for a logged message says which log
    /// and line it came from.
    pub fn name_inputs(&mut self, names: &[String]) {
        self.input_names = names.to_vec();
    }

    /// Declares an interface whose frames may be written (before the first packet is written):
    /// with several link types the file is pcapng from the start, and the interface names go in
    /// the pcapng interface descriptions.
    pub fn declare_interface(&mut self, link_type: u32, name: &str) {
        match self.declared.iter_mut().find(|(l, _)| *l == link_type) {
            Some((_, names)) => {
                if !name.is_empty() {
                    if !names.is_empty() {
                        names.push(',');
                    }
                    names.push_str(name);
                }
            }
            None => self.declared.push((link_type, name.to_owned())),
        }
    }

    /// What was written so far.
    pub fn stats(&self) -> SipWriterStats {
        self.stats
    }

    /// Flushes the file (writing an empty capture header if no packet was written) and returns
    /// the first write error, if any; a file from [`SipWriter::create`] then replaces its
    /// output, or on an error is removed. Call once at the end.
    pub fn finish(&mut self) -> io::Result<()> {
        let result = self.flush_all();
        match (result, self.replace.take()) {
            (Ok(()), Some(replace)) => replace.commit(),
            // Dropping the replacement removes the temporary file.
            (result, _) => result,
        }
    }

    fn flush_all(&mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let result = match std::mem::replace(&mut self.out, Out::Failed) {
            Out::Pending(buf) => {
                let link_type = self
                    .declared
                    .first()
                    .map_or(linktype::ETHERNET, |(l, _)| *l);
                PcapWriter::new(buf, link_type, self.resolution).and_then(|mut w| {
                    w.flush()?;
                    self.out = Out::Pcap { w, link_type };
                    Ok(())
                })
            }
            Out::Pcap { mut w, link_type } => w.flush().map(|()| {
                self.out = Out::Pcap { w, link_type };
            }),
            Out::PcapNg { mut w, interfaces } => w.flush().map(|()| {
                self.out = Out::PcapNg { w, interfaces };
            }),
            Out::Failed => Ok(()),
        };
        result
    }

    /// The underlying writer, after [`SipWriter::finish`] (`None` after a write error).
    pub fn into_inner(self) -> Option<W> {
        let buf = match self.out {
            Out::Pending(buf) => buf,
            Out::Pcap { w, .. } => w.into_inner(),
            Out::PcapNg { w, .. } => w.into_inner(),
            Out::Failed => return None,
        };
        buf.into_inner().ok()
    }

    /// Adds a frame to the ring, making room first.
    fn hold(&mut self, frame: &Frame<'_>) {
        while !self.ring.is_empty()
            && (self.ring.len() >= self.limits.frames
                || self.ring_bytes + held_cost(frame.data.len()) > self.limits.bytes)
        {
            self.evict();
        }
        let mut data = self.spare.pop().unwrap_or_default();
        data.clear();
        data.extend_from_slice(frame.data);
        self.ring_bytes += held_cost(data.capacity());
        self.ring.push_back(Held {
            number: frame.number,
            timestamp: frame.timestamp,
            link_type: frame.link_type,
            orig_len: frame.original_len,
            data,
            flow: frame_flow(frame.link_type, frame.data),
            written: false,
        });
    }

    fn evict(&mut self) {
        let Some(old) = self.ring.pop_front() else {
            return;
        };
        self.ring_bytes -= held_cost(old.data.capacity());
        if !old.written && old.flow.is_some() {
            if self.gone.len() >= self.limits.remembered {
                if let Some((n, _)) = self.gone.pop_front() {
                    self.forgotten_below = n + 1;
                }
            }
            self.gone.push_back((old.number, old.flow));
        }
        // Keep a few buffers for reuse; the rest is freed.
        if self.spare.len() < 64 {
            self.spare.push(old.data);
        }
    }

    /// Index in the ring of the first frame numbered `number` or later.
    fn ring_index(&self, number: u64) -> usize {
        self.ring.partition_point(|h| h.number < number)
    }

    fn write_message(&mut self, ctx: &MsgContext) {
        self.stats.messages += 1;
        let last = ctx.frame;
        let first = ctx.first_frame.min(last);
        let mut cut = false;
        let span = MessageSpan::from(ctx);
        let wanted = Carrier::new(&span, self.flow_of(last).as_ref());
        if wanted.single() {
            // One frame carried it (an ICMP error quoting it has other addresses than the
            // message; it is the one frame that matters).
            let i = self.ring_index(last);
            match self.ring.get(i) {
                Some(h) if h.number == last => self.write_held(i),
                _ => cut = true,
            }
        } else {
            let (start, end) = (self.ring_index(first), self.ring_index(last + 1));
            for i in start..end {
                let take = match self.ring.get(i) {
                    // The completing frame always carried the message.
                    Some(h) => wanted.carried(h.number, h.flow.as_ref()),
                    None => false,
                };
                if take {
                    self.write_held(i);
                }
            }
            if self.ring.front().is_none_or(|h| h.number > first) {
                // Part of the range left the ring: count the frames of this message that did.
                let lost = self
                    .gone
                    .iter()
                    .rev()
                    .take_while(|(n, _)| *n >= first)
                    .filter(|(n, flow)| *n <= last && wanted.matches(flow.as_ref()))
                    .count() as u64;
                self.stats.packets_lost += lost;
                cut = lost > 0 || first < self.forgotten_below;
                // Counted once: later messages of the same range do not count them again.
                let from = self.gone.partition_point(|(n, _)| *n < first);
                let to = self.gone.partition_point(|(n, _)| *n <= last);
                for (_, flow) in self.gone.range_mut(from..to) {
                    if wanted.matches(flow.as_ref()) {
                        *flow = None;
                    }
                }
            }
        }
        if cut {
            self.stats.messages_cut += 1;
        }
    }

    fn flow_of(&self, number: u64) -> Option<FrameFlow> {
        let i = self.ring_index(number);
        self.ring
            .get(i)
            .filter(|h| h.number == number)
            .and_then(|h| h.flow)
    }

    /// Writes the held frame at ring index `i` unless it was written already.
    /// Writes a packet made for a whole message (see [`synthesize`]), with its origin as the
    /// packet's comment (the file becomes pcapng for that).
    fn write_synthesized(&mut self, ctx: &MsgContext, raw: &[u8]) {
        self.stats.messages += 1;
        let packet = synthesize(ctx, raw, &mut self.tcp_seq);
        let len = u32::try_from(packet.len()).unwrap_or(u32::MAX);
        self.pcapng_wanted = true;
        let comment = match ctx.origin {
            crate::source::Origin::Log { input, line } => {
                match self.input_names.get(input as usize) {
                    Some(name) => format!("lyncscope: from {name} line {line}"),
                    None => format!("lyncscope: from log input {} line {line}", input + 1),
                }
            }
            crate::source::Origin::Agent { node } => {
                format!("lyncscope: from HEP capture agent {node}")
            }
            crate::source::Origin::Capture { input } => {
                format!("lyncscope: from capture input {}", input + 1)
            }
        };
        let written = match &self.out {
            Out::Pcap { .. } => self.convert_to_pcapng(),
            _ => Ok(()),
        }
        .and_then(|()| {
            self.write_packet_commented(
                crate::linktype::RAW,
                ctx.time,
                &packet,
                len,
                Some(&comment),
            )
        });
        match written {
            Ok(()) => self.stats.packets_written += 1,
            Err(e) => {
                self.out = Out::Failed;
                self.error.get_or_insert(e);
            }
        }
    }

    fn write_held(&mut self, i: usize) {
        let Some(h) = self.ring.get_mut(i) else {
            return;
        };
        if h.written {
            return;
        }
        h.written = true;
        let (link_type, ts, orig_len) = (h.link_type, h.timestamp, h.orig_len);
        // Move the bytes out while writing, to borrow `self` mutably.
        let data = std::mem::take(&mut h.data);
        let result = self.write_packet(link_type, ts, &data, orig_len);
        if let Some(h) = self.ring.get_mut(i) {
            h.data = data;
        }
        match result {
            Ok(()) => self.stats.packets_written += 1,
            Err(e) => {
                self.out = Out::Failed;
                self.error.get_or_insert(e);
            }
        }
    }

    fn write_packet(
        &mut self,
        link_type: u32,
        ts: Timestamp,
        data: &[u8],
        orig_len: u32,
    ) -> io::Result<()> {
        self.write_packet_commented(link_type, ts, data, orig_len, None)
    }

    /// [`Self::write_packet`] with a packet comment (kept in pcapng only).
    fn write_packet_commented(
        &mut self,
        link_type: u32,
        ts: Timestamp,
        data: &[u8],
        orig_len: u32,
        comment: Option<&str>,
    ) -> io::Result<()> {
        loop {
            match &mut self.out {
                Out::Pcap { w, link_type: l } if *l == link_type => {
                    return w.write_packet(ts, data, orig_len);
                }
                Out::PcapNg { w, interfaces } => {
                    let id = match interfaces.iter().find(|(l, _)| *l == link_type) {
                        Some(&(_, id)) => id,
                        None => {
                            let id = w.add_interface(&interface(
                                link_type,
                                self.resolution,
                                &self.declared,
                            ))?;
                            interfaces.push((link_type, id));
                            id
                        }
                    };
                    return w.write_packet_with_comment(id, ts, data, orig_len, comment);
                }
                Out::Failed => return Err(io::Error::other("an earlier write failed")),
                Out::Pending(_) => self.start(link_type)?,
                Out::Pcap { .. } => self.convert_to_pcapng()?,
            }
        }
    }

    /// Writes the file header for the first packet: classic pcap if only its link type is
    /// known, else pcapng with an interface per declared link type.
    fn start(&mut self, link_type: u32) -> io::Result<()> {
        let Out::Pending(buf) = std::mem::replace(&mut self.out, Out::Failed) else {
            return Ok(());
        };
        let several = self.pcapng_wanted || self.declared.iter().any(|(l, _)| *l != link_type);
        self.out = if several {
            let mut w = PcapNgWriter::with_section(buf, &section())?;
            let mut interfaces = Vec::new();
            for (l, _) in &self.declared {
                let id = w.add_interface(&interface(*l, self.resolution, &self.declared))?;
                interfaces.push((*l, id));
            }
            self.stats.pcapng = true;
            Out::PcapNg { w, interfaces }
        } else {
            Out::Pcap {
                w: PcapWriter::new(buf, link_type, self.resolution)?,
                link_type,
            }
        };
        Ok(())
    }

    /// A frame of a second link type came after a classic pcap was started: rewrites what was
    /// written as pcapng (always longer than the pcap, so nothing of the old file remains).
    fn convert_to_pcapng(&mut self) -> io::Result<()> {
        let Out::Pcap { w, link_type } = std::mem::replace(&mut self.out, Out::Failed) else {
            return Ok(());
        };
        let mut file = w.into_inner().into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        let mut old = Vec::new();
        file.read_to_end(&mut old)?;
        file.seek(SeekFrom::Start(0))?;
        let mut w =
            PcapNgWriter::with_section(BufWriter::with_capacity(256 * 1024, file), &section())?;
        let id = w.add_interface(&interface(link_type, self.resolution, &self.declared))?;
        let units = self.resolution.units_per_sec();
        // Our own classic pcap: a 24-byte header, then 16-byte record headers (little-endian).
        let mut at = 24;
        while let Some(rec) = old.get(at..at + 16) {
            let field = |i: usize| {
                rec.get(i..i + 4)
                    .and_then(|b| b.try_into().ok())
                    .map_or(0, u32::from_le_bytes)
            };
            let (secs, frac, caplen, orig) = (field(0), field(4), field(8), field(12));
            let Some(data) = old.get(at + 16..at + 16 + caplen as usize) else {
                break;
            };
            let nanos = u64::from(frac) * (1_000_000_000 / units);
            let ts = Timestamp::from_secs_nanos(i64::from(secs), nanos as u32);
            w.write_packet(id, ts, data, orig)?;
            at += 16 + caplen as usize;
        }
        self.stats.pcapng = true;
        self.out = Out::PcapNg {
            w,
            interfaces: vec![(link_type, id)],
        };
        Ok(())
    }
}

impl<W: Read + Write + Seek> MessageTap for SipWriter<W> {
    fn frame(&mut self, frame: &Frame<'_>) {
        self.hold(frame);
    }

    fn message(&mut self, ctx: &MsgContext, raw: &[u8]) {
        if ctx.link_type == 0 && !matches!(ctx.origin, crate::source::Origin::Capture { .. }) {
            // A whole message from a log or a capture agent: no frame carried it here, so one
            // is made, with the addresses, ports, transport and time the source gave.
            self.write_synthesized(ctx, raw);
        } else {
            self.write_message(ctx);
        }
    }
}

/// A raw IP packet (LINKTYPE_RAW) carrying `payload` from `ctx.src` to `ctx.dst` over UDP, or
/// over TCP with a sequence number that follows the flow (so that Wireshark reassembles); the
/// checksums are left 0 (unverified, as offloaded captures have them).
fn synthesize(
    ctx: &MsgContext,
    payload: &[u8],
    tcp_seq: &mut std::collections::HashMap<(std::net::SocketAddr, std::net::SocketAddr), u32>,
) -> Vec<u8> {
    use crate::source::Transport;
    let udp = ctx.transport == Transport::Udp;
    let mut l4 = Vec::with_capacity(20 + payload.len());
    l4.extend_from_slice(&ctx.src.port().to_be_bytes());
    l4.extend_from_slice(&ctx.dst.port().to_be_bytes());
    if udp {
        let len = u16::try_from(8 + payload.len()).unwrap_or(u16::MAX);
        l4.extend_from_slice(&len.to_be_bytes());
        l4.extend_from_slice(&[0, 0]);
    } else {
        // Flows beyond the bound start again at 1: only reassembly across them suffers.
        if tcp_seq.len() >= 65_536 && !tcp_seq.contains_key(&(ctx.src, ctx.dst)) {
            tcp_seq.clear();
        }
        let seq = tcp_seq.entry((ctx.src, ctx.dst)).or_insert(1);
        l4.extend_from_slice(&seq.to_be_bytes());
        *seq = seq.wrapping_add(u32::try_from(payload.len()).unwrap_or(u32::MAX));
        l4.extend_from_slice(&0u32.to_be_bytes()); // ack
        l4.extend_from_slice(&[5 << 4, 0x18]); // header length 20, PSH+ACK
        l4.extend_from_slice(&65_535u16.to_be_bytes()); // window
        l4.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
    }
    l4.extend_from_slice(payload);
    let protocol = if udp { 17 } else { 6 };
    let mut packet = Vec::with_capacity(40 + l4.len());
    match (ctx.src.ip(), ctx.dst.ip()) {
        (std::net::IpAddr::V4(s), std::net::IpAddr::V4(d)) => {
            let total = u16::try_from(20 + l4.len()).unwrap_or(u16::MAX);
            packet.extend_from_slice(&[0x45, 0]);
            packet.extend_from_slice(&total.to_be_bytes());
            packet.extend_from_slice(&[0, 0, 0x40, 0, 64, protocol, 0, 0]);
            packet.extend_from_slice(&s.octets());
            packet.extend_from_slice(&d.octets());
        }
        (s, d) => {
            let v6 = |ip: std::net::IpAddr| match ip {
                std::net::IpAddr::V6(v) => v,
                std::net::IpAddr::V4(v) => v.to_ipv6_mapped(),
            };
            let len = u16::try_from(l4.len()).unwrap_or(u16::MAX);
            packet.extend_from_slice(&[0x60, 0, 0, 0]);
            packet.extend_from_slice(&len.to_be_bytes());
            packet.extend_from_slice(&[protocol, 64]);
            packet.extend_from_slice(&v6(s).octets());
            packet.extend_from_slice(&v6(d).octets());
        }
    }
    packet.extend_from_slice(&l4);
    packet
}

fn section() -> Section {
    Section {
        user_application: Some(format!("lyncscope {}", env!("CARGO_PKG_VERSION"))),
        comment: Some("packets that carried SIP".to_owned()),
        ..Section::default()
    }
}

fn interface(link_type: u32, resolution: TsResolution, declared: &[(u32, String)]) -> Interface {
    let interface = Interface::new(link_type).resolution(resolution);
    match declared.iter().find(|(l, _)| *l == link_type) {
        Some((_, names)) if !names.is_empty() => interface.name(names),
        _ => interface,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::CaptureFiles;
    use crate::pipeline::Pipeline;
    use lyncscope_synth::scenarios;
    use std::io::Cursor;

    /// Runs `frames` through a pipeline with a writer; returns the file and the stats.
    fn write_all(
        frames: &[(Timestamp, u32, Vec<u8>)],
        limits: RingLimits,
    ) -> (Vec<u8>, SipWriterStats, u64) {
        let mut w = SipWriter::new(Cursor::new(Vec::new()), TsResolution::Nano, limits);
        let mut p = Pipeline::new(&crate::Options::default());
        for (i, (ts, link_type, data)) in frames.iter().enumerate() {
            let frame = Frame {
                number: i as u64 + 1,
                timestamp: *ts,
                link_type: *link_type,
                data,
                original_len: data.len() as u32,
                source: 0,
            };
            p.push_tapped(&frame, &mut w);
        }
        p.finish_tapped(&mut w);
        w.finish().expect("writes to memory");
        let stats = w.stats();
        let sip = p.stats().analysis.sip_messages;
        (w.into_inner().expect("no error").into_inner(), stats, sip)
    }

    /// Reads a capture back: (frames, SIP messages).
    fn read_back(bytes: &[u8], name: &str) -> (u64, u64) {
        let dir = std::env::temp_dir().join(format!("lyncscope-sipw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("temp file");
        let mut files =
            CaptureFiles::open(&[path.to_string_lossy().to_string()]).expect("written file opens");
        let mut p = Pipeline::new(&crate::Options::default());
        let mut n = 0;
        while let Some(f) = files.next_frame() {
            p.push(&f);
            n += 1;
        }
        p.finish();
        assert!(files.warnings().is_empty(), "{:?}", files.warnings());
        let _ = std::fs::remove_file(&path);
        (n, p.stats().analysis.sip_messages)
    }

    fn scenario_frames(name: &str) -> (Vec<(Timestamp, u32, Vec<u8>)>, usize) {
        let s = scenarios()
            .into_iter()
            .find(|s| s.name == name)
            .expect("scenario");
        let g = (s.build)();
        let frames = g
            .packets()
            .map(|(t, _, d)| (t, linktype::ETHERNET, d.to_vec()))
            .collect();
        (frames, g.sip_messages)
    }

    /// Frames with a payload beyond the TCP/UDP headers that are SIP in the scenario: every
    /// frame but handshakes, pure ACKs, FINs and keep-alives.
    fn carrying_frames(frames: &[(Timestamp, u32, Vec<u8>)]) -> usize {
        let mut p = Pipeline::new(&crate::Options::default());
        let mut tap = CountFrames::default();
        for (i, (ts, l, d)) in frames.iter().enumerate() {
            let f = Frame {
                number: i as u64 + 1,
                timestamp: *ts,
                link_type: *l,
                data: d,
                original_len: d.len() as u32,
                source: 0,
            };
            p.push_tapped(&f, &mut tap);
        }
        p.finish_tapped(&mut tap);
        tap.frames.len()
    }

    /// An independent count of the frames that carried messages: every frame number in
    /// `first_frame..=frame` whose flow is the message's (no ring, no bounds).
    #[derive(Default)]
    struct CountFrames {
        flows: Vec<Option<FrameFlow>>,
        frames: std::collections::BTreeSet<u64>,
    }

    impl MessageTap for CountFrames {
        fn frame(&mut self, f: &Frame<'_>) {
            self.flows.push(frame_flow(f.link_type, f.data));
        }
        fn message(&mut self, ctx: &MsgContext, _raw: &[u8]) {
            let last_flow = self.flows[ctx.frame as usize - 1];
            let wanted = Carrier::new(&MessageSpan::from(ctx), last_flow.as_ref());
            for n in ctx.first_frame..=ctx.frame {
                if wanted.carried(n, self.flows[n as usize - 1].as_ref()) {
                    self.frames.insert(n);
                }
            }
        }
    }

    #[test]
    fn udp_fragments_are_all_written() {
        let (frames, sip) = scenario_frames("join-udp-fragments");
        let (file, stats, seen) = write_all(&frames, RingLimits::default());
        assert_eq!(seen as usize, sip);
        assert_eq!(stats.messages as usize, sip);
        assert_eq!((stats.packets_lost, stats.messages_cut), (0, 0));
        assert!(!stats.pcapng);
        // Every frame of this capture is a SIP datagram or a fragment of one.
        assert_eq!(stats.packets_written as usize, frames.len());
        let (n, sip_back) = read_back(&file, "frag.pcap");
        assert_eq!(n as usize, frames.len());
        assert_eq!(sip_back as usize, sip);
    }

    #[test]
    fn tcp_segments_of_split_messages_are_all_written() {
        let (frames, sip) = scenario_frames("conference-join");
        let (file, stats, _) = write_all(&frames, RingLimits::default());
        assert_eq!(stats.messages as usize, sip);
        assert_eq!((stats.packets_lost, stats.messages_cut), (0, 0));
        assert_eq!(stats.packets_written as usize, carrying_frames(&frames));
        // Handshakes, pure ACKs and keep-alives are left out.
        assert!((stats.packets_written as usize) < frames.len());
        let (n, sip_back) = read_back(&file, "tcp.pcap");
        assert_eq!(n, stats.packets_written);
        assert_eq!(sip_back as usize, sip);
    }

    #[test]
    fn every_scenario_reads_back_with_the_same_sip_messages() {
        for s in scenarios() {
            let (frames, sip) = scenario_frames(s.name);
            let (file, stats, _) = write_all(&frames, RingLimits::default());
            assert_eq!(stats.packets_lost, 0, "{}", s.name);
            let (_, sip_back) = read_back(&file, &format!("{}.pcap", s.name));
            assert_eq!(sip_back as usize, sip, "{}", s.name);
        }
    }

    #[test]
    fn frames_that_left_a_small_ring_are_counted() {
        let (frames, sip) = scenario_frames("conference-join");
        let tiny = RingLimits {
            frames: 1,
            bytes: 1 << 20,
            remembered: 1000,
        };
        let (file, stats, _) = write_all(&frames, tiny);
        assert!(stats.packets_lost > 0);
        assert!(stats.messages_cut > 0);
        let all = carrying_frames(&frames) as u64;
        // Every carrying frame is either written or counted as lost.
        assert_eq!(stats.packets_written + stats.packets_lost, all);
        let (n, sip_back) = read_back(&file, "tiny.pcap");
        assert_eq!(n, stats.packets_written);
        assert!((sip_back as usize) < sip);
    }

    #[test]
    fn two_link_types_give_pcapng_declared_or_converted() {
        let (mut frames, sip) = scenario_frames("join-udp-fragments");
        // The second half as raw IP (the Ethernet header stripped).
        let half = frames.len() / 2;
        for f in frames.iter_mut().skip(half) {
            f.1 = linktype::RAW;
            f.2.drain(..14);
        }
        // Converted: the classic pcap started with Ethernet is rewritten as pcapng.
        let (file, stats, _) = write_all(&frames, RingLimits::default());
        assert!(stats.pcapng);
        assert_eq!(&file[..4], &[0x0a, 0x0d, 0x0d, 0x0a]);
        let (n, sip_back) = read_back(&file, "mixed.pcapng");
        assert_eq!(n as usize, frames.len());
        assert_eq!(sip_back as usize, sip);

        // Declared up front: pcapng from the first packet, same content.
        let mut w = SipWriter::new(
            Cursor::new(Vec::new()),
            TsResolution::Micro,
            RingLimits::default(),
        );
        w.declare_interface(linktype::ETHERNET, "eth0");
        w.declare_interface(linktype::RAW, "tun0");
        let mut p = Pipeline::new(&crate::Options::default());
        for (i, (ts, l, d)) in frames.iter().enumerate() {
            let f = Frame {
                number: i as u64 + 1,
                timestamp: *ts,
                link_type: *l,
                data: d,
                original_len: d.len() as u32,
                source: 0,
            };
            p.push_tapped(&f, &mut w);
        }
        p.finish_tapped(&mut w);
        w.finish().expect("flush");
        assert!(w.stats().pcapng);
        let bytes = w.into_inner().expect("ok").into_inner();
        let (n, sip_back) = read_back(&bytes, "declared.pcapng");
        assert_eq!(n as usize, frames.len());
        assert_eq!(sip_back as usize, sip);
    }

    /// The names in `dir`, sorted.
    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("lists")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_file_is_replaced_whole_at_finish_or_not_at_all() {
        let dir =
            std::env::temp_dir().join(format!("lyncscope-sipw-replace-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("out.pcap");
        std::fs::write(&path, b"old").expect("old file");
        let (frames, sip) = scenario_frames("conference-join");
        let run = |finish: bool| {
            let mut w = SipWriter::create(&path, TsResolution::Micro).expect("creates");
            let mut p = Pipeline::new(&crate::Options::default());
            for (i, (ts, l, d)) in frames.iter().enumerate() {
                let f = Frame {
                    number: i as u64 + 1,
                    timestamp: *ts,
                    link_type: *l,
                    data: d,
                    original_len: d.len() as u32,
                    source: 0,
                };
                p.push_tapped(&f, &mut w);
            }
            p.finish_tapped(&mut w);
            // Until the end, the old file is as it was.
            assert_eq!(std::fs::read(&path).expect("old"), b"old");
            if finish {
                w.finish().expect("finishes");
            }
        };
        // A run that ends without finishing (an error elsewhere) leaves the old file and no
        // temporary file.
        run(false);
        assert_eq!(std::fs::read(&path).expect("old"), b"old");
        assert_eq!(listing(&dir), ["out.pcap"]);
        run(true);
        assert_eq!(listing(&dir), ["out.pcap"]);
        let bytes = std::fs::read(&path).expect("new");
        assert_eq!(read_back(&bytes, "replaced.pcap").1 as usize, sip);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn no_sip_gives_an_empty_valid_capture() {
        let mut w = SipWriter::new(
            Cursor::new(Vec::new()),
            TsResolution::Micro,
            RingLimits::default(),
        );
        w.declare_interface(linktype::LINUX_SLL, "any");
        w.finish().expect("flush");
        let bytes = w.into_inner().expect("ok").into_inner();
        assert_eq!(bytes.len(), 24);
        assert_eq!(read_back(&bytes, "empty.pcap"), (0, 0));
    }
}
