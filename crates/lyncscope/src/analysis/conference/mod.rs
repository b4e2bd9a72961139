//! Conference analysis: the dialogs of every Lync / Skype for Business conference join,
//! correlated by conference, and the first failed step with a reason a person can act on.
//!
//! A join has up to three steps, each its own SIP dialog with its own Call-ID
//! (docs/protocol.md §0): the **invitation** (INVITE with `application/ms-conf-invite+xml`, from the
//! inviter), the **focus** (INVITE to the focus URI carrying C3P `addUser`, plus the roster
//! SUBSCRIBE), and the **media** (INVITE to the A/V MCU, or another MCU such as IM `chat`).
//! Dialogs are tied together by the conference key — (organizer, conference ID) from the focus
//! or MCU URI, or from the invitation's `focus-uri` — never by their order, which varies.
//!
//! Dialogs are classified once, when they open; after that only messages of conference dialogs
//! reach this module, so ordinary traffic costs one cheap test per dialog. Bodies are decoded
//! only for the messages that matter here (the invitation, C3P, rosters, SDP of MCU INVITEs).

use super::dialog::{Dialog, DialogKind};
use crate::sip::body::{c3p, conf_invite, conference_info, diagnostics, multipart, sdp, BodyKind};
use crate::sip::conf_uri::{ConfUri, McuType};
use crate::sip::message::{Hdr, Message};
use crate::sip::uri::may_be_conference;
use crate::sip::user_agent::ClientKind;
use crate::transport::MsgContext;
use crate::Timestamp;
use ahash::RandomState;
use lyncscope_base::vec::push_snug;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

/// Most conferences tracked (the default of [`super::Limits::conferences`]), and participants per
/// conference; beyond, they are counted.
pub(crate) const MAX_CONFERENCES: usize = 100_000;
pub(crate) const MAX_PARTICIPANTS: usize = 10_000;
/// Conferences not tracked that are remembered (by a 64-bit hash of their key) so that each
/// is counted once in `conferences_dropped` (8 MiB at most); beyond, each further lookup of an
/// unremembered one counts again.
const MAX_DROPPED_KEYS: usize = 1 << 20;
/// Attempts remembered per MCU step.
pub(crate) const MAX_ATTEMPTS: usize = 16;
/// Devices (`epid`s) of one user tracked apart per conference: people join from a desktop,
/// a phone app and a browser; beyond, they are counted and folded into the first.
pub(crate) const MAX_DEVICES: usize = 8;
/// Dial-out requests remembered per conference: a meeting dials out to a few people.
pub(crate) const MAX_DIAL_OUTS: usize = 64;
/// Longest `epid` kept: real ones are 10 hex digits.
const MAX_EPID: usize = 64;
/// Distinct `User-Agent` texts shared; beyond, a participant keeps its own copy.
const MAX_USER_AGENTS: usize = 4096;
/// What the byte budget counts for a step: the step and its boxed parts as if each were there
/// (they are boxed because most steps lack them; the budget errs on the side of more).
const STEP_BYTES: usize = std::mem::size_of::<Step>()
    + std::mem::size_of::<(&str, diagnostics::Diagnostic)>()
    + std::mem::size_of::<C3pOutcome>()
    + std::mem::size_of::<diagnostics::Diagnostic>()
    + std::mem::size_of::<model::Said>();

mod diagnosis;
mod identity;
mod model;

pub use diagnosis::{Cause, Diagnosis};
pub use identity::{Access, EdgeTrust};
pub use lyncscope_base::join::{JoinState, JoinStep};
pub use model::{
    C3pCode, C3pOutcome, Conference, EndedBy, Ending, IceFlavour, LobbyDecision, Participant,
    Removal, Step, MAX_USER_AGENT,
};

/// What the analysis already read from a message, so the conference analysis does not parse
/// the same headers again.
#[derive(Clone, Copy, Debug)]
pub struct Known<'a> {
    /// The To tag.
    pub to_tag: Option<&'a [u8]>,
    /// CSeq number and method.
    pub cseq: Option<(u32, &'a [u8])>,
    /// What the Content-Type announces.
    pub body_kind: Option<BodyKind>,
}

/// A conference URI as the classification needs it.
#[derive(Clone, Debug)]
struct KnownUri {
    mcu: McuType,
    /// The conference ID, as the conference list spells it once the conference is known.
    id: Option<std::sync::Arc<str>>,
    /// The conference, unless the URI has no ID or the conference was dropped by the bound.
    conference: Option<u32>,
}

/// Most conference URI texts remembered (the memory is cleared when full), and the longest.
const MAX_URI_CACHE: usize = 4096;
const MAX_URI_TEXT: usize = 512;

/// What a conference dialog is, set when it opens.
#[derive(Clone, Copy, Debug)]
struct Role {
    conference: u32,
    participant: Option<u32>,
    kind: DialogKind,
}

/// Counters of the conference analysis.
#[derive(Debug, Default, Clone)]
pub struct ConferenceStats {
    /// Conference bodies that could not be decoded.
    pub bad_bodies: u64,
    /// Conferences not tracked because of the conference bound, each counted once (exactly
    /// for the first 1,048,576 of them).
    pub conferences_dropped: u64,
    /// Lookups of a conference not tracked (a dialog names its conference in its URIs).
    pub conference_dialogs_dropped: u64,
    /// Participants not tracked because of the per-conference bound (10,000): a participant's
    /// dialog that would have added one more is still a dialog, not in the conference.
    pub participants_dropped: u64,
    /// Devices of a user beyond the per-user bound, folded into the user's first device.
    pub devices_dropped: u64,
    /// Dial-out requests beyond the per-conference bound, not kept.
    pub dial_outs_dropped: u64,
    /// Roster `user` elements not kept: beyond 10,000 in one document or one conference's
    /// roster, summed over the roster documents merged (copies to other subscribers are not
    /// merged, so not counted again).
    pub roster_users_dropped: u64,
    /// Roster `endpoint` elements not kept (beyond 64 per user), summed the same way.
    pub roster_endpoints_dropped: u64,
    /// Roster `media` elements not kept (beyond 32 per endpoint), summed the same way.
    pub roster_media_dropped: u64,
    /// Roster conference URI entries (beyond 64) and user roles (beyond 16) not kept.
    pub roster_entries_dropped: u64,
    /// Earlier attempts of one participant's media or MCU step forgotten (beyond 16).
    pub attempts_dropped: u64,
}

/// Every conference of the capture, with the dialogs of each join correlated to it.
pub struct Conferences {
    list: Vec<Conference>,
    /// Most conferences tracked; further ones are counted in `conferences_dropped`.
    max: usize,
    /// Conferences by a hash of (organizer, case-folded ID); collisions are told apart by
    /// comparing the fields.
    by_key: HashMap<u64, Vec<u32>, RandomState>,
    hasher: RandomState,
    /// The role of each conference dialog, indexed by dialog id (ids are dense: the analysis
    /// numbers dialogs from 0), so the per-message lookup is one bounds-checked read.
    roles: Vec<Option<Role>>,
    /// Participants by (conference, hash of AOR) (see [`Conferences::participant`]).
    participant_index: HashMap<(u32, u64), u32, RandomState>,
    /// Conference URIs by the text they were read from (see [`Conferences::known_uri`]).
    uri_cache: HashMap<Box<[u8]>, KnownUri, RandomState>,
    /// Candidate addresses of A/V steps, for the media datagrams.
    media: super::media::MediaIndex,
    /// Participants' `User-Agent` texts, shared (a deployment runs a few client builds).
    user_agents: super::symbols::SharedTexts,
    /// What the conference analysis could not decode or keep.
    pub stats: ConferenceStats,
    /// Bytes held by conferences and participants (not rosters, which are bounded by count),
    /// for the analysis' byte budget.
    pub(crate) bytes: usize,
    /// Hashes of the keys of conferences not tracked, to count each once.
    dropped_keys: std::collections::HashSet<u64, RandomState>,
}

impl Default for Conferences {
    fn default() -> Self {
        Conferences {
            list: Vec::new(),
            max: MAX_CONFERENCES,
            by_key: HashMap::default(),
            hasher: RandomState::new(),
            roles: Vec::new(),
            participant_index: HashMap::default(),
            uri_cache: HashMap::default(),
            media: super::media::MediaIndex::default(),
            user_agents: super::symbols::SharedTexts::new(MAX_USER_AGENTS),
            stats: ConferenceStats::default(),
            bytes: 0,
            dropped_keys: Default::default(),
        }
    }
}

impl Conferences {
    /// The conferences in the order they were first seen.
    pub fn list(&self) -> &[Conference] {
        &self.list
    }

    /// Sets the most conferences tracked.
    pub(crate) fn set_max(&mut self, max: usize) {
        self.max = max;
    }

    /// The conference (index in [`Conferences::list`]) a dialog belongs to, if any.
    pub fn conference_of(&self, dialog: u32) -> Option<usize> {
        self.roles
            .get(dialog as usize)
            .copied()
            .flatten()
            .map(|r| r.conference as usize)
    }

    /// Records a conference dialog's role and lists it in its conference.
    fn assign(&mut self, dialog: u32, role: Role) {
        let i = dialog as usize;
        if self.roles.len() <= i {
            self.roles.resize(i + 1, None);
        }
        if let Some(slot) = self.roles.get_mut(i) {
            *slot = Some(role);
        }
        if let Some(conf) = self.list.get_mut(role.conference as usize) {
            if conf.dialogs.last().is_none_or(|&d| d < dialog) {
                conf.dialogs.push(dialog);
            } else if let Err(at) = conf.dialogs.binary_search(&dialog) {
                conf.dialogs.insert(at, dialog);
            }
        }
    }

    /// Decides, when a dialog opens, whether it belongs to a conference; sets its kind and
    /// conference ID.
    pub fn classify(
        &mut self,
        id: u32,
        dialog: &mut Dialog,
        ctx: &MsgContext,
        msg: &Message<'_>,
        known: &Known<'_>,
    ) {
        let method = msg
            .method()
            .or_else(|| known.cseq.map(|c| c.1))
            .unwrap_or_default();
        let is = |m: &[u8]| method.eq_ignore_ascii_case(m);
        let is_request = msg.is_request();
        // An invitation: the body names the conference.
        if is(b"INVITE")
            && is_request
            && known.to_tag.is_none()
            && known.body_kind == Some(BodyKind::ConfInvite)
        {
            self.open_invitation(id, dialog, ctx, msg);
            return;
        }
        // A dialog with a conference: To (client → conference) or From (focus → client).
        let toward = msg
            .header(Hdr::To)
            .filter(|v| may_be_conference(v))
            .or_else(|| msg.request_uri().filter(|v| may_be_conference(v)));
        let (conf, participant_hdr) = match toward {
            Some(c) => (c, Hdr::From),
            None => match msg.header(Hdr::From).filter(|v| may_be_conference(v)) {
                Some(c) => (c, Hdr::To),
                None => return,
            },
        };
        let Some(uri) = self.known_uri(conf, ctx.time) else {
            return;
        };
        let invite = is(b"INVITE");
        let kind = match &uri.mcu {
            McuType::FocusFactory => DialogKind::ConferenceControl,
            McuType::Focus if invite => DialogKind::Focus,
            McuType::AudioVideo if invite => DialogKind::Media,
            _ if invite => DialogKind::Mcu,
            _ if is(b"SUBSCRIBE") || is(b"NOTIFY") || is(b"BENOTIFY") => DialogKind::Roster,
            _ => DialogKind::ConferenceControl,
        };
        dialog.kind = kind;
        if uri.mcu == McuType::FocusFactory && is_request && known.body_kind == Some(BodyKind::C3p)
        {
            self.factory_delete(&dialog.from, msg.body(), ctx.time);
        }
        let Some(conf_id) = uri.id else {
            return;
        };
        dialog.conference_id = Some(conf_id);
        let Some(c) = uri.conference else {
            return;
        };
        let participant = match kind {
            // The server's announcement service joins like a client; it is not a participant
            // (docs/protocol.md §4.1).
            _ if is_announcement_service(msg) => None,
            DialogKind::Focus | DialogKind::Media | DialogKind::Mcu | DialogKind::Roster => {
                // The dialog already holds both ends' addresses of record.
                let who = if participant_hdr == Hdr::From {
                    &dialog.from
                } else {
                    &dialog.to
                };
                let epid = msg.header(participant_hdr).and_then(epid_of);
                self.device(c, who, epid.as_deref(), ctx.time)
            }
            _ => None,
        };
        self.assign(
            id,
            Role {
                conference: c,
                participant,
                kind,
            },
        );
        let Some(conf) = self.list.get_mut(c as usize) else {
            return;
        };
        if !conf.mcus.contains(&uri.mcu) {
            conf.mcus.push(uri.mcu.clone());
        }
        let Some(p) = participant.and_then(|i| conf.participants.get_mut(i as usize)) else {
            return;
        };
        let mut step = Step::new(id, dialog, ctx);
        step.dialed_out = participant_hdr == Hdr::To;
        // A step is the bulk of a participant (its attempts are bounded): counted as it comes.
        self.bytes += STEP_BYTES;
        match kind {
            DialogKind::Focus => {
                if let Some(old) = p.focus.replace(Box::new(step)) {
                    push_bounded(&mut p.earlier_focus, *old);
                }
            }
            DialogKind::Roster => {
                conf.roster_subscriptions = conf.roster_subscriptions.saturating_add(1);
                p.roster = Some(Box::new(step));
            }
            DialogKind::Media => {
                self.stats.attempts_dropped += u64::from(push_bounded(&mut p.media, step));
            }
            DialogKind::Mcu if p.mcus.len() < MAX_ATTEMPTS => {
                push_snug(&mut p.mcus, (uri.mcu.clone(), step))
            }
            DialogKind::Mcu => self.stats.attempts_dropped += 1,
            _ => {}
        }
    }

    fn open_invitation(
        &mut self,
        id: u32,
        dialog: &mut Dialog,
        ctx: &MsgContext,
        msg: &Message<'_>,
    ) {
        dialog.kind = DialogKind::Invitation;
        let invite = match conf_invite::parse_focus(msg.body()) {
            Ok(i) => i,
            Err(_) => {
                self.stats.bad_bodies += 1;
                return;
            }
        };
        let Some(focus) = invite.focus_uri.as_deref() else {
            return;
        };
        let Some(uri) = self.known_uri(focus.as_bytes(), ctx.time) else {
            return;
        };
        let Some(conf_id) = uri.id else {
            return;
        };
        dialog.conference_id = Some(conf_id);
        let Some(c) = uri.conference else {
            return;
        };
        let participant = self.participant(c, &dialog.to, ctx.time);
        self.assign(
            id,
            Role {
                conference: c,
                participant,
                kind: DialogKind::Invitation,
            },
        );
        let Some(conf) = self.list.get_mut(c as usize) else {
            return;
        };
        if conf.subject.is_none() {
            conf.subject = invite.subject.clone().filter(|s| !s.is_empty());
        }
        if let Some(p) = participant.and_then(|i| conf.participants.get_mut(i as usize)) {
            p.invited_by = Some(dialog.from.to_string());
            p.invitation = Some(Box::new(Step::new(id, dialog, ctx)));
            self.bytes += STEP_BYTES;
        }
    }

    /// The conference URI in `text` (a header value or a bare URI) with its conference, created
    /// when first seen. Every dialog of a conference names the same URI in the same words, so
    /// the answer is remembered by the exact text: a repeat costs one hash lookup instead of a
    /// parse, a few allocations and the conference lookup.
    fn known_uri(&mut self, text: &[u8], at: Timestamp) -> Option<KnownUri> {
        if let Some(hit) = self.uri_cache.get(text) {
            let hit = hit.clone();
            if let Some(conf) = hit.conference.and_then(|c| self.list.get_mut(c as usize)) {
                conf.last_seen = conf.last_seen.max(at);
            }
            return Some(hit);
        }
        let uri = match std::str::from_utf8(text) {
            Ok(text) => ConfUri::parse(text),
            Err(_) => ConfUri::parse(&String::from_utf8_lossy(text)),
        }?;
        let conference = match uri.id.as_deref() {
            Some(id) => self.conference(&uri, id, at),
            None => None,
        };
        // Dialogs name their conference as the conference list does, whatever case this URI
        // spells the ID in (IDs match ignoring case), so reports can be joined on the ID.
        let id = match conference.and_then(|c| self.list.get(c as usize)) {
            Some(conf) => Some(conf.id.as_str().into()),
            None => uri.id.map(std::sync::Arc::from),
        };
        let known = KnownUri {
            id,
            mcu: uri.mcu,
            conference,
        };
        // A dropped conference (over the bound) is looked up again, so every drop is counted;
        // long texts are not kept (a header may be 64 KB: 4096 of them would be 256 MB).
        if (known.conference.is_some() || known.id.is_none()) && text.len() <= MAX_URI_TEXT {
            if self.uri_cache.len() >= MAX_URI_CACHE {
                self.uri_cache.clear();
            }
            self.uri_cache.insert(text.into(), known.clone());
        }
        Some(known)
    }

    /// The conference of (organizer, ID), created when first seen. IDs are matched ignoring
    /// case (docs/protocol.md §1.4: observed IDs are upper case; a case-folded match is safer).
    /// The key of a conference in `by_key`: its organizer and its ID, ignoring the ID's case.
    fn conference_key(&self, uri: &ConfUri, id: &str) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write(uri.organizer.as_bytes());
        h.write_u8(0);
        for b in id.bytes() {
            h.write_u8(b.to_ascii_lowercase());
        }
        h.finish()
    }

    /// The conference of `uri` with `id`, if it is known (never creates one).
    fn find_conference(&self, uri: &ConfUri, id: &str) -> Option<u32> {
        let hash = self.conference_key(uri, id);
        self.by_key.get(&hash).and_then(|candidates| {
            candidates.iter().copied().find(|&c| {
                self.list.get(c as usize).is_some_and(|conf| {
                    conf.organizer_key == uri.organizer && conf.id.eq_ignore_ascii_case(id)
                })
            })
        })
    }

    /// A C3P `deleteConference` sent to the focus factory ([MS-CONFBAS] 3.2.5: the
    /// factory, not the focus, is where a client deletes a conference): the conference its
    /// `conferenceKeys` name, if known, was ended by the sender.
    fn factory_delete(&mut self, sender: &str, body: &[u8], at: Timestamp) {
        let Ok(c) = c3p::parse(body) else { return };
        if c.kind != c3p::C3pKind::Request || c.command != "deleteConference" {
            return;
        }
        let Some(uri) = c.conf_entity.as_deref().and_then(ConfUri::parse) else {
            return;
        };
        let Some(id) = uri.id.as_deref() else { return };
        let found = self.find_conference(&uri, id);
        if let Some(conf) = found.and_then(|i| self.list.get_mut(i as usize)) {
            conf.deleted_by = Some((crate::sip::uri::aor(sender), at));
        }
    }

    fn conference(&mut self, uri: &ConfUri, id: &str, at: Timestamp) -> Option<u32> {
        let hash = self.conference_key(uri, id);
        let found = self.find_conference(uri, id);
        if let Some(c) = found {
            if let Some(conf) = self.list.get_mut(c as usize) {
                conf.last_seen = conf.last_seen.max(at);
            }
            return Some(c);
        }
        if self.list.len() >= self.max {
            self.stats.conference_dialogs_dropped += 1;
            let new = if self.dropped_keys.len() < MAX_DROPPED_KEYS {
                self.dropped_keys.insert(hash)
            } else {
                !self.dropped_keys.contains(&hash)
            };
            if new {
                self.stats.conferences_dropped += 1;
            }
            return None;
        }
        let c = self.list.len() as u32;
        self.bytes +=
            std::mem::size_of::<Conference>() + 3 * id.len() + 2 * uri.organizer.len() + 128;
        self.list.push(Conference {
            id: id.to_string(),
            organizer_key: uri.organizer.clone(),
            organizer: uri.organizer_aor(),
            focus_uri: uri.focus_uri(),
            subject: None,
            first_seen: at,
            last_seen: at,
            mcus: Vec::new(),
            participants: Vec::new(),
            roster: None,
            roster_dialog: None,
            roster_dialog_ended: false,
            roster_copies: 0,
            copies_since_merged: 0,
            roster_subscriptions: 0,
            roster_problems: 0,
            deleted_by: None,
            dial_outs: Vec::new(),
            control: Vec::new(),
            dialogs: Vec::new(),
        });
        self.by_key.entry(hash).or_default().push(c);
        Some(c)
    }

    /// The participant of conference `c` with this AOR, added when new. Found by a hash of
    /// (conference, AOR): a large conference gets a dialog per participant and step, and a
    /// scan of its participant list for each would be quadratic.
    ///
    /// With a device (`epid`), each device of the user is a participant of its own (its own
    /// steps; the reports group them under the user): the first device seen takes the user's
    /// first entry (which may hold the invitation, addressed to the user), later ones get
    /// entries of their own, up to [`MAX_DEVICES`] per user (more are counted and folded into
    /// the first).
    fn device(&mut self, c: u32, uri: &str, epid: Option<&str>, at: Timestamp) -> Option<u32> {
        let first = self.participant(c, uri, at)?;
        let Some(epid) = epid else {
            return Some(first);
        };
        let key = (c, self.hasher.hash_one((uri, epid)));
        let conf = self.list.get_mut(c as usize)?;
        let is_it = |p: &Participant| p.uri == uri && p.device.as_deref() == Some(epid);
        if let Some(i) = self.participant_index.get(&key).copied() {
            if conf.participants.get(i as usize).is_some_and(is_it) {
                return Some(i);
            }
        }
        let full = conf.participants.len() >= MAX_PARTICIPANTS;
        let head = conf.participants.get_mut(first as usize)?;
        match head.device.as_deref() {
            None => {
                head.device = Some(epid.into());
                self.participant_index.insert(key, first);
                return Some(first);
            }
            Some(d) if d == epid => return Some(first),
            Some(_) => {}
        }
        if usize::from(head.other_devices) + 1 >= MAX_DEVICES {
            self.stats.devices_dropped += 1;
            return Some(first);
        }
        if full {
            self.stats.participants_dropped += 1;
            return Some(first);
        }
        head.other_devices += 1;
        head.shares_user = true;
        let mut p = Participant::new(uri.to_string(), at);
        p.device = Some(epid.into());
        p.shares_user = true;
        push_snug(&mut conf.participants, p);
        let i = conf.participants.len() as u32 - 1;
        self.participant_index.insert(key, i);
        Some(i)
    }

    fn participant(&mut self, c: u32, uri: &str, at: Timestamp) -> Option<u32> {
        let key = (c, self.hasher.hash_one(uri));
        let conf = self.list.get_mut(c as usize)?;
        let indexed = self.participant_index.get(&key).copied();
        if let Some(i) = indexed.filter(|&i| {
            conf.participants
                .get(i as usize)
                .is_some_and(|p| p.uri == uri)
        }) {
            return Some(i);
        }
        if indexed.is_some() {
            // Two AORs with one hash: the index holds the other; look the slow way.
            if let Some(i) = conf.participants.iter().position(|p| p.uri == uri) {
                return Some(i as u32);
            }
        }
        if conf.participants.len() >= MAX_PARTICIPANTS {
            self.stats.participants_dropped += 1;
            return None;
        }
        self.bytes += std::mem::size_of::<Participant>() + uri.len() + 64;
        push_snug(
            &mut conf.participants,
            Participant::new(uri.to_string(), at),
        );
        let i = conf.participants.len() as u32 - 1;
        self.participant_index.entry(key).or_insert(i);
        Some(i)
    }

    /// A message of a conference dialog (retransmissions excluded).
    ///
    /// `from_initiator`: the message's From tag is that of the request that opened the dialog
    /// (the participant, for focus / roster / MCU dialogs; the inviter, for an invitation).
    pub fn message(
        &mut self,
        id: u32,
        ctx: &MsgContext,
        msg: &Message<'_>,
        known: &Known<'_>,
        from_initiator: bool,
    ) {
        let Some(&Some(role)) = self.roles.get(id as usize) else {
            return;
        };
        let Some(conf) = self.list.get_mut(role.conference as usize) else {
            return;
        };
        conf.last_seen = conf.last_seen.max(ctx.time);
        let method = msg.method();
        let is = |v: Option<&[u8]>, m: &[u8]| v.is_some_and(|v| v.eq_ignore_ascii_case(m));
        let cseq_method = known.cseq.map(|c| c.1);
        // Without a body, a provisional response or an ACK changes nothing of a join but
        // one thing: a 180 says the invitee's client rang.
        if known.body_kind.is_none()
            && (msg.status().is_some_and(|s| s < 200)
                || method.is_some_and(|m| m.eq_ignore_ascii_case(b"ACK")))
        {
            if msg.status() == Some(180) && is(cseq_method, b"INVITE") {
                if let Some(p) = role
                    .participant
                    .and_then(|i| conf.participants.get_mut(i as usize))
                {
                    note_user_agent(p, role.kind, msg, from_initiator, &mut self.user_agents);
                    if let Some(step) = step_of(p, role.kind, id) {
                        step.ringing_at.get_or_insert(ctx.time);
                    }
                }
            }
            return;
        }
        let body_kind = known.body_kind;

        // Roster documents: NOTIFY / BENOTIFY, or piggy-backed on the 200 to SUBSCRIBE.
        if body_kind == Some(BodyKind::ConferenceInfo) && !msg.body().is_empty() {
            roster_document(conf, id, msg.body(), &mut self.stats);
        }
        let ends_subscription = subscription_ends(msg);
        if role.kind == DialogKind::Roster && conf.roster_dialog == Some(id) && ends_subscription {
            conf.roster_dialog_ended = true;
        }
        // C3P outside the join INVITE (INFO, SERVICE): remember the command and its outcome.
        if body_kind == Some(BodyKind::C3p) && !is(cseq_method, b"INVITE") {
            if let Ok(c) = c3p::parse_outcome(msg.body()) {
                // The focus's final answer to a join it held (`pending`: the lobby), sent
                // later in the same dialog, is the join's answer, not a command of its own.
                if !deferred_answer(conf, role.participant, id, &c) {
                    record_control(conf, id, &c);
                }
                if matches!(
                    c.command.as_str(),
                    "deleteUser" | "setLobbyAccess" | "addUser" | "deleteConference"
                ) || c.kind == c3p::C3pKind::Response
                {
                    about_user(
                        conf,
                        role.participant,
                        &c,
                        msg.body(),
                        ctx.time,
                        &mut self.stats,
                    );
                }
            }
        }
        let Some(p) = role
            .participant
            .and_then(|i| conf.participants.get_mut(i as usize))
        else {
            return;
        };
        note_user_agent(p, role.kind, msg, from_initiator, &mut self.user_agents);
        if p.edge.is_none() {
            // The Edge stamps what comes in from outside: the participant's initial request,
            // or the invitee's answer to an invitation.
            let theirs = match role.kind {
                DialogKind::Invitation => msg.status().is_some_and(|s| s >= 200),
                _ => from_initiator && method.is_some() && known.to_tag.is_none(),
            };
            if theirs {
                p.edge = identity::EdgeTrust::of(msg).map(Box::new);
            }
        }
        let Some(step) = step_of(p, role.kind, id) else {
            return;
        };
        let expected: &[u8] = if role.kind == DialogKind::Roster {
            b"SUBSCRIBE"
        } else {
            b"INVITE"
        };
        let cseq = known.cseq.map(|c| c.0);
        if let Some(m) = method {
            if m.eq_ignore_ascii_case(expected) && known.to_tag.is_none() {
                // The same request again with a higher CSeq (after a 401/407 challenge, a 422,
                // a redirect): a new attempt, whose outcome replaces a failure.
                if let (Some(old), Some(new)) = (step.cseq, cseq) {
                    if new > old {
                        step.cseq = Some(new);
                        if step.failed() {
                            step.status = None;
                            step.reason_phrase = None;
                            step.answered_at = None;
                            step.diagnostic = None;
                            if let Some(c) = step.c3p.as_mut() {
                                c.code = None;
                                c.reason = None;
                            }
                        }
                    }
                }
                step.cseq = step.cseq.or(cseq);
                if !step.offer_seen {
                    step.offer_seen = true;
                    step.request_frame = ctx.frame;
                    let sdp = offer(step, msg, body_kind, &mut self.stats);
                    if let (DialogKind::Media, Some(body)) = (role.kind, sdp) {
                        self.bytes += media_offer(step, body, &mut self.media);
                    }
                }
            } else if m.eq_ignore_ascii_case(b"BYE") || ends_subscription {
                if from_initiator && step.ended_by.is_none() {
                    step.hangup_diagnostic = client_diagnostic(msg).map(Box::new);
                }
                step.ended_at.get_or_insert(ctx.time);
                step.ended_by = Some(match (role.kind, from_initiator) {
                    (DialogKind::Invitation, true) => EndedBy::Inviter,
                    (DialogKind::Invitation, false) => EndedBy::Invitee,
                    (_, true) => EndedBy::Participant,
                    (_, false) => EndedBy::Server,
                });
            }
        } else if let Some(status) = msg.status() {
            let outcome = status >= 200
                && is(cseq_method, expected)
                && (step.cseq.is_none() || step.cseq == cseq);
            if outcome {
                step.cseq = step.cseq.or(cseq);
                final_response(step, status, ctx, msg, body_kind);
                if role.kind == DialogKind::Media && (200..300).contains(&status) {
                    let at = super::media::StepRef {
                        conference: role.conference,
                        participant: role.participant.unwrap_or(u32::MAX),
                        dialog: id,
                        client_side: true,
                    };
                    self.bytes += media_answer(step, msg, body_kind, at, &mut self.media);
                }
            }
        }
    }
}

/// The `epid` header parameter of a From or To value (Lync's endpoint id: one per device).
pub(in crate::analysis) fn epid_of(value: &[u8]) -> Option<String> {
    // Header parameters follow the URI (after `>` when it is bracketed).
    let params = match memchr::memchr(b'>', value) {
        Some(gt) => value.get(gt + 1..)?,
        None => value,
    };
    params.split(|b| *b == b';').find_map(|p| {
        let p = crate::sip::message::trim(p);
        p.get(..5).filter(|n| n.eq_ignore_ascii_case(b"epid="))?;
        let v = crate::sip::message::trim(p.get(5..)?);
        (!v.is_empty() && v.len() <= MAX_EPID).then(|| String::from_utf8_lossy(v).into_owned())
    })
}

impl Conferences {
    /// A UDP datagram that is not SIP: counted into the A/V step whose candidates it joins.
    /// Costs one branch while no A/V step has both SDPs, one hash lookup after.
    pub(crate) fn datagram(&mut self, ctx: &MsgContext, payload: &[u8]) {
        use super::media::{StepRef, MAX_STEPS_PER_ADDRESS};
        // Copied out (no allocation) so the steps can be borrowed mutably.
        let mut refs: [Option<StepRef>; MAX_STEPS_PER_ADDRESS] = [None; MAX_STEPS_PER_ADDRESS];
        let list = &self.list;
        self.media.build(|r| {
            list.get(r.conference as usize)
                .and_then(|c| c.participants.get(r.participant as usize))
                .and_then(|p| p.media.iter().rev().find(|s| s.dialog == r.dialog))
                .and_then(|s| s.flow.as_deref())
        });
        let found = self.media.lookup(&ctx.src);
        if found.is_empty() {
            return;
        }
        for (slot, r) in refs.iter_mut().zip(found) {
            *slot = Some(*r);
        }
        for r in refs.iter().flatten() {
            let step = self
                .list
                .get_mut(r.conference as usize)
                .and_then(|c| c.participants.get_mut(r.participant as usize))
                .and_then(|p| p.media.iter_mut().rev().find(|s| s.dialog == r.dialog))
                .and_then(|s| s.flow.as_deref_mut());
            if let Some(flow) = step {
                if self.media.count(r, flow, ctx, payload) {
                    return;
                }
            }
        }
    }

    /// Counters of the media matching.
    pub fn media_stats(&self) -> super::media::MediaStats {
        self.media.stats
    }

    /// Bytes of the media index (for the byte budget).
    pub(crate) fn media_bytes(&self) -> usize {
        self.media.bytes()
    }
}

/// The client's candidates from an A/V offer's SDP. Returns the bytes the byte budget counts:
/// the flow, its traffic counters as if datagrams came, the candidates.
fn media_offer(step: &mut Step, sdp: &[u8], index: &mut super::media::MediaIndex) -> usize {
    let client = super::media::candidate_addresses(sdp, &mut index.stats.candidates_dropped);
    let bytes = std::mem::size_of::<super::media::MediaFlow>()
        + std::mem::size_of::<super::media::Traffic>()
        + client.capacity() * std::mem::size_of::<std::net::SocketAddr>();
    step.flow = Some(Box::new(super::media::MediaFlow::offered(client)));
    bytes
}

/// The MCU's candidates from the 2xx answering an A/V offer: both sides are registered.
/// Returns the bytes of the candidates (for the byte budget).
fn media_answer(
    step: &mut Step,
    msg: &Message<'_>,
    kind: Option<BodyKind>,
    at: super::media::StepRef,
    index: &mut super::media::MediaIndex,
) -> usize {
    let Some(flow) = step.flow.as_deref_mut().filter(|f| !f.registered) else {
        return 0;
    };
    let Some(body) = super::media::sdp_body(msg, kind) else {
        return 0;
    };
    flow.mcu = super::media::candidate_addresses(body, &mut index.stats.candidates_dropped);
    flow.registered = true;
    index.register(at, flow);
    flow.mcu.capacity() * std::mem::size_of::<std::net::SocketAddr>()
}

/// The first `ms-client-diagnostics` header of a message.
fn client_diagnostic(msg: &Message<'_>) -> Option<diagnostics::Diagnostic> {
    msg.headers_named("ms-client-diagnostics")
        .find_map(|v| diagnostics::parse(&String::from_utf8_lossy(v)))
}

/// The participant's step that dialog `id` is. A newer dialog of the same kind replaced the
/// step: an older one's messages (a first device, an earlier inviter) must not change it.
fn step_of(p: &mut Participant, kind: DialogKind, id: u32) -> Option<&mut Step> {
    match kind {
        DialogKind::Invitation => p.invitation.as_deref_mut().filter(|s| s.dialog == id),
        DialogKind::Focus => p.focus.as_deref_mut().filter(|s| s.dialog == id),
        DialogKind::Roster => p.roster.as_deref_mut().filter(|s| s.dialog == id),
        DialogKind::Media => p.media.iter_mut().rev().find(|s| s.dialog == id),
        DialogKind::Mcu => p
            .mcus
            .iter_mut()
            .rev()
            .find(|(_, s)| s.dialog == id)
            .map(|(_, s)| s),
        _ => None,
    }
}

/// Keeps the participant's `User-Agent` from a message their client sent: a request of
/// theirs in a focus, roster or MCU dialog, or a response in the invitation (the invitee
/// answers it). Servers' agents (`RTCC/`) are not the participant's client.
fn note_user_agent(
    p: &mut Participant,
    kind: DialogKind,
    msg: &Message<'_>,
    from_initiator: bool,
    shared: &mut super::symbols::SharedTexts,
) {
    if p.user_agent.is_some() {
        return;
    }
    let theirs = match kind {
        DialogKind::Invitation => msg.status().is_some(),
        _ => from_initiator && msg.method().is_some(),
    };
    let Some(ua) = msg.header(Hdr::UserAgent).filter(|_| theirs) else {
        return;
    };
    let ua = crate::sip::message::trim(ua);
    if ua.is_empty() || ClientKind::of(ua) == ClientKind::Server {
        return;
    }
    let ua = ua.get(..ua.len().min(MAX_USER_AGENT)).unwrap_or_default();
    p.user_agent = Some(shared.of(&String::from_utf8_lossy(ua)));
}

/// A leader's C3P command about another participant: `deleteUser` removes them (one about
/// oneself is leaving), `setLobbyAccess` admits or refuses them from the lobby. The focus's
/// `failure` answer means it did not take effect.
fn about_user(
    conf: &mut Conference,
    sender: Option<u32>,
    outcome: &c3p::C3p,
    body: &[u8],
    at: Timestamp,
    stats: &mut ConferenceStats,
) {
    if outcome.kind == c3p::C3pKind::Response {
        if outcome.code == Some(C3pCode::Failure) && outcome.request_id.is_some() {
            for p in &mut conf.participants {
                if let Some(r) = p
                    .removed
                    .as_mut()
                    .filter(|r| r.request_id == outcome.request_id)
                {
                    r.refused = true;
                }
                if let Some(d) = p
                    .lobby_decision
                    .as_mut()
                    .filter(|d| d.request_id == outcome.request_id)
                {
                    d.refused = true;
                }
            }
        }
        return;
    }
    if outcome.command == "deleteConference" {
        if let Some(by) = sender.and_then(|i| conf.participants.get(i as usize)) {
            conf.deleted_by = Some((by.uri.clone(), at));
        }
        return;
    }
    // The outcome scan does not read the user keys: these commands are rare, parse them whole.
    let Ok(full) = c3p::parse(body) else { return };
    let Some(target) = full.user_entity.as_deref().map(crate::sip::uri::aor) else {
        return;
    };
    let Some(by) = sender.and_then(|i| conf.participants.get(i as usize)) else {
        return;
    };
    if by.uri.eq_ignore_ascii_case(&target) {
        return;
    }
    let by = by.uri.clone();
    if full.command == "addUser" {
        // Someone adding another user: the MCU is asked to dial out to them.
        if conf.dial_outs.len() < MAX_DIAL_OUTS {
            conf.dial_outs.push((target, by, at));
        } else {
            stats.dial_outs_dropped += 1;
        }
        return;
    }
    let admitted = full
        .access
        .as_deref()
        .is_some_and(|a| a.trim().eq_ignore_ascii_case("granted"));
    // Every device of the user: the command names the user.
    for p in conf
        .participants
        .iter_mut()
        .filter(|p| p.uri.eq_ignore_ascii_case(&target))
    {
        if full.command == "setLobbyAccess" {
            p.lobby_decision = Some(Box::new(LobbyDecision {
                by: by.clone(),
                at,
                admitted,
                refused: false,
                request_id: full.request_id.clone(),
            }));
        } else {
            p.removed = Some(Box::new(Removal {
                by: by.clone(),
                at,
                refused: false,
                request_id: full.request_id.clone(),
            }));
        }
    }
}

/// True for a request of Lync's conferencing announcement service (by its User-Agent).
fn is_announcement_service(msg: &Message<'_>) -> bool {
    static SERVICE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| {
            memchr::memmem::Finder::new(b"Conferencing_Announcement_Service")
        });
    msg.header(Hdr::UserAgent)
        .is_some_and(|ua| SERVICE.find(ua).is_some())
}

/// An unsubscribe (SUBSCRIBE with `Expires: 0`) or a NOTIFY that terminates the subscription.
fn subscription_ends(msg: &Message<'_>) -> bool {
    let Some(m) = msg.method() else { return false };
    if m.eq_ignore_ascii_case(b"SUBSCRIBE") {
        return msg
            .header(Hdr::Expires)
            .is_some_and(|v| crate::sip::message::trim(v) == b"0");
    }
    if !(m.eq_ignore_ascii_case(b"NOTIFY") || m.eq_ignore_ascii_case(b"BENOTIFY")) {
        return false;
    }
    // Every roster NOTIFY comes here. The usual spellings (RFC 6665's, and the lower case
    // Lync servers send) are found with a vector search; others (header names ignore case)
    // take the walk over the header lines.
    static USUAL: std::sync::LazyLock<[memchr::memmem::Finder<'static>; 2]> =
        std::sync::LazyLock::new(|| {
            [
                memchr::memmem::Finder::new(b"\nsubscription-state:"),
                memchr::memmem::Finder::new(b"\nSubscription-State:"),
            ]
        });
    let block = msg.header_block();
    let value = match USUAL.iter().find_map(|f| f.find(block)) {
        Some(at) => {
            let line = block.get(at + 20..).unwrap_or_default();
            line.get(..memchr::memchr(b'\n', line).unwrap_or(line.len()))
        }
        None => msg
            .headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(b"Subscription-State"))
            .map(|(_, v)| v),
    };
    value.is_some_and(|v| {
        let v = crate::sip::message::trim(v);
        v.len() >= 10
            && v.get(..10)
                .is_some_and(|p| p.eq_ignore_ascii_case(b"terminated"))
    })
}

/// Merges a conference-info document when it belongs to the merged subscription (see
/// [`Conference::roster`]); copies sent to the other subscribers are only counted.
fn roster_document(conf: &mut Conference, dialog: u32, body: &[u8], stats: &mut ConferenceStats) {
    let merge = match conf.roster_dialog {
        None => true,
        Some(d) if d == dialog => {
            conf.copies_since_merged = 0;
            true
        }
        // The merged subscription ended: take over with the next full document.
        Some(_) if conf.roster_dialog_ended && declares_full(body) => true,
        Some(_) => {
            // The merged subscription went quiet while the others kept receiving updates
            // (its client left without unsubscribing, or its NOTIFYs were not captured): each
            // update goes to every subscriber, so after two rounds of copies without one of
            // its own, follow this subscription instead of freezing.
            conf.copies_since_merged += 1;
            conf.copies_since_merged > 2 * conf.roster_subscriptions + 2
        }
    };
    if !merge {
        conf.roster_copies += 1;
        return;
    }
    let doc = match conference_info::parse(body) {
        Ok(doc) => doc,
        Err(_) => {
            conf.roster_problems += 1;
            stats.bad_bodies += 1;
            return;
        }
    };
    if conf.roster_dialog != Some(dialog) {
        // A new subscription numbers its versions afresh; what the roster knows (who left)
        // is kept, and a partial start leaves it stale until a full document.
        if let Some(r) = conf.roster.as_mut() {
            r.follow_new_subscription(doc.state != conference_info::State::Full);
        }
        conf.roster_dialog = Some(dialog);
        conf.roster_dialog_ended = false;
        conf.copies_since_merged = 0;
    }
    if conf.subject.is_none() {
        conf.subject = doc.subject.clone().filter(|s| !s.is_empty());
    }
    let roster = conf.roster.get_or_insert_with(conference_info::Roster::new);
    let before = roster.dropped;
    let applied = roster.apply_owned(doc);
    let after = roster.dropped;
    stats.roster_users_dropped += after.users.saturating_sub(before.users);
    stats.roster_endpoints_dropped += after.endpoints.saturating_sub(before.endpoints);
    stats.roster_media_dropped += after.media.saturating_sub(before.media);
    stats.roster_entries_dropped += after.other.saturating_sub(before.other);
    use conference_info::Applied;
    if !matches!(applied, Applied::Full | Applied::Partial | Applied::Deleted) {
        conf.roster_problems += 1;
    }
}

/// True if the root element of a conference-info document says `state="full"` (read from the
/// first bytes, without parsing the document).
fn declares_full(body: &[u8]) -> bool {
    let head = body.get(..body.len().min(1024)).unwrap_or(body);
    static FULL: std::sync::LazyLock<[memchr::memmem::Finder<'static>; 2]> =
        std::sync::LazyLock::new(|| {
            [
                memchr::memmem::Finder::new(b"state=\"full\""),
                memchr::memmem::Finder::new(b"state='full'"),
            ]
        });
    FULL.iter().any(|f| f.find(head).is_some())
}

/// Appends an attempt, forgetting the oldest beyond the bound; true if one was forgotten.
fn push_bounded(v: &mut Vec<Step>, s: Step) -> bool {
    let full = v.len() >= MAX_ATTEMPTS;
    if full {
        v.remove(0);
    }
    push_snug(v, s);
    full
}

/// Records the final response of a step's initial request (a 2xx of any fork wins).
fn final_response(
    step: &mut Step,
    status: u16,
    ctx: &MsgContext,
    msg: &Message<'_>,
    kind: Option<BodyKind>,
) {
    // A 2xx of any fork wins, then a 6xx (RFC 3261 §16.7: global failures outrank the 487 of
    // cancelled forks); a copy of the same response forwarded by the next hop adds nothing.
    let rank = |s: u16| match s {
        200..=299 => 3,
        600..=699 => 2,
        _ => 1,
    };
    if step
        .status
        .is_some_and(|s| rank(s) > rank(status) || s == status)
    {
        return;
    }
    step.status = Some(status);
    step.answered_at = Some(ctx.time);
    if let crate::sip::StartLine::Response { reason, .. } = msg.start() {
        step.reason_phrase = Some(reason_phrase(status, reason));
    }
    let said = explaining_headers(msg);
    step.edge_generated = said.edge_generated;
    let mut all = said.diagnostics;
    step.diagnostic = (!all.is_empty()).then(|| Box::new(all.remove(0)));
    step.set_said(said.warnings, all);
    if kind == Some(BodyKind::C3p) {
        if let Ok(c) = c3p::parse_outcome(msg.body()) {
            let o = step.c3p.get_or_insert_with(Box::default);
            o.request.get_or_insert(c.command);
            o.code = c.code.clone();
            o.reason = c.reason;
        }
    }
}

/// The reason phrase as sent; the usual phrase of a status is shared, not copied.
fn reason_phrase(status: u16, reason: &[u8]) -> std::borrow::Cow<'static, str> {
    const USUAL: &[(u16, &str)] = &[
        (200, "OK"),
        (202, "Accepted"),
        (401, "Unauthorized"),
        (403, "Forbidden"),
        (404, "Not Found"),
        (407, "Proxy Authentication Required"),
        (408, "Request Timeout"),
        (480, "Temporarily Unavailable"),
        (481, "Call/Transaction Does Not Exist"),
        (486, "Busy Here"),
        (487, "Request Terminated"),
        (488, "Not Acceptable Here"),
        (500, "Server Internal Error"),
        (503, "Service Unavailable"),
        (603, "Decline"),
    ];
    match USUAL
        .iter()
        .find(|(s, p)| *s == status && p.as_bytes() == reason)
    {
        Some((_, p)) => std::borrow::Cow::Borrowed(p),
        None => std::borrow::Cow::Owned(String::from_utf8_lossy(reason).into_owned()),
    }
}

/// Warning and diagnostics headers kept per final response: what explains a refusal is in the
/// first few, and a hostile response must not make a step large.
const MAX_EXPLAINING_HEADERS: usize = 4;

/// What a final response says about itself: every diagnostics header (`ms-diagnostics`,
/// `ms-diagnostics-public`, `ms-client-diagnostics`, in that order, each as often as it
/// occurs), its `Warning` headers, and whether the Access Edge generated it
/// (`ms-edge-proxy-message-trust: ms-source-type=EdgeProxyGenerated`). One walk over the
/// headers: every final response of a conference dialog comes here.
struct Explaining {
    diagnostics: Vec<(&'static str, diagnostics::Diagnostic)>,
    warnings: Vec<Box<str>>,
    edge_generated: bool,
}

fn explaining_headers(msg: &Message<'_>) -> Explaining {
    const NAMES: [&str; 3] = [
        "ms-diagnostics",
        "ms-diagnostics-public",
        "ms-client-diagnostics",
    ];
    let mut raw: [Vec<&[u8]>; 3] = Default::default();
    let mut warnings = Vec::new();
    let mut edge_generated = None;
    for (name, value) in msg.headers() {
        if let Some(i) = NAMES
            .iter()
            .position(|n| name.eq_ignore_ascii_case(n.as_bytes()))
        {
            if let Some(list) = raw.get_mut(i).filter(|l| l.len() < MAX_EXPLAINING_HEADERS) {
                list.push(value);
            }
        } else if name.eq_ignore_ascii_case(b"warning") {
            if warnings.len() < MAX_EXPLAINING_HEADERS {
                warnings.push(String::from_utf8_lossy(value).trim().into());
            }
        } else if name.eq_ignore_ascii_case(b"ms-edge-proxy-message-trust")
            && edge_generated.is_none()
        {
            edge_generated = Some(identity::EdgeTrust::parse(value).edge_generated());
        }
    }
    let diagnostics = NAMES
        .iter()
        .zip(&raw)
        .flat_map(|(name, values)| {
            values.iter().filter_map(move |v| {
                diagnostics::parse(&String::from_utf8_lossy(v)).map(|d| (*name, d))
            })
        })
        .take(MAX_EXPLAINING_HEADERS)
        .collect();
    Explaining {
        diagnostics,
        warnings,
        edge_generated: edge_generated.unwrap_or(false),
    }
}

/// What an initial INVITE offers: C3P request of a focus join, SDP of an MCU join. Returns
/// the SDP (the part of a multipart offer that `multipart::select_sdp` picks), so the media
/// matching reads the same bytes without parsing the body again.
fn offer<'m>(
    step: &mut Step,
    msg: &Message<'m>,
    kind: Option<BodyKind>,
    stats: &mut ConferenceStats,
) -> Option<&'m [u8]> {
    match kind {
        Some(BodyKind::C3p) => {
            match c3p::parse_outcome(msg.body()) {
                Ok(c) => {
                    step.c3p = Some(Box::new(C3pOutcome {
                        request: Some(c.command),
                        request_id: c.request_id,
                        code: None,
                        reason: None,
                    }));
                }
                Err(_) => stats.bad_bodies += 1,
            }
            None
        }
        Some(BodyKind::Sdp | BodyKind::Multipart) => {
            let sdp = super::media::sdp_body(msg, kind);
            if let Some(body) = sdp {
                describe_sdp(step, body);
            }
            if kind == Some(BodyKind::Multipart) {
                // Without an SDP part the body may still parse (fine) or not (counted).
                step.multipart_offer = sdp.is_some() || !multipart_unreadable(msg);
                if !step.multipart_offer {
                    stats.bad_bodies += 1;
                }
            }
            sdp
        }
        _ => None,
    }
}

/// The multipart body of a message does not parse (told apart from one without SDP only when
/// no SDP was found, which is rare).
fn multipart_unreadable(msg: &Message<'_>) -> bool {
    let ct = msg
        .header(Hdr::ContentType)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_default();
    multipart::parse(msg.body(), &ct).is_err()
}

fn describe_sdp(step: &mut Step, body: &[u8]) {
    let summary = sdp::summarize(body);
    step.media = summary
        .media
        .iter()
        .map(|m| conference_info::word(m))
        .collect();
    step.cryptoscale = summary.cryptoscale;
    step.ice = summary.ice.filter(|f| *f != IceFlavour::None);
}

/// A C3P response in the focus dialog of a join the focus answered `pending`, with the join's
/// `requestId`: the focus's final answer (admitted: `success`; refused: `failure`), which
/// replaces `pending` on the step. True when it was that.
fn deferred_answer(
    conf: &mut Conference,
    participant: Option<u32>,
    dialog: u32,
    c: &c3p::C3p,
) -> bool {
    if c.kind != c3p::C3pKind::Response || c.code == Some(C3pCode::Pending) {
        return false;
    }
    let Some(step) = participant
        .and_then(|i| conf.participants.get_mut(i as usize))
        .and_then(|p| p.focus.as_deref_mut())
        .filter(|s| s.dialog == dialog)
    else {
        return false;
    };
    match step.c3p.as_mut() {
        Some(o) if o.code == Some(C3pCode::Pending) && o.request_id == c.request_id => {
            o.code = c.code.clone();
            o.reason = c.reason.clone();
            true
        }
        _ => false,
    }
}

fn record_control(conf: &mut Conference, dialog: u32, c: &c3p::C3p) {
    let outcome = |c: &c3p::C3p| C3pOutcome {
        request: Some(c.command.clone()),
        request_id: c.request_id.clone(),
        code: c.code.clone(),
        reason: c.reason.clone(),
    };
    match c.kind {
        c3p::C3pKind::Request => {
            if conf.control.len() < 10_000 {
                conf.control.push((dialog, outcome(c)));
            }
        }
        c3p::C3pKind::Response => {
            // Responses are matched to their request by requestId, whatever SIP carried them;
            // every client numbers its own requests, so one of the same dialog comes first.
            let open = |o: &C3pOutcome| {
                o.request_id.is_some() && o.request_id == c.request_id && o.code.is_none()
            };
            let matched = conf
                .control
                .iter()
                .rposition(|(d, o)| *d == dialog && open(o))
                .or_else(|| conf.control.iter().rposition(|(_, o)| open(o)));
            let full = conf.control.len() >= 10_000;
            match matched.and_then(|i| conf.control.get_mut(i)) {
                Some((_, o)) => {
                    o.code = c.code.clone();
                    o.reason = c.reason.clone();
                }
                None if !full => conf.control.push((dialog, outcome(c))),
                None => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::frame_stream;

    fn ends(headers: &str) -> bool {
        let text = format!(
            "NOTIFY sip:a@b SIP/2.0\r\n{headers}Call-ID: 1\r\nCSeq: 2 NOTIFY\r\nContent-Length: 0\r\n\r\n"
        );
        let (msg, _) = frame_stream(text.as_bytes()).expect("frames");
        subscription_ends(&msg)
    }

    #[test]
    fn a_step_keeps_its_rare_parts_boxed() {
        // Three or four steps a participant: what most steps lack (diagnostics, a C3P
        // exchange, a hang-up diagnostic, warnings) is held by pointer, not inline (they were
        // ~340 of the step's 496 bytes).
        assert!(std::mem::size_of::<Step>() <= 192);
        // The same for a participant: a removal, a lobby decision, what the Edge said (they
        // were 150 of its 376 bytes).
        assert!(std::mem::size_of::<Participant>() <= 240);
    }

    #[test]
    fn a_terminated_subscription_is_seen_in_any_spelling_and_position() {
        assert!(ends(
            "Via: x\r\nsubscription-state: terminated;reason=timeout\r\n"
        ));
        assert!(ends("Via: x\r\nSubscription-State: terminated\r\n"));
        assert!(
            ends("Subscription-State: terminated\r\n"),
            "first header line"
        );
        assert!(ends(
            "Via: x\r\nSUBSCRIPTION-STATE:  Terminated ;reason=noresource\r\n"
        ));
        assert!(ends("Via: x\r\nSubscription-state: terminated\r\n"));
        assert!(!ends(
            "Via: x\r\nsubscription-state: active;expires=3600\r\n"
        ));
        assert!(!ends("Via: x\r\nX-Subscription-State: terminated\r\n"));
        assert!(!ends("Via: x\r\n"));
    }
}
