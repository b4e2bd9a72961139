//! The `conferences` section of the JSON report (docs/json.md contract): per conference, its
//! participants with their state, the first failed step, the reason, and one entry per step.
//! Fields beyond the contract (roster, other MCUs, diagnostics, attempts) are additive.

use super::select::Selection;
use crate::analysis::{Analysis, Conference, Participant, Step};
use crate::sip::conf_uri::McuType;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// The conferences the selection shows, each with its selected participants.
pub struct Conferences<'a>(pub &'a Analysis, pub &'a Selection);

impl Serialize for Conferences<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let list = self.0.conferences().list();
        let escalations = self.0.escalations();
        let mut seq = ser.serialize_seq(None)?;
        for (i, c) in list.iter().enumerate() {
            if !self.1.conference(c) {
                continue;
            }
            let from = escalations
                .get(i)
                .copied()
                .flatten()
                .and_then(|d| self.0.dialogs().get(d as usize));
            seq.serialize_element(&ConferenceOut(c, self.0, from, self.1))?;
        }
        seq.end()
    }
}

struct ConferenceOut<'a>(
    &'a Conference,
    &'a Analysis,
    Option<&'a crate::analysis::Dialog>,
    &'a Selection,
);

impl Serialize for ConferenceOut<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let (c, a, sel) = (self.0, self.1, self.3);
        let mut map = ser.serialize_map(None)?;
        map.serialize_entry("id", &c.id)?;
        map.serialize_entry("focus_uri", &c.focus_uri)?;
        map.serialize_entry("organizer", &c.organizer)?;
        map.serialize_entry("subject", &c.subject)?;
        map.serialize_entry("first_seen", &super::Ts(c.first_seen))?;
        map.serialize_entry("last_seen", &super::Ts(c.last_seen))?;
        let participants: Vec<_> = c
            .participants
            .iter()
            .filter(|p| sel.participant(c, p))
            .map(|p| ParticipantOut(c, p, a))
            .collect();
        map.serialize_entry("participants", &participants)?;
        let mcus: Vec<&str> = c.mcus.iter().map(McuType::as_str).collect();
        map.serialize_entry("mcus", &mcus)?;
        if let Some(r) = c.roster() {
            map.serialize_entry(
                "roster",
                &RosterOut {
                    version: r.version,
                    stale: r.stale,
                    users: r.len(),
                    problems: c.roster_problems,
                    copies: c.roster_copies,
                },
            )?;
        }
        let control: Vec<_> = c
            .control
            .iter()
            .map(|(_, o)| C3pOut {
                request: o.request.as_deref(),
                request_id: o.request_id.as_deref(),
                code: o.code.as_ref().map(|c| c.as_str()),
                reason: o.reason.as_deref(),
            })
            .collect();
        map.serialize_entry("c3p_commands", &control)?;
        if let Some(d) = self.2 {
            map.serialize_entry(
                "escalated_from",
                &EscalationOut {
                    call_id: &d.call_id,
                    from: &d.from,
                    to: &d.to,
                    first_seen: super::Ts(d.first_time),
                    last_seen: super::Ts(d.last_time),
                    state: d.state.as_str(),
                },
            )?;
        }
        map.end()
    }
}

/// `conferences[].escalated_from`: the peer-to-peer call the conference became.
#[derive(Serialize)]
struct EscalationOut<'a> {
    call_id: &'a str,
    from: &'a str,
    to: &'a str,
    first_seen: super::Ts,
    last_seen: super::Ts,
    state: &'a str,
}

#[derive(Serialize)]
struct RosterOut {
    version: Option<u64>,
    stale: bool,
    users: usize,
    /// Documents that skipped versions, came out of order or could not be decoded.
    problems: u32,
    /// Documents sent to the other subscribers (the same state), counted but not merged again.
    copies: u32,
}

#[derive(Serialize)]
struct C3pOut<'a> {
    request: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
    code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

struct ParticipantOut<'a>(&'a Conference, &'a Participant, &'a Analysis);

impl Serialize for ParticipantOut<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let (c, p) = (self.0, self.1);
        let d = c.diagnose(p);
        let (state, failed, reason) = (
            d.state,
            d.failed_step,
            super::reason::reason_in(&d, p, self.2),
        );
        let mut map = ser.serialize_map(None)?;
        map.serialize_entry("uri", &p.uri)?;
        map.serialize_entry("invited_by", &p.invited_by)?;
        map.serialize_entry("state", state.as_str())?;
        map.serialize_entry("failed_step", &failed.map(|f| f.as_str()))?;
        map.serialize_entry("reason", &reason)?;
        if let Some(device) = &p.device {
            map.serialize_entry("device", device)?;
        }
        if c.devices(p).nth(1).is_some() {
            map.serialize_entry("user_state", c.user_state(p).as_str())?;
        }
        if let Some((by, at)) = c.dialed_out_by(p) {
            map.serialize_entry(
                "dialed_out_by",
                &DialOutOut {
                    by,
                    at: super::Ts(at),
                },
            )?;
        }
        if let Some(access) = p.access() {
            map.serialize_entry("access", access.as_str())?;
        }
        if let Some(edge) = p.edge.as_ref().and_then(|e| e.edge.as_deref()) {
            map.serialize_entry("edge", edge)?;
        }
        if let Some(ua) = &p.user_agent {
            map.serialize_entry("user_agent", &**ua)?;
            map.serialize_entry("client", &p.client().map(|k| k.as_str()))?;
        }
        if let Some(e) = c.ending(p, &d) {
            map.serialize_entry("ended", &EndingOut(e))?;
        }
        if let Some(d) = &p.lobby_decision {
            map.serialize_entry(
                "lobby",
                &LobbyOut {
                    admitted: d.admitted,
                    by: &d.by,
                    at: super::Ts(d.at),
                    refused_by_focus: d.refused,
                },
            )?;
        }
        let others = c.other_failures(p, &d);
        if !others.is_empty() {
            let list: Vec<_> = others
                .iter()
                .map(|(mcu, s)| OtherFailureOut {
                    step: mcu.map_or("media", |m| m.as_str()),
                    call_id: &s.call_id,
                    status: s.status,
                    reason: super::reason::other_failure_text(*mcu, s),
                })
                .collect();
            map.serialize_entry("other_failures", &list)?;
        }
        map.serialize_entry("steps", &StepsOut(p))?;
        map.end()
    }
}

struct StepsOut<'a>(&'a Participant);

impl Serialize for StepsOut<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut map = ser.serialize_map(None)?;
        map.serialize_entry(
            "invitation",
            &p.invitation.as_ref().map(|s| StepOut {
                step: s,
                kind: StepKind::Invitation,
                attempts: &[],
            }),
        )?;
        let focus_attempts: Vec<Step> = if p.earlier_focus.is_empty() {
            Vec::new()
        } else {
            p.earlier_focus
                .iter()
                .chain(p.focus.as_deref())
                .cloned()
                .collect()
        };
        map.serialize_entry(
            "focus",
            &p.focus.as_ref().map(|s| StepOut {
                step: s,
                kind: StepKind::Focus,
                attempts: &focus_attempts,
            }),
        )?;
        map.serialize_entry(
            "media",
            &p.media_step().map(|s| StepOut {
                step: s,
                kind: StepKind::Media,
                attempts: &p.media,
            }),
        )?;
        map.serialize_entry(
            "roster",
            &p.roster.as_ref().map(|s| StepOut {
                step: s,
                kind: StepKind::Roster,
                attempts: &[],
            }),
        )?;
        let mut seen: Vec<&McuType> = Vec::new();
        for (mcu, _) in &p.mcus {
            if seen.contains(&mcu) {
                continue;
            }
            seen.push(mcu);
            let attempts: Vec<Step> = p
                .mcus
                .iter()
                .filter(|(m, _)| m == mcu)
                .map(|(_, s)| s.clone())
                .collect();
            let best = attempts
                .iter()
                .rev()
                .find(|s| s.succeeded())
                .or(attempts.last())
                .cloned();
            if let Some(step) = best {
                let out = OwnedStep { step, attempts };
                // Application sharing is also the `sharing` step (issue 14's name for it);
                // the MCU token's key stays, as the contract promised it.
                if *mcu == McuType::ApplicationSharing {
                    map.serialize_entry("sharing", &out)?;
                }
                map.serialize_entry(&mcu_step_key(mcu), &out)?;
            }
        }
        map.end()
    }
}

/// The `steps` key of another MCU's step: its token, unless a URI names an MCU like one of
/// the fixed steps (`app:conf:media:id:…`), which would write the key twice.
fn mcu_step_key(mcu: &McuType) -> std::borrow::Cow<'_, str> {
    match mcu.as_str() {
        t @ ("invitation" | "focus" | "media" | "roster" | "sharing") => format!("mcu-{t}").into(),
        t => t.into(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum StepKind {
    Invitation,
    Focus,
    Media,
    Roster,
}

struct StepOut<'a> {
    step: &'a Step,
    kind: StepKind,
    attempts: &'a [Step],
}

struct OwnedStep {
    step: Step,
    attempts: Vec<Step>,
}

impl Serialize for OwnedStep {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        StepOut {
            step: &self.step,
            kind: StepKind::Media,
            attempts: &self.attempts,
        }
        .serialize(ser)
    }
}

impl Serialize for StepOut<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let s = self.step;
        let mut map = ser.serialize_map(None)?;
        map.serialize_entry("call_id", &*s.call_id)?;
        map.serialize_entry("status", &s.status)?;
        if self.kind == StepKind::Focus {
            let c3p = s.c3p.as_ref().map(|o| C3pOut {
                request: o.request.as_deref(),
                request_id: None,
                code: o.code.as_ref().map(|c| c.as_str()),
                reason: o.reason.as_deref(),
            });
            map.serialize_entry("c3p", &c3p)?;
        }
        if self.kind == StepKind::Media {
            map.serialize_entry("media", &s.media)?;
            map.serialize_entry("cryptoscale", &s.cryptoscale)?;
            map.serialize_entry("ice", &s.ice.map(|i| i.as_str()))?;
            if let Some(f) = s.flow.as_deref().filter(|f| f.registered) {
                map.serialize_entry("flow", &FlowOut(f))?;
            }
        }
        map.serialize_entry("at", &super::Ts(s.at))?;
        if let Some(t) = s.ringing_at {
            map.serialize_entry("ringing_at", &super::Ts(t))?;
        }
        if let (Some(by), Some(t)) = (s.ended_by, s.ended_at) {
            map.serialize_entry("ended_by", by.as_str())?;
            map.serialize_entry("ended_at", &super::Ts(t))?;
        }
        map.serialize_entry("setup_ms", &s.setup_ms())?;
        map.serialize_entry("reason_phrase", &s.reason_phrase)?;
        if !s.warnings().is_empty() {
            map.serialize_entry("warnings", s.warnings())?;
        }
        if let Some((header, d)) = s.diagnostic.as_deref() {
            map.serialize_entry(
                "diagnostics",
                &DiagOut {
                    header,
                    code: d.code,
                    reason: d.reason.as_deref(),
                    source: d.source.as_deref(),
                    meaning: d.meaning(),
                },
            )?;
        }
        if self.attempts.len() > 1 {
            let attempts: Vec<_> = self
                .attempts
                .iter()
                .map(|a| AttemptOut {
                    call_id: &a.call_id,
                    status: a.status,
                    at: super::Ts(a.at),
                    reason_phrase: a.reason_phrase.as_deref(),
                    // What the attempt's final response said about itself, as the reason
                    // words it: a retry must not lose why the first try failed.
                    why: {
                        let t = super::reason::diag_text(a);
                        t.strip_prefix(", ").map(str::to_string)
                    },
                })
                .collect();
            map.serialize_entry("attempts", &attempts)?;
        }
        map.end()
    }
}

/// `participants[].dialed_out_by`: who asked the MCU to call the participant.
#[derive(Serialize)]
struct DialOutOut<'a> {
    by: &'a str,
    at: super::Ts,
}

/// `participants[].other_failures[]`: an MCU join that failed without deciding the state.
#[derive(Serialize)]
struct OtherFailureOut<'a> {
    step: &'a str,
    call_id: &'a str,
    status: Option<u16>,
    reason: String,
}

/// `participants[].lobby`: a leader's decision about a participant waiting in the lobby.
#[derive(Serialize)]
struct LobbyOut<'a> {
    admitted: bool,
    by: &'a str,
    at: super::Ts,
    refused_by_focus: bool,
}

/// `participants[].ended`: how a participant who left came to leave.
struct EndingOut<'a>(crate::analysis::Ending<'a>);

impl Serialize for EndingOut<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use crate::analysis::Ending;
        let mut map = ser.serialize_map(None)?;
        match &self.0 {
            Ending::Removed(r) => {
                map.serialize_entry("how", "removed")?;
                map.serialize_entry("by", &r.by)?;
                map.serialize_entry("at", &super::Ts(r.at))?;
            }
            Ending::ConferenceEnded(by) => {
                map.serialize_entry("how", "conference-ended")?;
                if let Some((by, at)) = by {
                    map.serialize_entry("by", by)?;
                    map.serialize_entry("at", &super::Ts(*at))?;
                }
            }
            Ending::Dialog { step, by, at } => {
                map.serialize_entry("how", "bye")?;
                map.serialize_entry("step", step.as_str())?;
                map.serialize_entry("by", by.as_str())?;
                map.serialize_entry("at", &super::Ts(*at))?;
            }
        }
        map.serialize_entry("text", &super::reason::ending_text(&self.0))?;
        map.end()
    }
}

#[derive(Serialize)]
struct DiagOut<'a> {
    header: &'a str,
    code: u32,
    reason: Option<&'a str>,
    source: Option<&'a str>,
    meaning: Option<&'static str>,
}

#[derive(Serialize)]
struct AttemptOut<'a> {
    call_id: &'a str,
    status: Option<u16>,
    at: super::Ts,
    reason_phrase: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    why: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_mcus_never_take_a_fixed_step_key() {
        assert_eq!(mcu_step_key(&McuType::Chat), "chat");
        assert_eq!(mcu_step_key(&McuType::from_token("media")), "mcu-media");
        assert_eq!(mcu_step_key(&McuType::from_token("Roster")), "mcu-roster");
        assert_eq!(mcu_step_key(&McuType::from_token("x-custom")), "x-custom");
        assert_eq!(mcu_step_key(&McuType::from_token("sharing")), "mcu-sharing");
    }
}

/// `steps.media.flow`: the ICE outcome and what was counted each way (docs/json.md).
struct FlowOut<'a>(&'a crate::analysis::media::MediaFlow);

impl Serialize for FlowOut<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let f = self.0;
        let seen = f.traffic();
        let mut map = ser.serialize_map(None)?;
        map.serialize_entry("ice", f.outcome().as_str())?;
        map.serialize_entry(
            "pair",
            &seen.pair.map(|(client, mcu)| PairOut {
                client: client.to_string(),
                mcu: mcu.to_string(),
            }),
        )?;
        map.serialize_entry("to_mcu", &DirOut(&seen.to_mcu))?;
        map.serialize_entry("to_client", &DirOut(&seen.to_client))?;
        map.serialize_entry("first_packet", &seen.media_span.map(|s| super::Ts(s.0)))?;
        map.serialize_entry("last_packet", &seen.media_span.map(|s| super::Ts(s.1)))?;
        map.serialize_entry("first_check", &seen.checks_span.map(|s| super::Ts(s.0)))?;
        map.serialize_entry("last_check", &seen.checks_span.map(|s| super::Ts(s.1)))?;
        map.serialize_entry("client_candidates", &f.client.len())?;
        map.serialize_entry("mcu_candidates", &f.mcu.len())?;
        map.end()
    }
}

#[derive(Serialize)]
struct PairOut {
    client: String,
    mcu: String,
}

struct DirOut<'a>(&'a crate::analysis::media::Direction);

impl Serialize for DirOut<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let d = self.0;
        let mut map = ser.serialize_map(None)?;
        map.serialize_entry("checks", &d.checks)?;
        map.serialize_entry("answers", &d.successes)?;
        map.serialize_entry("error_answers", &d.errors)?;
        map.serialize_entry("rtp", &d.rtp)?;
        map.serialize_entry("rtcp", &d.rtcp)?;
        map.serialize_entry("packets", &d.media_packets())?;
        map.serialize_entry("bytes", &d.bytes)?;
        map.serialize_entry("other", &d.other)?;
        map.end()
    }
}
