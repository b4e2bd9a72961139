//! The CSV report (`--report csv`): one row per participant join, or with `--messages` one
//! row per SIP message, for spreadsheets and scripts. RFC 4180: a header row, CRLF line ends,
//! a field quoted when it holds a comma, a double quote, CR or LF, double quotes doubled.
//! Values are as captured (nothing is cut). The columns are a contract like the JSON report's:
//! [`JOIN_COLUMNS`] and [`MESSAGE_COLUMNS`], documented in the README; new columns are only
//! ever added at the end.

use super::ReportInput;
use crate::analysis::{Analysis, Cause, Conference, Participant, StartKind, Step};
use std::borrow::Cow;
use std::io::{self, Write};

/// The columns of a join row, in order.
pub const JOIN_COLUMNS: [&str; 31] = [
    "conference",
    "organizer",
    "subject",
    "participant",
    "invited_by",
    "state",
    "failed_step",
    "cause",
    "status",
    "reason_phrase",
    "diagnostics_header",
    "diagnostics_code",
    "diagnostics_reason",
    "reason",
    "invitation_status",
    "focus_status",
    "c3p_request",
    "c3p_code",
    "roster_status",
    "media_status",
    "media_attempts",
    "other_mcus",
    "focus_setup_ms",
    "media_setup_ms",
    "first_seen",
    "invitation_call_id",
    "focus_call_id",
    "media_call_id",
    "user_agent",
    "client",
    "ended",
];

/// The columns of a message row (`--messages`), in order.
pub const MESSAGE_COLUMNS: [&str; 15] = [
    "frame",
    "time",
    "src",
    "dst",
    "transport",
    "method",
    "status",
    "call_id",
    "cseq",
    "content_type",
    "dialog_kind",
    "conference",
    "retransmission",
    "size",
    "first_frame",
];

/// Writes the CSV report: joins, or messages when `input.messages`.
pub fn write(out: &mut impl Write, input: &ReportInput<'_>, analysis: &Analysis) -> io::Result<()> {
    if input.messages {
        write_messages(out, input, analysis)
    } else {
        write_joins(out, input, analysis)
    }
}

fn write_joins(out: &mut impl Write, input: &ReportInput<'_>, a: &Analysis) -> io::Result<()> {
    let sel = input.selection();
    row(out, JOIN_COLUMNS.iter().map(|c| Cow::Borrowed(*c)))?;
    for c in a.conferences().list() {
        if !sel.conference_matches(c) {
            continue;
        }
        for p in c.participants.iter().filter(|p| sel.participant(c, p)) {
            row(out, join_row(c, p, a))?;
        }
    }
    Ok(())
}

fn join_row<'a>(
    c: &'a Conference,
    p: &'a Participant,
    a: &'a Analysis,
) -> impl Iterator<Item = Cow<'a, str>> {
    let d = c.diagnose(p);
    let e = d.evidence;
    let status = |s: Option<&Step>| -> Cow<'a, str> {
        s.and_then(|s| s.status)
            .map_or(Cow::Borrowed(""), |n| n.to_string().into())
    };
    let opt = |s: Option<&'a str>| Cow::Borrowed(s.unwrap_or(""));
    let num = |n: Option<i64>| n.map_or(Cow::Borrowed(""), |n| n.to_string().into());
    let media = p.media_step();
    let focus = p.focus.as_deref();
    let c3p = focus.and_then(|f| f.c3p.as_ref());
    let diag = e.and_then(|e| e.diagnostic.as_deref());
    let mcus: Vec<String> = p
        .mcus
        .iter()
        .map(|(m, s)| {
            let st = s.status.map_or("-".to_string(), |n| n.to_string());
            format!("{} {st}", m.as_str())
        })
        .collect();
    let call_id = |s: Option<&'a Step>| Cow::Borrowed(s.map_or("", |s| &*s.call_id));
    let fields: [Cow<'a, str>; 31] = [
        Cow::Borrowed(c.id.as_str()),
        Cow::Borrowed(c.organizer.as_str()),
        opt(c.subject.as_deref()),
        Cow::Borrowed(p.uri.as_str()),
        opt(p.invited_by.as_deref()),
        Cow::Borrowed(d.state.as_str()),
        Cow::Borrowed(d.failed_step.map_or("", |s| s.as_str())),
        Cow::Borrowed(d.cause.map_or("", cause_token)),
        status(e),
        opt(e.and_then(|e| e.reason_phrase.as_deref())),
        Cow::Borrowed(diag.map_or("", |(h, _)| h)),
        diag.map_or(Cow::Borrowed(""), |(_, x)| x.code.to_string().into()),
        opt(diag.and_then(|(_, x)| x.reason.as_deref())),
        super::reason::reason_in(&d, p, a).map_or(Cow::Borrowed(""), Cow::Owned),
        status(p.invitation.as_deref()),
        status(focus),
        opt(c3p.and_then(|o| o.request.as_deref())),
        opt(c3p.and_then(|o| o.code.as_ref()).map(|c| c.as_str())),
        status(p.roster.as_deref()),
        status(media),
        Cow::Owned(p.media.len().to_string()),
        Cow::Owned(mcus.join("; ")),
        num(focus.and_then(Step::setup_ms)),
        num(media.and_then(Step::setup_ms)),
        Cow::Owned(p.first_seen.rfc3339()),
        call_id(p.invitation.as_deref()),
        call_id(focus),
        call_id(media),
        opt(p.user_agent.as_deref()),
        Cow::Borrowed(p.client().map_or("", |k| k.as_str())),
        c.ending(p, &d)
            .map_or(Cow::Borrowed(""), |e| super::reason::ending_text(&e).into()),
    ];
    fields.into_iter()
}

/// The cause as a token (the CSV `cause` column).
pub fn cause_token(c: Cause) -> &'static str {
    match c {
        Cause::Declined => "declined",
        Cause::InvitationCancelled => "invitation-cancelled",
        Cause::InvitationFailed => "invitation-failed",
        Cause::C3pRefused => "c3p-refused",
        Cause::Rejected => "rejected",
        Cause::Cancelled => "cancelled",
        Cause::TimedOut => "timed-out",
        Cause::NoAnswer { .. } => "no-answer",
        Cause::Lobby => "lobby",
        Cause::LobbyDenied => "lobby-denied",
        Cause::LobbyAbandoned => "lobby-abandoned",
        Cause::LobbyEnded => "lobby-ended",
        Cause::EdgeRefused => "edge-refused",
        Cause::Ringing { .. } => "ringing",
        Cause::DialOutFailed => "dial-out-failed",
        Cause::MediaFailed { .. } => "media-failed",
    }
}

fn write_messages(out: &mut impl Write, input: &ReportInput<'_>, a: &Analysis) -> io::Result<()> {
    let sel = input.selection();
    let selected = sel.dialogs(a);
    row(out, MESSAGE_COLUMNS.iter().map(|c| Cow::Borrowed(*c)))?;
    for m in a.messages() {
        let keep = match m.dialog() {
            Some(d) => selected.contains(d),
            None => sel.is_empty(),
        };
        if !keep {
            continue;
        }
        let dialog = m.dialog().and_then(|d| a.dialogs().get(d as usize));
        let (method, status) = match m.start() {
            StartKind::Request(s) => (Cow::Borrowed(a.symbols.name(s)), Cow::Borrowed("")),
            StartKind::Response(n) => (Cow::Borrowed(""), Cow::Owned(n.to_string())),
        };
        let conference = m
            .dialog()
            .and_then(|d| a.conferences().conference_of(d))
            .and_then(|i| a.conferences().list().get(i))
            .map_or("", |c| c.id.as_str());
        let flow = a.flow(m.flow());
        let fields: [Cow<'_, str>; 15] = [
            Cow::Owned(m.frame().to_string()),
            Cow::Owned(m.time().rfc3339()),
            Cow::Owned(flow.src.to_string()),
            Cow::Owned(flow.dst.to_string()),
            Cow::Borrowed(flow.transport.as_str()),
            method,
            status,
            Cow::Borrowed(dialog.map_or("", |d| &*d.call_id)),
            m.cseq_text(a).map_or(Cow::Borrowed(""), Cow::Owned),
            Cow::Borrowed(m.content_type().map_or("", |c| a.symbols.name(c))),
            Cow::Borrowed(dialog.map_or("", |d| d.kind.as_str())),
            Cow::Borrowed(conference),
            Cow::Borrowed(if m.retransmission() { "true" } else { "false" }),
            Cow::Owned(m.size(a).to_string()),
            Cow::Owned(m.first_frame(a).to_string()),
        ];
        row(out, fields.into_iter())?;
    }
    Ok(())
}

/// Writes one record: fields separated by commas, quoted when they must be, CRLF at the end.
fn row<'a>(out: &mut impl Write, fields: impl Iterator<Item = Cow<'a, str>>) -> io::Result<()> {
    for (i, f) in fields.enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        field(out, &f)?;
    }
    out.write_all(b"\r\n")
}

/// One field, RFC 4180 §2.
fn field(out: &mut impl Write, f: &str) -> io::Result<()> {
    if !f.contains([',', '"', '\r', '\n']) {
        return out.write_all(f.as_bytes());
    }
    out.write_all(b"\"")?;
    let mut rest = f;
    while let Some(i) = rest.find('"') {
        let (before, after) = rest.split_at(i + 1);
        out.write_all(before.as_bytes())?;
        out.write_all(b"\"")?;
        rest = after;
    }
    out.write_all(rest.as_bytes())?;
    out.write_all(b"\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(s: &str) -> String {
        let mut v = Vec::new();
        field(&mut v, s).expect("to a Vec");
        String::from_utf8(v).expect("utf-8")
    }

    #[test]
    fn fields_are_quoted_as_rfc_4180_says() {
        assert_eq!(quoted("plain text"), "plain text");
        assert_eq!(quoted("a,b"), "\"a,b\"");
        assert_eq!(quoted("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quoted("two\r\nlines"), "\"two\r\nlines\"");
        assert_eq!(quoted("\""), "\"\"\"\"");
        assert_eq!(quoted(""), "");
    }
}
