//! lyncscope — a SIP dissector that correlates the dialogs of Lync / Skype for Business
//! conference joins.
//!
//! The crate is one pipeline that flows in one direction; every module is one layer:
//!
//! ```text
//! capture ─▶ net ─▶ transport ─▶ sip ─▶ analysis ─▶ report, tui
//! ```
//!
//! * [`capture`] yields [`capture::Frame`]s from pcap / pcapng / gzip files or stdin, or a live
//!   capture (feature `live`); it also writes the packets that carried SIP (`-w`).
//! * [`net`] strips link layers and tunnels and reassembles IP fragments.
//! * [`transport`] turns UDP datagrams, TCP streams, SCTP chunks and WebSocket frames into
//!   SIP message byte ranges.
//! * [`sip`] frames and parses SIP messages without copying; `sip::body` decodes bodies.
//! * [`analysis`] tracks dialogs and transactions (and conferences).
//! * [`report`] renders the analysis as JSON or text; [`tui`] is the terminal UI over it;
//!   [`export`] writes the packets of selected messages to pcap.
//!
//! [`pipeline::Pipeline`] wires the layers together; it is incremental, so the same code serves
//! a file and a live capture.

#![warn(missing_docs)]

pub mod analysis;
pub mod capture;
pub mod net;
pub mod output;
pub mod pipeline;
pub mod report;
pub mod sip;
pub mod source;
pub mod transport;

pub use lyncscope_base::{linktype, time, Timestamp};
pub use pipeline::{Options, Pipeline};
pub use source::{analyze, Analyzed};
