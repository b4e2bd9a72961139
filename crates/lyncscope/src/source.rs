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
//! [`Source`] is what a reader of inputs implements; [`crate::pipeline::run`] drives a source
//! through a [`crate::Pipeline`].

use crate::capture::{CaptureFiles, Frame};
use crate::Timestamp;
use std::net::SocketAddr;

/// How a SIP message travelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// SCTP.
    Sctp,
    /// WebSocket over TCP (RFC 7118).
    Ws,
    /// TLS over TCP, decrypted by a [`crate::transport::StreamDecoder`].
    Tls,
}

impl Transport {
    /// The name used in the JSON report (`udp`, `tcp`, `sctp`, `ws`, `tls`).
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Sctp => "sctp",
            Transport::Ws => "ws",
            Transport::Tls => "tls",
        }
    }
}

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

impl Origin {
    /// Where, without a log record's line; and that line (0 for other origins).
    pub fn split(self) -> (Seen, u32) {
        match self {
            Origin::Capture { input } => (Seen::Capture { input }, 0),
            Origin::Log { input, line } => (Seen::Log { input }, line),
            Origin::Agent { node } => (Seen::Agent { node }, 0),
        }
    }
}

/// Where the messages of one flow were seen: an [`Origin`] without a log record's line (each
/// message has its own).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Seen {
    /// Captured frames of input number `input`.
    Capture {
        /// Index of the input.
        input: u32,
    },
    /// A text log, input number `input`.
    Log {
        /// Index of the input.
        input: u32,
    },
    /// A HEP capture agent, by its node id.
    Agent {
        /// The agent's capture id (HEP chunk 0x000c).
        node: u32,
    },
}

impl Seen {
    /// The origin of a message seen here; `line` is a log record's (ignored for others).
    pub fn at(self, line: u32) -> Origin {
        match self {
            Seen::Capture { input } => Origin::Capture { input },
            Seen::Log { input } => Origin::Log { input, line },
            Seen::Agent { node } => Origin::Agent { node },
        }
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

/// A server diagnostic record of a SIPStack log (read by `crate::logs`), owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerEvent {
    /// The log's input index and the record's line.
    pub origin: Origin,
    /// The machine or component that logged it.
    pub source: Option<String>,
    /// When.
    pub time: Option<Timestamp>,
    /// Trace level (`ERROR`, `WARN`, …).
    pub level: Option<String>,
    /// `Result-Code` as a number, and its symbolic name when the record gives it.
    pub result_code: Option<(u32, Option<String>)>,
    /// `Text`.
    pub text: Option<String>,
    /// `SIP-Call-ID`.
    pub call_id: Option<String>,
    /// `SIP-CSeq`.
    pub cseq: Option<String>,
    /// `SIP-Start-Line`.
    pub start_line: Option<String>,
    /// `Peer`.
    pub peer: Option<String>,
    /// `Data`.
    pub data: Option<String>,
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

    /// TLS key log text the inputs carried (a pcapng Decryption Secrets Block) since the last
    /// call; the pipeline adds it to its key material.
    fn take_secrets(&mut self) -> Option<Vec<u8>> {
        None
    }

    /// Server diagnostic records (a SIPStack log's `TF_DIAG`) read since the last call; the
    /// pipeline attaches them to the dialogs of their Call-ID.
    fn take_events(&mut self) -> Vec<ServerEvent> {
        Vec::new()
    }
}

impl Source for CaptureFiles {
    fn next_input(&mut self) -> Option<Input<'_>> {
        self.next_frame().map(Input::Frame)
    }

    fn take_secrets(&mut self) -> Option<Vec<u8>> {
        CaptureFiles::take_secrets(self)
    }
}
