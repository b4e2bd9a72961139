//! SIP: framing messages in byte streams, a tolerant zero-copy parser, and body dissectors.

pub mod body;
pub mod conf_uri;
pub mod message;
pub mod uri;

pub use message::{frame_datagram, frame_stream, FrameError, Hdr, Message, StartLine};
