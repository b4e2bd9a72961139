//! The join diagnosis: from a participant's steps and the roster to a state, the step that
//! failed first and its [`Cause`] — typed, so that filters and reports decide on it without
//! building a sentence (the sentence is written by `report::reason`).

use super::model::{C3pCode, Conference, Ending, Participant, Step};
use super::{JoinState, JoinStep};
use crate::sip::conf_uri::McuType;

/// RFC 3261 Timer B (64 × T1): an INVITE without a final response by then has timed out.
const INVITE_TIMEOUT_MS: i64 = 32_000;
/// RFC 5389 §7.2.1: a STUN request over UDP unanswered for 39.5 s has timed out, so checks
/// that went unanswered that long failed even while the call is still up.
const STUN_TIMEOUT_MS: i64 = 39_500;
/// A participant's BYE with `ms-client-diagnostics` this soon after the A/V MCU's 200 is the
/// client giving up on media: ICE takes a few seconds, a person who hangs up on purpose
/// rarely does it within half a minute of joining.
pub const MEDIA_HANGUP_MS: i64 = 30_000;

/// Why a participant's join stands where it does: the cause of a failure, a decline or a wait.
/// The views put it into words; the analysis decides on this type alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cause {
    /// The invitee declined the invitation (486, 600, 603).
    Declined,
    /// The invitation was cancelled before the invitee answered (487).
    InvitationCancelled,
    /// The invitation failed otherwise (another final status of 300 or more).
    InvitationFailed,
    /// The focus accepted the SIP INVITE but its C3P response says `failure`.
    C3pRefused,
    /// The server (focus or MCU) refused the join with a final status of 300 or more.
    Rejected,
    /// The participant cancelled the INVITE before it was answered (487).
    Cancelled,
    /// The INVITE timed out with a 408.
    TimedOut,
    /// No final response came, and the capture goes on past the INVITE transaction timeout
    /// (RFC 3261 Timer B): the INVITE timed out unanswered. `waited_ms` is how long the
    /// capture shows after it.
    NoAnswer {
        /// Milliseconds from the INVITE to the last message of the conference.
        waited_ms: i64,
    },
    /// Waiting in the lobby: the focus answered the C3P `addUser` with `pending`, or the
    /// roster shows the user's focus endpoint `on-hold` / `pending`.
    Lobby,
    /// A leader refused the participant waiting in the lobby (`setLobbyAccess` not `granted`;
    /// the participant's `lobby_decision` says who).
    LobbyDenied,
    /// The participant hung up while waiting in the lobby (they gave up).
    LobbyAbandoned,
    /// The focus ended the wait in the lobby without admitting them: the lobby timed out or a
    /// leader refused them without the refusal being captured.
    LobbyEnded,
    /// The MCU dialled out to the participant (it opened the dialog) and the call failed: the
    /// callee was busy, did not answer or could not be reached.
    DialOutFailed,
    /// The Access Edge refused the step: it generated the failing response, or the response's
    /// diagnostics name the Edge that vouched for the participant, or a SIP-stack code
    /// (1000–1999) answered an external user with 403/504 (docs/joins.md §3.1).
    EdgeRefused,
    /// The A/V MCU answered 200, but media did not flow: the client's ICE checks (STUN
    /// Binding requests) to the MCU's candidates went unanswered (the step's `flow` has them),
    /// and/or the participant hung up soon after with `ms-client-diagnostics`.
    MediaFailed {
        /// Checks were sent, none answered and no RTP seen, until the dialog ended or the
        /// STUN transaction timeout (RFC 5389, 39.5 s) passed.
        checks_unanswered: bool,
        /// The participant's BYE, within 30 s (`MEDIA_HANGUP_MS`) of the 200, carried
        /// `ms-client-diagnostics` (the step's `hangup_diagnostic`).
        hung_up: bool,
    },
    /// The invitation rang (`180 Ringing`, the evidence's `ringing_at`) and no final answer
    /// came while the capture went on: nobody picked up (yet).
    Ringing {
        /// Milliseconds from the 180 to the conference's last message.
        for_ms: i64,
    },
}

/// A participant's diagnosis: the state, the step that failed first and why, with the step
/// whose messages are the evidence.
#[derive(Clone, Copy, Debug)]
pub struct Diagnosis<'a> {
    /// Where the participant stands.
    pub state: JoinState,
    /// The step that failed first, when the state is `failed`.
    pub failed_step: Option<JoinStep>,
    /// Why (a failure, a decline or a wait); `None` when nothing needs explaining.
    pub cause: Option<Cause>,
    /// The step whose outcome is the cause: its status, diagnostics and C3P result.
    pub evidence: Option<&'a Step>,
    /// The MCU of the evidence when it is not the A/V MCU (IM, application sharing, …).
    pub mcu: Option<&'a McuType>,
}

impl Diagnosis<'_> {
    fn settled(state: JoinState) -> Self {
        Diagnosis {
            state,
            failed_step: None,
            cause: None,
            evidence: None,
            mcu: None,
        }
    }
}

impl Conference {
    /// The participant's state, the first failed step and its cause, from the steps and the
    /// roster evidence.
    pub fn diagnose<'a>(&'a self, p: &'a Participant) -> Diagnosis<'a> {
        let roster = self.roster();
        let connected = |session: &str| roster.is_some_and(|r| r.is_connected(&p.uri, session));
        let status_of = |session: &str| roster.and_then(|r| r.endpoint_status(&p.uri, session));
        // A rejoin starts a new session: MCU attempts before the latest focus attempt belong to
        // an earlier one.
        let since = p.focus.as_ref().map(|f| f.at);
        let current = |s: &&Step| since.is_none_or(|t| s.at >= t);
        let any_mcu_ok = p.media.iter().filter(current).any(Step::succeeded)
            || p.mcus
                .iter()
                .map(|(_, s)| s)
                .filter(current)
                .any(Step::succeeded);
        let av_connected = connected("audio-video");
        let mcu_connected = av_connected || connected("chat") || connected("applicationsharing");
        // A stale roster (it missed updates) may show an old session: it does not outweigh a
        // SIP failure of the current attempt; a current roster does (a retry may be missing
        // from the capture).
        let roster_current = roster.is_some_and(|r| !r.stale);
        let media_failed = p.media.iter().filter(current).any(Step::failed)
            || p.mcus
                .iter()
                .map(|(_, s)| s)
                .filter(current)
                .any(Step::failed);
        let failed = |step: JoinStep, cause: Cause, evidence: &'a Step| Diagnosis {
            state: JoinState::Failed,
            failed_step: Some(step),
            cause: Some(cause),
            evidence: Some(evidence),
            mcu: None,
        };

        if let Some(inv) = &p.invitation {
            let joined_anyway = p.focus.is_some() || any_mcu_ok;
            if let (Some(code), false) = (inv.status.filter(|s| *s >= 300), joined_anyway) {
                let (state, cause) = match code {
                    603 | 600 | 486 => (JoinState::Declined, Cause::Declined),
                    487 => (JoinState::Failed, Cause::InvitationCancelled),
                    _ if edge_refused(inv, p) => (JoinState::Failed, Cause::EdgeRefused),
                    _ => (JoinState::Failed, Cause::InvitationFailed),
                };
                return Diagnosis {
                    state,
                    failed_step: (state == JoinState::Failed).then_some(JoinStep::Invitation),
                    cause: Some(cause),
                    evidence: Some(inv),
                    mcu: None,
                };
            }
        }
        if let Some(f) = &p.focus {
            if f.failed() && !any_mcu_ok && !(mcu_connected && roster_current) {
                let cause = match (f.status, f.c3p_code()) {
                    (Some(200..=299), Some(C3pCode::Failure)) => Cause::C3pRefused,
                    _ => refusal(f, p),
                };
                return failed(JoinStep::Focus, cause, f);
            }
            if let Some(waited) = self.unanswered(f).filter(|_| !any_mcu_ok && !mcu_connected) {
                return failed(JoinStep::Focus, Cause::NoAnswer { waited_ms: waited }, f);
            }
        }
        let media = p.media_step();
        let left = self.left(p);
        if let Some((cause, m)) = self.media_failure(p).filter(|(_, m)| current(m)) {
            return failed(JoinStep::Media, cause, m);
        }
        if any_mcu_ok || (mcu_connected && (roster_current || !media_failed)) {
            return Diagnosis::settled(if left {
                JoinState::Left
            } else {
                JoinState::Joined
            });
        }
        if let Some(m) = media.filter(|m| m.failed() && current(m)) {
            let cause = if m.dialed_out {
                Cause::DialOutFailed
            } else {
                refusal(m, p)
            };
            return failed(JoinStep::Media, cause, m);
        }
        if let Some((m, waited)) = media
            .filter(|m| current(m))
            .and_then(|m| Some((m, self.unanswered(m)?)))
        {
            return failed(JoinStep::Media, Cause::NoAnswer { waited_ms: waited }, m);
        }
        if let Some((mcu, s)) = p.mcus.iter().rev().find(|(_, s)| s.failed() && current(&s)) {
            return Diagnosis {
                mcu: Some(mcu),
                ..failed(JoinStep::Media, Cause::Rejected, s)
            };
        }
        let roster_waiting = matches!(status_of("focus"), Some("on-hold" | "pending"));
        if let Some(f) = p.focus.as_deref().filter(|f| {
            let pending =
                f.c3p_code() == Some(&C3pCode::Pending) && status_of("focus") != Some("connected");
            pending || roster_waiting
        }) {
            let decision = p.lobby_decision.as_ref().filter(|d| !d.refused);
            let cause = match (decision.map(|d| d.admitted), f.ended_by) {
                (Some(false), _) => Cause::LobbyDenied,
                (_, Some(super::EndedBy::Participant)) => Cause::LobbyAbandoned,
                (_, Some(_)) => Cause::LobbyEnded,
                // Admitted, and nothing after it seen yet: still shown as waiting, with who
                // admitted them in the reports.
                _ => {
                    return Diagnosis {
                        cause: Some(Cause::Lobby),
                        evidence: Some(f),
                        ..Diagnosis::settled(JoinState::Lobby)
                    }
                }
            };
            return failed(JoinStep::Focus, cause, f);
        }
        let focus_ok = (p.focus.as_deref().is_some_and(Step::succeeded) && !roster_waiting)
            || status_of("focus") == Some("connected");
        if focus_ok {
            return Diagnosis::settled(if left {
                JoinState::Left
            } else {
                JoinState::FocusJoined
            });
        }
        if let Some((inv, rang)) = p
            .invitation
            .as_deref()
            .filter(|i| i.status.is_none() && p.focus.is_none())
            .and_then(|i| Some((i, i.ringing_at?)))
        {
            return Diagnosis {
                cause: Some(Cause::Ringing {
                    for_ms: self.last_seen.millis_since(rang).max(0),
                }),
                evidence: Some(inv),
                ..Diagnosis::settled(JoinState::Invited)
            };
        }
        Diagnosis::settled(JoinState::Invited)
    }

    /// MCU joins that failed without deciding the participant's state: they joined through
    /// another MCU (A/V up, application sharing refused; IM up, A/V refused). Each MCU's
    /// last attempt of the current session, when no attempt at that MCU succeeded; `None` for
    /// the MCU means the A/V MCU.
    /// `d` is the participant's [`Conference::diagnose`] (the reports have it already).
    pub fn other_failures<'a>(
        &'a self,
        p: &'a Participant,
        d: &Diagnosis<'_>,
    ) -> Vec<(Option<&'a McuType>, &'a Step)> {
        if !matches!(
            d.state,
            JoinState::Joined | JoinState::Left | JoinState::FocusJoined
        ) {
            return Vec::new();
        }
        let since = p.focus.as_ref().map(|f| f.at);
        let current = |s: &Step| since.is_none_or(|t| s.at >= t);
        let mut out = Vec::new();
        if let Some(m) = p.media_step().filter(|m| m.failed() && current(m)) {
            out.push((None, m));
        }
        let mut seen: Vec<&McuType> = Vec::new();
        for (mcu, _) in &p.mcus {
            if seen.contains(&mcu) {
                continue;
            }
            seen.push(mcu);
            let mut attempts = p.mcus.iter().filter(|(m, s)| m == mcu && current(s));
            if attempts.clone().any(|(_, s)| s.succeeded()) {
                continue;
            }
            if let Some((_, s)) = attempts.next_back().filter(|(_, s)| s.failed()) {
                out.push((Some(mcu), s));
            }
        }
        out
    }

    /// The devices of a participant's user: every participant of the conference with the same
    /// AOR (one per `epid`), in the order first seen.
    pub fn devices<'a>(&'a self, p: &'a Participant) -> impl Iterator<Item = &'a Participant> + 'a {
        // Only a user with several devices is looked for in the list: reports ask this of
        // every participant, and a scan each would be quadratic in a large conference.
        let (alone, others): (Option<&Participant>, &[Participant]) = if p.shares_user {
            (None, &self.participants)
        } else {
            (Some(p), &[])
        };
        alone
            .into_iter()
            .chain(others.iter().filter(move |q| q.uri == p.uri))
    }

    /// The state of a user who joined from several devices: the best any device reached
    /// (joined if any device joined); a failed device stays failed in its own row.
    pub fn user_state(&self, p: &Participant) -> JoinState {
        let rank = |s: JoinState| match s {
            JoinState::Joined => 6,
            JoinState::FocusJoined => 5,
            JoinState::Lobby => 4,
            JoinState::Left => 3,
            JoinState::Failed => 2,
            JoinState::Declined => 1,
            JoinState::Invited => 0,
        };
        self.devices(p)
            .map(|d| self.diagnose(d).state)
            .max_by_key(|s| rank(*s))
            .unwrap_or(JoinState::Invited)
    }

    /// How a participant whose state is `left` came to leave: removed by someone else, the
    /// conference deleted, or the first of their join's dialogs that was ended (by whom and
    /// when); `None` when the state is another, or nothing says more than the roster did.
    /// `d` is the participant's [`Conference::diagnose`] (the reports have it already).
    pub fn ending<'a>(&'a self, p: &'a Participant, d: &Diagnosis<'_>) -> Option<Ending<'a>> {
        if d.state != JoinState::Left {
            return None;
        }
        if let Some(r) = p.removed.as_ref().filter(|r| !r.refused) {
            return Some(Ending::Removed(r));
        }
        if self.deleted_by.is_some() || self.roster().is_some_and(|r| r.deleted) {
            return Some(Ending::ConferenceEnded(self.deleted_by.as_ref()));
        }
        let steps = p
            .focus
            .as_deref()
            .map(|s| (JoinStep::Focus, s))
            .into_iter()
            .chain(p.media_step().map(|s| (JoinStep::Media, s)));
        steps
            .filter_map(|(step, s)| Some((step, s.ended_by?, s.ended_at?)))
            .min_by_key(|(_, _, at)| *at)
            .map(|(step, by, at)| Ending::Dialog { step, by, at })
    }

    /// The A/V step whose signalling succeeded but whose media demonstrably failed (see
    /// [`Cause::MediaFailed`]); `None` when media flowed, or when nothing shows it did not
    /// (no packet seen is not a failure: the capture point may not see media).
    fn media_failure<'a>(&self, p: &'a Participant) -> Option<(Cause, &'a Step)> {
        use crate::analysis::media::IceOutcome;
        let m = p.media_step().filter(|m| m.succeeded())?;
        let flow = m.flow.as_deref();
        let outcome = flow.map_or(IceOutcome::NotSeen, |f| f.outcome());
        if outcome == IceOutcome::Succeeded {
            return None;
        }
        let checks_unanswered = outcome == IceOutcome::Failed
            && (m.ended_by.is_some()
                || flow
                    .and_then(|f| f.traffic().checks_span)
                    .is_some_and(|(first, last)| {
                        self.last_seen.max(last).millis_since(first) >= STUN_TIMEOUT_MS
                    }));
        let hung_up = m.ended_by == Some(super::EndedBy::Participant)
            && m.hangup_diagnostic.is_some()
            && matches!((m.answered_at, m.ended_at), (Some(ok), Some(bye))
                if bye.millis_since(ok) <= MEDIA_HANGUP_MS);
        (checks_unanswered || hung_up).then_some((
            Cause::MediaFailed {
                checks_unanswered,
                hung_up,
            },
            m,
        ))
    }

    /// How long the conference's traffic went on after a step's INVITE that got no final
    /// response, when that is past INVITE transaction timeout (RFC 3261 Timer B, 64 × T1 =
    /// 32 s): the INVITE timed out. `None` while it could still be answered, or when the
    /// capture did not see the request.
    fn unanswered(&self, s: &Step) -> Option<i64> {
        if !s.offer_seen || s.status.is_some() {
            return None;
        }
        let waited = self.last_seen.millis_since(s.at);
        (waited >= INVITE_TIMEOUT_MS).then_some(waited)
    }

    /// The participant left: a BYE ended the focus or media dialog, or the roster shows every
    /// endpoint of theirs disconnected, the user deleted from it, or the conference deleted.
    fn left(&self, p: &Participant) -> bool {
        let bye = p.focus.as_ref().is_some_and(|s| s.ended_by.is_some())
            && p.media_step().is_none_or(|s| s.ended_by.is_some());
        let roster_gone = self.roster().is_some_and(|r| match r.user(&p.uri) {
            Some(u) => {
                !u.endpoints.is_empty()
                    && u.endpoints
                        .iter()
                        .all(|e| e.status.as_deref() == Some("disconnected"))
            }
            None => r.deleted || r.departed(&p.uri),
        }) || (self.deleted_by.is_some()
            && p.focus.as_ref().is_some_and(|f| f.ended_by.is_some()));
        let removed = p.removed.as_ref().is_some_and(|r| !r.refused);
        bye || roster_gone || removed
    }
}

/// A final status of 300 or more, by what it means: the client's CANCEL (487), a timeout (408),
/// or the server refusing.
fn refusal(s: &Step, p: &Participant) -> Cause {
    if edge_refused(s, p) {
        return Cause::EdgeRefused;
    }
    match s.status {
        Some(487) => Cause::Cancelled,
        Some(408) => Cause::TimedOut,
        _ => Cause::Rejected,
    }
}

/// The Access Edge refused the step (see [`Cause::EdgeRefused`]).
fn edge_refused(s: &Step, p: &Participant) -> bool {
    if !s.failed() || s.status.is_none_or(|c| c < 300) {
        return false;
    }
    if s.edge_generated {
        return true;
    }
    let edge = p.edge.as_ref().and_then(|e| e.edge.as_deref());
    let diags = || {
        s.diagnostic
            .as_deref()
            .into_iter()
            .chain(s.more_diagnostics())
            .map(|(_, d)| d)
    };
    let from_edge = edge.is_some_and(|edge| {
        diags().any(|d| {
            d.source
                .as_deref()
                .is_some_and(|src| src.eq_ignore_ascii_case(edge))
        })
    });
    let stack_code = p.edge.is_some()
        && matches!(s.status, Some(403 | 504))
        && diags().any(|d| (1000..2000).contains(&d.code));
    from_edge || stack_code
}
