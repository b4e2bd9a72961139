//! Where SIP messages come from, the first layer of the pipeline.
//!
//! Two kinds of input feed the same analysis:
//! * **frames** ([`Frame`]): captured link-layer packets from pcap / pcapng files, standard
//!   input or a live capture, which the later layers decode (link, IP, reassembly, framing);
//! * **messages** ([`SourceMessage`]): one SIP message with what its source says about it —
//!   time, addresses (possibly synthetic), transport — from a text log or a HEP capture agent,
//!   which skip the packet layers.
//!
//! Every message keeps its [`Origin`], the reference back to the evidence: captured frames
//! (their numbers are in the message's context), a log file and line, or a capture agent.
//! [`Source`] is what a reader of inputs implements; [`run`] drives a source through a
//! [`Pipeline`].

use crate::capture::{CaptureFiles, Frame};
use crate::pipeline::{MessageTap, Pipeline};
use crate::transport::Transport;
use crate::Timestamp;
use std::net::SocketAddr;

/// Where a message was seen: the reference back to its evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Captured frames (the message's `first_frame ..= frame`) of input number `input` (in
    /// the order the inputs were given, from 0).
    Capture {
        /// Index of the input.
        input: u32,
    },
    /// A text log: input number `input`, the line (from 1) where the message's record starts.
    Log {
        /// Index of the input.
        input: u32,
        /// Line of the record.
        line: u32,
    },
    /// A HEP capture agent, by its node id.
    Agent {
        /// The agent's capture id (HEP chunk 0x000c).
        node: u32,
    },
}

impl Default for Origin {
    fn default() -> Self {
        Origin::Capture { input: 0 }
    }
}

/// One SIP message handed over whole by its source (a log record, a HEP packet), with what
/// the source says about it.
#[derive(Clone, Copy, Debug)]
pub struct SourceMessage<'a> {
    /// Position in the run, numbered with the frames (1, 2, …), so that every message has a
    /// number the views and `-w` can refer to.
    pub number: u64,
    /// When it was sent or received, as the source says (UTC).
    pub time: Timestamp,
    /// Sender. A source that does not say gets a synthetic address (documented per source).
    pub src: SocketAddr,
    /// Receiver, likewise.
    pub dst: SocketAddr,
    /// How it travelled, as the source says.
    pub transport: Transport,
    /// Where it was seen.
    pub origin: Origin,
    /// The message's bytes: one SIP message, start line to the end of its body.
    pub bytes: &'a [u8],
}

/// One input item: a captured frame or a whole message.
#[derive(Clone, Copy, Debug)]
pub enum Input<'a> {
    /// A captured packet.
    Frame(Frame<'a>),
    /// A SIP message from a log or a capture agent.
    Message(SourceMessage<'a>),
}

/// A reader of inputs: the next frame or message, borrowed until the next call.
pub trait Source {
    /// The next input, or `None` at the end.
    fn next_input(&mut self) -> Option<Input<'_>>;
}

impl Source for CaptureFiles {
    fn next_input(&mut self) -> Option<Input<'_>> {
        self.next_frame().map(Input::Frame)
    }
}

/// Drives every input of `source` through `pipeline`, then ends the streams
/// ([`Pipeline::finish`]). The one loop that reads a whole input.
pub fn run(source: &mut impl Source, pipeline: &mut Pipeline) {
    while let Some(input) = source.next_input() {
        pipeline.push_input(&input);
    }
    pipeline.finish();
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
    while let Some(input) = source.next_input() {
        pipeline.push_input_tapped(&input, tap);
        read += 1;
        if !keep_going(read) {
            break;
        }
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
