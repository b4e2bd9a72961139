//! What the views derive from the analysis: which dialogs make up a conference or a join,
//! short labels for bodies and users, time and duration text. Pure functions, no drawing.

use lyncscope::analysis::{
    Analysis, Conference, DialogKind, JoinState, JoinStep, Participant, Step,
};
use lyncscope::sip::body::{self, BodyKind};
use lyncscope::Timestamp;

/// The dialogs of one participant's join, with the part each plays, in join order.
pub(crate) fn participant_dialogs(p: &Participant) -> Vec<(u32, DialogKind)> {
    let mut out = Vec::new();
    if let Some(s) = &p.invitation {
        out.push((s.dialog, DialogKind::Invitation));
    }
    for s in p.earlier_focus.iter().chain(p.focus.as_deref()) {
        out.push((s.dialog, DialogKind::Focus));
    }
    if let Some(s) = &p.roster {
        out.push((s.dialog, DialogKind::Roster));
    }
    for s in &p.media {
        out.push((s.dialog, DialogKind::Media));
    }
    for (_, s) in &p.mcus {
        out.push((s.dialog, DialogKind::Mcu));
    }
    out
}

/// Every dialog of a conference: the participants' steps, conference control, and the other
/// dialogs the analysis put in the conference. From the conference's own list, so the cost
/// follows the conference's size, not the capture's (a live ladder updates it every frame).
pub(crate) fn conference_dialogs(a: &Analysis, c: &Conference) -> Vec<u32> {
    let mut out: Vec<u32> = c
        .participants
        .iter()
        .flat_map(|p| participant_dialogs(p).into_iter().map(|(d, _)| d))
        .collect();
    out.extend(c.control.iter().map(|(d, _)| *d));
    out.extend(c.dialogs.iter().copied());
    out.retain(|&d| (d as usize) < a.dialogs().len());
    out.sort_unstable();
    out.dedup();
    out
}

/// Indices of the messages of the given dialogs (sorted), in capture order.
pub(crate) fn messages_of(a: &Analysis, dialogs: &[u32]) -> Vec<usize> {
    a.messages()
        .iter()
        .enumerate()
        .filter(|(_, m)| {
            m.dialog()
                .is_some_and(|d| dialogs.binary_search(&d).is_ok())
        })
        .map(|(i, _)| i)
        .collect()
}

/// Joined and failed participants of a conference.
pub(crate) fn join_counts(c: &Conference) -> (usize, usize) {
    c.participants
        .iter()
        .fold((0, 0), |(j, f), p| match c.diagnose(p).state {
            JoinState::Joined | JoinState::Left => (j + 1, f),
            JoinState::Failed => (j, f + 1),
            _ => (j, f),
        })
}

/// The first message of dialog `id` (what opened it: its source and destination), found by
/// its first frame among the messages, which are recorded in frame order.
pub(crate) fn first_message<'a>(
    a: &'a Analysis,
    id: u32,
    d: &lyncscope::analysis::Dialog,
) -> Option<&'a lyncscope::analysis::MessageRecord> {
    let msgs = a.messages();
    let at = msgs.partition_point(|m| m.frame() < d.first_frame);
    // Messages completed by the same frame sit together; a few at most.
    msgs.get(at..)?
        .iter()
        .take(64)
        .find(|m| m.dialog() == Some(id))
}

/// `1 conference`, `2 conferences`.
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The first failed join of a conference: its failed step and the main diagnostic code (the
/// evidence step's first ms-diagnostics), for the conference list.
pub(crate) fn first_failure(c: &Conference) -> Option<(Option<JoinStep>, Option<u32>)> {
    c.participants.iter().find_map(|p| {
        let d = c.diagnose(p);
        (d.state == JoinState::Failed).then(|| {
            (
                d.failed_step,
                d.evidence
                    .and_then(|s| s.diagnostic.as_deref())
                    .map(|(_, x)| x.code),
            )
        })
    })
}

/// True when the times lie on more than one day (UTC): lists then show the date too.
pub(crate) fn spans_days(first: Timestamp, last: Timestamp) -> bool {
    first.secs().div_euclid(86_400) != last.secs().div_euclid(86_400)
}

/// The user part of a SIP URI (`sip:bob@example.com` → `bob`), for narrow columns.
/// The grid's rows: participants in the conference's order, except that a user who joins from
/// several devices has them together, under the first. Only those users are looked up, in one
/// map, so a large conference costs one pass.
pub(crate) fn grid_order(c: &lyncscope::analysis::Conference) -> Vec<usize> {
    let ps = &c.participants;
    if !ps.iter().any(|p| p.shares_user()) {
        return (0..ps.len()).collect();
    }
    let mut devices: std::collections::HashMap<&str, Vec<usize>> = Default::default();
    for (i, p) in ps.iter().enumerate().filter(|(_, p)| p.shares_user()) {
        devices.entry(p.uri.as_str()).or_default().push(i);
    }
    let mut order = Vec::with_capacity(ps.len());
    for (i, p) in ps.iter().enumerate() {
        if !p.shares_user() {
            order.push(i);
        } else if let Some(all) = devices.remove(p.uri.as_str()) {
            order.extend(all); // the first device's row brings the others
        }
    }
    order
}

/// A device in a few characters (`[3a9f1c]`): the start of its `epid`, enough to tell a
/// user's devices apart in a lane title or a grid row; the panel shows the whole epid.
pub(crate) fn device_tag(epid: &str) -> String {
    let short: String = epid.chars().take(6).collect();
    format!("[{short}]")
}

pub(crate) fn short_user(uri: &str) -> &str {
    let s = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))
        .unwrap_or(uri);
    match s.find('@') {
        Some(i) if i > 0 => s.get(..i).unwrap_or(s),
        _ => s,
    }
}

/// A short name for a body by its Content-Type.
pub(crate) fn body_label(content_type: &str) -> String {
    match body::classify(content_type) {
        BodyKind::ConfInvite => "ms-conf-invite".into(),
        BodyKind::C3p => "C3P".into(),
        BodyKind::ConferenceInfo => "roster".into(),
        BodyKind::Sdp => "SDP".into(),
        BodyKind::Multipart => "multipart".into(),
        BodyKind::Other => content_type
            .split(';')
            .next()
            .unwrap_or(content_type)
            .rsplit('/')
            .next()
            .unwrap_or(content_type)
            .trim()
            .to_string(),
    }
}

/// The body says the request failed although SIP may say 200: a C3P response with
/// `code="failure"`.
pub(crate) fn body_failed(content_type: &str, body: &[u8]) -> bool {
    body::classify(content_type) == BodyKind::C3p
        && body::c3p::parse_outcome(body).is_ok_and(|c| c.code == Some(body::c3p::C3pCode::Failure))
}

/// A fuller description of a body for a ladder arrow: the C3P command or result, the SDP
/// media, the roster state and version.
pub(crate) fn describe_body(content_type: &str, body: &[u8]) -> String {
    match body::classify(content_type) {
        BodyKind::C3p => match body::c3p::parse_outcome(body) {
            Ok(c) => match c.code {
                Some(code) => format!("C3P {} {}", c.command, code.as_str()),
                None => format!("C3P {}", c.command),
            },
            Err(_) => "C3P".into(),
        },
        BodyKind::Sdp => sdp_label(body),
        BodyKind::Multipart => {
            match body::multipart::parse(body, content_type)
                .ok()
                .and_then(|parts| body::multipart::select_sdp(&parts).map(|p| sdp_label(p.body)))
            {
                Some(s) => format!("multipart {s}"),
                None => "multipart".into(),
            }
        }
        BodyKind::ConferenceInfo => {
            // Only the root element's attributes: decoding a 500-user roster is not needed here.
            let head = body.get(..body.len().min(1024)).unwrap_or(body);
            let text = String::from_utf8_lossy(head);
            // The root element's attributes, not the XML declaration's `version="1.0"`.
            let text = match text.find("conference-info ") {
                Some(at) => text.get(at..).unwrap_or(&text).to_string(),
                None => text.into_owned(),
            };
            let attr = |name: &str| {
                let at = text.find(&format!("{name}=\""))? + name.len() + 2;
                let rest = text.get(at..)?;
                rest.get(..rest.find('"')?).map(str::to_string)
            };
            match (attr("state"), attr("version")) {
                (Some(s), Some(v)) => format!("roster v{v} {s}"),
                (Some(s), None) => format!("roster {s}"),
                _ => "roster".into(),
            }
        }
        _ => body_label(content_type),
    }
}

fn sdp_label(body: &[u8]) -> String {
    let s = body::sdp::summarize(body);
    if s.media.is_empty() {
        "SDP".into()
    } else {
        format!("SDP {}", s.media.join("+"))
    }
}

/// Time of day, UTC, with milliseconds: `10:30:00.900`.
pub(crate) fn clock(t: Timestamp) -> String {
    let s = t.to_string();
    s.get(11..23).unwrap_or(&s).to_string()
}

/// Date and time of day, UTC: `2026-01-12 10:30:00`.
pub(crate) fn date_time(t: Timestamp) -> String {
    let s = t.to_string();
    match (s.get(..10), s.get(11..19)) {
        (Some(d), Some(h)) => format!("{d} {h}"),
        _ => s,
    }
}

/// A duration in milliseconds, short: `170ms`, `4.8s`, `3m12s`, `2h05m`.
pub(crate) fn duration_ms(ms: i64) -> String {
    let ms = ms.max(0);
    match ms {
        0..=999 => format!("{ms}ms"),
        1000..=59_999 => format!("{:.1}s", ms as f64 / 1000.0),
        60_000..=3_599_999 => format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60),
        _ => format!("{}h{:02}m", ms / 3_600_000, (ms / 60_000) % 60),
    }
}

/// The mark of a step: `✓` succeeded, `✗` failed, `…` no final answer.
pub(crate) fn step_mark(s: &Step) -> &'static str {
    if s.failed() {
        "✗"
    } else if s.succeeded() {
        "✓"
    } else {
        "…"
    }
}

/// A step as a grid cell: mark, status and setup time (`✓200 170ms`).
pub(crate) fn step_cell(s: &Step) -> String {
    let status = s.status.map_or_else(|| "—".to_string(), |c| c.to_string());
    match s.setup_ms() {
        Some(ms) => format!("{}{status} {}", step_mark(s), duration_ms(ms)),
        None => format!("{}{status}", step_mark(s)),
    }
}

/// A status that means failure in a list (authentication challenges are part of normal
/// registration, so they do not count).
pub(crate) fn is_failure_status(status: u16) -> bool {
    status >= 300 && status != 401 && status != 407
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_forms() {
        assert_eq!(short_user("sip:bob@example.com"), "bob");
        assert_eq!(short_user("sips:x"), "x");
        assert_eq!(duration_ms(170), "170ms");
        assert_eq!(duration_ms(4847), "4.8s");
        assert_eq!(duration_ms(192_000), "3m12s");
        assert_eq!(duration_ms(7_500_000), "2h05m");
        assert_eq!(
            body_label("application/ms-conf-invite+xml"),
            "ms-conf-invite"
        );
        assert_eq!(body_label("text/plain; charset=utf-8"), "plain");
        assert_eq!(
            describe_body(
                "application/conference-info+xml",
                br#"<conference-info entity="x" state="partial" version="3">"#
            ),
            "roster v3 partial"
        );
        assert_eq!(
            clock(Timestamp::from_secs_nanos(1_768_213_800, 900_000_000)),
            "10:30:00.900"
        );
        assert_eq!(plural(1, "conference", "conferences"), "1 conference");
        assert_eq!(plural(0, "conference", "conferences"), "0 conferences");
        let t = Timestamp::from_secs_nanos(1_768_213_800, 0);
        assert!(!spans_days(
            t,
            Timestamp::from_secs_nanos(1_768_213_800 + 3600, 0)
        ));
        assert!(spans_days(
            t,
            Timestamp::from_secs_nanos(1_768_213_800 + 86_400, 0)
        ));
    }
}
