//! Analysis: what the SIP messages of a capture mean together.
//!
//! [`Analysis`] receives every framed message (it is the transport layer's [`SipSink`]) and
//! keeps:
//!
//! * a compact [`MessageRecord`] per message (numbers and interned strings, no message bytes);
//! * the [`Dialog`]s, found by Call-ID and tags, with transactions by CSeq and top-Via branch so
//!   that retransmissions are recognised: they stay visible in the message list but are not
//!   counted as new messages of their dialog;
//! * the final status of each dialog's initial request.
//!
//! It is incremental: a file and a live capture feed it the same way, and it can be read at any
//! moment. Every map that input can grow is bounded, and what is dropped is counted.

mod conference;
pub mod copies;
pub mod dialog;
pub mod lanes;
pub mod media;
pub mod store;
pub mod symbols;

pub use conference::{
    Access, C3pCode, C3pOutcome, Cause, Conference, ConferenceStats, Conferences, Diagnosis,
    EdgeTrust, EndedBy, Ending, IceFlavour, JoinState, JoinStep, LobbyDecision, Participant,
    Removal, Step,
};
pub(crate) use conference::{MAX_ATTEMPTS, MAX_DEVICES, MAX_DIAL_OUTS, MAX_PARTICIPANTS};
pub use dialog::{Dialog, DialogKind, DialogState};
pub use store::MessageStore;
pub use symbols::{Sym, Symbols};

use crate::sip::body::BodyKind;
use crate::sip::message::{ContentLength, Message};
use crate::source::{Origin, Seen};
use crate::transport::{MsgContext, SipSink, Transport};
use crate::Timestamp;
use ahash::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::SocketAddr;

/// Most dialogs tracked; messages of further Call-IDs are still recorded, without a dialog.
const MAX_DIALOGS: usize = 4_000_000;
/// Most dialogs under one Call-ID (forks); see [`Analysis::track_dialog`].
pub(crate) const MAX_DIALOGS_PER_CALL_ID: usize = 64;
/// Most messages recorded; beyond, messages are counted but not listed.
const MAX_MESSAGES: usize = 50_000_000;
/// Entries the change log keeps (see [`Analysis::changes_since`]): 1 MiB.
const CHANGE_LOG: usize = 1 << 18;
/// Bytes of the Call-ID index per entry it has room for: a bucket (key, value, control byte),
/// with 8 buckets for every 7 entries (the table's load factor).
const CALL_ID_BUCKET: usize = (std::mem::size_of::<CallIdChain>() + 1) * 8 / 7;

/// How much the analysis keeps; beyond each bound, what does not fit is counted
/// ([`AnalysisStats::messages_not_listed`], [`AnalysisStats::dialogs_dropped`],
/// [`ConferenceStats::conferences_dropped`](ConferenceStats)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Messages listed (and, with the message store, stored); further ones are only counted.
    pub messages: usize,
    /// Dialogs tracked; messages of further dialogs are listed without a dialog.
    pub dialogs: usize,
    /// Conferences tracked.
    pub conferences: usize,
    /// Bytes the analysis' state may take (dialogs with their identifiers, message rows,
    /// interned strings): beyond, the oldest finished dialogs are evicted, and when none is
    /// left new dialogs and message rows are refused; both are counted
    /// ([`AnalysisStats::dialogs_evicted`], [`AnalysisStats::dialogs_refused_memory`]).
    pub memory: usize,
}

/// The default byte budget of the analysis ([`Limits::memory`]): 1 GiB, several times what the
/// largest real captures need (4 million ordinary dialogs take about 0.5 GiB).
pub const DEFAULT_MEMORY: usize = 1 << 30;

impl Default for Limits {
    /// The bounds for reading files: far beyond any capture a person opens.
    fn default() -> Self {
        Limits {
            messages: MAX_MESSAGES,
            dialogs: MAX_DIALOGS,
            conferences: conference::MAX_CONFERENCES,
            memory: DEFAULT_MEMORY,
        }
    }
}

/// The dialogs touched by recent messages, in order, for views that keep state derived from
/// the analysis (a filtered list must look at a row again when its dialog or conference
/// changed). A bounded ring: a reader that fell behind by more than its capacity is told so and
/// looks at everything again.
#[derive(Default)]
struct ChangeLog {
    ids: std::collections::VecDeque<u32>,
    /// Sequence number of `ids[0]`.
    start: u64,
}

impl ChangeLog {
    fn push(&mut self, dialog: u32) {
        if self.ids.len() >= CHANGE_LOG {
            self.ids.pop_front();
            self.start += 1;
        }
        self.ids.push_back(dialog);
    }

    fn end(&self) -> u64 {
        self.start + self.ids.len() as u64
    }
}

/// A request's method or a response's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartKind {
    /// A request, by its method.
    Request(Sym),
    /// A response, by its status code.
    Response(u16),
}

/// Where messages travelled: sender, receiver and transport, and where they were seen. Every
/// message row refers to its flow by a [`FlowId`], so the two addresses (64 bytes) are held
/// once per flow, not once per message (a capture has thousands of flows for a million
/// messages).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Flow {
    /// Sender address and port.
    pub src: SocketAddr,
    /// Receiver address and port.
    pub dst: SocketAddr,
    /// How it travelled.
    pub transport: Transport,
    /// `LINKTYPE_*` of the frames that completed its messages (0 for messages that came whole
    /// from a log or a capture agent).
    pub link_type: u32,
    /// Which input (or capture agent) saw them.
    pub seen: Seen,
}

/// A [`Flow`] of one analysis: [`Analysis::flow`] looks it up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowId(u32);

impl FlowId {
    /// Its place in [`Analysis::flows`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What a flow costs beyond its row in [`Analysis::flows`]: its entry in the flow index (the
/// key, the id, the control byte, and the room a hash table keeps free).
const FLOW_INDEX_ENTRY: usize = (std::mem::size_of::<Flow>() + 4 + 1) * 8 / 7;

/// One SIP message, as the report and the views need it: 48 bytes, as the terminal UI holds a
/// million of them. What is the same for many messages is in its [`Flow`]; what few messages
/// have (an unusual CSeq text, a first frame far before the last, a size over 64 MiB) is in
/// a side entry.
#[derive(Clone, Debug)]
pub struct MessageRecord {
    frame: u64,
    time: Timestamp,
    flow: FlowId,
    /// A log's record line; else how many frames before `frame` the first one is. With
    /// [`ASIDE`]: the place of the row's side entry in `Analysis::aside`.
    place: u32,
    start: PackedStart,
    cseq: Option<(u32, Sym)>,
    content_type: Option<Sym>,
    /// The dialog's index plus one.
    dialog: Option<std::num::NonZeroU32>,
    /// The size in the low [`SIZE_BITS`], the flags above.
    size_flags: u32,
}

/// Bits of `MessageRecord::size_flags` that hold the size: 64 MiB, far above what the SIP
/// parser frames (64 KiB of headers and 16 MiB of body); a larger one is in the side entry.
const SIZE_BITS: u32 = 26;
const RETRANSMISSION: u32 = 1 << 31;
const IP_REASSEMBLED: u32 = 1 << 30;
const REASSEMBLED: u32 = 1 << 29;
const ICMP_QUOTED: u32 = 1 << 28;
/// The row has a side entry (`Aside`).
const ASIDE: u32 = 1 << 27;

/// What a row cannot hold, for the few rows that need it: the first frame more than
/// `u32::MAX` frames before the last (or after it, or a log record over several numbers), an
/// unusual CSeq text, a size over 64 MiB.
#[derive(Clone, Debug)]
struct Aside {
    first_frame: u64,
    line: u32,
    size: u32,
    /// The CSeq text as written, when it is not `<number> <method>`.
    cseq_raw: Option<Box<str>>,
}

/// A [`StartKind`] in four bytes: a request's method [`Sym`] (never 0, at most
/// `MAX_SYMBOLS`), or a response's status with the top bit set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PackedStart(u32);

const RESPONSE: u32 = 1 << 31;

impl PackedStart {
    fn new(start: StartKind) -> Self {
        match start {
            StartKind::Request(m) => PackedStart(m.raw()),
            StartKind::Response(code) => PackedStart(RESPONSE | u32::from(code)),
        }
    }

    fn get(self) -> StartKind {
        if self.0 & RESPONSE != 0 {
            return StartKind::Response(self.0 as u16);
        }
        // `new` only packs symbols, which are never 0.
        Sym::from_raw(self.0).map_or(StartKind::Request(Symbols::OVERFLOW), StartKind::Request)
    }
}

impl MessageRecord {
    /// The frame that completed the message (a log record's or an agent's message number).
    pub fn frame(&self) -> u64 {
        self.frame
    }

    /// When the frame that completed it was captured (or the log says it was sent).
    pub fn time(&self) -> Timestamp {
        self.time
    }

    /// Sender, receiver, transport, link type and input: [`Analysis::flow`].
    pub fn flow(&self) -> FlowId {
        self.flow
    }

    /// Request method or response status.
    pub fn start(&self) -> StartKind {
        self.start.get()
    }

    /// CSeq number and method, when the CSeq header parses.
    pub fn cseq(&self) -> Option<(u32, Sym)> {
        self.cseq
    }

    /// The Content-Type, without parameters.
    pub fn content_type(&self) -> Option<Sym> {
        self.content_type
    }

    /// Index of its dialog in [`Analysis::dialogs`]; `None` beyond the dialog bound or
    /// without a Call-ID.
    pub fn dialog(&self) -> Option<u32> {
        self.dialog.map(|d| d.get() - 1)
    }

    /// A retransmission of a message already seen (same transaction, same start line).
    pub fn retransmission(&self) -> bool {
        self.size_flags & RETRANSMISSION != 0
    }

    /// The message's size in bytes; `a` is the analysis the row is from.
    pub fn size(&self, a: &Analysis) -> u32 {
        match self.aside(a) {
            Some(x) => x.size,
            None => self.size_flags & ((1 << SIZE_BITS) - 1),
        }
    }

    /// Its datagram was reassembled from IP fragments.
    pub fn ip_reassembled(&self) -> bool {
        self.size_flags & IP_REASSEMBLED != 0
    }

    /// It spanned several TCP segments (or WebSocket / SCTP fragments).
    pub fn reassembled(&self) -> bool {
        self.size_flags & REASSEMBLED != 0
    }

    /// It was quoted in an ICMP error.
    pub fn icmp_quoted(&self) -> bool {
        self.size_flags & ICMP_QUOTED != 0
    }

    /// Its side entry, when it has one.
    fn aside<'a>(&self, a: &'a Analysis) -> Option<&'a Aside> {
        if self.size_flags & ASIDE == 0 {
            return None;
        }
        a.aside.get(self.place as usize)
    }

    /// The first frame that carried part of it (see [`MsgContext::first_frame`]); `a` is the
    /// analysis the row is from.
    pub fn first_frame(&self, a: &Analysis) -> u64 {
        if let Some(x) = self.aside(a) {
            return x.first_frame;
        }
        match a.flow(self.flow).seen {
            Seen::Log { .. } => self.frame,
            _ => self.frame.saturating_sub(u64::from(self.place)),
        }
    }

    /// Where the message was seen (captured frames, a log line, a capture agent); `a` is the
    /// analysis the row is from.
    pub fn origin(&self, a: &Analysis) -> Origin {
        let line = self.aside(a).map_or(self.place, |x| x.line);
        a.flow(self.flow).seen.at(line)
    }

    /// `LINKTYPE_*` of the frame that completed the message; `a` is the analysis the row is
    /// from.
    pub fn link_type(&self, a: &Analysis) -> u32 {
        a.flow(self.flow).link_type
    }

    /// Whether the CSeq text was unusual, kept as written ([`MessageRecord::cseq_text`]); `a`
    /// is the analysis the row is from.
    pub fn cseq_is_unusual(&self, a: &Analysis) -> bool {
        self.aside(a).is_some_and(|x| x.cseq_raw.is_some())
    }

    /// The CSeq as text: as written when it is unusual, else rebuilt from its parts (`a` is
    /// the analysis the row is from).
    pub fn cseq_text(&self, a: &Analysis) -> Option<String> {
        let raw = self.aside(a).and_then(|x| x.cseq_raw.as_deref());
        match (raw, self.cseq) {
            (Some(raw), _) => Some(raw.to_string()),
            (None, Some((n, m))) => Some(format!("{n} {}", a.symbols.name(m))),
            (None, None) => None,
        }
    }
}

/// Counters of the analysis.
#[derive(Debug, Default, Clone)]
pub struct AnalysisStats {
    /// SIP messages seen (every one, listed or not).
    pub sip_messages: u64,
    /// Of those, requests.
    pub sip_requests: u64,
    /// Of those, responses.
    pub sip_responses: u64,
    /// Retransmissions among them.
    pub retransmissions: u64,
    /// Messages dissected with defects: no Call-ID, no usable CSeq, header lines without a colon,
    /// an invalid Content-Length, or a body shorter than its Content-Length.
    pub defective_messages: u64,
    /// Messages without a Call-ID (no dialog can hold them).
    pub without_call_id: u64,
    /// Dialogs not tracked: the dialog table was full ([`Limits::dialogs`]), or their Call-ID
    /// already had 64 dialogs (of these, [`dialogs_dropped_per_call_id`](Self::dialogs_dropped_per_call_id)).
    /// Their messages are still counted (and listed), without a dialog.
    pub dialogs_dropped: u64,
    /// Of `dialogs_dropped`, those over the bound of 64 dialogs under one Call-ID.
    pub dialogs_dropped_per_call_id: u64,
    /// Messages of a dialog that had more than 64 transactions: the oldest transaction's key
    /// was forgotten, so a retransmission of it arriving later counts as a new message.
    pub transactions_forgotten: u64,
    /// Messages not listed because the message list was full.
    pub messages_not_listed: u64,
    /// Copies of a message seen by another source (a second log, a capture of the same hop,
    /// another capture agent), merged into the first: not counted in `sip_messages`.
    pub copies_merged: u64,
    /// Server diagnostic records not kept because of the bound.
    pub server_events_dropped: u64,
    /// Finished dialogs evicted to keep the analysis within its byte budget
    /// ([`Limits::memory`]): they are left out of the dialog list and the conferences; their
    /// messages are still counted.
    pub dialogs_evicted: u64,
    /// Dialogs refused because the analysis was at its byte budget with no finished dialog
    /// left to evict: their messages are counted (and listed), without a dialog.
    pub dialogs_refused_memory: u64,
    /// Message rows refused for the same reason (with `--messages` or the UI): the messages
    /// are counted, not listed.
    pub messages_refused_memory: u64,
}

/// The analysis of every SIP message: the message list, dialogs and conferences, with their
/// counters. It is the [`SipSink`] the transport layer hands messages to.
pub struct Analysis {
    /// Interned strings (methods, content types) that records refer to by [`Sym`].
    pub symbols: Symbols,
    messages: Vec<MessageRecord>,
    /// The side entries of the rows that have one ([`Aside`]).
    aside: Vec<Aside>,
    /// The flows of the listed messages, and their index.
    flows: Vec<Flow>,
    flow_index: HashMap<Flow, FlowId, RandomState>,
    dialogs: Vec<Dialog>,
    /// First dialog of each Call-ID; further dialogs of the same Call-ID are chained.
    /// The dialogs of each Call-ID. An entry holds no copy of the Call-ID: it is compared with
    /// its first dialog's (a copy per dialog took 10 MB at a million messages).
    by_call_id: hashbrown::HashTable<CallIdChain>,
    /// The dialogs' addresses of record, shared.
    aors: dialog::Aors,
    hasher: RandomState,
    stats: AnalysisStats,
    keep_messages: bool,
    /// Conference analysis on (the default); off only to measure its cost.
    analyse_conferences: bool,
    conferences: Conferences,
    /// The body kind of each interned content type (by [`Sym::index`]), for the conference
    /// analysis.
    body_kinds: Vec<Option<BodyKind>>,
    /// Every listed message's bytes, for the views (opt-in: [`Analysis::with_message_store`]).
    store: Option<MessageStore>,
    limits: Limits,
    /// Dialogs touched, for the views (opt-in: [`Analysis::with_change_log`]).
    changes: Option<ChangeLog>,
    /// Messages by identity across sources (opt-in: [`Analysis::with_merged_copies`]).
    copies: Option<copies::Copies>,
    /// Servers' diagnostic records (from logs), and their indices by Call-ID.
    server_events: Vec<crate::logs::ServerEvent>,
    events_by_call_id: HashMap<Box<str>, Vec<u32>, RandomState>,
    /// The byte budget's accounting.
    memory: Memory,
}

/// What the analysis holds in bytes, and where eviction goes on.
#[derive(Default)]
struct Memory {
    /// Bytes of dialogs' identifiers, their Call-ID index keys and message rows' own text,
    /// live now (the symbol table and the conferences keep their own count).
    used: usize,
    /// The most `used` has been. These are small heap blocks: the allocator keeps the blocks
    /// an eviction frees for the next identifiers and does not give them back to the system,
    /// so the process holds this much whatever `used` fell to since.
    used_peak: usize,
    /// The most entries the Call-ID index had room for: its buckets, which never shrink
    /// (removed keys leave tombstones that lower `capacity()`, not the memory).
    index_capacity: usize,
    /// Ordinary dialogs in the order they ended (ended, refused, cancelled): the first to
    /// evict. An entry whose dialog changed since is skipped when it comes up.
    ended: std::collections::VecDeque<u32>,
    /// Ordinary dialogs in the order they opened, for requests never answered: evicted once
    /// unanswered for 32 s; entries of dialogs that were answered are skipped.
    opened: std::collections::VecDeque<u32>,
    /// The newest message time: a request unanswered for 32 s before it is over.
    now: Timestamp,
    /// The Call-ID of every evicted dialog (one allocation for all).
    empty: std::sync::Arc<str>,
    /// When dialogs last forgot expired transactions: the capture time and the message count.
    last_sweep: (Timestamp, u64),
}

impl Default for Analysis {
    fn default() -> Self {
        Self::new(true)
    }
}

impl Analysis {
    /// `keep_messages`: whether to list every message (for `--messages` and the views); the
    /// counts and dialogs are kept either way.
    pub fn new(keep_messages: bool) -> Self {
        Analysis {
            symbols: Symbols::default(),
            messages: Vec::new(),
            aside: Vec::new(),
            flows: Vec::new(),
            flow_index: HashMap::default(),
            dialogs: Vec::new(),
            by_call_id: hashbrown::HashTable::new(),
            aors: dialog::Aors::default(),
            hasher: RandomState::new(),
            stats: AnalysisStats::default(),
            keep_messages,
            analyse_conferences: true,
            conferences: Conferences::default(),
            body_kinds: Vec::new(),
            store: None,
            limits: Limits::default(),
            changes: None,
            copies: None,
            server_events: Vec::new(),
            events_by_call_id: HashMap::default(),
            memory: Memory::default(),
        }
    }

    /// Bytes the analysis' state takes as the byte budget counts them
    /// ([`Limits::memory`]): dialogs with their identifiers and Call-ID index, message rows,
    /// interned strings, conferences and participants.
    ///
    /// Identifiers are counted at the most they have taken at once (see `Memory::used_peak`):
    /// the resident memory an eviction frees is reused, not returned, so what the process
    /// holds is that peak plus the tables.
    pub fn memory_used(&self) -> usize {
        self.memory.used.max(self.memory.used_peak) + self.fixed_bytes()
    }

    /// What eviction cannot lower: the tables (an evicted dialog keeps its place), the
    /// interned strings, the conferences (their A/V steps' media flows too) and the media
    /// index.
    fn fixed_bytes(&self) -> usize {
        self.tables_bytes()
            + self.symbols.bytes
            + self.conferences.bytes
            + self.conferences.media_bytes()
    }

    /// `more` bytes of identifiers were added to the live count.
    fn add_used(&mut self, more: usize) {
        self.memory.used += more;
        self.memory.used_peak = self.memory.used_peak.max(self.memory.used);
    }

    /// Bytes of the tables: the dialogs and message rows by their length (a large vector
    /// grows by remapping its pages, and the pages beyond its length are not touched, so not
    /// resident), the eviction queues by their capacity (a ring moves its entries about, and
    /// keeps its room when they are taken), the Call-ID index by its buckets (a hash table
    /// initialises all of them).
    fn tables_bytes(&self) -> usize {
        self.dialogs.len() * std::mem::size_of::<Dialog>()
            + self.messages.len() * std::mem::size_of::<MessageRecord>()
            + self.flows.len() * std::mem::size_of::<Flow>()
            + self.flow_index.capacity() * FLOW_INDEX_ENTRY
            + self.index_capacity() * CALL_ID_BUCKET
            + self.aors.capacity() * dialog::Aors::BUCKET
            + (self.memory.ended.capacity() + self.memory.opened.capacity())
                * std::mem::size_of::<u32>()
    }

    /// Bytes the Call-ID index takes more when one entry is added: when it is full, it moves
    /// into a table twice the size, and both are held while it moves.
    /// A full table with as many tombstones as entries rehashes in place instead (no new
    /// memory).
    fn index_growth(&self) -> usize {
        let (len, capacity) = (self.by_call_id.len(), self.by_call_id.capacity());
        let most = self.index_capacity();
        if len < capacity || len < most / 2 {
            0
        } else {
            3 * most.max(2) * CALL_ID_BUCKET
        }
    }

    /// The Call-ID index's room by its buckets (see `Memory::index_capacity`).
    fn index_capacity(&self) -> usize {
        self.memory.index_capacity.max(self.by_call_id.capacity())
    }

    /// Dialogs in [`Analysis::dialogs`] that were not evicted.
    pub fn dialogs_kept(&self) -> usize {
        self.dialogs
            .len()
            .saturating_sub(usize::try_from(self.stats.dialogs_evicted).unwrap_or(usize::MAX))
    }

    /// True when `heap` more bytes of identifiers and `fixed` more bytes of tables fit in the
    /// budget, after evicting finished dialogs if needed.
    ///
    /// Evicting frees identifiers, whose blocks the next identifiers reuse (the allocator keeps
    /// them: see `Memory::used_peak`), never the tables, which only grow (an evicted dialog
    /// keeps its row). So identifiers are evicted once they take half the budget (or 7/8 of
    /// what the tables leave), which keeps the rest for rows, and an item is refused when the
    /// identifiers' peak and the tables fill the budget (evicting then would free nothing a
    /// row can use).
    fn make_room(&mut self, heap: usize, fixed: usize) -> bool {
        let room = self
            .limits
            .memory
            .saturating_sub(self.fixed_bytes().saturating_add(fixed));
        let (used, peak) = (self.memory.used, self.memory.used_peak);
        if peak > room || heap > room {
            return false;
        }
        // Identifiers get at most half the budget (and 7/8 of what the tables leave): the
        // rest stays for rows, which only grow.
        let cap = peak.max((self.limits.memory / 2).min(room - room / 8));
        if used.saturating_add(heap) > cap {
            // Down to 7/8 of the cap, so that evictions come in batches.
            // An item larger than the cap (a huge identifier) empties what can be emptied.
            self.evict((cap - cap / 8).min(cap.saturating_sub(heap)));
        }
        self.memory.used.saturating_add(heap).max(peak) <= room
    }

    /// Evicts the dialogs that ended first, then requests unanswered for 32 s, oldest first
    /// (ordinary dialogs only), until the live identifiers are at `target` bytes or none is
    /// left. Each queue entry is looked at once, so a flood of dialogs that cannot be evicted
    /// costs nothing per refusal.
    fn evict(&mut self, target: usize) {
        let now = self.memory.now;
        while self.memory.used > target {
            if let Some(id) = self.memory.ended.pop_front() {
                self.evict_call_id(id as usize, now);
                continue;
            }
            let Some(&id) = self.memory.opened.front() else {
                return;
            };
            match self.dialogs.get(id as usize) {
                Some(d) if !d.evicted && d.state == DialogState::Setup => {
                    if !d.finished(now) {
                        return; // the oldest unanswered request is still young
                    }
                    self.memory.opened.pop_front();
                    self.evict_call_id(id as usize, now);
                }
                // Answered (it joins `ended` when it ends), or gone.
                _ => {
                    self.memory.opened.pop_front();
                }
            }
        }
    }

    /// Evicts every dialog of the Call-ID of dialog `id`, if all of them are finished ordinary
    /// dialogs (conference dialogs are kept: the conferences refer to them). The last of
    /// them to end brings the others along.
    fn evict_call_id(&mut self, id: usize, now: Timestamp) {
        let Some(first) = self.dialogs.get(id) else {
            return;
        };
        if first.evicted {
            return;
        }
        let hash = self.call_id_hash(first.call_id.as_bytes());
        let Some(chain) = self.chain_of(hash, first.call_id.as_bytes()) else {
            return;
        };
        let mut members = Vec::new();
        let mut cur = Some(chain.first);
        while let Some(d) = cur.and_then(|c| self.dialogs.get(c as usize).map(|d| (c, d))) {
            if d.1.kind != DialogKind::Other || !d.1.finished(now) {
                return;
            }
            members.push(d.0);
            cur = d.1.next_same_call_id;
        }
        if let Ok(entry) = self
            .by_call_id
            .find_entry(spread(hash), |c| c.first == chain.first)
        {
            entry.remove();
        }
        for m in members {
            if let Some(d) = self.dialogs.get_mut(m as usize) {
                let before = d.bytes();
                self.aors.release(d.evict(&self.memory.empty));
                self.memory.used = self.memory.used.saturating_sub(before - d.bytes());
                self.stats.dialogs_evicted += 1;
            }
        }
    }

    /// Dialogs silent for [`dialog::SILENT_NS`] forget their transaction keys (no message
    /// can come again as a retransmission of an earlier one). A sweep over the dialogs runs
    /// when that much capture time passed since the last one and at least an eighth as many
    /// messages as there are dialogs came, so it costs O(1) a message.
    fn forget_silent_transactions(&mut self) {
        let now = self.memory.now;
        let (at, messages) = self.memory.last_sweep;
        let due = now.0 >= at.0.saturating_add(dialog::SILENT_NS)
            && self.stats.sip_messages >= messages + (self.dialogs.len() as u64) / 8;
        if !due {
            return;
        }
        self.memory.last_sweep = (now, self.stats.sip_messages);
        let mut freed = 0;
        for d in self
            .dialogs
            .iter_mut()
            .filter(|d| d.transactions_expired(now))
        {
            let before = d.bytes();
            d.forget_transactions();
            freed += before.saturating_sub(d.bytes());
        }
        self.memory.used = self.memory.used.saturating_sub(freed);
    }

    /// Keeps a server's diagnostic record with the dialogs of its Call-ID (at most
    /// [`crate::logs::MAX_SERVER_EVENTS`]; further ones are counted).
    pub fn add_server_event(&mut self, event: crate::logs::ServerEvent) {
        if self.server_events.len() >= crate::logs::MAX_SERVER_EVENTS {
            self.stats.server_events_dropped += 1;
            return;
        }
        let index = u32::try_from(self.server_events.len()).unwrap_or(u32::MAX);
        if let Some(call_id) = event.call_id.as_deref() {
            self.events_by_call_id
                .entry(call_id.trim().into())
                .or_default()
                .push(index);
        }
        self.server_events.push(event);
    }

    /// Extra origins of merged copies not kept because of their bound
    /// ([`copies::MAX_EXTRA_ORIGINS`]).
    pub fn origins_dropped(&self) -> u64 {
        self.copies.as_ref().map_or(0, |c| c.extra_dropped)
    }

    /// Every server diagnostic record kept, in the order read.
    pub fn server_events(&self) -> &[crate::logs::ServerEvent] {
        &self.server_events
    }

    /// The server diagnostic records about the dialog with this Call-ID.
    pub fn server_events_for<'a>(
        &'a self,
        call_id: &str,
    ) -> impl Iterator<Item = &'a crate::logs::ServerEvent> + 'a {
        self.events_by_call_id
            .get(call_id)
            .into_iter()
            .flatten()
            .filter_map(|i| self.server_events.get(*i as usize))
    }

    /// Merges the copies of one message seen by several sources (logs of both ends of a hop,
    /// a log and a capture, several capture agents) into one message with every origin; see
    /// [`copies`] for what makes two messages one.
    pub fn with_merged_copies(mut self) -> Self {
        self.copies = Some(copies::Copies::new());
        self
    }

    /// Every origin of the listed message `index` with the frame (or message number) it had
    /// there: where it was first seen, then every other source that saw it (when copies are
    /// merged).
    pub fn origins(&self, index: usize) -> Vec<(Origin, u64)> {
        let mut all: Vec<(Origin, u64)> = self
            .messages
            .get(index)
            .map(|m| (m.origin(self), m.frame))
            .into_iter()
            .collect();
        if let Some(extra) = self
            .copies
            .as_ref()
            .and_then(|c| c.extra.get(&u32::try_from(index).ok()?))
        {
            all.extend(extra.iter().copied());
        }
        all
    }

    /// Bounds other than the defaults (a live capture in the terminal UI keeps less).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self.conferences.set_max(limits.conferences);
        self
    }

    /// The bounds in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Also logs which dialog every message touched, for [`Analysis::changes_since`].
    pub fn with_change_log(mut self) -> Self {
        self.changes = Some(ChangeLog::default());
        self
    }

    /// Whether a change log is kept ([`Analysis::changes_since`]).
    pub fn has_change_log(&self) -> bool {
        self.changes.is_some()
    }

    /// Where the change log ends now: pass it to [`Analysis::changes_since`] later. 0 without
    /// a change log.
    pub fn change_seq(&self) -> u64 {
        self.changes.as_ref().map_or(0, ChangeLog::end)
    }

    /// The dialogs touched (in message order, repeated when several messages touched them)
    /// since `seq`, a value of [`Analysis::change_seq`]; a dialog's conference changed with it.
    /// `None` when there is no change log, or when it no longer reaches back to `seq` (the
    /// reader fell behind by more than its capacity): then everything may have changed.
    pub fn changes_since(&self, seq: u64) -> Option<impl Iterator<Item = u32> + '_> {
        let log = self.changes.as_ref()?;
        let skip = usize::try_from(seq.checked_sub(log.start)?).ok()?;
        (skip <= log.ids.len()).then(|| log.ids.range(skip..).copied())
    }

    /// Also keeps every listed message's bytes (compressed) in a [`MessageStore`], for views
    /// that show a message's text. Implies listing messages.
    pub fn with_message_store(mut self) -> Self {
        self.keep_messages = true;
        self.store = Some(MessageStore::new());
        self
    }

    /// The message bytes, when kept ([`Analysis::with_message_store`]); indexed like
    /// [`Analysis::messages`].
    pub fn store(&self) -> Option<&MessageStore> {
        self.store.as_ref()
    }

    /// Turns conference analysis off, leaving parse and dialog tracking (for benchmarks).
    pub fn without_conferences(mut self) -> Self {
        self.analyse_conferences = false;
        self
    }

    /// Every listed message in arrival order (empty unless messages are kept).
    pub fn messages(&self) -> &[MessageRecord] {
        &self.messages
    }

    /// The flow a message row refers to. An id from another analysis that is out of this
    /// one's range gives unspecified addresses over UDP.
    pub fn flow(&self, id: FlowId) -> Flow {
        self.flows.get(id.index()).copied().unwrap_or(Flow {
            src: SocketAddr::from(([0, 0, 0, 0], 0)),
            dst: SocketAddr::from(([0, 0, 0, 0], 0)),
            transport: Transport::Udp,
            link_type: 0,
            seen: Seen::Capture { input: 0 },
        })
    }

    /// Every flow of the listed messages, in the order they first carried one.
    pub fn flows(&self) -> &[Flow] {
        &self.flows
    }

    /// Every dialog tracked, in the order they opened.
    pub fn dialogs(&self) -> &[Dialog] {
        &self.dialogs
    }

    /// The analysis counters.
    pub fn stats(&self) -> &AnalysisStats {
        &self.stats
    }

    /// The conferences and their joins.
    pub fn conferences(&self) -> &Conferences {
        &self.conferences
    }

    /// The peer-to-peer call each conference was escalated from, by conference index
    /// (docs/joins.md §6): the organizer X invited Y into the conference while an answered
    /// INVITE dialog between X and Y that is not part of any conference was still going. The
    /// invitation naming the new focus is the link; the Focus Factory's `addConference` is
    /// not required (captures often miss it).
    pub fn escalations(&self) -> Vec<Option<u32>> {
        let list = self.conferences.list();
        let invite = self.symbols.lookup(b"INVITE");
        // The two ends of a call, in either order and any case, as one hash (no allocation
        // per dialog: a capture holds millions); candidates are checked by comparing.
        let hasher = RandomState::new();
        let ends = |a: &str, b: &str| -> u64 {
            let folded = a
                .bytes()
                .map(|c| c.to_ascii_lowercase())
                .cmp(b.bytes().map(|c| c.to_ascii_lowercase()));
            let (a, b) = if folded.is_le() { (a, b) } else { (b, a) };
            let mut h = hasher.build_hasher();
            a.bytes().for_each(|c| h.write_u8(c.to_ascii_lowercase()));
            h.write_u8(0);
            b.bytes().for_each(|c| h.write_u8(c.to_ascii_lowercase()));
            h.finish()
        };
        // Answered plain calls by their two ends: one pass over the dialogs.
        let mut calls: HashMap<u64, Vec<u32>, RandomState> = HashMap::default();
        for (i, d) in self.dialogs.iter().enumerate() {
            if is_answered_call(d, invite) {
                calls
                    .entry(ends(&d.from, &d.to))
                    .or_default()
                    .push(i as u32);
            }
        }
        list.iter()
            .map(|c| {
                if calls.is_empty() {
                    return None;
                }
                c.participants.iter().find_map(|p| {
                    let inv = p.invitation.as_ref()?;
                    let x = p.invited_by.as_deref()?;
                    if !x.eq_ignore_ascii_case(&c.organizer) {
                        return None;
                    }
                    calls.get(&ends(x, &p.uri))?.iter().copied().find(|&d| {
                        self.dialogs
                            .get(d as usize)
                            .is_some_and(|d| spans(d, x, &p.uri, inv.at))
                    })
                })
            })
            .collect()
    }

    /// [`Analysis::escalations`] for one conference, without hashing every dialog: what a
    /// ladder asks while a capture loads. Looks at the organizer's first 64 invitations.
    pub fn escalation_of(&self, conference: usize) -> Option<u32> {
        let c = self.conferences.list().get(conference)?;
        let invite = self.symbols.lookup(b"INVITE");
        invite?;
        let wanted: Vec<(&str, Timestamp)> = c
            .participants
            .iter()
            .filter_map(|p| {
                let at = p.invitation.as_ref()?.at;
                let x = p.invited_by.as_deref()?;
                x.eq_ignore_ascii_case(&c.organizer)
                    .then_some((p.uri.as_str(), at))
            })
            .take(64)
            .collect();
        if wanted.is_empty() {
            return None;
        }
        // One pass over the dialogs (a ladder asks this on every update, the grid every
        // frame): the first invitation in participant order that has a call, and its first
        // call, as `escalations` finds them.
        let mut best: Option<(usize, u32)> = None;
        for (i, d) in self.dialogs.iter().enumerate() {
            if !is_answered_call(d, invite) {
                continue;
            }
            let before = best.map_or(wanted.len(), |(w, _)| w);
            if let Some(w) = wanted
                .iter()
                .take(before)
                .position(|&(y, at)| spans(d, &c.organizer, y, at))
            {
                best = Some((w, i as u32));
                if w == 0 {
                    break;
                }
            }
        }
        best.map(|(_, d)| d)
    }

    /// The Call-ID of a message record, through its dialog.
    pub fn call_id_of(&self, rec: &MessageRecord) -> Option<&str> {
        rec.dialog()
            .and_then(|d| self.dialogs.get(d as usize))
            .filter(|d| !d.evicted)
            .map(|d| &*d.call_id)
    }

    /// The method or status code as text.
    pub fn start_text(&self, start: StartKind) -> String {
        match start {
            StartKind::Request(m) => self.symbols.name(m).to_string(),
            StartKind::Response(s) => s.to_string(),
        }
    }

    /// What kind of body a content type announces, classified once per distinct type.
    fn body_kind(&mut self, sym: Sym, raw: &[u8]) -> BodyKind {
        let classify = || {
            std::str::from_utf8(raw)
                .map(crate::sip::body::classify)
                .unwrap_or(BodyKind::Other)
        };
        if sym == Symbols::OVERFLOW {
            return classify(); // not one type: the table was full
        }
        if let Some(Some(kind)) = self.body_kinds.get(sym.index()) {
            return *kind;
        }
        let kind = classify();
        if self.body_kinds.len() <= sym.index() {
            self.body_kinds.resize(sym.index() + 1, None);
        }
        if let Some(slot) = self.body_kinds.get_mut(sym.index()) {
            *slot = Some(kind);
        }
        kind
    }

    fn record(&mut self, ctx: &MsgContext, msg: &Message<'_>) {
        self.memory.now = self.memory.now.max(ctx.time);
        self.forget_silent_transactions();
        if let (Some(copies), Some(call_id)) = (self.copies.as_mut(), msg.call_id()) {
            let start = match msg.method() {
                Some(m) => StartKind::Request(self.symbols.intern(m)),
                None => StartKind::Response(msg.status().unwrap_or(0)),
            };
            let listed = self.keep_messages && self.messages.len() < self.limits.messages;
            let record = listed
                .then(|| u32::try_from(self.messages.len()).ok())
                .flatten();
            let id = copies::Identity {
                call_id,
                from_tag: msg.from_tag().unwrap_or_default(),
                to_tag: msg.to_tag(),
                start,
                cseq: msg.cseq(),
                branch: msg.via_branch(),
                body_len: msg.body().len(),
            };
            if copies.check(&id, ctx.origin, ctx.frame, ctx.time, record) {
                self.stats.copies_merged += 1;
                return;
            }
        }
        self.stats.sip_messages += 1;
        let start = match msg.method() {
            Some(m) => {
                self.stats.sip_requests += 1;
                StartKind::Request(self.symbols.intern(m))
            }
            None => {
                self.stats.sip_responses += 1;
                StartKind::Response(msg.status().unwrap_or(0))
            }
        };
        let raw_cseq = msg.cseq();
        let cseq = raw_cseq.map(|(n, m)| (n, self.symbols.intern(m)));
        let cseq_raw = msg
            .header(crate::sip::Hdr::CSeq)
            .filter(|v| !crate::sip::message::cseq_is_canonical(v))
            .map(|v| crate::sip::message::unfold(v).into_boxed_str());
        let raw_content_type = msg.content_type();
        let content_type = raw_content_type.map(|c| self.symbols.intern(c));
        let body_kind = match (content_type, raw_content_type) {
            (Some(sym), Some(raw)) if self.analyse_conferences => Some(self.body_kind(sym, raw)),
            _ => None,
        };
        let defective = msg.call_id().is_none()
            || cseq.is_none()
            || msg.bad_header_lines > 0
            || msg.content_length() == ContentLength::Invalid
            || !msg.body_complete;
        if defective {
            self.stats.defective_messages += 1;
        }
        let (dialog, retransmission) = match msg.call_id() {
            Some(call_id) => {
                let ids = Ids {
                    call_id,
                    from_tag: msg.from_tag().unwrap_or_default(),
                    to_tag: msg.to_tag(),
                    branch: msg.via_branch(),
                    start,
                    cseq,
                    raw_cseq,
                    body_kind,
                };
                self.track_dialog(ctx, msg, &ids)
            }
            None => {
                self.stats.without_call_id += 1;
                (None, false)
            }
        };
        if retransmission {
            self.stats.retransmissions += 1;
        }
        if let (Some(log), Some(d)) = (self.changes.as_mut(), dialog) {
            log.push(d);
        }
        if !self.keep_messages {
            return;
        }
        if self.messages.len() >= self.limits.messages {
            self.stats.messages_not_listed += 1;
            return;
        }
        let (seen, line) = ctx.origin.split();
        let gap = match seen {
            Seen::Log { .. } if ctx.first_frame == ctx.frame => Some(line),
            Seen::Log { .. } => None,
            _ => ctx
                .frame
                .checked_sub(ctx.first_frame)
                .and_then(|g| u32::try_from(g).ok()),
        };
        let size = u32::try_from(msg.raw().len()).unwrap_or(u32::MAX);
        let aside = gap.is_none() || cseq_raw.is_some() || size >= 1 << SIZE_BITS;
        // The row's fixed part is counted with the table's capacity.
        let row = cseq_raw.as_ref().map_or(0, |c| dialog::alloc_size(c.len()))
            + if aside {
                std::mem::size_of::<Aside>()
            } else {
                0
            }
            + if self.store.is_some() {
                store::INDEX_BYTES
            } else {
                0
            };
        let flow = Flow {
            src: ctx.src,
            dst: ctx.dst,
            transport: ctx.transport,
            link_type: ctx.link_type,
            seen,
        };
        let known = self.flow_index.get(&flow).copied();
        let new_flow = if known.is_some() {
            0
        } else {
            std::mem::size_of::<Flow>() + FLOW_INDEX_ENTRY
        };
        if !self.make_room(row, std::mem::size_of::<MessageRecord>() + new_flow) {
            // (The row's fixed part is counted in `tables_bytes` once added.)
            self.stats.messages_refused_memory += 1;
            return;
        }
        self.add_used(row);
        let (place, size_flags) = match gap {
            Some(g) if !aside => (g, size),
            _ => {
                // One per listed message at most (bounded, below u32::MAX).
                let at = u32::try_from(self.aside.len()).unwrap_or(u32::MAX);
                self.aside.push(Aside {
                    first_frame: ctx.first_frame,
                    line,
                    size,
                    cseq_raw,
                });
                (at, ASIDE)
            }
        };
        let flow = match known {
            Some(id) => id,
            None => {
                // At most one flow per listed message, and those are bounded in number.
                let id = FlowId(u32::try_from(self.flows.len()).unwrap_or(u32::MAX));
                self.flows.push(flow);
                self.flow_index.insert(flow, id);
                id
            }
        };
        let flag = |on: bool, bit: u32| if on { bit } else { 0 };
        self.messages.push(MessageRecord {
            frame: ctx.frame,
            time: ctx.time,
            flow,
            place,
            start: PackedStart::new(start),
            cseq,
            content_type,
            // Dialogs are bounded far below u32::MAX.
            dialog: dialog.and_then(|d| std::num::NonZeroU32::new(d.wrapping_add(1))),
            size_flags: size_flags
                | flag(retransmission, RETRANSMISSION)
                | flag(ctx.ip_reassembled, IP_REASSEMBLED)
                | flag(ctx.reassembled, REASSEMBLED)
                | flag(ctx.icmp_quoted, ICMP_QUOTED),
        });
        if let Some(store) = &mut self.store {
            store.push(msg.raw());
        }
    }

    /// Finds (or opens) the message's dialog and tells whether the message is a retransmission.
    fn track_dialog(
        &mut self,
        ctx: &MsgContext,
        msg: &Message<'_>,
        ids: &Ids<'_>,
    ) -> (Option<u32>, bool) {
        let (start, cseq) = (ids.start, ids.cseq);
        // Dialogs keep a Call-ID that is not UTF-8 as its lossy text, so it is looked up so.
        let call_id = String::from_utf8_lossy(ids.call_id);
        let call_id = call_id.as_bytes();
        let hash = self.call_id_hash(call_id);
        let chain = self.chain_of(hash, call_id);
        let id = match chain {
            Some(chain) => self.match_dialog(chain.first, msg, ids),
            None => None,
        };
        let id = match id {
            Some(id) => id,
            None => {
                // A Call-ID with very many dialogs (forks, or hostile input reusing one) would
                // make every message of it walk a long chain: beyond the bound, further dialogs
                // of that Call-ID are counted, not tracked.
                if self.dialogs.len() >= self.limits.dialogs {
                    self.stats.dialogs_dropped += 1;
                    return (None, false);
                }
                if chain.is_some_and(|c| c.len as usize >= MAX_DIALOGS_PER_CALL_ID) {
                    self.stats.dialogs_dropped += 1;
                    self.stats.dialogs_dropped_per_call_id += 1;
                    return (None, false);
                }
                let id = self.dialogs.len() as u32;
                let method = match start {
                    StartKind::Request(m) => m,
                    StartKind::Response(_) => cseq.map_or(Symbols::OVERFLOW, |c| c.1),
                };
                let mut dialog = Dialog::open(
                    call_id,
                    ids.from_tag,
                    msg,
                    (method, cseq),
                    &mut self.aors,
                    ctx,
                );
                // Its identifiers, then its row in the table, its index entry and its queue
                // entry (counted in `tables_bytes` once added).
                let heap = dialog.bytes();
                let grows = if chain.is_none() {
                    self.index_growth()
                } else {
                    0
                };
                let fixed = std::mem::size_of::<Dialog>() + std::mem::size_of::<u32>() + grows;
                if !self.make_room(heap, fixed) {
                    self.stats.dialogs_refused_memory += 1;
                    self.aors.release(dialog.into_aors());
                    return (None, false);
                }
                self.add_used(heap);
                if self.analyse_conferences {
                    self.conferences
                        .classify(id, &mut dialog, ctx, msg, &ids.known());
                }
                match chain {
                    Some(chain) => {
                        // Chain after the last dialog of this Call-ID.
                        if let Some(d) = self.dialogs.get_mut(chain.last as usize) {
                            d.next_same_call_id = Some(id);
                        }
                        if let Some(c) = self
                            .by_call_id
                            .find_mut(spread(hash), |c| c.first == chain.first)
                        {
                            c.last = id;
                            c.len += 1;
                        }
                    }
                    None => {
                        self.by_call_id.insert_unique(
                            spread(hash),
                            CallIdChain {
                                hash,
                                first: id,
                                last: id,
                                len: 1,
                            },
                            |c| spread(c.hash),
                        );
                        self.memory.index_capacity = self.index_capacity();
                    }
                }
                if dialog.kind == DialogKind::Other {
                    self.memory.opened.push_back(id);
                }
                self.dialogs.push(dialog);
                id
            }
        };
        let key = self.transaction_key(ctx, msg, ids);
        let Some(dialog) = self.dialogs.get_mut(id as usize) else {
            return (None, false);
        };
        let forgets = dialog.transactions_full();
        let was_over = dialog.is_over();
        let before = dialog.bytes();
        let retransmission =
            dialog.observe(ctx, ids.to_tag.is_some(), start, cseq, key, &self.symbols);
        // The transaction memory grows with the dialog (up to 64 keys).
        let after = dialog.bytes();
        self.memory.used = (self.memory.used + after).saturating_sub(before);
        self.memory.used_peak = self.memory.used_peak.max(self.memory.used);
        if !was_over
            && dialog.is_over()
            && dialog.kind == DialogKind::Other
            && !dialog.queued_as_ended
        {
            dialog.queued_as_ended = true;
            self.memory.ended.push_back(id);
        }
        if forgets && !retransmission {
            self.stats.transactions_forgotten += 1;
        }
        if !retransmission && dialog.kind != DialogKind::Other {
            let from_initiator = dialog.initiator_tag().as_bytes() == ids.from_tag;
            self.conferences
                .message(id, ctx, msg, &ids.known(), from_initiator);
        }
        (Some(id), retransmission)
    }

    /// The dialog of a Call-ID that this message belongs to, if any. Only a new INVITE,
    /// SUBSCRIBE or REFER with a From tag no dialog of the Call-ID has opens another dialog.
    fn match_dialog(&self, first: u32, msg: &Message<'_>, ids: &Ids<'_>) -> Option<u32> {
        let (from_tag, to_tag, start) = (ids.from_tag, ids.to_tag, ids.start);
        let mut cur = Some(first);
        while let Some(id) = cur {
            let d = self.dialogs.get(id as usize)?;
            let tag = d.initiator_tag().as_bytes();
            if tag == from_tag || to_tag == Some(tag) {
                return Some(id);
            }
            cur = d.next_same_call_id;
        }
        let opens_dialog = matches!(start, StartKind::Request(_))
            && to_tag.is_none()
            && msg.method().is_some_and(|m| {
                m.eq_ignore_ascii_case(b"INVITE")
                    || m.eq_ignore_ascii_case(b"SUBSCRIBE")
                    || m.eq_ignore_ascii_case(b"REFER")
            });
        if opens_dialog {
            None
        } else {
            Some(first)
        }
    }

    /// The dialogs of a Call-ID (as the dialogs keep it: lossy when it is not UTF-8), whose
    /// [`Analysis::call_id_hash`] is `hash`.
    fn chain_of(&self, hash: u32, call_id: &[u8]) -> Option<CallIdChain> {
        let dialogs = &self.dialogs;
        self.by_call_id
            .find(spread(hash), |c| {
                c.hash == hash
                    && dialogs
                        .get(c.first as usize)
                        .is_some_and(|d| d.call_id.as_bytes() == call_id)
            })
            .copied()
    }

    /// The low half of the Call-ID's hash: what an index entry keeps, so that the table can
    /// grow from what its entries hold ([`spread`] makes it the table's hash).
    fn call_id_hash(&self, call_id: &[u8]) -> u32 {
        let mut h = self.hasher.build_hasher();
        h.write(call_id);
        h.finish() as u32
    }

    /// A hash that is equal for a message and its retransmissions: same direction, same start
    /// line, same CSeq, same top-Via branch (a proxy's copy of a request has another branch, so
    /// it is a new hop, not a retransmission), and for responses the same To tag.
    fn transaction_key(&self, ctx: &MsgContext, msg: &Message<'_>, ids: &Ids<'_>) -> u64 {
        let mut h = self.hasher.build_hasher();
        ctx.src.hash(&mut h);
        ctx.dst.hash(&mut h);
        match ids.start {
            StartKind::Request(m) => (0u8, m).hash(&mut h),
            StartKind::Response(s) => {
                (1u8, s).hash(&mut h);
                ids.to_tag.hash(&mut h);
            }
        }
        ids.cseq.hash(&mut h);
        ids.branch.hash(&mut h);
        if ids.branch.is_none() {
            // Without a branch (RFC 2543 peers), the body tells copies from new requests.
            msg.body().len().hash(&mut h);
        }
        h.finish()
    }
}

/// A 32-bit hash made a 64-bit one: the table takes buckets from the low bits and a tag from
/// the top seven, so both must depend on the whole hash.
fn spread(hash: u32) -> u64 {
    u64::from(hash).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(hash)
}

/// The identifiers of a message that dialog and transaction tracking use, extracted once.
/// The dialogs of one Call-ID: the first (where matching starts), the last (where a new one
/// is chained) and how many.
#[derive(Clone, Copy, Debug)]
struct CallIdChain {
    /// The low half of the Call-ID's hash, to grow the table without looking at the dialogs.
    hash: u32,
    first: u32,
    last: u32,
    len: u32,
}

struct Ids<'a> {
    call_id: &'a [u8],
    from_tag: &'a [u8],
    to_tag: Option<&'a [u8]>,
    branch: Option<&'a [u8]>,
    start: StartKind,
    cseq: Option<(u32, Sym)>,
    raw_cseq: Option<(u32, &'a [u8])>,
    body_kind: Option<BodyKind>,
}

impl<'a> Ids<'a> {
    fn known(&self) -> conference::Known<'a> {
        conference::Known {
            to_tag: self.to_tag,
            cseq: self.raw_cseq,
            body_kind: self.body_kind,
        }
    }
}

impl SipSink for Analysis {
    fn message(&mut self, ctx: &MsgContext, msg: &Message<'_>) {
        self.record(ctx, msg);
    }

    #[inline]
    fn datagram(&mut self, ctx: &MsgContext, payload: &[u8]) {
        if self.analyse_conferences {
            self.conferences.datagram(ctx, payload);
        }
    }
}

/// A plain answered call (an INVITE dialog outside any conference): what a conference may
/// have been escalated from.
fn is_answered_call(d: &Dialog, invite: Option<Sym>) -> bool {
    d.kind == DialogKind::Other
        && invite == Some(d.method)
        && matches!(d.final_status, Some(200..=299))
}

/// The call is between `x` and `y` (either way round) and was going on at `at`.
fn spans(d: &Dialog, x: &str, y: &str, at: Timestamp) -> bool {
    let ends = (d.from.eq_ignore_ascii_case(x) && d.to.eq_ignore_ascii_case(y))
        || (d.from.eq_ignore_ascii_case(y) && d.to.eq_ignore_ascii_case(x));
    ends && d.first_time <= at && d.last_time >= at
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::frame_stream;
    use std::net::{IpAddr, Ipv4Addr};

    pub(crate) fn ctx(frame: u64, from_a: bool) -> MsgContext {
        let a = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 5060);
        let b = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), 5060);
        let (src, dst) = if from_a { (a, b) } else { (b, a) };
        MsgContext {
            frame,
            first_frame: frame,
            time: Timestamp(frame as i64 * 1_000_000),
            src,
            dst,
            transport: Transport::Udp,
            ip_reassembled: false,
            reassembled: false,
            icmp_quoted: false,
            link_type: 1,
            origin: Default::default(),
        }
    }

    fn feed(a: &mut Analysis, frame: u64, from_a: bool, text: &str) {
        let text = text.replace('\n', "\r\n");
        let (m, _) = frame_stream(text.as_bytes()).unwrap();
        a.message(&ctx(frame, from_a), &m);
    }

    #[test]
    fn message_rows_share_their_flows() {
        // The row is what a million listed messages cost in the UI: the addresses are held per
        // flow (they were 64 of its 168 bytes), an unusual CSeq text beside the rows.
        assert!(
            std::mem::size_of::<MessageRecord>() <= 48,
            "{}",
            std::mem::size_of::<MessageRecord>()
        );
        let mut a = Analysis::new(true);
        feed(&mut a, 1, true, &req("OPTIONS", "1 OPTIONS", "b1", ""));
        feed(&mut a, 2, false, &req("OPTIONS", "2 OPTIONS", "b2", ""));
        feed(&mut a, 3, true, &req("OPTIONS", "3 OPTIONS", "b3", ""));
        let ids: Vec<FlowId> = a.messages().iter().map(|m| m.flow).collect();
        assert_eq!(ids.len(), 3);
        assert_eq!(ids[0], ids[2]);
        assert_ne!(ids[0], ids[1]);
        assert_eq!(a.flows().len(), 2);
        let (one, two) = (ctx(1, true), ctx(2, false));
        assert_eq!(
            a.flow(ids[0]),
            Flow {
                src: one.src,
                dst: one.dst,
                transport: Transport::Udp,
                link_type: 1,
                seen: Seen::Capture { input: 0 },
            }
        );
        assert_eq!(a.flow(ids[1]).src, two.src);
        // An id this analysis never gave out does not panic.
        assert_eq!(a.flow(FlowId(7)).src.port(), 0);
    }

    #[test]
    fn a_row_gives_back_every_frame_origin_and_start_it_was_given() {
        // What a row packs (the first frame as a distance, a log line in its place, the start
        // line in four bytes) comes back as it went in, and what does not fit goes beside.
        let text = req("OPTIONS", "1 OPTIONS", "b1", "").replace('\n', "\r\n");
        let (m, _) = frame_stream(text.as_bytes()).unwrap();
        let far = u64::from(u32::MAX) + 10;
        let cases = [
            (ctx(5, true), 5, Origin::Capture { input: 0 }),
            // Several segments, a distance that fits and one that does not.
            (
                MsgContext {
                    first_frame: 2,
                    ..ctx(9, true)
                },
                2,
                Origin::Capture { input: 0 },
            ),
            (
                MsgContext {
                    first_frame: 1,
                    ..ctx(far, true)
                },
                1,
                Origin::Capture { input: 0 },
            ),
            // A first frame after the last (a caller's mistake) is kept as given.
            (
                MsgContext {
                    first_frame: 12,
                    ..ctx(3, true)
                },
                12,
                Origin::Capture { input: 0 },
            ),
            // An ICMP quotation has no first frame.
            (
                MsgContext {
                    first_frame: 0,
                    icmp_quoted: true,
                    ..ctx(4, true)
                },
                0,
                Origin::Capture { input: 0 },
            ),
            (
                MsgContext {
                    origin: Origin::Log { input: 2, line: 77 },
                    link_type: 0,
                    ..ctx(6, true)
                },
                6,
                Origin::Log { input: 2, line: 77 },
            ),
            // A log record over several message numbers keeps both its line and first number.
            (
                MsgContext {
                    origin: Origin::Log {
                        input: 2,
                        line: u32::MAX,
                    },
                    first_frame: 3,
                    ..ctx(7, false)
                },
                3,
                Origin::Log {
                    input: 2,
                    line: u32::MAX,
                },
            ),
            (
                MsgContext {
                    origin: Origin::Agent { node: 2001 },
                    link_type: 0,
                    ..ctx(8, false)
                },
                8,
                Origin::Agent { node: 2001 },
            ),
        ];
        let mut a = Analysis::new(true);
        for (c, _, _) in &cases {
            a.message(c, &m);
        }
        let rows = a.messages();
        assert_eq!(rows.len(), cases.len());
        for ((c, first, origin), r) in cases.iter().zip(rows) {
            assert_eq!(r.frame(), c.frame);
            assert_eq!(r.first_frame(&a), *first, "{c:?}");
            assert_eq!(r.origin(&a), *origin);
            assert_eq!(r.link_type(&a), c.link_type);
            assert_eq!(r.icmp_quoted(), c.icmp_quoted);
            assert_eq!(r.time(), c.time);
            assert_eq!(r.size(&a) as usize, m.raw().len());
            assert!(!r.reassembled() && !r.ip_reassembled());
        }
        // Only the rows that do not fit have a side entry.
        assert_eq!(a.aside.len(), 3);
        // Inputs and agents are flows of their own.
        assert_eq!(a.flows().len(), 4);

        for start in [
            StartKind::Response(0),
            StartKind::Response(100),
            StartKind::Response(u16::MAX),
            StartKind::Request(Symbols::OVERFLOW),
            StartKind::Request(a.symbols.lookup(b"OPTIONS").unwrap()),
        ] {
            assert_eq!(PackedStart::new(start).get(), start);
        }
        assert_eq!(rows[0].dialog(), Some(0));
        // The same request again is a copy, flagged beside the size.
        assert!(!rows[0].retransmission() && rows[1].retransmission());
    }

    #[test]
    fn an_unusual_cseq_is_kept_as_written_beside_the_rows() {
        let mut a = Analysis::new(true);
        feed(&mut a, 1, true, &req("OPTIONS", "1 OPTIONS", "b1", ""));
        feed(&mut a, 2, true, &req("OPTIONS", "2   OPTIONS", "b2", ""));
        feed(&mut a, 3, true, &req("OPTIONS", "x OPTIONS", "b3", ""));
        let texts: Vec<Option<String>> = a.messages().iter().map(|m| m.cseq_text(&a)).collect();
        assert_eq!(
            texts,
            [
                Some("1 OPTIONS".to_string()),
                Some("2   OPTIONS".to_string()),
                Some("x OPTIONS".to_string())
            ]
        );
        assert!(!a.messages()[0].cseq_is_unusual(&a));
        assert!(a.messages()[1].cseq_is_unusual(&a));
        assert_eq!(a.aside.iter().filter(|x| x.cseq_raw.is_some()).count(), 2);
        // A row given another analysis finds no text there and does not panic: rebuilt from
        // its parts (whose method that analysis does not know).
        let other = Analysis::new(true);
        let text = a.messages()[1].cseq_text(&other).unwrap_or_default();
        assert!(text.starts_with("2 "), "{text}");
    }

    fn req(method: &str, cseq: &str, branch: &str, to_tag: &str) -> String {
        format!(
            "{method} sip:bob@b SIP/2.0\nVia: SIP/2.0/UDP a;branch={branch}\nFrom: <sip:alice@a>;tag=f1\nTo: <sip:bob@b>{to_tag}\nCall-ID: call-1\nCSeq: {cseq}\nContent-Length: 0\n\n"
        )
    }

    fn resp(status: &str, cseq: &str, branch: &str) -> String {
        format!(
            "SIP/2.0 {status}\nVia: SIP/2.0/UDP a;branch={branch}\nFrom: <sip:alice@a>;tag=f1\nTo: <sip:bob@b>;tag=t1\nCall-ID: call-1\nCSeq: {cseq}\nContent-Length: 0\n\n"
        )
    }

    #[test]
    fn one_call_id_reused_by_many_dialogs_is_bounded() {
        // Hostile input (or a broken client) opening dialog after dialog under one Call-ID:
        // each would walk the chain of all earlier ones.
        let mut a = Analysis::new(false);
        let n = 2_000;
        for i in 0..n {
            let invite = format!(
                "INVITE sip:bob@b SIP/2.0\nVia: SIP/2.0/UDP a;branch=z9hG4bK{i}\nFrom: <sip:alice@a>;tag=f{i}\nTo: <sip:bob@b>\nCall-ID: same\nCSeq: 1 INVITE\nContent-Length: 0\n\n"
            );
            feed(&mut a, i + 1, true, &invite);
        }
        assert_eq!(a.dialogs().len(), MAX_DIALOGS_PER_CALL_ID);
        assert_eq!(
            a.stats().dialogs_dropped,
            n - MAX_DIALOGS_PER_CALL_ID as u64
        );
        assert_eq!(
            a.stats().dialogs_dropped_per_call_id,
            n - MAX_DIALOGS_PER_CALL_ID as u64
        );
        assert_eq!(a.stats().sip_messages, n);
        // The last tracked dialog is still found by its tag.
        let last = MAX_DIALOGS_PER_CALL_ID - 1;
        let ok = format!(
            "SIP/2.0 200 OK\nVia: SIP/2.0/UDP a;branch=z9hG4bK{last}\nFrom: <sip:alice@a>;tag=f{last}\nTo: <sip:bob@b>;tag=t\nCall-ID: same\nCSeq: 1 INVITE\nContent-Length: 0\n\n"
        );
        feed(&mut a, n + 1, false, &ok);
        assert_eq!(a.dialogs()[last].final_status, Some(200));
    }

    #[test]
    fn invite_dialog_with_retransmissions() {
        let mut a = Analysis::new(true);
        feed(&mut a, 1, true, &req("INVITE", "1 INVITE", "z9hG4bK1", ""));
        feed(&mut a, 2, true, &req("INVITE", "1 INVITE", "z9hG4bK1", "")); // retransmission
        feed(
            &mut a,
            3,
            false,
            &resp("180 Ringing", "1 INVITE", "z9hG4bK1"),
        );
        feed(&mut a, 4, false, &resp("200 OK", "1 INVITE", "z9hG4bK1"));
        feed(&mut a, 5, false, &resp("200 OK", "1 INVITE", "z9hG4bK1")); // retransmission
        feed(&mut a, 6, true, &req("ACK", "1 ACK", "z9hG4bK2", ";tag=t1"));
        let bye = "BYE sip:alice@a SIP/2.0\nVia: SIP/2.0/UDP b;branch=z9hG4bK3\nFrom: <sip:bob@b>;tag=t1\nTo: <sip:alice@a>;tag=f1\nCall-ID: call-1\nCSeq: 1 BYE\nContent-Length: 0\n\n";
        feed(&mut a, 7, false, bye);
        assert_eq!(a.dialogs().len(), 1);
        let d = &a.dialogs()[0];
        assert_eq!(d.messages, 5);
        assert_eq!(d.retransmissions, 2);
        assert_eq!(d.final_status, Some(200));
        assert_eq!(d.state, DialogState::Completed);
        assert_eq!(&*d.from, "sip:alice@a");
        assert_eq!(&*d.to, "sip:bob@b");
        assert_eq!((d.first_frame, d.last_frame), (1, 7));
        assert_eq!(a.messages().len(), 7);
        assert!(a.messages()[1].retransmission() && a.messages()[4].retransmission());
        assert_eq!(a.stats().retransmissions, 2);
    }

    #[test]
    fn rejected_and_forked_register() {
        let mut a = Analysis::new(true);
        feed(&mut a, 1, true, &req("INVITE", "1 INVITE", "z9hG4bK1", ""));
        feed(
            &mut a,
            2,
            false,
            &resp("486 Busy Here", "1 INVITE", "z9hG4bK1"),
        );
        assert_eq!(a.dialogs()[0].final_status, Some(486));
        assert_eq!(a.dialogs()[0].state, DialogState::Busy);
        // A second INVITE with another From tag in the same Call-ID is another dialog.
        let other = req("INVITE", "1 INVITE", "z9hG4bK9", "").replace("tag=f1", "tag=f2");
        feed(&mut a, 3, true, &other);
        assert_eq!(a.dialogs().len(), 2);
        // A REGISTER refresh with a new From tag stays in the Call-ID's dialog.
        let mut b = Analysis::new(false);
        feed(
            &mut b,
            1,
            true,
            &req("REGISTER", "1 REGISTER", "z9hG4bK1", ""),
        );
        feed(
            &mut b,
            2,
            true,
            &req("REGISTER", "2 REGISTER", "z9hG4bK2", "").replace("tag=f1", "tag=f9"),
        );
        assert_eq!(b.dialogs().len(), 1);
        assert_eq!(b.dialogs()[0].messages, 2);
        assert!(b.messages().is_empty());
    }

    #[test]
    fn change_log_names_the_dialogs_touched_and_says_when_it_fell_behind() {
        let mut a = Analysis::new(false).with_change_log();
        assert_eq!(a.change_seq(), 0);
        feed(&mut a, 1, true, &req("INVITE", "1 INVITE", "z9hG4bK1", ""));
        let seq = a.change_seq();
        let other = req("INVITE", "1 INVITE", "z9hG4bK9", "").replace("call-1", "call-2");
        feed(&mut a, 2, true, &other);
        feed(
            &mut a,
            3,
            false,
            &resp("486 Busy Here", "1 INVITE", "z9hG4bK1"),
        );
        let touched: Vec<u32> = a.changes_since(seq).expect("in the log").collect();
        assert_eq!(touched, [1, 0]);
        assert_eq!(a.changes_since(a.change_seq()).map(|c| c.count()), Some(0));
        assert!(
            a.changes_since(a.change_seq() + 1).is_none(),
            "not a position of this log"
        );
        // Without a log: nothing to read.
        assert!(Analysis::new(false).changes_since(0).is_none());
        // A reader that fell behind by more than the log holds is told so.
        let mut log = ChangeLog::default();
        for i in 0..(CHANGE_LOG as u32 + 5) {
            log.push(i);
        }
        a.changes = Some(log);
        assert!(a.changes_since(4).is_none());
        let rest: Vec<u32> = a.changes_since(5).expect("still held").take(2).collect();
        assert_eq!(rest, [5, 6]);
        assert_eq!(a.change_seq(), CHANGE_LOG as u64 + 5);
    }

    /// An analysis with a byte budget of `limit` and the other bounds as usual.
    fn budgeted(keep_messages: bool, limit: usize) -> Analysis {
        Analysis::new(keep_messages).with_limits(Limits {
            memory: limit,
            ..Limits::default()
        })
    }

    /// A request and its final response under a Call-ID of `len` bytes: a finished dialog.
    fn finished_dialog(a: &mut Analysis, i: u64, len: usize, status: &str) {
        let call_id = format!("{i:08}{}", "x".repeat(len));
        let r = req("MESSAGE", "1 MESSAGE", &format!("z9hG4bK{i}"), "").replace("call-1", &call_id);
        feed(a, 2 * i + 1, true, &r);
        let ok = resp(status, "1 MESSAGE", &format!("z9hG4bK{i}")).replace("call-1", &call_id);
        feed(a, 2 * i + 2, false, &ok);
    }

    #[test]
    fn the_byte_budget_evicts_the_oldest_finished_dialogs() {
        // Half for identifiers (about 470 of these dialogs at once), half for the rows of all
        // 4,000 dialogs and their 8,000 messages, which eviction never frees.
        let limit = 8 << 20;
        let mut a = budgeted(true, limit);
        // 4,000 dialogs with 4 KB Call-IDs: about 36 MB of identifiers (dialog and index).
        for i in 0..4_000 {
            finished_dialog(&mut a, i, 4096, "200 OK");
            assert!(a.memory_used() <= limit, "{} over {limit}", a.memory_used());
        }
        let st = a.stats();
        assert!(st.dialogs_evicted > 3_000, "{st:?}");
        assert_eq!(st.dialogs_refused_memory, 0, "{st:?}");
        assert_eq!(a.dialogs_kept() as u64 + st.dialogs_evicted, 4_000);
        // The oldest went first; the newest is whole and still found by its Call-ID.
        assert!(a.dialogs()[0].evicted && a.dialogs()[0].call_id.is_empty());
        let last = a.dialogs().last().expect("dialogs");
        assert!(!last.evicted && last.call_id.len() > 4096);
        let rows = a.messages().len() + a.stats().messages_refused_memory as usize;
        let call_id = last.call_id.to_string();
        let again =
            req("MESSAGE", "2 MESSAGE", "z9hG4bKnew", ";tag=t1").replace("call-1", &call_id);
        feed(&mut a, 1_000_000, true, &again);
        assert_eq!(a.dialogs().len(), 4_000, "found, not a new dialog");
        assert_eq!(
            a.messages().len() + a.stats().messages_refused_memory as usize,
            rows + 1
        );
    }

    #[test]
    fn call_ids_are_found_by_the_dialogs_own_text_and_addresses_are_shared() {
        // Enough Call-IDs for the index to grow several times (each growth moves the entries
        // by the hash they keep), answered in reverse order.
        let mut a = Analysis::new(false);
        let n = 3_000u64;
        for i in 0..n {
            let r = req("INVITE", "1 INVITE", &format!("z9hG4bK{i}"), "")
                .replace("call-1", &format!("c{i}"));
            feed(&mut a, i + 1, true, &r);
        }
        for i in (0..n).rev() {
            let ok = resp("200 OK", "1 INVITE", &format!("z9hG4bK{i}"))
                .replace("call-1", &format!("c{i}"));
            feed(&mut a, 2 * n - i, false, &ok);
        }
        assert_eq!(a.dialogs().len(), n as usize);
        assert!(a
            .dialogs()
            .iter()
            .all(|d| d.messages == 2 && d.state == DialogState::InCall));
        // Every dialog names alice and bob: two texts, not one per dialog.
        let (first, last) = (&a.dialogs()[0], &a.dialogs()[n as usize - 1]);
        assert!(std::sync::Arc::ptr_eq(&first.from, &last.from));
        assert!(std::sync::Arc::ptr_eq(&first.to, &last.to));
        assert_eq!((&*first.from, &*first.to), ("sip:alice@a", "sip:bob@b"));
        assert_eq!(a.aors.len(), 2);

        // A Call-ID that is not UTF-8 is kept as its lossy text, and its response is found
        // under it.
        let mut b = Analysis::new(false);
        let raw = |text: String| {
            let text = text.replace('\n', "\r\n").replace("call-1", "bad-\u{1}");
            text.into_bytes()
                .into_iter()
                .map(|c| if c == 1 { 0xFF } else { c })
                .collect::<Vec<u8>>()
        };
        for (frame, bytes) in [
            (1, raw(req("INVITE", "1 INVITE", "z9hG4bK1", ""))),
            (2, raw(resp("200 OK", "1 INVITE", "z9hG4bK1"))),
        ] {
            let (m, _) = frame_stream(&bytes).unwrap();
            b.message(&ctx(frame, frame == 1), &m);
        }
        assert_eq!(b.dialogs().len(), 1);
        assert_eq!(&*b.dialogs()[0].call_id, "bad-\u{FFFD}");
        assert_eq!(b.dialogs()[0].state, DialogState::InCall);
    }

    #[test]
    fn a_silent_dialog_forgets_its_transactions_and_a_recent_copy_is_still_one() {
        // Frames are milliseconds apart (see `ctx`): frame 70_000 is 70 s after frame 0.
        let mut a = Analysis::new(false);
        feed(&mut a, 1, true, &req("INVITE", "1 INVITE", "z9hG4bK1", ""));
        feed(&mut a, 2, false, &resp("200 OK", "1 INVITE", "z9hG4bK1"));
        // The same 200 again 30 s later: a retransmission (kept keys).
        feed(
            &mut a,
            30_000,
            false,
            &resp("200 OK", "1 INVITE", "z9hG4bK1"),
        );
        assert_eq!(a.stats().retransmissions, 1);
        assert!(!a.dialogs()[0].seen.is_empty());
        // Another call goes on; 64 s after dialog 0's last message its keys are forgotten.
        for (i, frame) in [(1u64, 60_000u64), (2, 95_000), (3, 96_000)] {
            let other = req(
                "OPTIONS",
                &format!("{i} OPTIONS"),
                &format!("z9hG4bKo{i}"),
                "",
            )
            .replace("call-1", "call-2");
            feed(&mut a, frame, true, &other);
        }
        assert!(a.dialogs()[0].seen.is_empty(), "silent for 66 s");
        assert!(!a.dialogs()[1].seen.is_empty(), "spoke 1 s ago");
        // A copy of dialog 0's 200 now is no retransmission by RFC 3261's timers: counted.
        let before = a.dialogs()[0].messages;
        feed(
            &mut a,
            97_000,
            false,
            &resp("200 OK", "1 INVITE", "z9hG4bK1"),
        );
        assert_eq!(a.dialogs()[0].messages, before + 1);
        assert_eq!(a.stats().retransmissions, 1);
    }

    #[test]
    fn a_refused_dialog_gives_its_addresses_back() {
        // Requests never answered cannot be evicted for 32 s; with 1 MiB the budget refuses
        // dialogs after a few hundred: their addresses must not stay in the shared table.
        let limit = 1 << 20;
        let mut a = budgeted(false, limit);
        for i in 0..5_000u64 {
            let r = req("INVITE", "1 INVITE", &format!("z9hG4bK{i}"), "")
                .replace("call-1", &format!("c{i}-{}", "x".repeat(256)))
                .replace("alice@a", &format!("user{i}-{}@a", "y".repeat(256)));
            feed(&mut a, i + 1, true, &r);
        }
        let st = a.stats();
        assert!(st.dialogs_refused_memory > 1_000, "{st:?}");
        let kept = a.dialogs_kept();
        assert!(
            a.aors.len() <= kept + 1,
            "{} addresses, {kept} dialogs",
            a.aors.len()
        );
    }

    #[test]
    fn evicting_dialogs_forgets_the_addresses_only_they_named() {
        let limit = 2 << 20;
        let mut a = budgeted(false, limit);
        for i in 0..4_000u64 {
            let call_id = format!("{i:08}{}", "x".repeat(1024));
            let r = req("MESSAGE", "1 MESSAGE", &format!("z9hG4bK{i}"), "")
                .replace("call-1", &call_id)
                .replace("alice@a", &format!("user{i}@a"));
            feed(&mut a, 2 * i + 1, true, &r);
            let ok = resp("200 OK", "1 MESSAGE", &format!("z9hG4bK{i}"))
                .replace("call-1", &call_id)
                .replace("alice@a", &format!("user{i}@a"));
            feed(&mut a, 2 * i + 2, false, &ok);
        }
        let evicted = a.stats().dialogs_evicted;
        assert!(evicted > 1_000, "{:?}", a.stats());
        // Each kept dialog holds its own From and the shared To (and the evicted ones the
        // shared empty text, which the table does not hold).
        let kept = a.dialogs_kept();
        assert!(
            a.aors.len() <= kept + 1,
            "{} addresses, {kept} dialogs",
            a.aors.len()
        );
        let last = a.dialogs().last().expect("dialogs");
        assert_eq!(&*last.from, "sip:user3999@a");
        // What the budget counts as live is what the dialogs hold: an evicted one nothing.
        let held: usize = a.dialogs().iter().map(Dialog::bytes).sum();
        assert_eq!(a.memory.used, held);
        assert!(a
            .dialogs()
            .iter()
            .filter(|d| d.evicted)
            .all(|d| d.bytes() == 0));
    }

    #[test]
    fn evicted_identifiers_still_count_until_new_ones_take_their_place() {
        // The allocator keeps what an eviction frees: the budget counts identifiers at their
        // peak, so rows that keep coming (an evicted dialog keeps its row) end in refusals
        // instead of growing the process past the budget.
        let limit = 2 << 20;
        let mut a = budgeted(false, limit);
        let mut peak = 0;
        for i in 0..20_000 {
            finished_dialog(&mut a, i, 200, "200 OK");
            let used = a.memory_used();
            assert!(used <= limit, "{used} over {limit}");
            // Evicting never lowers what is accounted: the freed blocks are still held.
            assert!(used >= peak, "{used} fell below {peak}");
            peak = used;
        }
        let st = a.stats();
        assert!(st.dialogs_evicted > 1_000, "{st:?}");
        assert!(st.dialogs_refused_memory > 1_000, "{st:?}");
        assert!(a.memory.used <= a.memory.used_peak);
        // Identifiers stayed within their half; the rows took the rest.
        assert!(
            a.memory.used_peak <= limit / 2 + 4096,
            "{}",
            a.memory.used_peak
        );
    }

    #[test]
    fn an_identifier_larger_than_the_identifiers_share_does_not_overflow_the_budget() {
        // A library caller's small budget: half of it is the identifiers' share, and a 60 KB
        // Call-ID is over that but fits beside the tables: evict what can be, then admit or
        // refuse, never wrap around.
        let limit = 160_000;
        let mut a = budgeted(false, limit);
        for i in 0..5 {
            finished_dialog(&mut a, i, 10_000, "200 OK");
        }
        finished_dialog(&mut a, 5, 60_000, "200 OK");
        finished_dialog(&mut a, 6, 100, "200 OK");
        assert!(a.memory_used() <= limit, "{} over {limit}", a.memory_used());
        assert_eq!(a.stats().sip_messages, 14);
    }

    #[test]
    fn the_byte_budget_refuses_new_dialogs_when_nothing_is_finished() {
        let limit = 2 << 20;
        let mut a = budgeted(false, limit);
        // Requests never answered, all within a second: none is over.
        for i in 0..2_000u64 {
            let call_id = format!("{i:08}{}", "y".repeat(4096));
            let r =
                req("INVITE", "1 INVITE", &format!("z9hG4bK{i}"), "").replace("call-1", &call_id);
            feed(&mut a, i + 1, true, &r);
            assert!(a.memory_used() <= limit);
        }
        let st = a.stats();
        assert_eq!(st.dialogs_evicted, 0, "{st:?}");
        assert!(st.dialogs_refused_memory > 1_000, "{st:?}");
        assert_eq!(a.dialogs().len() as u64 + st.dialogs_refused_memory, 2_000);
        assert_eq!(st.sip_messages, 2_000, "every message is counted");
        // Once they are over (unanswered for more than 32 s), they make room again.
        let mut late = ctx(10_000, true);
        late.time = Timestamp(3_000 + 40_000_000_000);
        let call_id = format!("late{}", "z".repeat(4096));
        let r = req("INVITE", "1 INVITE", "z9hG4bKlate", "").replace("call-1", &call_id);
        let r = r.replace('\n', "\r\n");
        let (m, _) = frame_stream(r.as_bytes()).expect("frames");
        a.message(&late, &m);
        assert!(a.stats().dialogs_evicted > 0, "{:?}", a.stats());
        assert!(a
            .dialogs()
            .last()
            .is_some_and(|d| d.call_id.starts_with("late")));
    }

    #[test]
    fn limits_bound_messages_dialogs_and_conferences() {
        let limits = Limits {
            messages: 3,
            dialogs: 1,
            conferences: 0,
            ..Limits::default()
        };
        let mut a = Analysis::new(true).with_limits(limits);
        assert_eq!(a.limits(), limits);
        feed(&mut a, 1, true, &req("INVITE", "1 INVITE", "z9hG4bK1", ""));
        let other = req("INVITE", "1 INVITE", "z9hG4bK9", "").replace("call-1", "call-2");
        feed(&mut a, 2, true, &other);
        feed(&mut a, 3, false, &resp("200 OK", "1 INVITE", "z9hG4bK1"));
        feed(&mut a, 4, false, &resp("200 OK", "1 INVITE", "z9hG4bK1"));
        assert_eq!(a.dialogs().len(), 1);
        assert_eq!(a.stats().dialogs_dropped, 1);
        assert_eq!(a.messages().len(), 3);
        assert_eq!(a.stats().messages_not_listed, 1);
        assert_eq!(a.stats().sip_messages, 4, "every message is counted");
        // Conferences: the first of three is tracked, the others' dialogs counted.
        let path = format!(
            "{}/captures/multi-conference.pcapng",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../..")
        );
        let mut files = crate::capture::CaptureFiles::open(&[path]).expect("sample opens");
        let mut p = crate::pipeline::Pipeline::new(&crate::Options {
            limits: Limits {
                conferences: 1,
                ..Limits::default()
            },
            ..crate::Options::default()
        });
        crate::pipeline::run(&mut files, &mut p);
        let confs = p.analysis().conferences();
        assert_eq!(confs.list().len(), 1);
        assert!(confs.stats.conferences_dropped > 0);
    }
}
