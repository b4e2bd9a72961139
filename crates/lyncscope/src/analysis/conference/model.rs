//! The conference model: conferences, their participants, and the steps of each join, as the
//! correlation ([`super::Conferences`]) builds them and the diagnosis reads them.

use super::super::dialog::Dialog;
use crate::sip::body::{conference_info, diagnostics};
use crate::sip::conf_uri::McuType;
use crate::transport::MsgContext;
use crate::Timestamp;
use lyncscope_base::join::JoinStep;

pub use crate::sip::body::c3p::C3pCode;
pub use crate::sip::body::sdp::IceFlavour;

/// Who ended a dialog of a join (the side that sent the BYE or ended the subscription).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndedBy {
    /// The inviter ended the invitation dialog.
    Inviter,
    /// The invitee ended the invitation dialog.
    Invitee,
    /// The participant ended a focus, roster or MCU dialog.
    Participant,
    /// The server (focus, MCU) ended it.
    Server,
}

impl EndedBy {
    /// The name used in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            EndedBy::Inviter => "inviter",
            EndedBy::Invitee => "invitee",
            EndedBy::Participant => "participant",
            EndedBy::Server => "server",
        }
    }
}

/// The C3P exchange of a focus step.
#[derive(Clone, Debug, Default)]
pub struct C3pOutcome {
    /// The command of the request (`addUser`).
    pub request: Option<String>,
    /// The C3P `requestId`, matching a response to its request.
    pub request_id: Option<String>,
    /// The response code (`success`, `failure`, `pending`, or another value verbatim).
    pub code: Option<C3pCode>,
    /// The reason of a failure (`otherFailure`, …).
    pub reason: Option<String>,
}

/// One dialog's part in a join.
#[derive(Clone, Debug)]
pub struct Step {
    /// The step's dialog (index in the analysis's dialogs).
    pub dialog: u32,
    /// Its Call-ID.
    pub call_id: std::sync::Arc<str>,
    /// The frame of the initial request (the message number for logs).
    pub request_frame: u64,
    /// CSeq number of the initial request.
    pub cseq: Option<u32>,
    /// When the dialog opened.
    pub at: Timestamp,
    /// Final status of the initial request, its reason phrase, and when it came.
    pub status: Option<u16>,
    /// The final response's reason phrase as sent.
    pub reason_phrase: Option<std::borrow::Cow<'static, str>>,
    /// When the final response came.
    pub answered_at: Option<Timestamp>,
    /// The first diagnostics header of the final response (`ms-diagnostics`, then
    /// `ms-diagnostics-public`, then `ms-client-diagnostics`), with the header's name.
    pub diagnostic: Option<(&'static str, diagnostics::Diagnostic)>,
    /// The C3P exchange (focus steps).
    pub c3p: Option<C3pOutcome>,
    /// The final response's `Warning` headers as written (`391 example.com "Do not
    /// disturb"`), and its diagnostics headers after the first (at most four each: what explains
    /// a refusal is in the first few).
    pub warnings: Vec<Box<str>>,
    /// Diagnostics headers of the final response beyond [`Step::diagnostic`].
    pub more_diagnostics: Vec<(&'static str, diagnostics::Diagnostic)>,
    /// Media types offered (`audio`, `video`, `message`, …).
    pub media: Vec<String>,
    /// The offer asks for Lync's CryptoScale (`a=x-mediabw`-era) SRTP.
    pub cryptoscale: bool,
    /// ICE flavour of the offer (RFC 5245 or draft 6), when it has ICE.
    pub ice: Option<IceFlavour>,
    /// The offer was multipart/alternative (both ICE flavours).
    pub multipart_offer: bool,
    /// The dialog was ended (BYE, unsubscribe, terminated subscription), and by whom.
    pub ended_by: Option<EndedBy>,
    /// When it was ended (the first BYE or ending request).
    pub ended_at: Option<Timestamp>,
    /// When the initial INVITE was first answered `180 Ringing` (the invitee's client rang).
    pub ringing_at: Option<Timestamp>,
    /// The initial request's body was read (a copy forwarded to the next hop is not read again).
    pub(super) offer_seen: bool,
}

impl Step {
    pub(super) fn new(dialog: u32, d: &Dialog, ctx: &MsgContext) -> Self {
        Step {
            dialog,
            call_id: d.call_id.clone(),
            request_frame: ctx.frame,
            cseq: None,
            at: d.first_time,
            status: None,
            reason_phrase: None,
            answered_at: None,
            diagnostic: None,
            c3p: None,
            warnings: Vec::new(),
            more_diagnostics: Vec::new(),
            media: Vec::new(),
            cryptoscale: false,
            ice: None,
            multipart_offer: false,
            ended_by: None,
            ended_at: None,
            ringing_at: None,
            offer_seen: false,
        }
    }

    /// From the initial request to its final response; `None` when the capture did not see
    /// the request (it started in the middle of the join), rather than a made-up 0.
    pub fn setup_ms(&self) -> Option<i64> {
        if !self.offer_seen {
            return None;
        }
        self.answered_at.map(|t| t.millis_since(self.at))
    }

    /// A 2xx whose C3P result, if any, is neither `failure` nor `pending` (a lobby: not
    /// admitted yet).
    pub fn succeeded(&self) -> bool {
        matches!(self.status, Some(200..=299))
            && !matches!(
                self.c3p_code(),
                Some(C3pCode::Failure) | Some(C3pCode::Pending)
            )
    }

    /// The C3P response code of the step, if a C3P response was seen.
    pub fn c3p_code(&self) -> Option<&C3pCode> {
        self.c3p.as_ref().and_then(|c| c.code.as_ref())
    }

    /// A final status of 300 or more, or a C3P `failure`.
    pub fn failed(&self) -> bool {
        matches!(self.status, Some(300..)) || self.c3p_code() == Some(&C3pCode::Failure)
    }
}

#[derive(Clone, Debug)]
/// One participant of a conference and the steps of their join.
pub struct Participant {
    /// Address-of-record.
    pub uri: String,
    /// Who invited them (the inviter of the invitation step), when an invitation was seen.
    pub invited_by: Option<String>,
    // Boxed: a participant is moved as its conference's list grows, and three inline steps
    // would make that a kilobyte each.
    /// The invitation dialog (inviter to this participant).
    pub invitation: Option<Box<Step>>,
    /// The focus dialog (C3P `addUser`), the latest attempt.
    pub focus: Option<Box<Step>>,
    /// The roster subscription (SUBSCRIBE to the focus).
    pub roster: Option<Box<Step>>,
    /// A/V MCU attempts in order (a failed attempt followed by a successful retry keeps both).
    pub media: Vec<Step>,
    /// Other MCUs (IM `chat`, application sharing, …), attempts in order.
    pub mcus: Vec<(McuType, Step)>,
    /// When the participant's first message was seen.
    pub first_seen: Timestamp,
    /// The participant's client as its `User-Agent` names it (the first one seen in a request
    /// the participant sent, or in the invitee's answer to the invitation), at most
    /// [`MAX_USER_AGENT`] bytes.
    pub user_agent: Option<Box<str>>,
    /// Someone else removed the participant with a C3P `deleteUser`.
    pub removed: Option<Removal>,
    /// A leader's C3P `setLobbyAccess` about this participant (admitted or refused from the
    /// lobby), the last one seen.
    pub lobby_decision: Option<LobbyDecision>,
}

/// A C3P `setLobbyAccess` naming a participant waiting in the lobby.
#[derive(Clone, Debug)]
pub struct LobbyDecision {
    /// Who sent it (the AOR of the dialog it came in).
    pub by: String,
    /// When.
    pub at: Timestamp,
    /// `access` was `granted` (admitted); anything else refuses.
    pub admitted: bool,
    /// The focus answered the command with a C3P `failure`: the decision did not take effect.
    pub refused: bool,
    /// The command's `requestId`, to match the focus's answer.
    pub(super) request_id: Option<String>,
}

/// Longest `User-Agent` kept per participant: real ones are under 100 bytes; a hostile one
/// must not cost a header's 64 KB per participant.
pub const MAX_USER_AGENT: usize = 256;

/// A C3P `deleteUser` naming a participant, sent by someone else (an organizer or presenter
/// removing them).
#[derive(Clone, Debug)]
pub struct Removal {
    /// Who sent the `deleteUser` (the AOR of the dialog it came in).
    pub by: String,
    /// When.
    pub at: Timestamp,
    /// The focus answered the command with a C3P `failure`: the participant was not removed.
    pub refused: bool,
    /// The command's `requestId`, to match the focus's answer.
    pub(super) request_id: Option<String>,
}

/// How a participant who had joined came to leave: what the reports say beside the state
/// `left`.
#[derive(Clone, Copy, Debug)]
pub enum Ending<'a> {
    /// Someone else removed them (C3P `deleteUser`).
    Removed(&'a Removal),
    /// The conference was deleted (the roster says so).
    ConferenceEnded,
    /// A dialog of the join was ended: which step, by whom and when.
    Dialog {
        /// The step that ended first.
        step: JoinStep,
        /// Who sent the BYE (or ended the subscription).
        by: EndedBy,
        /// When.
        at: Timestamp,
    },
}

impl Participant {
    pub(super) fn new(uri: String, at: Timestamp) -> Self {
        Participant {
            uri,
            invited_by: None,
            invitation: None,
            focus: None,
            roster: None,
            media: Vec::new(),
            mcus: Vec::new(),
            first_seen: at,
            user_agent: None,
            removed: None,
            lobby_decision: None,
        }
    }

    /// The kind of client the participant's `User-Agent` names.
    pub fn client(&self) -> Option<crate::sip::user_agent::ClientKind> {
        self.user_agent
            .as_deref()
            .map(|ua| crate::sip::user_agent::ClientKind::of(ua.as_bytes()))
    }

    /// The A/V step to report: the last successful attempt, else the last attempt.
    pub fn media_step(&self) -> Option<&Step> {
        self.media
            .iter()
            .rev()
            .find(|s| s.succeeded())
            .or(self.media.last())
    }
}

#[derive(Clone, Debug)]
/// One conference: its identity, its participants and their joins, its roster.
pub struct Conference {
    /// The conference ID as the URIs spell it.
    pub id: String,
    /// `user@host` of the organizer as the URIs write it (the lookup key).
    pub(super) organizer_key: String,
    /// The organizer's address-of-record.
    pub organizer: String,
    /// The focus URI (`…;gruu;opaque=app:conf:focus:id:ID`).
    pub focus_uri: String,
    /// The subject, from the invitation or the roster.
    pub subject: Option<String>,
    /// When the participant's first message was seen.
    pub first_seen: Timestamp,
    /// When its last message was seen.
    pub last_seen: Timestamp,
    /// MCU types seen (focus, audio-video, chat, …) in the order first seen.
    pub mcus: Vec<McuType>,
    /// The participants in the order first seen.
    pub participants: Vec<Participant>,
    /// The merged roster. Every participant subscribes and the focus sends each the same
    /// state, so one subscription's documents are merged (the first seen, until it ends or
    /// another delivers a full document after it ended); the others are counted as copies.
    pub roster: Option<conference_info::Roster>,
    /// The subscription dialog whose documents are merged, and whether it has ended.
    pub(super) roster_dialog: Option<u32>,
    pub(super) roster_dialog_ended: bool,
    /// Documents of the other subscriptions (copies of the same state), not merged.
    pub roster_copies: u32,
    /// Copies since the merged subscription's last document (see `roster_document`).
    pub(super) copies_since_merged: u32,
    /// Roster subscriptions seen in this conference.
    pub(super) roster_subscriptions: u32,
    /// Roster documents that skipped versions, came out of order or could not be decoded.
    pub roster_problems: u32,
    /// C3P commands seen outside the join (INFO, SERVICE), with their outcome.
    pub control: Vec<(u32, C3pOutcome)>,
    /// Every dialog of the conference (its participants' steps, conference control), in the
    /// order they opened (ascending ids).
    pub dialogs: Vec<u32>,
}

impl Conference {
    /// The merged roster, if any document was seen.
    pub fn roster(&self) -> Option<&conference_info::Roster> {
        self.roster.as_ref()
    }
}
