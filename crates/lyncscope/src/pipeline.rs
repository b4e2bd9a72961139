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

use crate::analysis::{Analysis, Limits};
use crate::capture::Frame;
use crate::net::{NetDecoder, NetOutput, NetStats};
use crate::sip::message::Message;
use crate::source::{Input, SourceMessage};
use crate::transport::{MsgContext, SipSink, StreamDecoder, TransportLayer, TransportStats};

/// Watches the pipeline: sees each frame before it is decoded, then the context of every SIP
/// message that frame completed (so the frames `ctx.first_frame..=ctx.frame` have all been
/// seen when [`MessageTap::message`] is called).
pub trait MessageTap {
    fn frame(&mut self, frame: &Frame<'_>);
    fn message(&mut self, ctx: &MsgContext);
}

/// The analysis and a tap behind one [`SipSink`]: the analysis first, then the tap.
struct Tee<'a, T: MessageTap> {
    analysis: &'a mut Analysis,
    tap: &'a mut T,
}

impl<T: MessageTap> SipSink for Tee<'_, T> {
    fn message(&mut self, ctx: &MsgContext, msg: &Message<'_>) {
        self.analysis.message(ctx, msg);
        self.tap.message(ctx);
    }
}

pub struct Pipeline {
    net: NetDecoder,
    transport: TransportLayer,
    analysis: Analysis,
    packets: u64,
    bytes: u64,
}

/// Every counter of every layer, for the reports.
#[derive(Debug, Clone)]
pub struct Stats<'a> {
    pub packets: u64,
    pub bytes: u64,
    pub net: &'a NetStats,
    pub transport: &'a TransportStats,
    pub analysis: &'a crate::analysis::AnalysisStats,
}

impl Pipeline {
    /// `keep_messages`: list every message (needed for `--messages` and the views).
    pub fn new(keep_messages: bool) -> Self {
        Pipeline {
            net: NetDecoder::new(),
            transport: TransportLayer::new(),
            analysis: Analysis::new(keep_messages),
            packets: 0,
            bytes: 0,
        }
    }

    /// A pipeline without conference analysis (parse and dialogs only), to measure its cost.
    pub fn without_conferences(keep_messages: bool) -> Self {
        let mut p = Self::new(keep_messages);
        p.analysis = Analysis::new(keep_messages).without_conferences();
        p
    }

    /// Keeps every message's bytes as well (compressed), for the terminal UI's message views.
    pub fn with_message_store(mut self) -> Self {
        self.analysis = std::mem::take(&mut self.analysis).with_message_store();
        self
    }

    /// Bounds of the analysis other than the defaults (see [`Limits`]).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.analysis = std::mem::take(&mut self.analysis).with_limits(limits);
        self
    }

    /// Logs the dialog each message touched, so that views can refresh what they derived
    /// ([`Analysis::changes_since`]).
    pub fn with_change_log(mut self) -> Self {
        self.analysis = std::mem::take(&mut self.analysis).with_change_log();
        self
    }

    /// One input of a [`Source`](crate::source::Source): a frame or a whole message.
    pub fn push_input(&mut self, input: &Input<'_>) {
        match input {
            Input::Frame(f) => self.push(f),
            Input::Message(m) => self.push_message(m),
        }
    }

    /// A message handed over whole by a log or a capture agent: it skips the packet layers.
    pub fn push_message(&mut self, m: &SourceMessage<'_>) {
        self.packets += 1;
        self.bytes += m.bytes.len() as u64;
        self.transport.message(m, &mut self.analysis);
    }

    /// Sets the layer between TCP reassembly and SIP framing (a TLS decryptor, see
    /// [`StreamDecoder`]).
    pub fn with_stream_decoder(mut self, decoder: Box<dyn StreamDecoder>) -> Self {
        self.transport.set_stream_decoder(decoder);
        self
    }

    /// One captured frame through every layer.
    pub fn push(&mut self, frame: &Frame<'_>) {
        self.packets += 1;
        self.bytes += frame.data.len() as u64;
        if let NetOutput::Packet(pkt) = self.net.decode(frame) {
            self.transport.handle(frame, &pkt, &mut self.analysis);
        }
    }

    /// End of input: streams still waiting for bytes are closed and counted.
    pub fn finish(&mut self) {
        self.net.flush();
        self.transport.finish(&mut self.analysis);
    }

    /// [`Pipeline::push`], showing the frame and the messages it completes to `tap`.
    pub fn push_tapped(&mut self, frame: &Frame<'_>, tap: &mut impl MessageTap) {
        tap.frame(frame);
        self.packets += 1;
        self.bytes += frame.data.len() as u64;
        if let NetOutput::Packet(pkt) = self.net.decode(frame) {
            let mut tee = Tee {
                analysis: &mut self.analysis,
                tap,
            };
            self.transport.handle(frame, &pkt, &mut tee);
        }
    }

    /// [`Pipeline::finish`], showing the messages completed at the end of the streams to `tap`.
    pub fn finish_tapped(&mut self, tap: &mut impl MessageTap) {
        self.net.flush();
        let mut tee = Tee {
            analysis: &mut self.analysis,
            tap,
        };
        self.transport.finish(&mut tee);
    }

    pub fn analysis(&self) -> &Analysis {
        &self.analysis
    }

    pub fn stats(&self) -> Stats<'_> {
        Stats {
            packets: self.packets,
            bytes: self.bytes,
            net: self.net.stats(),
            transport: self.transport.stats(),
            analysis: self.analysis.stats(),
        }
    }
}
