//! HEP (Homer Encapsulation Protocol) for lyncscope: a zero-copy v1/v2/v3
//! decoder, a HEP3 encoder, a TCP stream splitter, a collector ([`Listener`])
//! and a sender ([`Sender`]), on std threads only.
//!
//! Every input is untrusted: decoding never panics, every malformation has its
//! own [`HepError`] variant, and every bound (queue packets and bytes, TCP
//! connections, per-connection buffers) counts what it drops.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)
)]

pub mod auth;
pub mod decode;
pub mod encode;
pub mod listener;
pub mod sender;
pub mod spec;
pub mod split;

pub use auth::auth_key_matches;
pub use decode::{
    chunk, decode, proto_type, ErrorKind, HepError, HepMeta, HepPacket, HepVersion, MissingChunk,
    MAX_HEP3_PACKET,
};
pub use encode::{encode_v3, encoded_len, EncodeError, HepOut};
pub use listener::{
    Listener, ListenerConfig, ListenerStats, PacketBatch, PacketRef, ReceivedPacket, RecvError,
    StopHandle,
};
pub use sender::{SendError, Sender, SenderConfig, SenderStats};
pub use spec::{ListenSpec, SendSpec, SpecError, Transport};
pub use split::{Hep3Splitter, SplitterStats};
