//! The pipeline: frames in, analysis out. One direction, one layer after the other.
//!
//! ```text
//! Frame ─▶ NetDecoder ─▶ IpPacket ─▶ TransportLayer ─▶ Message ─▶ Analysis
//! ```
//!
//! [`Pipeline::push`] takes one frame at a time, so the same pipeline serves a file, standard
//! input and a live capture; [`Pipeline::finish`] ends the streams at the end of input.
//!
//! [`Pipeline::push_tapped`] and [`Pipeline::finish_tapped`] also show every frame and every
//! completed SIP message's [`MsgContext`] to a [`MessageTap`] (the `-w` writer keeps the frames
//! that carried SIP with it).
//!
//! [`run_until`] drives a whole input on the calling thread; [`run_until_split`] does the same
//! on two, the layers before the analysis on one and the analysis on the other,
//! with the same result. A caller that drives the threads itself (the terminal UI shares the
//! analysis with its drawing) takes those layers out with [`Pipeline::take_reading`], runs
//! them into [`MessageBatch`]es and hands each to [`Pipeline::deliver`].

mod split;
pub use split::{run_until_split, MessageBatch, Reading};

use crate::analysis::{Analysis, Limits};
use crate::capture::CaptureFiles;
use crate::capture::Frame;
use crate::net::{NetDecoder, NetOutput, NetStats};
use crate::sip::message::Message;
use crate::source::{Input, Source, SourceMessage};
use crate::tls::{TlsHandle, TlsLayer};
use crate::transport::{MsgContext, SipSink, StreamDecoder, TransportLayer, TransportStats};

/// Watches the pipeline: sees each frame before it is decoded, then the context of every SIP
/// message that frame completed (so the frames `ctx.first_frame..=ctx.frame` have all been
/// seen when [`MessageTap::message`] is called).
pub trait MessageTap {
    /// A frame, before it is decoded.
    fn frame(&mut self, frame: &Frame<'_>);
    /// A completed SIP message: its context and its bytes.
    fn message(&mut self, ctx: &MsgContext, raw: &[u8]);
}

/// Two taps, both shown everything (`-w` and `--write-decrypted` together).
impl<A: MessageTap, B: MessageTap> MessageTap for (A, B) {
    fn frame(&mut self, frame: &Frame<'_>) {
        self.0.frame(frame);
        self.1.frame(frame);
    }
    fn message(&mut self, ctx: &MsgContext, raw: &[u8]) {
        self.0.message(ctx, raw);
        self.1.message(ctx, raw);
    }
}

/// A tap lent for a run.
impl<T: MessageTap> MessageTap for &mut T {
    fn frame(&mut self, frame: &Frame<'_>) {
        (**self).frame(frame);
    }
    fn message(&mut self, ctx: &MsgContext, raw: &[u8]) {
        (**self).message(ctx, raw);
    }
}

/// A tap that may be absent.
impl<T: MessageTap> MessageTap for Option<T> {
    fn frame(&mut self, frame: &Frame<'_>) {
        if let Some(t) = self {
            t.frame(frame);
        }
    }
    fn message(&mut self, ctx: &MsgContext, raw: &[u8]) {
        if let Some(t) = self {
            t.message(ctx, raw);
        }
    }
}

/// A tap that watches nothing, for [`run_until`] without one.
pub struct NoTap;

impl MessageTap for NoTap {
    fn frame(&mut self, _: &Frame<'_>) {}
    fn message(&mut self, _: &MsgContext, _: &[u8]) {}
}

/// The analysis and a tap behind one [`SipSink`]: the analysis first, then the tap.
struct Tee<'a, T: MessageTap> {
    analysis: &'a mut Analysis,
    tap: &'a mut T,
}

impl<T: MessageTap> SipSink for Tee<'_, T> {
    fn message(&mut self, ctx: &MsgContext, msg: &Message<'_>) {
        self.analysis.message(ctx, msg);
        self.tap.message(ctx, msg.raw());
    }

    fn datagram(&mut self, ctx: &MsgContext, payload: &[u8]) {
        self.analysis.datagram(ctx, payload);
    }
}

/// What the pipeline keeps and how far it goes: everything a caller chooses, in one place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// List every message (the `messages` of the JSON report, the views); otherwise messages
    /// are only counted and folded into their dialogs.
    pub keep_messages: bool,
    /// Also keep every message's bytes (compressed), for views that open a message.
    pub message_store: bool,
    /// Log the dialog each message touched, for views that refresh what they derived
    /// ([`Analysis::changes_since`]).
    pub change_log: bool,
    /// Correlate conference joins (off: SIP dialogs only, to measure what that costs).
    pub conferences: bool,
    /// Bounds of the analysis.
    pub limits: Limits,
    /// Merge the copies of one message seen by several sources into one message with every
    /// origin (set when a run reads several inputs; see [`crate::analysis::copies`]).
    pub merge_copies: bool,
}

impl Default for Options {
    /// Dialogs and conferences with the file bounds; messages counted, not listed.
    fn default() -> Self {
        Options {
            keep_messages: false,
            message_store: false,
            change_log: false,
            conferences: true,
            limits: Limits::default(),
            merge_copies: false,
        }
    }
}

impl Options {
    /// The default options with every message listed.
    pub fn with_messages() -> Self {
        Options {
            keep_messages: true,
            ..Options::default()
        }
    }
}

/// The layers wired together: frames or messages in, [`Analysis`] out.
pub struct Pipeline {
    front: Front,
    analysis: Analysis,
    /// While the layers before the analysis run apart ([`Pipeline::take_reading`]): their
    /// counters as of the last batch delivered, which [`Pipeline::stats`] shows.
    apart: Option<split::FrontCounters>,
}

/// Every layer before the analysis: what [`run_until_split`] moves to its reading thread.
pub(crate) struct Front {
    tls: TlsHandle,
    net: NetDecoder,
    transport: TransportLayer,
    packets: u64,
    bytes: u64,
}

impl Front {
    fn new(tls: TlsHandle) -> Self {
        let mut transport = TransportLayer::new();
        transport.set_stream_decoder(Box::new(TlsLayer::new(tls.clone())));
        Front {
            tls,
            net: NetDecoder::new(),
            transport,
            packets: 0,
            bytes: 0,
        }
    }

    /// One input through the layers, its messages to `sink`. (A tap is shown the frame by the
    /// caller first: it is also inside the sink.)
    pub(crate) fn push_input(&mut self, input: &Input<'_>, sink: &mut impl SipSink) {
        match input {
            Input::Frame(frame) => {
                self.packets += 1;
                self.bytes += frame.data.len() as u64;
                if let NetOutput::Packet(pkt) = self.net.decode(frame) {
                    self.transport.handle(frame, &pkt, sink);
                }
            }
            Input::Message(m) => {
                self.packets += 1;
                self.bytes += m.bytes.len() as u64;
                self.transport.message(m, sink);
            }
        }
    }

    /// End of input: streams still waiting for bytes are closed and counted.
    pub(crate) fn finish(&mut self, sink: &mut impl SipSink) {
        self.net.flush();
        self.transport.finish(sink);
    }

    /// The TLS layer's key material.
    pub(crate) fn tls(&self) -> &TlsHandle {
        &self.tls
    }
}

/// Every counter of every layer, for the reports.
#[derive(Debug, Clone)]
pub struct Stats<'a> {
    /// Frames and whole messages pushed.
    pub packets: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Link and IP layer counters.
    pub net: &'a NetStats,
    /// Transport layer counters.
    pub transport: &'a TransportStats,
    /// Analysis counters.
    pub analysis: &'a crate::analysis::AnalysisStats,
    /// TLS counters (connections found by their ClientHello, decrypted or not and why).
    pub tls: lyncscope_tls::TlsStats,
    /// Every bound that left something out, the most serious first.
    pub bounds_hit: Vec<crate::bounds::BoundHit>,
}

impl Pipeline {
    /// A pipeline with these options.
    pub fn new(options: &Options) -> Self {
        let mut analysis = Analysis::new(options.keep_messages).with_limits(options.limits);
        if !options.conferences {
            analysis = analysis.without_conferences();
        }
        if options.message_store {
            analysis = analysis.with_message_store();
        }
        if options.change_log {
            analysis = analysis.with_change_log();
        }
        if options.merge_copies {
            analysis = analysis.with_merged_copies();
        }
        Pipeline {
            front: Front::new(TlsHandle::default()),
            analysis,
            apart: None,
        }
    }

    /// One input of a [`Source`]: a frame or a whole message.
    pub fn push_input(&mut self, input: &Input<'_>) {
        self.front.push_input(input, &mut self.analysis);
    }

    /// [`Pipeline::push_input`], showing the messages it completes to `tap` (a whole message
    /// is shown as its own frame would be: `-w` writes it as a synthesized packet).
    pub fn push_input_tapped(&mut self, input: &Input<'_>, tap: &mut impl MessageTap) {
        // The frame goes to the tap before the layers.
        if let Input::Frame(f) = input {
            tap.frame(f);
        }
        let mut tee = Tee {
            analysis: &mut self.analysis,
            tap,
        };
        self.front.push_input(input, &mut tee);
    }

    /// A message handed over whole by a log or a capture agent: it skips the packet layers.
    pub fn push_message(&mut self, m: &SourceMessage<'_>) {
        self.front
            .push_input(&Input::Message(*m), &mut self.analysis);
    }

    /// Replaces the layer between TCP reassembly and SIP framing (by default the TLS
    /// decryptor of [`Pipeline::tls`]; see [`StreamDecoder`]).
    pub fn with_stream_decoder(mut self, decoder: Box<dyn StreamDecoder>) -> Self {
        self.front.transport.set_stream_decoder(decoder);
        self
    }

    /// Decrypts TLS with the key material of `tls` (shared with its owner, which may add key
    /// log lines while the pipeline runs).
    pub fn with_tls(mut self, tls: TlsHandle) -> Self {
        self.front
            .transport
            .set_stream_decoder(Box::new(TlsLayer::new(tls.clone())));
        self.front.tls = tls;
        self
    }

    /// A server's diagnostic record: kept with the dialogs of its Call-ID.
    pub fn add_server_event(&mut self, event: crate::logs::ServerEvent) {
        self.analysis.add_server_event(event);
    }

    /// The TLS layer's key material and counters: add key logs and RSA keys here.
    pub fn tls(&self) -> &TlsHandle {
        self.front.tls()
    }

    /// One captured frame through every layer.
    pub fn push(&mut self, frame: &Frame<'_>) {
        self.front
            .push_input(&Input::Frame(*frame), &mut self.analysis);
    }

    /// End of input: streams still waiting for bytes are closed and counted.
    pub fn finish(&mut self) {
        self.front.finish(&mut self.analysis);
    }

    /// [`Pipeline::push`], showing the frame and the messages it completes to `tap`.
    pub fn push_tapped(&mut self, frame: &Frame<'_>, tap: &mut impl MessageTap) {
        self.push_input_tapped(&Input::Frame(*frame), tap);
    }

    /// [`Pipeline::finish`], showing the messages completed at the end of the streams to `tap`.
    pub fn finish_tapped(&mut self, tap: &mut impl MessageTap) {
        let mut tee = Tee {
            analysis: &mut self.analysis,
            tap,
        };
        self.front.finish(&mut tee);
    }

    /// The layers before the analysis, and the analysis, apart: for a run on two threads.
    pub(crate) fn parts(&mut self) -> (&mut Front, &mut Analysis) {
        (&mut self.front, &mut self.analysis)
    }

    /// The analysis so far.
    pub fn analysis(&self) -> &Analysis {
        &self.analysis
    }

    /// Every layer's counters. While the layers before the analysis run apart
    /// ([`Pipeline::take_reading`]), theirs are those of the last batch delivered.
    pub fn stats(&self) -> Stats<'_> {
        let f = &self.front;
        let (packets, bytes, net, transport) = match &self.apart {
            Some(c) => (c.packets, c.bytes, &c.net, &c.transport),
            None => (f.packets, f.bytes, f.net.stats(), f.transport.stats()),
        };
        Stats {
            packets,
            bytes,
            net,
            transport,
            analysis: self.analysis.stats(),
            tls: f.tls.stats(),
            bounds_hit: crate::bounds::hits(&crate::bounds::Counters::new(
                net,
                transport,
                &self.analysis,
            )),
        }
    }

    /// Takes the layers before the analysis out, to run on another thread
    /// ([`Reading::push_input`]) while this pipeline, holding the analysis, is shared (the
    /// terminal UI draws from it). Their batches go to [`Pipeline::deliver`] in order; give
    /// them back with [`Pipeline::rejoin`] after [`Reading::finish`]. Meanwhile
    /// [`Pipeline::push_input`] must not be called (the layers are not here), and
    /// [`Pipeline::stats`] shows their counters as of the last batch delivered.
    pub fn take_reading(&mut self) -> Reading {
        self.apart = Some(split::FrontCounters::of(&self.front));
        let placeholder = Front::new(self.front.tls.clone());
        Reading::new(std::mem::replace(&mut self.front, placeholder))
    }

    /// The analysis of one batch of [`Reading`]'s output, in order; the batch is left empty
    /// for reuse.
    pub fn deliver(&mut self, batch: &mut MessageBatch) {
        if let Some(c) = batch.deliver(&mut self.analysis) {
            self.apart = Some(c);
        }
    }

    /// The layers taken by [`Pipeline::take_reading`], back.
    pub fn rejoin(&mut self, reading: Reading) {
        self.front = reading.into_front();
        self.apart = None;
    }
}

/// Drives every input of `source` through `pipeline`, then ends the streams
/// ([`Pipeline::finish`]). The one loop that reads a whole input.
pub fn run(source: &mut impl Source, pipeline: &mut Pipeline) {
    // No tap: `NoTap`'s calls compile away, so this is the plain loop.
    run_until(source, pipeline, &mut NoTap, |_| true);
}

/// [`run`] with a tap shown every frame and message (the `-w` writer), stopping early when
/// `keep_going` (given the number of inputs read so far) says so. Returns the inputs read.
pub fn run_until(
    source: &mut impl Source,
    pipeline: &mut Pipeline,
    tap: &mut impl MessageTap,
    mut keep_going: impl FnMut(u64) -> bool,
) -> u64 {
    let mut read = 0u64;
    loop {
        if let Some(secrets) = source.take_secrets() {
            pipeline.tls().add_keylog(&secrets);
        }
        let Some(input) = source.next_input() else {
            break;
        };
        pipeline.push_input_tapped(&input, tap);
        for e in source.take_events() {
            pipeline.add_server_event(e);
        }
        read += 1;
        if !keep_going(read) {
            break;
        }
    }
    for e in source.take_events() {
        pipeline.add_server_event(e);
    }
    pipeline.finish_tapped(tap);
    read
}

/// The result of [`analyze`]: the pipeline after the whole input, and what went wrong on the
/// way without stopping it.
pub struct Analyzed {
    /// The pipeline, holding the analysis and every layer's counters.
    pub pipeline: Pipeline,
    /// Problems with inputs that were read up to the problem (a file cut short, a corrupt
    /// record), one per input at most, in input order.
    pub warnings: Vec<crate::capture::InputWarning>,
}

impl Analyzed {
    /// The analysis: messages, dialogs, conferences.
    pub fn analysis(&self) -> &crate::analysis::Analysis {
        self.pipeline.analysis()
    }
}

/// Analyses the inputs at `paths` (pcap, pcapng, gzip-compressed or not; `-` is standard
/// input) in one call: the library's front door.
///
/// ```no_run
/// let done = lyncscope::analyze(&["captures/conference-join.pcapng"], &Default::default())?;
/// for conference in done.analysis().conferences().list() {
///     for p in &conference.participants {
///         let d = conference.diagnose(p);
///         println!("{} {:?} {:?}", p.uri, d.state, d.failed_step);
///     }
/// }
/// # Ok::<(), lyncscope::capture::CaptureError>(())
/// ```
pub fn analyze<P: AsRef<str>>(
    paths: &[P],
    options: &crate::Options,
) -> Result<Analyzed, crate::capture::CaptureError> {
    let paths: Vec<String> = paths.iter().map(|p| p.as_ref().to_owned()).collect();
    let mut files = CaptureFiles::open(&paths)?;
    let mut pipeline = Pipeline::new(options);
    run(&mut files, &mut pipeline);
    Ok(Analyzed {
        pipeline,
        warnings: files.warnings().to_vec(),
    })
}
