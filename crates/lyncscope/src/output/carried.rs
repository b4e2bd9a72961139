//! The one rule that tells which frames carried a message, used by `-w` during a run
//! ([`super::sip_writer`]) and by the export after it ([`super::export`]), so both write the
//! same frames for the same message.
//!
//! The pipeline knows a message's frame range (`first_frame ..= frame`), its addresses, and
//! whether its datagram was reassembled from IP fragments or quoted in an ICMP error. Within
//! the range, a frame carried the message when:
//! * it is the completing frame (`frame`): always;
//! * the message came in one frame or in an ICMP error: only that frame;
//! * the datagram was reassembled from IP fragments: the fragments with the completing
//!   frame's IP identification and (outer) address pair — a tunnel's fragments carry the
//!   tunnel's addresses, not the message's;
//! * otherwise: the same IP source and destination and, when the frame carries them, the same
//!   ports (a fragment after the first has none; the IP pair decides).

use crate::analysis::{Analysis, MessageRecord};
use crate::net::FrameFlow;
use crate::transport::MsgContext;
use std::net::{IpAddr, SocketAddr};

/// Where one message was in the capture: enough to find the frames that carried it again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageSpan {
    /// The first frame that carried part of the message.
    pub first_frame: u64,
    /// The frame that completed it.
    pub frame: u64,
    /// The message's source address and port.
    pub src: SocketAddr,
    /// The message's destination address and port.
    pub dst: SocketAddr,
    /// The datagram was reassembled from IP fragments.
    pub ip_reassembled: bool,
    /// The message was quoted in an ICMP error.
    pub icmp_quoted: bool,
}

impl MessageSpan {
    /// The span of a message row of the analysis `a`.
    pub fn of(a: &Analysis, r: &MessageRecord) -> Self {
        let flow = a.flow(r.flow());
        MessageSpan {
            first_frame: r.first_frame(a).min(r.frame()),
            frame: r.frame(),
            src: flow.src,
            dst: flow.dst,
            ip_reassembled: r.ip_reassembled(),
            icmp_quoted: r.icmp_quoted(),
        }
    }
}

impl From<&MsgContext> for MessageSpan {
    fn from(c: &MsgContext) -> Self {
        MessageSpan {
            first_frame: c.first_frame.min(c.frame),
            frame: c.frame,
            src: c.src,
            dst: c.dst,
            ip_reassembled: c.ip_reassembled,
            icmp_quoted: c.icmp_quoted,
        }
    }
}

/// The frames of one message's range that carried it (the rule in the module's text).
#[derive(Clone, Copy, Debug)]
pub struct Carrier {
    last: u64,
    single: bool,
    src: IpAddr,
    dst: IpAddr,
    ports: (u16, u16),
    fragment: Option<(IpAddr, IpAddr, u32)>,
}

impl Carrier {
    /// The rule for `span`, given the flow of its completing frame (which tells a reassembled
    /// datagram's IP identification).
    pub fn new(span: &MessageSpan, completing: Option<&FrameFlow>) -> Self {
        let fragment = match completing {
            Some(&FrameFlow {
                src,
                dst,
                fragment_id: Some(id),
                ..
            }) if span.ip_reassembled => Some((src, dst, id)),
            _ => None,
        };
        Carrier {
            last: span.frame,
            single: span.first_frame >= span.frame || span.icmp_quoted,
            src: span.src.ip(),
            dst: span.dst.ip(),
            ports: (span.src.port(), span.dst.port()),
            fragment,
        }
    }

    /// Frame `number` (within the span's range) with `flow` carried the message.
    pub fn carried(&self, number: u64, flow: Option<&FrameFlow>) -> bool {
        number == self.last || (!self.single && self.matches(flow))
    }

    /// A frame other than the completing one with `flow` belongs to the message.
    pub fn matches(&self, flow: Option<&FrameFlow>) -> bool {
        let Some(f) = flow else {
            return false;
        };
        match self.fragment {
            Some((src, dst, id)) => f.fragment_id == Some(id) && f.src == src && f.dst == dst,
            None => {
                f.src == self.src
                    && f.dst == self.dst
                    // A non-first fragment has no ports: the IP pair decides.
                    && f.ports.is_none_or(|p| p == self.ports)
            }
        }
    }

    /// Only the completing frame carried the message.
    pub fn single(&self) -> bool {
        self.single
    }
}
