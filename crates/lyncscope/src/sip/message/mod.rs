//! A tolerant, zero-copy SIP message view.
//!
//! [`Message`] borrows the bytes it was framed from: the start line, the header block and the
//! body are slices, and the headers the hot path needs (Call-ID, CSeq, From, To, the top Via,
//! Content-Type, Content-Length, …) are indexed in one pass into a fixed array, so parsing a
//! message allocates nothing. Everything else is found on demand by [`Message::headers`].
//!
//! Tolerance follows what real traffic and RFC 4475 throw at a dissector: any method token
//! (`SERVICE`, `BENOTIFY`, lowercase `options`), compact header names (`i`, `v`, `l`, …), LF-only
//! line ends, folded (continued) header lines, `Via :` with space before the colon, bytes that are
//! not UTF-8, and a Content-Length that is missing, invalid, shorter or longer than the data.
//!
//! Framing — where a message ends — depends on the transport, so it lives here too:
//! [`frame_datagram`] (UDP, SCTP, WebSocket: the datagram bounds the message) and
//! [`frame_stream`] (TCP: Content-Length decides, and more bytes may be needed).

mod framing;
mod index;
mod params;
mod start_line;
mod text;
mod view;

#[cfg(test)]
mod hostile;
#[cfg(test)]
mod samples;

pub use framing::{frame_datagram, frame_stream, FrameError};
pub(crate) use framing::{frame_stream_resume, leading_line_breaks, StreamProgress};
pub use index::{ContentLength, Hdr};
pub(crate) use params::cseq_is_canonical;
pub use start_line::StartLine;
pub(crate) use start_line::{bad_start_line, looks_like_start, method_start, parse_start_line};
pub(crate) use text::trim;
pub use text::unfold;
pub use view::{Detached, HeaderIter, Message};

/// Upper bounds that keep hostile input from holding memory or time.
pub mod limits {
    /// A header block longer than this is not SIP (or not worth waiting for).
    pub const MAX_HEADER_BYTES: usize = 64 * 1024;
    /// A Content-Length above this is treated as invalid.
    pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
}
