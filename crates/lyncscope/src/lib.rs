//! lyncscope — a SIP dissector that correlates the dialogs of Lync / Skype for Business
//! conference joins and says why a participant could not join. This crate is the whole
//! analysis, usable without the terminal UI (`lyncscope-tui`) or the command line
//! (`lyncscope-cli`).
//!
//! The quickest way in is [`analyze`]:
//!
//! ```no_run
//! let done = lyncscope::analyze(&["captures/av-mcu-rejected.pcapng"], &Default::default())?;
//! for c in done.analysis().conferences().list() {
//!     for p in &c.participants {
//!         let d = c.diagnose(p);
//!         let why = lyncscope::report::reason::reason(&d, p);
//!         println!("{} {} {:?}", p.uri, d.state.as_str(), why);
//!     }
//! }
//! # Ok::<(), lyncscope::capture::CaptureError>(())
//! ```
//!
//! The crate is one pipeline that flows in one direction; every module is one layer, and no
//! layer uses a later one:
//!
//! ```text
//! source ─▶ capture ─▶ net ─▶ transport ─▶ sip ─▶ analysis ─▶ report, output
//! (frames, messages)                (TLS hook)
//! ```
//!
//! * [`source`]: what feeds the pipeline — captured frames, or whole messages from logs and
//!   capture agents, each with its [`source::Origin`].
//! * [`capture`] yields [`capture::Frame`]s from pcap / pcapng / gzip files or stdin, or a live
//!   capture (feature `live`).
//! * [`net`] strips link layers and tunnels and reassembles IP fragments.
//! * [`transport`] turns UDP datagrams, TCP streams, SCTP chunks and WebSocket frames into
//!   SIP messages; a [`transport::StreamDecoder`] (TLS) may sit between TCP reassembly and
//!   framing.
//! * [`sip`] frames and parses SIP messages without copying; `sip::body` decodes bodies.
//! * [`analysis`] tracks dialogs, transactions and conferences, and diagnoses every join
//!   with typed causes ([`analysis::Diagnosis`]).
//! * [`report`] renders the analysis as JSON or text (and [`report::reason`] puts a diagnosis
//!   into words); [`output`] writes the packets that carried messages (`-w`, export).
//!
//! [`Pipeline`] wires the layers together with its [`Options`]; it is incremental, so the same
//! code serves a file and a live capture. [`pipeline::run`] drives a whole [`source::Source`]
//! through it, and [`analyze`] opens inputs and runs them in one call.
//!
//! Nothing that input can reach panics: parsers return errors or `None`, every bound that
//! drops data counts what it dropped, and `unsafe` code is forbidden.

#![warn(missing_docs)]

pub mod analysis;
pub mod bounds;
pub mod capture;
pub mod hep;
pub mod inputs;
pub mod logs;
pub mod net;
pub mod output;
pub mod pipeline;
pub mod report;
pub mod sip;
pub mod source;
pub mod tls;
pub mod transport;

pub use lyncscope_base::{linktype, time, Timestamp};
pub use pipeline::{analyze, Analyzed};
pub use pipeline::{Options, Pipeline};
