//! SIP: framing messages in byte streams, a tolerant zero-copy parser, and body dissectors.

// Parsing layers: input bytes can be anything, so no indexing or unwrapping may panic on them.
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)
)]

pub mod body;
pub mod conf_uri;
pub mod message;
pub mod uri;
pub mod user_agent;

pub use message::{frame_datagram, frame_stream, FrameError, Hdr, Message, StartLine};
