//! The diagnosis in words: the one place that turns an [`analysis::Diagnosis`] into the
//! sentence the reports and the terminal UI show. The analysis decides on types; only the
//! views write English.
//!
//! [`analysis::Diagnosis`]: crate::analysis::Diagnosis

use crate::analysis::{Cause, Diagnosis, JoinStep, Participant, Step};
use crate::sip::conf_uri::McuType;
use std::fmt::Write;

/// The reason of a participant's diagnosis as a sentence a person can act on; `None` when the
/// diagnosis has no cause to explain (joined, left, focus-joined, invited without news).
pub fn reason(d: &Diagnosis<'_>, p: &Participant) -> Option<String> {
    let cause = d.cause?;
    let s = d.evidence?;
    let who = &p.uri;
    let what = match (d.failed_step, d.mcu) {
        (Some(JoinStep::Focus), _) => Target::Focus,
        (_, Some(mcu)) => Target::Mcu(mcu),
        _ => Target::AvMcu,
    };
    Some(match cause {
        Cause::Declined => format!(
            "{who} declined the invitation: {}{}",
            status_text(s),
            diag_text(s)
        ),
        Cause::InvitationCancelled => format!(
            "the invitation was cancelled before {who} answered: {}{}",
            status_text(s),
            diag_text(s)
        ),
        Cause::InvitationFailed => format!(
            "the invitation to {who} failed: {}{}",
            status_text(s),
            diag_text(s)
        ),
        Cause::C3pRefused => {
            let c = s.c3p.as_ref();
            format!(
                "the focus accepted the SIP INVITE ({}) but refused the C3P {}: code=failure{}",
                status_text(s),
                c.and_then(|c| c.request.as_deref()).unwrap_or("request"),
                c.and_then(|c| c.reason.as_ref())
                    .map(|r| format!(", reason={r}"))
                    .unwrap_or_default()
            )
        }
        Cause::Cancelled | Cause::TimedOut if !matches!(what, Target::Mcu(_)) => {
            let how = if cause == Cause::Cancelled {
                "was cancelled by the participant before it was answered"
            } else {
                "timed out"
            };
            format!(
                "the join to the {} {how}: {}{}",
                what.name(),
                status_text(s),
                diag_text(s)
            )
        }
        Cause::Rejected | Cause::Cancelled | Cause::TimedOut => match what {
            Target::Focus => format!(
                "the conference focus rejected the join: {}{}",
                status_text(s),
                diag_text(s)
            ),
            Target::AvMcu => format!(
                "the A/V MCU rejected the offer: {}{}",
                status_text(s),
                diag_text(s)
            ),
            Target::Mcu(mcu) => format!(
                "the {} MCU rejected the join: {}{}",
                mcu_name(mcu),
                status_text(s),
                diag_text(s)
            ),
        },
        Cause::NoAnswer { waited_ms } => {
            let (who, request) = match what {
                Target::Focus => ("the conference focus", "the join INVITE"),
                _ => ("the A/V MCU", "the offer"),
            };
            format!(
                "{who} never answered {request} (no final response in the {} s the capture \
                 shows after it: the INVITE timed out)",
                waited_ms / 1000
            )
        }
        Cause::Lobby => match p
            .lobby_decision
            .as_ref()
            .filter(|d| d.admitted && !d.refused)
        {
            Some(d) => format!(
                "waiting in the lobby; admitted by {} at {}, the join not completed yet",
                d.by,
                clock(d.at)
            ),
            None => format!(
                "waiting in the lobby since {}: the focus has not admitted {who} yet{}",
                clock(s.answered_at.unwrap_or(s.at)),
                if s.c3p_code() == Some(&crate::analysis::C3pCode::Pending) {
                    " (C3P pending)"
                } else {
                    " (the roster shows the focus endpoint waiting)"
                }
            ),
        },
        Cause::LobbyDenied => match p.lobby_decision.as_ref() {
            Some(d) => format!(
                "{} refused {who} entry from the lobby at {} (setLobbyAccess)",
                d.by,
                clock(d.at)
            ),
            None => format!("a leader refused {who} entry from the lobby"),
        },
        Cause::LobbyAbandoned => format!(
            "{who} hung up while waiting in the lobby{}, before anyone admitted them",
            s.ended_at
                .map(|t| format!(" (BYE at {})", clock(t)))
                .unwrap_or_default()
        ),
        Cause::LobbyEnded => format!(
            "the focus ended {who}'s wait in the lobby{} without admitting them: the lobby \
             timed out, or a leader refused them (no setLobbyAccess was captured)",
            s.ended_at
                .map(|t| format!(" at {}", clock(t)))
                .unwrap_or_default()
        ),
        Cause::DialOutFailed => format!(
            "the {} MCU dialled out to {who} and the call failed: {}{}",
            d.mcu.map_or("A/V", mcu_name),
            status_text(s),
            diag_text(s)
        ),
        Cause::EdgeRefused => {
            let edge = p
                .edge
                .as_ref()
                .and_then(|e| e.edge.as_deref())
                .map(|e| format!(" ({e})"))
                .unwrap_or_default();
            let what = match (d.failed_step, d.mcu) {
                (Some(JoinStep::Invitation), _) => format!("the invitation to {who}"),
                (Some(JoinStep::Focus), _) => format!("{who}'s join to the conference focus"),
                (_, Some(mcu)) => format!("{who}'s join to the {} MCU", mcu_name(mcu)),
                _ => format!("{who}'s offer to the A/V MCU"),
            };
            format!(
                "the Edge{edge} refused {what}: {}{}",
                status_text(s),
                diag_text(s)
            )
        }
        Cause::MediaFailed {
            checks_unanswered,
            hung_up,
        } => media_failed_text(s, who, checks_unanswered, hung_up),
        Cause::Ringing { for_ms } => format!(
            "{who}'s client rang (180 Ringing at {}) for {}.{} s and no final answer came \
             before the capture ended",
            s.ringing_at.map(clock).unwrap_or_default(),
            for_ms / 1000,
            (for_ms % 1000) / 100
        ),
    })
}

/// Why media failed, from the A/V step's flow and the BYE's `ms-client-diagnostics`.
fn media_failed_text(s: &Step, who: &str, checks_unanswered: bool, hung_up: bool) -> String {
    let mut t = format!(
        "signalling succeeded (the A/V MCU answered {}{}), but no media reached the MCU",
        status_text(s),
        s.answered_at
            .map(|at| format!(" at {}", clock(at)))
            .unwrap_or_default()
    );
    let flow = s.flow.as_deref();
    match flow.filter(|_| checks_unanswered) {
        Some(f) => {
            let seen = f.traffic();
            let (first, last) = seen.checks_span.unwrap_or_default();
            let from = seen
                .first_check_from
                .map(|a| format!(" from {a}"))
                .unwrap_or_default();
            let ms = last.millis_since(first).max(0);
            let _ = write!(
                t,
                ": {} ICE check{} (STUN Binding request{}){from} to the MCU's {} candidate{} \
                 went unanswered for {}.{} s",
                seen.to_mcu.checks,
                plural(u64::from(seen.to_mcu.checks)),
                plural(u64::from(seen.to_mcu.checks)),
                f.mcu.len(),
                plural(f.mcu.len() as u64),
                ms / 1000,
                (ms % 1000) / 100
            );
        }
        None => t.push_str(": no ICE check or RTP was seen at the capture point"),
    }
    if let (true, Some(d)) = (hung_up, &s.hangup_diagnostic) {
        let after = match (s.answered_at, s.ended_at) {
            (Some(ok), Some(bye)) => {
                let ms = bye.millis_since(ok).max(0);
                format!(" {}.{} s after the 200", ms / 1000, (ms % 1000) / 100)
            }
            _ => String::new(),
        };
        let _ = write!(
            t,
            "; {who} hung up{after} with ms-client-diagnostics {}",
            d.code
        );
        if let Some(reason) = &d.reason {
            let _ = write!(t, " \"{reason}\"");
        }
    }
    t
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// One line about an A/V step's media for the text report: the ICE outcome, the selected
/// pair, packets and bytes each way, the first and last packet. `None` without both SDPs.
pub fn media_line(s: &Step) -> Option<String> {
    let f = s.flow.as_deref().filter(|f| f.registered)?;
    let mut t = format!("media: ICE {}", f.outcome().as_str());
    let seen = f.traffic();
    if seen.to_mcu.checks + seen.to_client.checks > 0 {
        let _ = write!(
            t,
            ", checks {} sent / {} answered",
            seen.to_mcu.checks, seen.to_client.successes
        );
    }
    if let Some((client, mcu)) = seen.pair {
        let _ = write!(t, ", pair {client} ↔ {mcu}");
    }
    let _ = write!(
        t,
        ", to MCU {} RTP/RTCP ({}), to client {} RTP/RTCP ({})",
        seen.to_mcu.media_packets(),
        super::text::human_bytes(seen.to_mcu.bytes),
        seen.to_client.media_packets(),
        super::text::human_bytes(seen.to_client.bytes)
    );
    if let Some((first, last)) = seen.media_span {
        let _ = write!(t, ", {} → {}", clock(first), clock(last));
    }
    Some(t)
}

/// Time of day of a timestamp, to the millisecond (`10:30:05.519`), in UTC as the reports.
pub fn clock(t: crate::Timestamp) -> String {
    let full = t.rfc3339();
    full.get(11..23).unwrap_or(&full).to_string()
}

/// How a participant who left came to leave, in words: "removed by sip:alice@… at
/// 10:31:02.120", "the conference was ended", "left at 10:31:02.120 (BYE from the
/// participant in the focus dialog)".
pub fn ending_text(e: &crate::analysis::Ending<'_>) -> String {
    use crate::analysis::{EndedBy, Ending};
    match e {
        Ending::Removed(r) => format!("removed by {} at {}", r.by, clock(r.at)),
        Ending::ConferenceEnded(None) => "the conference was ended (deleted)".to_string(),
        Ending::ConferenceEnded(Some((by, at))) => {
            format!("the conference was ended by {by} at {}", clock(*at))
        }
        Ending::Dialog { step, by, at } => {
            let dialog = match step {
                JoinStep::Focus => "focus",
                JoinStep::Media => "A/V",
                JoinStep::Invitation => "invitation",
            };
            match by {
                EndedBy::Server => format!(
                    "the server ended the {dialog} dialog at {} (BYE from the server)",
                    clock(*at)
                ),
                EndedBy::Inviter => {
                    format!("the inviter ended the {dialog} dialog at {}", clock(*at))
                }
                EndedBy::Participant | EndedBy::Invitee => format!(
                    "left at {} (BYE from the participant in the {dialog} dialog)",
                    clock(*at)
                ),
            }
        }
    }
}

/// How an outside user comes in: `anonymous via edge01.example.com`, `phone`; `None` for
/// the enterprise's own users on its network.
pub fn access_text(p: &Participant) -> Option<String> {
    let access = p.access()?.as_str();
    Some(match p.edge.as_ref().and_then(|e| e.edge.as_deref()) {
        Some(edge) => format!("{access} via {edge}"),
        None => access.to_string(),
    })
}

/// A leader's lobby decision about the participant: "lobby: admitted by sip:alice@… at
/// 10:30:37.209".
pub fn lobby_text(d: &crate::analysis::LobbyDecision) -> String {
    format!(
        "lobby: {} by {} at {}{}",
        if d.admitted { "admitted" } else { "refused" },
        d.by,
        clock(d.at),
        if d.refused {
            " (the focus refused the command)"
        } else {
            ""
        }
    )
}

/// A call the A/V MCU placed to the participant, and who asked for it.
pub fn dial_out_text(by: &str, at: crate::Timestamp) -> String {
    format!(
        "the A/V MCU called them at the request of {by} at {}",
        clock(at)
    )
}

/// A client kind's name as people say it.
pub fn client_name(k: crate::sip::user_agent::ClientKind) -> &'static str {
    use crate::sip::user_agent::ClientKind::*;
    match k {
        Lync2010 => "Lync 2010",
        Lync2013 => "Lync 2013",
        SkypeForBusiness2015 => "Skype for Business 2015",
        SkypeForBusiness2016 => "Skype for Business 2016",
        Mac => "Mac client",
        Phone => "phone",
        WebOrMobile => "web or mobile client",
        Sipe => "pidgin-sipe",
        Server => "server",
        Other => "other client",
    }
}

#[derive(Clone, Copy)]
enum Target<'a> {
    Focus,
    AvMcu,
    Mcu(&'a McuType),
}

impl Target<'_> {
    fn name(self) -> &'static str {
        match self {
            Target::Focus => "conference focus",
            Target::AvMcu | Target::Mcu(_) => "A/V MCU",
        }
    }
}

/// [`reason`], with what a server logged about the failed step's dialog (a SIPStack
/// diagnostic record of its Call-ID): "the Edge logged SIPPROXY_E_…: text" is often the answer.
pub fn reason_in(
    d: &Diagnosis<'_>,
    p: &Participant,
    a: &crate::analysis::Analysis,
) -> Option<String> {
    let mut text = reason(d, p)?;
    if let Some(step) = d.evidence {
        for e in a.server_events_for(&step.call_id).take(3) {
            let who = e.source.as_deref().unwrap_or("the server");
            let what = match &e.result_code {
                Some((_, Some(name))) => name.clone(),
                Some((code, None)) => format!("0x{code:08X}"),
                None => "an event".to_string(),
            };
            let _ = write!(text, "; {who} logged {what}");
            if let Some(t) = &e.text {
                let _ = write!(text, ": {t}");
            }
        }
    }
    Some(text)
}

/// A failed MCU join that did not decide the participant's state, in words ("the application
/// sharing MCU rejected the join: 488 Not Acceptable Here, ms-diagnostics 24000 …").
pub fn other_failure_text(mcu: Option<&McuType>, s: &Step) -> String {
    let who = match mcu {
        Some(m) => format!("the {} MCU", mcu_name(m)),
        None => "the A/V MCU".to_string(),
    };
    let (status, diag) = (status_text(s), diag_text(s));
    match s.status {
        Some(487) => format!("the join to {who} was cancelled: {status}{diag}"),
        Some(408) => format!("the join to {who} timed out: {status}{diag}"),
        _ => format!("{who} rejected the join: {status}{diag}"),
    }
}

/// A person's name for an MCU.
pub fn mcu_name(mcu: &McuType) -> &str {
    match mcu {
        McuType::AudioVideo => "A/V",
        McuType::Chat => "IM",
        McuType::ApplicationSharing => "application sharing",
        other => other.as_str(),
    }
}

/// A step's final status as `code phrase`, or `no final response`.
pub fn status_text(s: &Step) -> String {
    match (s.status, &s.reason_phrase) {
        (Some(code), Some(phrase)) if !phrase.is_empty() => format!("{code} {phrase}"),
        (Some(code), _) => code.to_string(),
        (None, _) => "no final response".to_string(),
    }
}

/// What the step's final response says about itself: its diagnostics headers as
/// `, header code "reason" from source (meaning)`, then its `Warning` headers; empty when none.
pub fn diag_text(s: &Step) -> String {
    let mut t = String::new();
    for (header, d) in s
        .diagnostic
        .as_deref()
        .into_iter()
        .chain(s.more_diagnostics())
    {
        let _ = write!(t, ", {header} {}", d.code);
        if let Some(reason) = &d.reason {
            let _ = write!(t, " \"{reason}\"");
        }
        if let Some(source) = &d.source {
            let _ = write!(t, " from {source}");
        }
        if let Some(meaning) = d.meaning() {
            let _ = write!(t, " ({meaning})");
        }
    }
    for w in s.warnings() {
        let _ = write!(t, ", Warning: {w}");
    }
    t
}

/// A bound that was hit, in words: what it left out (`short`, for the status line), the
/// bound, and what a person can do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoundWords {
    /// What was left out, after the count: "conferences' dialogs not tracked".
    pub short: &'static str,
    /// The bound, after its value: "conferences".
    pub unit: &'static str,
    /// What to do.
    pub hint: &'static str,
}

/// The words of a bound (see [`crate::bounds`]).
pub fn bound(b: crate::bounds::Bound) -> BoundWords {
    use crate::bounds::Bound as B;
    let w = |short, unit, hint| BoundWords { short, unit, hint };
    match b {
        B::MemoryRefused => w(
            "dialogs/rows refused (memory)",
            "of analysis memory, nothing left to evict",
            "raise --memory-limit, or split the capture",
        ),
        B::MemoryEvicted => w(
            "finished dialogs evicted (memory)",
            "of analysis memory",
            "raise --memory-limit to keep them, or split the capture",
        ),
        B::Conferences => w(
            "conferences not tracked",
            "conferences",
            "split the capture by time",
        ),
        B::Participants => w(
            "participants dropped",
            "participants per conference",
            "the conference is larger than the analysis follows",
        ),
        B::Devices => w(
            "devices folded into the user's first",
            "devices per user",
            "the user joined from more devices than are told apart",
        ),
        B::DialOuts => w(
            "dial-out requests not kept",
            "dial-outs per conference",
            "the conference dialled out more often than is remembered",
        ),
        B::Dialogs => w(
            "dialogs not tracked",
            "dialogs",
            "split the capture by time",
        ),
        B::DialogsPerCallId => w(
            "dialogs not tracked (Call-ID reused)",
            "dialogs per Call-ID",
            "a client or attacker reuses one Call-ID",
        ),
        B::Messages => w(
            "messages not listed",
            "messages listed",
            "split the capture by time",
        ),
        B::RosterUsers => w(
            "roster users dropped",
            "users per roster",
            "the roster is larger than the analysis keeps",
        ),
        B::RosterEndpoints => w(
            "roster endpoints dropped",
            "endpoints per roster user",
            "a roster user has more devices than the analysis keeps",
        ),
        B::RosterMedia => w(
            "roster media dropped",
            "media per roster endpoint",
            "a roster endpoint has more media than the analysis keeps",
        ),
        B::RosterEntries => w(
            "roster URIs/roles dropped",
            "conference URIs (16 roles per user)",
            "the roster is unusual or hostile",
        ),
        B::Attempts => w(
            "earlier join attempts forgotten",
            "attempts per step",
            "the newest attempts are kept",
        ),
        B::ServerEvents => w(
            "server events dropped",
            "server events",
            "read fewer or shorter logs",
        ),
        B::Origins => w(
            "extra origins dropped",
            "extra origins",
            "read fewer overlapping inputs",
        ),
        B::TcpTotal => w(
            "TCP connections over the total bound",
            "bytes held by all TCP connections",
            "messages being assembled were given up",
        ),
        B::TcpMessage => w(
            "TCP messages over the per-message bound",
            "bytes per unfinished TCP message",
            "the messages were given up",
        ),
        B::TcpReorder => w(
            "TCP holes given up early",
            "segments (1 MiB) out of order per direction",
            "the capture lost many segments",
        ),
        B::TcpConnections => w(
            "TCP connections evicted",
            "TCP connections",
            "the least recent connections were forgotten",
        ),
        B::SctpMessage => w(
            "SCTP messages given up",
            "per SCTP message (4,096 streams)",
            "the messages were given up",
        ),
        B::WebSocketMessage => w(
            "WebSocket messages given up",
            "per WebSocket message",
            "the messages were given up",
        ),
        B::MediaCandidates => w(
            "media candidate addresses not followed",
            "candidates per SDP",
            "packets to them are not counted in the media flow",
        ),
        B::IpFragments => w(
            "IP datagrams evicted",
            "datagrams in reassembly (64 MiB)",
            "fragments of them were lost",
        ),
        B::Symbols => w(
            "methods/content types not named",
            "distinct methods and content types",
            "shown as …",
        ),
        B::Transactions => w(
            "old transactions forgotten",
            "transactions per dialog",
            "a late retransmission of them counts as new",
        ),
    }
}

/// A cause in a few words, for lists and counts (`C3P refused`, `no answer`).
pub fn cause_name(c: Cause) -> &'static str {
    match c {
        Cause::Declined => "declined",
        Cause::InvitationCancelled => "invitation cancelled",
        Cause::InvitationFailed => "invitation failed",
        Cause::C3pRefused => "C3P refused",
        Cause::Rejected => "rejected",
        Cause::Cancelled => "cancelled",
        Cause::TimedOut => "timed out",
        Cause::NoAnswer { .. } => "no answer",
        Cause::Lobby => "waiting in the lobby",
        Cause::LobbyDenied => "refused in the lobby",
        Cause::LobbyAbandoned => "gave up in the lobby",
        Cause::LobbyEnded => "lobby wait ended by the focus",
        Cause::EdgeRefused => "refused by the Edge",
        Cause::Ringing { .. } => "rang without an answer",
        Cause::DialOutFailed => "dial-out failed",
        Cause::MediaFailed { .. } => "media never flowed",
    }
}
