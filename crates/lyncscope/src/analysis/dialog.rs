//! A SIP dialog: the messages of one Call-ID and initiator tag, with its transactions.
//!
//! Transactions are told apart by CSeq and the top Via branch; a message whose transaction key
//! was seen before is a retransmission. The final status of the initial request and a
//! sngrep-like state (setup, in call, completed, rejected, …) are derived as messages arrive.

use super::symbols::{SharedTexts, Sym, Symbols};
use super::StartKind;
use crate::sip::conf_uri::aor_into;
use crate::sip::message::{Hdr, Message};
use crate::transport::MsgContext;
use crate::Timestamp;
use std::sync::Arc;

/// Distinct addresses of record shared; beyond, a dialog keeps its own copy (as many as the
/// dialogs the analysis keeps: the bound only stops a table that nothing would shrink).
const MAX_AORS: usize = 4_000_000;
/// Transaction keys remembered per dialog for retransmission detection.
pub(crate) const MAX_SEEN: usize = 64;
/// Reference counts of an `Arc<str>` allocation, counted with the dialog's bytes.
const ARC_HEADER: usize = 16;

/// What a heap allocation of `n` bytes takes from the allocator (glibc: 8 bytes of header,
/// rounded up to 16, at least 32): small identifiers cost about twice their length.
pub(crate) fn alloc_size(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        (n + 8).div_ceil(16).max(2) * 16
    }
}
/// Addresses of record shared by the dialogs that name them: a user's address is in every
/// dialog of theirs, and a copy per dialog took 9 MB at a million messages. An address stays
/// while a dialog holds it (an evicted or refused dialog gives it back: [`Aors::release`]).
pub(crate) struct Aors {
    texts: SharedTexts,
    /// Where the next address is written before it is looked up (no allocation when known).
    scratch: String,
}

impl Default for Aors {
    fn default() -> Self {
        Aors {
            texts: SharedTexts::new(MAX_AORS),
            scratch: String::new(),
        }
    }
}

impl Aors {
    /// Bytes of the table per entry it has room for.
    pub(crate) const BUCKET: usize = SharedTexts::BUCKET;

    /// The shared address of record of a From or To header (empty without one).
    pub(crate) fn of(&mut self, header: Option<&[u8]>) -> Arc<str> {
        self.scratch.clear();
        if let Some(header) = header {
            aor_into(&String::from_utf8_lossy(header), &mut self.scratch);
        }
        self.texts.of(&self.scratch)
    }

    /// A dialog lets its addresses go (evicted, or refused by the byte budget): the table
    /// forgets those no other dialog holds.
    pub(crate) fn release(&mut self, (from, to): (Arc<str>, Arc<str>)) {
        self.texts.release(from);
        self.texts.release(to);
    }

    /// Entries the table has room for.
    pub(crate) fn capacity(&self) -> usize {
        self.texts.capacity()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.texts.len()
    }
}

/// How long an unanswered request lives (RFC 3261 Timer B and F): 32 s.
const TRANSACTION_TIMEOUT_NS: i64 = 32_000_000_000;
/// How long a dialog is silent before it forgets its transaction keys: twice the longest a
/// transaction retransmits (64·T1, 32 s), so a message after that is never a copy of one
/// before. A long capture's ended dialogs held a fifth of the dialogs' memory in keys.
pub(crate) const SILENT_NS: i64 = 2 * TRANSACTION_TIMEOUT_NS;

/// What a dialog is for (conference analysis refines `Other`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum DialogKind {
    /// INVITE carrying a conference invitation (`application/ms-conf-invite+xml`).
    Invitation,
    /// INVITE to a conference focus (C3P `addUser`).
    Focus,
    /// SUBSCRIBE to a focus, `Event: conference`, and its NOTIFYs.
    Roster,
    /// INVITE to the A/V MCU.
    Media,
    /// INVITE to another MCU (IM `chat`, application sharing, …).
    Mcu,
    /// Other conference control (SERVICE to the focus factory, INFO outside a focus dialog, …).
    ConferenceControl,
    /// Not recognised as part of a conference join (a plain call, REGISTER, presence, …).
    #[default]
    Other,
}

impl DialogKind {
    /// A stable lower-case name (`"focus"`, `"conference-control"`, …), as in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            DialogKind::Invitation => "invitation",
            DialogKind::Focus => "focus",
            DialogKind::Roster => "roster",
            DialogKind::Media => "media",
            DialogKind::Mcu => "mcu",
            DialogKind::ConferenceControl => "conference-control",
            DialogKind::Other => "other",
        }
    }
}

/// Where a dialog stands, in the manner of sngrep's call states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DialogState {
    /// Initial request sent, no final response yet.
    #[default]
    Setup,
    /// INVITE answered with 2xx and not ended.
    InCall,
    /// Ended by BYE (INVITE) or answered with 2xx (other methods).
    Completed,
    /// CANCEL or 487.
    Cancelled,
    /// 486 / 600.
    Busy,
    /// 3xx.
    Diverted,
    /// Any other final failure.
    Rejected,
}

impl DialogState {
    /// A stable lower-case name (`"in-call"`, `"rejected"`, …), as in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            DialogState::Setup => "setup",
            DialogState::InCall => "in-call",
            DialogState::Completed => "completed",
            DialogState::Cancelled => "cancelled",
            DialogState::Busy => "busy",
            DialogState::Diverted => "diverted",
            DialogState::Rejected => "rejected",
        }
    }
}

/// One SIP dialog as seen in the capture: who opened it, what it is for, how it ended, and
/// where its messages are. Frames are the capture's 1-based frame numbers.
#[derive(Clone, Debug)]
pub struct Dialog {
    /// Shared with the conference steps of this dialog.
    pub call_id: std::sync::Arc<str>,
    /// From tag of the request that opened the dialog ([`Dialog::initiator_tag`]): held
    /// inline up to 24 bytes (tags are a few bytes, and a box each took 5 MB at a million
    /// messages).
    initiator_tag: compact_str::CompactString,
    /// Address-of-record of the initiator (From); empty when the header was missing. Shared
    /// by the dialogs that name the same address.
    pub from: Arc<str>,
    /// Address-of-record of the peer (To); empty when the header was missing. Shared the
    /// same way.
    pub to: Arc<str>,
    /// Method of the initial request (or of the CSeq if the capture starts with a response).
    pub method: Sym,
    /// What the dialog is for, as the conference analysis classified it.
    pub kind: DialogKind,
    /// The conference the dialog belongs to, when its URI names one (`None` otherwise).
    pub conference_id: Option<std::sync::Arc<str>>,
    /// Final status of the initial request (a 2xx of any fork wins).
    pub final_status: Option<u16>,
    /// Where the dialog stands after the messages seen so far.
    pub state: DialogState,
    /// Messages, retransmissions not counted.
    pub messages: u32,
    /// Messages whose transaction (CSeq and top Via branch) had been seen before.
    pub retransmissions: u32,
    /// Frame of the dialog's first message.
    pub first_frame: u64,
    /// Frame of the dialog's latest message (retransmissions included).
    pub last_frame: u64,
    /// Capture time of the dialog's first message.
    pub first_time: Timestamp,
    /// Capture time of the dialog's latest message (retransmissions included).
    pub last_time: Timestamp,
    /// Time of the final response to the initial request.
    pub answered_at: Option<Timestamp>,
    /// Evicted to keep the analysis within its byte budget ([`super::Limits::memory`]): its
    /// identifiers are gone (empty), the reports leave it out; its counters stay.
    pub evicted: bool,
    initial_cseq: Option<u32>,
    /// Put in the analysis' queue of ended dialogs once (a state that flips back and forth
    /// must not grow it).
    pub(crate) queued_as_ended: bool,
    pub(crate) seen: Vec<u64>,
    pub(crate) next_same_call_id: Option<u32>,
}

impl Dialog {
    /// The bytes this dialog holds: its fixed part, its identifiers by their length (a hostile
    /// Call-ID of 60 KB counts as 60 KB; an address shared with other dialogs counts in each,
    /// as if it were its own) and its transaction memory.
    /// The fixed part is counted by the analysis with its table (its capacity).
    pub(crate) fn bytes(&self) -> usize {
        if self.evicted {
            // The analysis' shared empty text, an inline empty tag, no transaction keys.
            return 0;
        }
        alloc_size(ARC_HEADER + self.call_id.len())
            + if self.initiator_tag.is_heap_allocated() {
                alloc_size(self.initiator_tag.len())
            } else {
                0
            }
            + alloc_size(ARC_HEADER + self.from.len())
            + alloc_size(ARC_HEADER + self.to.len())
            + alloc_size(self.seen.capacity() * std::mem::size_of::<u64>())
    }

    /// Whether the dialog is over, so that forgetting it loses nothing still to come: ended,
    /// refused or cancelled, or a request left unanswered for longer than a transaction lives
    /// (RFC 3261 Timer B/F, 32 s) before `now`.
    pub(crate) fn finished(&self, now: Timestamp) -> bool {
        match self.state {
            DialogState::Setup => self.last_time.0.saturating_add(TRANSACTION_TIMEOUT_NS) < now.0,
            _ => self.is_over(),
        }
    }

    /// Whether the dialog ended: by BYE or a final response that ends it, refused, cancelled.
    pub(crate) fn is_over(&self) -> bool {
        match self.state {
            DialogState::Setup | DialogState::InCall => false,
            DialogState::Completed
            | DialogState::Cancelled
            | DialogState::Busy
            | DialogState::Diverted
            | DialogState::Rejected => true,
        }
    }

    /// Drops the identifiers and the transaction memory (see [`Dialog::evicted`]); `empty` is
    /// shared by every evicted dialog, so that an evicted one allocates nothing.
    /// Returns the addresses it held, to give back to [`Aors`].
    pub(crate) fn evict(&mut self, empty: &std::sync::Arc<str>) -> (Arc<str>, Arc<str>) {
        self.call_id = std::sync::Arc::clone(empty);
        self.initiator_tag = compact_str::CompactString::default();
        let from = std::mem::replace(&mut self.from, Arc::clone(empty));
        let to = std::mem::replace(&mut self.to, Arc::clone(empty));
        self.seen = Vec::new();
        self.evicted = true;
        (from, to)
    }

    /// The addresses of a dialog that is not kept (refused by the byte budget), to give back
    /// to [`Aors`].
    pub(crate) fn into_aors(self) -> (Arc<str>, Arc<str>) {
        (self.from, self.to)
    }

    /// From tag of the request that opened the dialog.
    pub fn initiator_tag(&self) -> &str {
        &self.initiator_tag
    }

    /// Whether the dialog has been silent long enough ([`SILENT_NS`] before `now`) that no
    /// message of it can come again as a retransmission, and it still remembers transactions.
    pub(crate) fn transactions_expired(&self, now: Timestamp) -> bool {
        !self.seen.is_empty() && self.last_time.0.saturating_add(SILENT_NS) < now.0
    }

    /// Forgets the transaction keys (see [`Dialog::transactions_expired`]).
    pub(crate) fn forget_transactions(&mut self) {
        self.seen = Vec::new();
    }

    /// True when the dialog remembers as many transactions as it can: the next new one makes
    /// it forget the oldest.
    pub(crate) fn transactions_full(&self) -> bool {
        self.seen.len() >= MAX_SEEN
    }

    pub(crate) fn open(
        call_id: &[u8],
        from_tag: &[u8],
        msg: &Message<'_>,
        (method, cseq): (Sym, Option<(u32, Sym)>),
        aors: &mut Aors,
        ctx: &MsgContext,
    ) -> Self {
        Dialog {
            call_id: String::from_utf8_lossy(call_id).into(),
            initiator_tag: compact_str::CompactString::from(String::from_utf8_lossy(from_tag)),
            from: aors.of(msg.header(Hdr::From)),
            to: aors.of(msg.header(Hdr::To)),
            method,
            kind: DialogKind::Other,
            conference_id: None,
            final_status: None,
            state: DialogState::Setup,
            messages: 0,
            retransmissions: 0,
            first_frame: ctx.frame,
            last_frame: ctx.frame,
            first_time: ctx.time,
            last_time: ctx.time,
            answered_at: None,
            evicted: false,
            queued_as_ended: false,
            initial_cseq: cseq.map(|c| c.0),
            seen: Vec::new(),
            next_same_call_id: None,
        }
    }

    /// Adds a message; returns true if it is a retransmission.
    pub(crate) fn observe(
        &mut self,
        ctx: &MsgContext,
        has_to_tag: bool,
        start: StartKind,
        cseq: Option<(u32, Sym)>,
        key: u64,
        symbols: &Symbols,
    ) -> bool {
        self.last_frame = self.last_frame.max(ctx.frame);
        self.last_time = self.last_time.max(ctx.time);
        if self.seen.contains(&key) {
            self.retransmissions += 1;
            return true;
        }
        if self.seen.len() >= MAX_SEEN {
            self.seen.remove(0);
        }
        lyncscope_base::vec::push_snug(&mut self.seen, key);
        self.messages += 1;
        let is_initial =
            cseq.is_some_and(|(n, m)| Some(n) == self.initial_cseq && m == self.method);
        let method = |s: Sym| symbols.name(s);
        match start {
            StartKind::Response(status) if status >= 200 && is_initial => {
                if self.final_status.is_none_or(|f| !(200..300).contains(&f)) {
                    self.final_status = Some(status);
                    self.answered_at = Some(ctx.time);
                    self.state = state_after_final(status, method(self.method));
                }
            }
            StartKind::Request(sym) if sym == self.method && !has_to_tag => {
                // The same request again with a higher CSeq and no To tag: a new attempt, e.g.
                // after a 401/407 challenge. Its outcome is the dialog's outcome.
                if let Some((n, _)) = cseq {
                    if self.initial_cseq.is_some_and(|i| n > i) {
                        self.initial_cseq = Some(n);
                        if self.final_status.is_some_and(|f| f >= 300) {
                            self.final_status = None;
                            self.answered_at = None;
                            self.state = DialogState::Setup;
                        }
                    }
                }
            }
            StartKind::Request(m) => {
                let m = method(m);
                if m.eq_ignore_ascii_case("BYE") && self.state != DialogState::Setup {
                    self.state = DialogState::Completed;
                } else if m.eq_ignore_ascii_case("CANCEL") && self.state == DialogState::Setup {
                    self.state = DialogState::Cancelled;
                }
            }
            StartKind::Response(_) => {}
        }
        false
    }
}

fn state_after_final(status: u16, method: &str) -> DialogState {
    match status {
        200..=299 if method.eq_ignore_ascii_case("INVITE") => DialogState::InCall,
        200..=299 => DialogState::Completed,
        300..=399 => DialogState::Diverted,
        487 => DialogState::Cancelled,
        486 | 600 => DialogState::Busy,
        _ => DialogState::Rejected,
    }
}
