//! `application/conference-info+xml`: the conference roster (RFC 4575 with the Microsoft
//! extensions of MS-CONFBAS 2.2.2.2; protocol brief §5), and [`Roster`], its merged state.
//!
//! The focus sends the roster on the SUBSCRIBE dialog (`Event: conference`): first a `full`
//! document (often piggy-backed on the 200 to SUBSCRIBE), then `partial` updates in NOTIFY or
//! unacknowledged BENOTIFY. The roster is the strongest evidence that a participant really got
//! media: a user's `endpoint@session-type="audio-video"` with `status` `connected`.
//!
//! [`parse`] reads one document into a [`ConferenceInfo`]; [`Roster::apply`] merges documents
//! per RFC 4575 semantics (§5.3): `full` replaces, `partial` updates by key (user `entity`,
//! endpoint `entity`, media `id`), `deleted` removes, and versions must increase by one. Because
//! BENOTIFY is never acknowledged, gaps happen; a gap makes the roster *stale* until the next
//! `full` document rather than being fatal.
//!
//! Bounds: at most [`MAX_USERS`] users, [`MAX_ENDPOINTS`] endpoints per user, [`MAX_MEDIA`] media
//! per endpoint; excess elements are dropped and `truncated` is set.

use std::collections::{BTreeMap, BTreeSet};

use super::xml::{self, Element, Path, Visitor};
use super::{lossy, BodyError};
use crate::sip::conf_uri::{aor, ConfUri};
use lyncscope_base::vec::push_snug;

/// Most users kept in a document or roster.
pub const MAX_USERS: usize = 10_000;
/// Most endpoints kept per user.
pub const MAX_ENDPOINTS: usize = 64;
/// Most media kept per endpoint.
pub const MAX_MEDIA: usize = 32;
/// Most conference URIs kept.
pub(crate) const MAX_CONF_URIS: usize = 64;
/// Most roles kept per user.
const MAX_ROLES: usize = 16;

/// The RFC 4575 `state` of a document or element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// `full` (the default when the attribute is absent): the element is complete.
    #[default]
    Full,
    /// `partial`: only the listed children changed.
    Partial,
    /// `deleted`: the element is gone.
    Deleted,
}

impl State {
    /// Absent means `full` (RFC 4575); an unknown value is taken as `partial`, the reading
    /// that neither wipes nor removes anything.
    fn parse(value: Option<&str>) -> State {
        match value.map(str::trim) {
            None => State::Full,
            Some(v) if v.eq_ignore_ascii_case("full") => State::Full,
            Some(v) if v.eq_ignore_ascii_case("deleted") => State::Deleted,
            Some(_) => State::Partial,
        }
    }
}

/// A value from a small vocabulary (a status, a method, a media type, a role): one of
/// [`WORDS`] is shared, not copied. A roster holds several per endpoint, for every
/// conference, and copies of these few words took a fifth of its memory.
pub type Word = std::borrow::Cow<'static, str>;

/// The words RFC 4575 and Lync's rosters use for session types, statuses, methods, media types
/// (SDP's too), labels, directions, filters, roles and media ids.
pub const WORDS: &[&str] = &[
    // session-type and conf-uris purpose
    "focus",
    "audio-video",
    "chat",
    "applicationsharing",
    "data-conf",
    "phone-conf",
    "meeting",
    // endpoint status (RFC 4575 §5.7.3)
    "pending",
    "dialing-out",
    "dialing-in",
    "alerting",
    "on-hold",
    "connected",
    "muted-via-focus",
    "disconnecting",
    "disconnected",
    // joining-method, disconnection-method
    "dialed-in",
    "dialed-out",
    "focus-owner",
    "departed",
    "booted",
    "failed",
    "busy",
    // media type, label, status, ingress filter
    "audio",
    "video",
    "text",
    "message",
    "application",
    "image",
    "data",
    "main-audio",
    "main-video",
    "panoramic-video",
    "sendrecv",
    "sendonly",
    "recvonly",
    "inactive",
    "block",
    "unblock",
    // roles
    "presenter",
    "attendee",
    "organizer",
    "participant",
    // media ids
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
];

/// `text` as a [`Word`]: shared when it is one of [`WORDS`] (as written, case kept).
pub fn word(text: &str) -> Word {
    match WORDS.iter().find(|w| **w == text) {
        Some(w) => Word::Borrowed(w),
        None => Word::Owned(text.to_owned()),
    }
}

/// One `conf-uris/entry`: the URI of one MCU of the conference.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ConfUriEntry {
    /// The MCU conference URI.
    pub uri: String,
    /// The MCU type (`chat`, `audio-video`, `applicationsharing`, …).
    pub purpose: Option<Word>,
    /// Human-readable label.
    pub display_text: Option<String>,
}

/// One `media` of an endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Media {
    /// `@id`, the merge key.
    pub id: Word,
    /// `@state` (not in RFC 4575 for media, tolerated).
    pub state: State,
    /// `type`: `audio`, `video`, `applicationsharing`, …
    pub kind: Option<Word>,
    /// `label`, e.g. `main-audio`.
    pub label: Option<Word>,
    /// `status`: `sendrecv`, `sendonly`, `recvonly`, `inactive`.
    pub status: Option<Word>,
    /// `msci:media-ingress-filter`: `block` means muted by the server.
    pub ingress_filter: Option<Word>,
}

/// One `endpoint` of a user: a session with one MCU.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Endpoint {
    /// `@entity`, the merge key (a GUID for Lync endpoints).
    pub entity: String,
    /// `@state`.
    pub state: State,
    /// `@session-type`: `focus`, `chat`, `audio-video`, `applicationsharing`, …
    pub session_type: Option<Word>,
    /// `status`: `connected`, `disconnected`, `dialing-in`, `on-hold`, …
    pub status: Option<Word>,
    /// `joining-method`: `dialed-in`, `dialed-out`, `focus-owner`.
    pub joining_method: Option<Word>,
    /// `joining-info/when`.
    pub joining_when: Option<String>,
    /// `disconnection-method`: `departed`, `booted`, `failed`, `busy`.
    pub disconnection_method: Option<Word>,
    /// The endpoint's media.
    pub media: Vec<Media>,
}

/// One `users/user`: a participant.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct User {
    /// `@entity`, verbatim (compare through [`aor`]).
    pub entity: String,
    /// `@state`.
    pub state: State,
    /// `display-text`.
    pub display_text: Option<String>,
    /// `roles/entry`: `presenter`, `attendee`, `organizer`. In a partial update an empty list
    /// means "unchanged" (an absent and an empty `roles` element are not told apart).
    pub roles: Vec<Word>,
    /// The user's endpoints (one per MCU session).
    pub endpoints: Vec<Endpoint>,
}

impl User {
    /// The first endpoint with this session type (ASCII case ignored) that is `connected`,
    /// else the last one with this session type: a rejoin leaves the old endpoint behind.
    pub fn endpoint(&self, session_type: &str) -> Option<&Endpoint> {
        let mut last = None;
        for ep in &self.endpoints {
            if ep
                .session_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case(session_type))
            {
                if ep.status.as_deref() == Some("connected") {
                    return Some(ep);
                }
                last = Some(ep);
            }
        }
        last
    }

    /// True if the user has this role (ASCII case ignored).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r.eq_ignore_ascii_case(role))
    }
}

/// One parsed `conference-info` document.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ConferenceInfo {
    /// `@entity`: the focus URI.
    pub entity: Option<String>,
    /// `@state` of the document.
    pub state: State,
    /// `@version`; `None` when absent or not a number.
    pub version: Option<u64>,
    /// `conference-description/subject`.
    pub subject: Option<String>,
    /// `conference-description/organizer/display-name` (MS extension).
    pub organizer_display: Option<String>,
    /// `conference-description/conf-uris/entry`.
    pub conf_uris: Vec<ConfUriEntry>,
    /// `users/user`.
    pub users: Vec<User>,
    /// True if a bound was hit and elements were dropped.
    pub truncated: bool,
    /// How many elements each bound dropped.
    #[serde(skip)]
    pub dropped: RosterDrops,
}

/// Elements a roster bound left out, by bound: a document's count, or for a [`Roster`] the sum
/// over the documents it merged plus what its own bounds refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RosterDrops {
    /// `user` elements beyond [`MAX_USERS`] (per document, and per roster).
    pub users: u64,
    /// `endpoint` elements beyond [`MAX_ENDPOINTS`] per user.
    pub endpoints: u64,
    /// `media` elements beyond [`MAX_MEDIA`] per endpoint.
    pub media: u64,
    /// Conference URI entries and roles beyond their bounds (64 URIs, 16 roles per user).
    pub other: u64,
}

impl RosterDrops {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &RosterDrops) {
        self.users += other.users;
        self.endpoints += other.endpoints;
        self.media += other.media;
        self.other += other.other;
    }
}

impl ConferenceInfo {
    /// The document's entity as a conference URI.
    pub fn conf_uri(&self) -> Option<ConfUri> {
        self.entity.as_deref().and_then(ConfUri::parse)
    }
}

/// Parses an `application/conference-info+xml` body.
pub fn parse(body: &[u8]) -> Result<ConferenceInfo, BodyError> {
    let text = lossy(body);
    Ok(xml::walk(&text, InfoVisitor::default)?.out)
}

/// Indices of the elements being read; `None` when there is none or it was dropped by a bound,
/// so that its children are dropped too.
#[derive(Default)]
struct InfoVisitor {
    out: ConferenceInfo,
    uri: Option<usize>,
    user: Option<usize>,
    endpoint: Option<usize>,
    media: Option<usize>,
}

impl InfoVisitor {
    fn cur_user(&mut self) -> Option<&mut User> {
        self.out.users.get_mut(self.user?)
    }

    fn cur_endpoint(&mut self) -> Option<&mut Endpoint> {
        let e = self.endpoint?;
        self.cur_user()?.endpoints.get_mut(e)
    }

    fn cur_media(&mut self) -> Option<&mut Media> {
        let m = self.media?;
        self.cur_endpoint()?.media.get_mut(m)
    }
}

const USER: &[&str] = &["users", "user"];
const ENDPOINT: &[&str] = &["users", "user", "endpoint"];
const MEDIA: &[&str] = &["users", "user", "endpoint", "media"];
const URI_ENTRY: &[&str] = &["conference-description", "conf-uris", "entry"];

impl Visitor for InfoVisitor {
    fn open(&mut self, path: &Path, name: &str, el: &Element<'_, '_>) -> Result<(), BodyError> {
        if path.depth() == 1 {
            if name != "conference-info" {
                return Err(BodyError::UnexpectedRoot {
                    expected: "conference-info",
                    found: name.to_owned(),
                });
            }
            let [entity, state, version] = el.attrs_named(["entity", "state", "version"]);
            self.out.entity = entity.map(|v| v.into_owned());
            self.out.state = State::parse(state.as_deref());
            self.out.version = version.and_then(|v| v.trim().parse().ok());
        } else if name == "entry" && path.below_root_is(URI_ENTRY) {
            self.uri = None;
            if self.out.conf_uris.len() < MAX_CONF_URIS {
                self.uri = Some(self.out.conf_uris.len());
                push_snug(&mut self.out.conf_uris, ConfUriEntry::default());
            } else {
                self.out.truncated = true;
                self.out.dropped.other += 1;
            }
        } else if name == "user" && path.below_root_is(USER) {
            self.user = None;
            if self.out.users.len() < MAX_USERS {
                self.user = Some(self.out.users.len());
                let [entity, state] = el.attrs_named(["entity", "state"]);
                push_snug(
                    &mut self.out.users,
                    User {
                        entity: entity.map(|v| v.into_owned()).unwrap_or_default(),
                        state: State::parse(state.as_deref()),
                        ..User::default()
                    },
                );
            } else {
                self.out.truncated = true;
                self.out.dropped.users += 1;
            }
        } else if name == "endpoint" && path.below_root_is(ENDPOINT) {
            self.endpoint = None;
            let [entity, state, session_type] = el.attrs_named(["entity", "state", "session-type"]);
            let entity = entity.map(|v| v.into_owned()).unwrap_or_default();
            let state = State::parse(state.as_deref());
            let session_type = session_type.as_deref().map(word);
            self.endpoint = match self.cur_user() {
                Some(user) if user.endpoints.len() < MAX_ENDPOINTS => {
                    push_snug(
                        &mut user.endpoints,
                        Endpoint {
                            entity,
                            state,
                            session_type,
                            ..Endpoint::default()
                        },
                    );
                    Some(user.endpoints.len() - 1)
                }
                Some(_) => {
                    self.out.truncated = true;
                    self.out.dropped.endpoints += 1;
                    None
                }
                None => None,
            };
        } else if name == "media" && path.below_root_is(MEDIA) {
            self.media = None;
            let [id, state] = el.attrs_named(["id", "state"]);
            let id = id.as_deref().map(word).unwrap_or_default();
            let state = State::parse(state.as_deref());
            self.media = match self.cur_endpoint() {
                Some(ep) if ep.media.len() < MAX_MEDIA => {
                    push_snug(
                        &mut ep.media,
                        Media {
                            id,
                            state,
                            ..Media::default()
                        },
                    );
                    Some(ep.media.len() - 1)
                }
                Some(_) => {
                    self.out.truncated = true;
                    self.out.dropped.media += 1;
                    None
                }
                None => None,
            };
        }
        Ok(())
    }

    fn close(&mut self, path: &Path, name: &str, text: &str) -> Result<(), BodyError> {
        let owned = || Some(text.to_owned());
        let a_word = || Some(word(text));
        // Leaf values, by the element they belong to (its depth below the root).
        match path.depth() {
            3 if name == "subject"
                && path.below_root_is(&["conference-description", "subject"]) =>
            {
                self.out.subject = owned();
            }
            4 if path.below_root_is(&["conference-description", "organizer", name])
                && matches!(name, "display-name" | "display-text") =>
            {
                self.out.organizer_display = owned();
            }
            4 if name == "display-text"
                && path.below_root_is(&["users", "user", "display-text"]) =>
            {
                if let Some(u) = self.cur_user() {
                    u.display_text = owned();
                }
            }
            5 if name == "entry"
                && path.below_root_is(&["users", "user", "roles", "entry"])
                && !text.is_empty() =>
            {
                let mut dropped = false;
                if let Some(u) = self.cur_user() {
                    if u.roles.len() < MAX_ROLES {
                        push_snug(&mut u.roles, word(text));
                    } else {
                        dropped = true;
                    }
                }
                if dropped {
                    self.out.truncated = true;
                    self.out.dropped.other += 1;
                }
            }
            5 if path.below_root_is(&["conference-description", "conf-uris", "entry", name]) => {
                if let Some(e) = self.uri.and_then(|i| self.out.conf_uris.get_mut(i)) {
                    match name {
                        "uri" => e.uri = text.to_owned(),
                        "purpose" => e.purpose = a_word(),
                        "display-text" => e.display_text = owned(),
                        _ => {}
                    }
                }
            }
            5 if path.below_root_is(&["users", "user", "endpoint", name]) => {
                if let Some(ep) = self.cur_endpoint() {
                    match name {
                        "status" => ep.status = a_word(),
                        "joining-method" => ep.joining_method = a_word(),
                        "disconnection-method" => ep.disconnection_method = a_word(),
                        _ => {}
                    }
                }
            }
            6 if name == "when"
                && path.below_root_is(&["users", "user", "endpoint", "joining-info", "when"]) =>
            {
                if let Some(ep) = self.cur_endpoint() {
                    ep.joining_when = owned();
                }
            }
            6 if path.below_root_is(&["users", "user", "endpoint", "media", name]) => {
                if let Some(m) = self.cur_media() {
                    match name {
                        "type" => m.kind = a_word(),
                        "label" => m.label = a_word(),
                        "status" => m.status = a_word(),
                        "media-ingress-filter" => m.ingress_filter = a_word(),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        // Leaving a keyed element: its children no longer apply to it.
        match name {
            "entry" if path.below_root_is(URI_ENTRY) => {
                if let Some(i) = self.uri.take() {
                    if self.out.conf_uris.get(i).is_some_and(|e| e.uri.is_empty()) {
                        self.out.conf_uris.truncate(i);
                    }
                }
            }
            "user" if path.below_root_is(USER) => self.user = None,
            "endpoint" if path.below_root_is(ENDPOINT) => self.endpoint = None,
            "media" if path.below_root_is(MEDIA) => self.media = None,
            _ => {}
        }
        Ok(())
    }
}

/// What [`Roster::apply`] did with a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "result")]
pub enum Applied {
    /// A `full` document replaced the roster (and cleared `stale`).
    Full,
    /// A `partial` document was merged in sequence.
    Partial,
    /// A `partial` document skipped versions: merged, but the roster is now stale.
    Gap {
        /// The version that was due.
        expected: u64,
        /// The version received.
        got: u64,
    },
    /// A `partial` document arrived before any `full` one: merged, roster stale.
    PartialBeforeFull,
    /// Not newer than the roster: ignored.
    OutOfDate {
        /// The roster's version.
        current: u64,
        /// The document's version.
        got: u64,
    },
    /// A `deleted` document: the conference is over, the roster was emptied.
    Deleted,
    /// The document is about another conference: ignored.
    OtherConference,
}

/// The merged roster of one conference (one subscription).
///
/// A new subscription (a new SUBSCRIBE dialog) starts versions afresh: give it a new `Roster`
/// (or [`Roster::reset`]) rather than feeding it to the old one, which would call its documents
/// out of date.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Roster {
    /// The conference entity (focus URI) of the first document applied.
    pub entity: Option<String>,
    /// Version of the last document applied.
    pub version: Option<u64>,
    /// True after a version gap or a partial before any full, until the next full.
    pub stale: bool,
    /// True once a `deleted` document was applied.
    pub deleted: bool,
    /// True if a bound was hit and users, endpoints or media were dropped.
    pub truncated: bool,
    /// How many elements the bounds dropped: those of every document merged, and those this
    /// roster's own bounds refused.
    #[serde(skip)]
    pub dropped: RosterDrops,
    /// Meeting subject.
    pub subject: Option<String>,
    /// Organizer display name.
    pub organizer_display: Option<String>,
    /// MCU URIs of the conference.
    pub conf_uris: Vec<ConfUriEntry>,
    /// Users by [`aor`] of their entity (boxed: a tree node has room for eleven, and most
    /// rosters have a few).
    users: BTreeMap<Box<str>, Box<User>>,
    /// Users who were in the roster and were then removed from it (a `deleted` user element,
    /// or absent from a later `full` document): they left the conference.
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    departed: BTreeSet<String>,
    /// Whether a `full` document was ever applied.
    #[serde(skip)]
    had_full: bool,
}

impl Roster {
    /// An empty roster.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets everything.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Continues with the documents of another subscription, which numbers its versions
    /// afresh: the next document is not compared with this one's version. `stale` when the
    /// new subscription is joined mid-way (a partial document), since what it sent before was
    /// not merged.
    pub fn follow_new_subscription(&mut self, stale: bool) {
        self.version = None;
        self.stale |= stale;
    }

    /// Merges one document; see the module documentation for the rules.
    pub fn apply(&mut self, doc: &ConferenceInfo) -> Applied {
        self.apply_owned(doc.clone())
    }

    /// [`Roster::apply`] taking the document, whose parts move into the roster (the analysis
    /// merges every roster NOTIFY; copying each user would double the cost).
    pub fn apply_owned(&mut self, doc: ConferenceInfo) -> Applied {
        if !self.is_same_conference(&doc) {
            return Applied::OtherConference;
        }
        if let (Some(current), Some(got)) = (self.version, doc.version) {
            if got <= current {
                return Applied::OutOfDate { current, got };
            }
        }
        let ConferenceInfo {
            entity,
            state,
            version,
            subject,
            organizer_display,
            conf_uris,
            users,
            truncated,
            dropped,
            ..
        } = doc;
        if self.entity.is_none() {
            self.entity = entity;
        }
        self.truncated |= truncated;
        self.dropped.add(&dropped);

        let result = match state {
            State::Deleted => {
                self.users.clear();
                self.deleted = true;
                Applied::Deleted
            }
            State::Full => {
                let before = std::mem::take(&mut self.users);
                self.subject = subject;
                self.organizer_display = organizer_display;
                self.conf_uris = conf_uris;
                for user in users {
                    self.apply_user(user, true);
                }
                for gone in before.into_keys() {
                    if !self.users.contains_key(&gone) {
                        self.depart(gone.into_string());
                    }
                }
                self.stale = false;
                self.deleted = false;
                self.had_full = true;
                Applied::Full
            }
            State::Partial => {
                let result = match (self.version, version) {
                    _ if !self.had_full => Applied::PartialBeforeFull,
                    (Some(current), Some(got)) if got != current.saturating_add(1) => {
                        Applied::Gap {
                            expected: current.saturating_add(1),
                            got,
                        }
                    }
                    _ => Applied::Partial,
                };
                if result != Applied::Partial {
                    self.stale = true;
                }
                if subject.is_some() {
                    self.subject = subject;
                }
                if organizer_display.is_some() {
                    self.organizer_display = organizer_display;
                }
                if !conf_uris.is_empty() {
                    self.conf_uris = conf_uris;
                }
                for user in users {
                    self.apply_user(user, false);
                }
                result
            }
        };
        if version.is_some() {
            self.version = version;
        }
        result
    }

    fn is_same_conference(&self, doc: &ConferenceInfo) -> bool {
        let (Some(mine), Some(theirs)) = (self.entity.as_deref(), doc.entity.as_deref()) else {
            return true;
        };
        // The same text is the same conference; only different spellings need parsing.
        if mine == theirs {
            return true;
        }
        match (ConfUri::parse(mine), ConfUri::parse(theirs)) {
            (Some(a), Some(b)) => a.same_conference(&b) || (a.id.is_none() && a == b),
            _ => mine.trim().eq_ignore_ascii_case(theirs.trim()),
        }
    }

    /// Records a user who left (bounded like the users).
    fn depart(&mut self, key: String) {
        if self.departed.len() < MAX_USERS {
            self.departed.insert(key);
        } else {
            self.truncated = true;
            self.dropped.users += 1;
        }
    }

    /// True if the user was in the roster and then removed from it (see [`Roster::user`] for
    /// who is in it now).
    pub fn departed(&self, uri: &str) -> bool {
        self.departed.contains(&aor(uri))
    }

    /// Applies one user element; in a full document every element replaces.
    fn apply_user(&mut self, user: User, full_doc: bool) {
        if user.entity.trim().is_empty() {
            return;
        }
        let key = aor(&user.entity);
        if user.state != State::Deleted {
            self.departed.remove(&key);
        }
        let state = if full_doc && user.state != State::Deleted {
            State::Full
        } else {
            user.state
        };
        match state {
            State::Deleted => {
                if self.users.remove(key.as_str()).is_some() {
                    self.depart(key);
                }
            }
            State::Full => {
                if self.users.len() >= MAX_USERS && !self.users.contains_key(key.as_str()) {
                    self.truncated = true;
                    self.dropped.users += 1;
                    return;
                }
                let mut fresh = user;
                fresh.state = State::Full;
                fresh.endpoints.retain(|e| e.state != State::Deleted);
                self.users.insert(key.into_boxed_str(), Box::new(fresh));
            }
            State::Partial => {
                if let Some(existing) = self.users.get_mut(key.as_str()) {
                    if user.display_text.is_some() {
                        existing.display_text = user.display_text;
                    }
                    if !user.roles.is_empty() {
                        existing.roles = user.roles;
                    }
                    for ep in &user.endpoints {
                        if !merge_endpoint(&mut existing.endpoints, ep) {
                            self.truncated = true;
                            self.dropped.endpoints += 1;
                        }
                    }
                } else if self.users.len() < MAX_USERS {
                    // An update for a user we never saw (lost notification): keep what it says.
                    let mut fresh = user;
                    fresh.endpoints.retain(|e| e.state != State::Deleted);
                    self.users.insert(key.into_boxed_str(), Box::new(fresh));
                } else {
                    self.truncated = true;
                    self.dropped.users += 1;
                }
            }
        }
    }

    /// All users, ordered by AOR.
    pub fn users(&self) -> impl Iterator<Item = &User> + '_ {
        self.users.values().map(|u| &**u)
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// True when there are no users.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// The user with this URI or header value, compared by [`aor`].
    pub fn user(&self, uri: &str) -> Option<&User> {
        self.users.get(aor(uri).as_str()).map(|u| &**u)
    }

    /// Every `(user, endpoint)` pair.
    pub fn endpoints(&self) -> impl Iterator<Item = (&User, &Endpoint)> + '_ {
        self.users
            .values()
            .flat_map(|u| u.endpoints.iter().map(move |e| (&**u, e)))
    }

    /// The `status` of the user's endpoint of this session type (see [`User::endpoint`]),
    /// e.g. `endpoint_status("sip:bob@example.com", "audio-video") == Some("connected")`.
    pub fn endpoint_status(&self, user: &str, session_type: &str) -> Option<&str> {
        self.user(user)?.endpoint(session_type)?.status.as_deref()
    }

    /// True if the user's endpoint of this session type is `connected`.
    pub fn is_connected(&self, user: &str, session_type: &str) -> bool {
        self.endpoint_status(user, session_type) == Some("connected")
    }

    /// The conference URI listed for this MCU purpose (`chat`, `audio-video`, …).
    pub fn mcu_uri(&self, purpose: &str) -> Option<&str> {
        self.conf_uris
            .iter()
            .find(|e| {
                e.purpose
                    .as_deref()
                    .is_some_and(|p| p.eq_ignore_ascii_case(purpose))
            })
            .map(|e| e.uri.as_str())
    }
}

/// Applies one endpoint element to a user's list; false if it (or one of its media) was dropped
/// by a bound.
fn merge_endpoint(list: &mut Vec<Endpoint>, ep: &Endpoint) -> bool {
    let pos = list.iter().position(|e| e.entity == ep.entity);
    match (ep.state, pos) {
        (State::Deleted, Some(i)) => {
            list.remove(i);
        }
        (State::Deleted, None) => {}
        (State::Full, Some(i)) => {
            if let Some(slot) = list.get_mut(i) {
                *slot = ep.clone();
                slot.media.retain(|m| m.state != State::Deleted);
            }
        }
        (State::Partial, Some(i)) => {
            if let Some(existing) = list.get_mut(i) {
                update(&mut existing.session_type, &ep.session_type);
                update(&mut existing.status, &ep.status);
                update(&mut existing.joining_method, &ep.joining_method);
                update(&mut existing.joining_when, &ep.joining_when);
                update(&mut existing.disconnection_method, &ep.disconnection_method);
                let mut all = true;
                for m in &ep.media {
                    all &= merge_media(&mut existing.media, m);
                }
                return all;
            }
        }
        (_, None) => {
            if list.len() >= MAX_ENDPOINTS {
                return false;
            }
            let mut fresh = ep.clone();
            fresh.media.retain(|m| m.state != State::Deleted);
            push_snug(list, fresh);
        }
    }
    true
}

/// Applies one media element to an endpoint's list; false if it was dropped by the bound.
fn merge_media(list: &mut Vec<Media>, m: &Media) -> bool {
    let pos = list.iter().position(|x| x.id == m.id);
    match (m.state, pos) {
        (State::Deleted, Some(i)) => {
            list.remove(i);
        }
        (State::Deleted, None) => {}
        (State::Full, Some(i)) => {
            if let Some(slot) = list.get_mut(i) {
                *slot = m.clone();
            }
        }
        (State::Partial, Some(i)) => {
            if let Some(existing) = list.get_mut(i) {
                update(&mut existing.kind, &m.kind);
                update(&mut existing.label, &m.label);
                update(&mut existing.status, &m.status);
                update(&mut existing.ingress_filter, &m.ingress_filter);
            }
        }
        (_, None) => {
            if list.len() >= MAX_MEDIA {
                return false;
            }
            push_snug(list, m.clone());
        }
    }
    true
}

/// Partial-update rule for one optional field: present replaces, absent keeps.
fn update<T: Clone>(slot: &mut Option<T>, new: &Option<T>) {
    if new.is_some() {
        slot.clone_from(new);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const FOCUS: &str = "sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP";
    const BOB_EP: &str = "{5D0C7A31-0B6E-4F1A-9E0B-6C2F3D4E5A61}";

    /// Body of docs/protocol.md §8 C2 (full roster, version 1).
    pub(crate) const C2: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" xmlns:msci="http://schemas.microsoft.com/rtc/2005/08/confinfoextensions" entity="sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP" state="full" version="1">
  <conference-description>
    <subject>Weekly sync</subject>
    <conf-uris>
      <entry>
        <uri>sip:alice@example.com;gruu;opaque=app:conf:chat:id:JL3GPNYP</uri>
        <display-text>chat</display-text>
        <purpose>chat</purpose>
      </entry>
      <entry>
        <uri>sip:alice@example.com;gruu;opaque=app:conf:audio-video:id:JL3GPNYP</uri>
        <display-text>audio-video</display-text>
        <purpose>audio-video</purpose>
      </entry>
    </conf-uris>
  </conference-description>
  <users>
    <user entity="sip:alice@example.com" state="full">
      <display-text>Alice</display-text>
      <roles>
        <entry>presenter</entry>
      </roles>
      <endpoint entity="{8A2164D1-A50A-4565-B57A-7E468D65ED7C}" session-type="focus">
        <status>connected</status>
        <joining-method>dialed-in</joining-method>
      </endpoint>
      <endpoint entity="{6E1B2C3D-4A5F-4B6C-8D7E-9F0A1B2C3D4E}" session-type="audio-video">
        <status>connected</status>
        <joining-method>dialed-in</joining-method>
        <media id="1">
          <type>audio</type>
          <label>main-audio</label>
          <status>sendrecv</status>
        </media>
      </endpoint>
    </user>
    <user entity="sip:bob@example.com" state="full">
      <display-text>Bob</display-text>
      <roles>
        <entry>attendee</entry>
      </roles>
      <endpoint entity="{2C5F80EE-197A-4A55-8EAC-29D771249B52}" session-type="focus">
        <status>connected</status>
        <joining-method>dialed-in</joining-method>
      </endpoint>
    </user>
  </users>
</conference-info>
"#;

    /// Body of docs/protocol.md §8 C3 (partial, version 2: Bob's A/V endpoint connected).
    pub(crate) const C3: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" xmlns:msci="http://schemas.microsoft.com/rtc/2005/08/confinfoextensions" entity="sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP" state="partial" version="2">
  <users>
    <user entity="sip:bob@example.com" state="partial">
      <endpoint entity="{5D0C7A31-0B6E-4F1A-9E0B-6C2F3D4E5A61}" session-type="audio-video" state="full">
        <status>connected</status>
        <joining-method>dialed-in</joining-method>
        <media id="1">
          <type>audio</type>
          <label>main-audio</label>
          <status>sendrecv</status>
          <msci:media-ingress-filter>unblock</msci:media-ingress-filter>
        </media>
      </endpoint>
    </user>
  </users>
</conference-info>
"#;

    fn doc(s: &str) -> ConferenceInfo {
        parse(s.as_bytes()).unwrap()
    }

    /// A partial document with one user element (inner XML given).
    fn partial(version: u64, user: &str, inner: &str) -> ConferenceInfo {
        doc(&format!(
            r#"<conference-info entity="{FOCUS}" state="partial" version="{version}"><users><user entity="{user}" state="partial">{inner}</user></users></conference-info>"#
        ))
    }

    #[test]
    fn vocabulary_words_are_shared_and_other_values_kept_as_written() {
        let d = partial(
            2,
            "sip:bob@example.com",
            r#"<endpoint entity="e1" session-type="audio-video"><status>connected</status><joining-method>Dialed-In</joining-method><media id="1"><type>audio</type><status>sendrecv</status><label>x-custom</label></media></endpoint><roles><entry>presenter</entry></roles>"#,
        );
        let u = &d.users[0];
        let e = &u.endpoints[0];
        let shared = |w: &Option<Word>| matches!(w, Some(Word::Borrowed(_)));
        assert!(shared(&e.session_type) && shared(&e.status));
        assert!(matches!(u.roles[0], Word::Borrowed("presenter")));
        // Not one of the words as written (case kept): its own copy.
        assert!(matches!(&e.joining_method, Some(Word::Owned(m)) if m == "Dialed-In"));
        let m = &e.media[0];
        assert!(matches!(m.id, Word::Borrowed("1")));
        assert!(shared(&m.kind) && shared(&m.status));
        assert_eq!(m.label.as_deref(), Some("x-custom"));
        assert!(matches!(m.label, Some(Word::Owned(_))));
        // Lists hold no spare room.
        assert_eq!(u.endpoints.capacity(), 1);
        assert_eq!(e.media.capacity(), 1);
    }

    #[test]
    fn c2_full_roster() {
        let d = doc(C2);
        assert_eq!(d.entity.as_deref(), Some(FOCUS));
        assert_eq!(d.state, State::Full);
        assert_eq!(d.version, Some(1));
        assert_eq!(d.subject.as_deref(), Some("Weekly sync"));
        assert_eq!(d.conf_uris.len(), 2);
        assert_eq!(d.conf_uris[0].purpose.as_deref(), Some("chat"));
        assert_eq!(d.conf_uris[1].display_text.as_deref(), Some("audio-video"));
        assert_eq!(d.users.len(), 2);
        let alice = &d.users[0];
        assert_eq!(alice.display_text.as_deref(), Some("Alice"));
        assert_eq!(alice.roles, ["presenter"]);
        assert_eq!(alice.endpoints.len(), 2);
        let av = &alice.endpoints[1];
        assert_eq!(av.session_type.as_deref(), Some("audio-video"));
        assert_eq!(av.status.as_deref(), Some("connected"));
        assert_eq!(av.joining_method.as_deref(), Some("dialed-in"));
        assert_eq!(av.media.len(), 1);
        assert_eq!(av.media[0].kind.as_deref(), Some("audio"));
        assert_eq!(av.media[0].label.as_deref(), Some("main-audio"));
        assert_eq!(d.users[1].roles, ["attendee"]);
        assert!(!d.truncated);
        assert_eq!(d.conf_uri().unwrap().id.as_deref(), Some("JL3GPNYP"));

        // §8.x expectation: alice presenter (focus + audio-video connected), bob attendee (focus
        // connected); MCU URIs for chat and audio-video.
        let mut r = Roster::new();
        assert_eq!(r.apply(&d), Applied::Full);
        assert!(r
            .user("sip:alice@example.com")
            .unwrap()
            .has_role("presenter"));
        assert!(r.is_connected("sip:alice@example.com", "focus"));
        assert!(r.is_connected("\"Alice\" <sip:Alice@example.com>;tag=x", "audio-video"));
        assert!(r.user("sip:bob@example.com").unwrap().has_role("attendee"));
        assert!(r.is_connected("sip:bob@example.com", "focus"));
        assert_eq!(
            r.endpoint_status("sip:bob@example.com", "audio-video"),
            None
        );
        assert_eq!(
            r.mcu_uri("chat"),
            Some("sip:alice@example.com;gruu;opaque=app:conf:chat:id:JL3GPNYP")
        );
        assert_eq!(
            r.mcu_uri("audio-video"),
            Some("sip:alice@example.com;gruu;opaque=app:conf:audio-video:id:JL3GPNYP")
        );
        assert_eq!(r.subject.as_deref(), Some("Weekly sync"));
        assert_eq!(r.len(), 2);
        assert_eq!(r.endpoints().count(), 3);
    }

    #[test]
    fn c3_partial_connects_bob_av() {
        let d3 = doc(C3);
        assert_eq!(d3.state, State::Partial);
        assert_eq!(d3.version, Some(2));
        let ep = &d3.users[0].endpoints[0];
        assert_eq!(ep.state, State::Full);
        assert_eq!(ep.media[0].ingress_filter.as_deref(), Some("unblock"));

        let mut r = Roster::new();
        r.apply(&doc(C2));
        assert_eq!(r.apply(&d3), Applied::Partial);
        assert!(!r.stale);
        assert_eq!(r.version, Some(2));
        assert!(r.is_connected("sip:bob@example.com", "audio-video"));
        let bob = r.user("sip:bob@example.com").unwrap();
        // The partial user kept what it did not mention.
        assert_eq!(bob.display_text.as_deref(), Some("Bob"));
        assert_eq!(bob.roles, ["attendee"]);
        assert_eq!(bob.endpoints.len(), 2);
        assert!(r.is_connected("sip:bob@example.com", "focus"));
        assert_eq!(r.subject.as_deref(), Some("Weekly sync"));

        // Replaying either document is out of date.
        assert_eq!(r.apply(&d3), Applied::OutOfDate { current: 2, got: 2 });
        assert_eq!(r.apply(&doc(C2)), Applied::OutOfDate { current: 2, got: 1 });
    }

    #[test]
    fn partial_updates_and_deletes_by_key() {
        let mut r = Roster::new();
        r.apply(&doc(C2));
        let bob = "sip:bob@example.com";
        // Endpoint partial: status changes, joining method kept; media added then updated.
        let d = partial(
            2,
            bob,
            &format!(
                r#"<endpoint entity="{BOB_EP}" session-type="audio-video"><status>dialing-in</status></endpoint>"#
            ),
        );
        assert_eq!(r.apply(&d), Applied::Partial);
        assert_eq!(r.endpoint_status(bob, "audio-video"), Some("dialing-in"));
        let d = partial(
            3,
            bob,
            &format!(
                r#"<endpoint entity="{BOB_EP}" state="partial"><status>connected</status><joining-info><when>2026-01-01T10:00:00Z</when></joining-info><media id="1"><type>audio</type><status>sendrecv</status></media></endpoint>"#
            ),
        );
        assert_eq!(r.apply(&d), Applied::Partial);
        let ep = r.user(bob).unwrap().endpoint("audio-video").unwrap();
        assert_eq!(ep.status.as_deref(), Some("connected"));
        assert_eq!(ep.joining_when.as_deref(), Some("2026-01-01T10:00:00Z"));
        assert_eq!(ep.media.len(), 1);
        let d = partial(
            4,
            bob,
            &format!(
                r#"<endpoint entity="{BOB_EP}" state="partial"><media id="1" state="partial"><msci:media-ingress-filter xmlns:msci="m">block</msci:media-ingress-filter></media></endpoint>"#
            ),
        );
        r.apply(&d);
        let m = &r.user(bob).unwrap().endpoint("audio-video").unwrap().media[0];
        assert_eq!(m.ingress_filter.as_deref(), Some("block"));
        assert_eq!(
            m.kind.as_deref(),
            Some("audio"),
            "kept by the partial media"
        );
        // Roles replaced by a partial that lists them.
        r.apply(&partial(5, bob, "<roles><entry>presenter</entry></roles>"));
        assert!(r.user(bob).unwrap().has_role("presenter"));
        // Endpoint deleted.
        r.apply(&partial(
            6,
            bob,
            &format!(r#"<endpoint entity="{BOB_EP}" state="deleted"/>"#),
        ));
        assert_eq!(r.endpoint_status(bob, "audio-video"), None);
        // User deleted.
        let d = doc(&format!(
            r#"<conference-info entity="{FOCUS}" state="partial" version="7"><users><user entity="sip:BOB@example.com" state="deleted"/></users></conference-info>"#
        ));
        assert_eq!(r.apply(&d), Applied::Partial);
        assert!(r.user(bob).is_none());
        assert_eq!(r.len(), 1);
        // A new user appears through a partial.
        r.apply(&partial(
            8,
            "sip:carol@example.com",
            "<display-text>Carol</display-text>",
        ));
        assert_eq!(
            r.user("sip:carol@example.com")
                .unwrap()
                .display_text
                .as_deref(),
            Some("Carol")
        );
    }

    #[test]
    fn version_gap_and_partial_before_full_make_stale() {
        let mut r = Roster::new();
        assert_eq!(r.apply(&doc(C3)), Applied::PartialBeforeFull);
        assert!(r.stale);
        assert!(r.is_connected("sip:bob@example.com", "audio-video"));
        // The next full clears staleness (version 3 > 2).
        let full3 = C2.replace("version=\"1\"", "version=\"3\"");
        assert_eq!(r.apply(&doc(&full3)), Applied::Full);
        assert!(!r.stale);
        assert_eq!(r.version, Some(3));
        let gap = partial(6, "sip:bob@example.com", "");
        assert_eq!(
            r.apply(&gap),
            Applied::Gap {
                expected: 4,
                got: 6
            }
        );
        assert!(r.stale);
        assert_eq!(
            r.apply(&partial(7, "sip:bob@example.com", "")),
            Applied::Partial
        );
        assert!(r.stale, "stays stale until the next full");
    }

    #[test]
    fn deleted_document_and_other_conference() {
        let mut r = Roster::new();
        r.apply(&doc(C2));
        let other = C3.replace(":id:JL3GPNYP\" state", ":id:OTHER\" state");
        assert_eq!(r.apply(&doc(&other)), Applied::OtherConference);
        // The A/V MCU URI of the same conference is the same conference.
        let via_av = C3.replace("focus:id:JL3GPNYP", "audio-video:id:JL3GPNYP");
        assert_eq!(r.apply(&doc(&via_av)), Applied::Partial);
        let del = doc(&format!(
            r#"<conference-info entity="{FOCUS}" state="deleted" version="3"/>"#
        ));
        assert_eq!(r.apply(&del), Applied::Deleted);
        assert!(r.deleted);
        assert!(r.is_empty());
        r.reset();
        assert_eq!(r, Roster::default());
    }

    #[test]
    fn documents_without_versions_are_applied() {
        let mut r = Roster::new();
        let d =
            doc(r#"<conference-info><users><user entity="sip:a@b"/></users></conference-info>"#);
        assert_eq!(d.state, State::Full);
        assert_eq!(r.apply(&d), Applied::Full);
        assert_eq!(r.apply(&d), Applied::Full);
        assert_eq!(r.version, None);
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn rejoin_prefers_connected_endpoint() {
        let d = doc(
            r#"<conference-info><users><user entity="sip:a@b">
            <endpoint entity="1" session-type="audio-video"><status>disconnected</status><disconnection-method>departed</disconnection-method></endpoint>
            <endpoint entity="2" session-type="Audio-Video"><status>connected</status></endpoint>
            <endpoint entity="3" session-type="audio-video"><status>disconnected</status></endpoint>
            </users></conference-info>"#
                .replace("</users>", "</user></users>")
                .as_str(),
        );
        let mut r = Roster::new();
        r.apply(&d);
        assert_eq!(
            r.endpoint_status("sip:a@b", "audio-video"),
            Some("connected")
        );
        let u = r.user("sip:a@b").unwrap();
        assert_eq!(
            u.endpoints[0].disconnection_method.as_deref(),
            Some("departed")
        );
    }

    #[test]
    fn bounds_are_enforced() {
        let users: String = (0..MAX_USERS + 5)
            .map(|i| format!(r#"<user entity="sip:u{i}@x"/>"#))
            .collect();
        let d = doc(&format!(
            "<conference-info><users>{users}</users></conference-info>"
        ));
        assert_eq!(d.users.len(), MAX_USERS);
        assert!(d.truncated);
        let eps: String = (0..MAX_ENDPOINTS + 5)
            .map(|i| format!(r#"<endpoint entity="{i}"><media id="{i}"/></endpoint>"#))
            .collect();
        let d = doc(&format!(
            r#"<conference-info><users><user entity="sip:a@b">{eps}</user></users></conference-info>"#
        ));
        assert_eq!(d.users[0].endpoints.len(), MAX_ENDPOINTS);
        assert!(d.truncated);
        // Partials cannot grow a user's endpoints past the bound either.
        let mut r = Roster::new();
        r.apply(&d);
        r.apply(&partial(1, "sip:a@b", r#"<endpoint entity="new"/>"#));
        assert_eq!(r.user("sip:a@b").unwrap().endpoints.len(), MAX_ENDPOINTS);
        assert!(r.truncated);
    }

    #[test]
    fn hostile_inputs() {
        assert!(matches!(
            parse(b"<request/>"),
            Err(BodyError::UnexpectedRoot { .. })
        ));
        assert!(parse(&C2.as_bytes()[..C2.len() / 2]).is_err());
        assert!(parse(b"\x89PNG\r\n\x1a\n").is_err());
        let d = doc(
            r#"<conference-info version="-1" state="weird"><users><user/><user entity=""/></users><conference-description><conf-uris><entry><purpose>x</purpose></entry></conf-uris><subject>a &amp; b &#128512;</subject></conference-description></conference-info>"#,
        );
        assert_eq!(d.version, None);
        assert_eq!(d.state, State::Partial);
        assert!(d.conf_uris.is_empty(), "entries without a uri are dropped");
        assert_eq!(d.subject.as_deref(), Some("a & b \u{1F600}"));
        let mut r = Roster::new();
        r.apply(&d);
        assert!(r.is_empty(), "users without entity are not merged");
        // Misplaced elements are ignored, not attributed to the wrong parent.
        let d = doc(
            r#"<conference-info><endpoint entity="x"><status>connected</status></endpoint><users><media id="1"/></users></conference-info>"#,
        );
        assert!(d.users.is_empty());
    }
}
