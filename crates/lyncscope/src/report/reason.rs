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
        Cause::Lobby => "the focus has not admitted the participant yet (C3P pending: waiting \
                         in the lobby)"
            .to_string(),
    })
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
    for (header, d) in s.diagnostic.iter().chain(&s.more_diagnostics) {
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
    for w in &s.warnings {
        let _ = write!(t, ", Warning: {w}");
    }
    t
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
    }
}
