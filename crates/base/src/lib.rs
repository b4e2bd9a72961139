//! The base of lyncscope: what every layer, the sample generator and the outputs share, with no
//! dependency of its own.
//!
//! * [`time::Timestamp`]: nanoseconds since the Unix epoch, UTC;
//! * [`linktype`]: the `LINKTYPE_*` registry of pcap and pcapng;
//! * [`writer`]: pcap and pcapng writers (the `-w` output, the UI's export, the generator);
//! * [`join`]: a participant's join state and the step that failed;
//! * [`mod@vec`]: growing long-lived lists with little spare room.
//!
//! Nothing here parses untrusted input.

#![warn(missing_docs)]

pub mod join;
pub mod linktype;
pub mod time;
pub mod vec;
pub mod writer;

pub use time::Timestamp;
