//! SIP: framing messages in byte streams, a tolerant zero-copy parser, and body dissectors.

pub mod body;
pub mod conf_uri;
