//! The same message seen by several sources — the client's log and the Front End's log of the
//! same hop, a log and a capture, two capture agents — is one message with every origin.
//!
//! A message's identity here is what a hop does not change and a retransmission repeats:
//! Call-ID, From and To tags, CSeq, the start line, the top Via branch (a proxy forwarding a
//! request adds its own Via, so its copy on the next hop is another message, as in captures)
//! and the body's length. Two messages with that identity from **different sources** within
//! [`WINDOW_NS`] of each other are one; from the same source they stay two (a retransmission,
//! which the dialog layer counts as such).

use super::StartKind;
use crate::source::Origin;
use crate::Timestamp;
use ahash::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash, Hasher};

/// Clock skew tolerated between the machines whose logs or captures are merged: Windows
/// domain members keep within a second or two of their domain controller (W32Time); 5 s
/// leaves room for a Front End and a client in another site, and is still far below the
/// 32 s a SIP transaction may take, so distinct retries are not merged.
pub const WINDOW_NS: i64 = 5_000_000_000;
/// Messages remembered for matching (about 40 bytes each): a million is several minutes of a
/// busy Front End; the oldest are forgotten first.
pub const MAX_REMEMBERED: usize = 1 << 20;
/// Extra origins kept for listed messages (a message seen by many sources keeps them all).
pub const MAX_EXTRA_ORIGINS: usize = 1 << 20;

/// The identity of a message across sources (see the module text).
pub(crate) struct Identity<'a> {
    pub call_id: &'a [u8],
    pub from_tag: &'a [u8],
    pub to_tag: Option<&'a [u8]>,
    pub start: StartKind,
    pub cseq: Option<(u32, &'a [u8])>,
    pub branch: Option<&'a [u8]>,
    pub body_len: usize,
}

/// The index of recent messages by identity.
pub(crate) struct Copies {
    hasher: RandomState,
    /// identity hash → (source, time, listed record).
    seen: HashMap<u64, (u64, Timestamp, Option<u32>), RandomState>,
    order: VecDeque<u64>,
    /// Origins beyond the first of listed messages.
    pub(crate) extra: HashMap<u32, Vec<(Origin, u64)>, RandomState>,
    extra_len: usize,
    /// Extra origins not kept because of [`MAX_EXTRA_ORIGINS`].
    pub(crate) extra_dropped: u64,
}

/// Which source an origin belongs to: an input (capture or log) or a capture agent.
fn source_of(o: &Origin) -> u64 {
    match *o {
        Origin::Capture { input } | Origin::Log { input, .. } => u64::from(input),
        Origin::Agent { node } => (1 << 32) | u64::from(node),
    }
}

impl Copies {
    pub(crate) fn new() -> Self {
        Copies {
            hasher: RandomState::new(),
            seen: HashMap::default(),
            order: VecDeque::new(),
            extra: HashMap::default(),
            extra_len: 0,
            extra_dropped: 0,
        }
    }

    /// Is this message a copy of one already seen from another source? Then its origin is
    /// added to that message and `true` is returned; else it is remembered as `record`.
    pub(crate) fn check(
        &mut self,
        id: &Identity<'_>,
        origin: Origin,
        frame: u64,
        time: Timestamp,
        record: Option<u32>,
    ) -> bool {
        let mut h = self.hasher.build_hasher();
        id.call_id.hash(&mut h);
        id.from_tag.hash(&mut h);
        id.to_tag.hash(&mut h);
        match id.start {
            StartKind::Request(m) => (0u8, m.index()).hash(&mut h),
            StartKind::Response(s) => (1u8, s).hash(&mut h),
        }
        id.cseq.hash(&mut h);
        id.branch.hash(&mut h);
        id.body_len.hash(&mut h);
        let key = h.finish();
        let source = source_of(&origin);
        if let Some(&(first_source, first_time, first_record)) = self.seen.get(&key) {
            if first_source != source && time.0.abs_diff(first_time.0) <= WINDOW_NS.unsigned_abs() {
                if let Some(r) = first_record {
                    if self.extra_len < MAX_EXTRA_ORIGINS {
                        self.extra.entry(r).or_default().push((origin, frame));
                        self.extra_len += 1;
                    } else {
                        self.extra_dropped += 1;
                    }
                }
                return true;
            }
        }
        if self.seen.insert(key, (source, time, record)).is_none() {
            self.order.push_back(key);
            if self.order.len() > MAX_REMEMBERED {
                if let Some(old) = self.order.pop_front() {
                    self.seen.remove(&old);
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Times from hostile captures span the whole `i64`: comparing them must not overflow.
    #[test]
    fn times_far_apart_are_compared_without_overflow() {
        let mut c = Copies::new();
        let id = Identity {
            call_id: b"c",
            from_tag: b"f",
            to_tag: None,
            start: StartKind::Response(200),
            cseq: Some((1, b"INVITE")),
            branch: Some(b"z9hG4bK1"),
            body_len: 0,
        };
        let a = Origin::Capture { input: 0 };
        let b = Origin::Capture { input: 1 };
        assert!(!c.check(&id, a, 1, Timestamp(i64::MIN), Some(0)));
        assert!(!c.check(&id, b, 2, Timestamp(i64::MAX), Some(1)));
        assert!(c.check(&id, a, 3, Timestamp(i64::MAX - 1), None));
    }
}
