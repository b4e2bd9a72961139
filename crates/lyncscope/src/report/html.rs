//! The HTML report (`--report html [OUT.html]`): one self-contained page to attach to a ticket —
//! the totals and the summary, the conference list, each conference's grid (participants ×
//! steps with their status, failures highlighted, the reason written out) and each join's
//! ladder drawn as inline SVG, its failing arrow highlighted.
//!
//! Self-contained: inline CSS and SVG, no script, no network access, no other file; links are
//! only to anchors of the page. Everything that comes from the capture is HTML-escaped (a
//! hostile header cannot add markup). The page is bounded for huge captures by the constants
//! below; what they leave out is counted and said at the top of the page.
//!
//! Ladder lanes are the addresses of the join's messages, in order of first appearance,
//! labelled by their address: a role (client, proxy, focus) is not guessed from the order of
//! the messages, which is wrong on a capture taken on one leg.

use super::select::{is_failure_status, participant_dialogs};
use super::ReportInput;
use crate::analysis::{
    Analysis, Cause, Conference, Diagnosis, JoinState, Participant, StartKind, Step,
};
use crate::pipeline::Stats;
use std::collections::HashMap;
use std::io::{self, Write};
use std::net::SocketAddr;

/// Conferences given a section (the conference list names every selected one): a page over
/// that is too large for a browser to be of use; `--conference` selects one.
pub const MAX_CONFERENCES: usize = 200;
/// Participants in one conference's grid: a grid longer than that is not read row by row.
pub const MAX_GRID_ROWS: usize = 500;
/// Ladders drawn in the whole page (failed joins first): each is an SVG of up to
/// [`MAX_ARROWS`] rows.
pub const MAX_LADDERS: usize = 300;
/// Arrows in one ladder; the failing arrow is drawn even when it comes later.
pub const MAX_ARROWS: usize = 150;
/// Conferences listed in the table at the top.
pub const MAX_LISTED: usize = 5_000;

const LANE_GAP: usize = 210;
const MARGIN: usize = 110;
const ROW: usize = 26;
const TOP: usize = 48;

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:1.5em;color:#1b1b1b;background:#fff}
h1{font-size:1.5em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ccc}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto;white-space:pre-wrap}
table{border-collapse:collapse;margin:.5em 0}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top;font-size:.92em}
th{background:#eee}
tr.failed td{background:#fde8e8}
td.ok{color:#176b1d}td.fail{color:#b00020;font-weight:bold}td.pending{color:#8a6d00}
td.reason{max-width:48em}
.bounds{background:#fff4d6;border:1px solid #e0b84c;padding:.5em}
.mono{font-family:ui-monospace,Menlo,Consolas,monospace}
details{margin:.4em 0}summary{cursor:pointer}
svg.ladder{background:#fcfcfc;border:1px solid #ddd;margin:.3em 0}
svg .lane{stroke:#999;stroke-dasharray:4 3}
svg .lanetitle{font:12px ui-monospace,Menlo,Consolas,monospace;fill:#333}
svg .arrow line,svg .arrow path{stroke:#1f4e9c;stroke-width:1.4;fill:none}
svg .arrow polygon{fill:#1f4e9c}
svg .arrow text{font:12px ui-monospace,Menlo,Consolas,monospace;fill:#1b1b1b}
svg .arrow.retransmission line{stroke-dasharray:5 3}
svg .arrow.failure line,svg .arrow.failure path{stroke:#c62828}
svg .arrow.failure polygon{fill:#c62828}
svg .arrow.failure text{fill:#c62828}
svg .arrow.failing line,svg .arrow.failing path{stroke:#d50000;stroke-width:3.5}
svg .arrow.failing polygon{fill:#d50000}
svg .arrow.failing text{fill:#d50000;font-weight:bold}
svg .time{font:11px ui-monospace,Menlo,Consolas,monospace;fill:#666}
svg .more{font:12px sans-serif;fill:#8a6d00}
";

/// What the page's bounds left out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageBounds {
    /// Conferences without a section.
    pub conferences: usize,
    /// Conferences not listed in the table.
    pub listed: usize,
    /// Participants without a grid row.
    pub grid_rows: usize,
    /// Joins without a ladder.
    pub ladders: usize,
    /// Messages not drawn in the ladders drawn.
    pub arrows: usize,
}

/// Writes the HTML page to `out`; returns what the bounds left out.
pub fn write(
    out: &mut impl Write,
    input: &ReportInput<'_>,
    stats: &Stats<'_>,
    a: &Analysis,
) -> io::Result<PageBounds> {
    let sel = input.selection();
    let mut bounds = PageBounds::default();
    let conferences: Vec<(usize, &Conference)> = a
        .conferences()
        .list()
        .iter()
        .enumerate()
        .filter(|(_, c)| sel.conference(c))
        .collect();
    // Which joins get a ladder: failed and declined ones first, then the others, up to the
    // bound, from the conferences that get a section.
    let mut ladders: Vec<(usize, usize)> = Vec::new();
    for pass in [true, false] {
        for (ci, c) in conferences.iter().take(MAX_CONFERENCES) {
            for (pi, p) in c.participants.iter().enumerate().take(MAX_GRID_ROWS) {
                if !sel.participant(c, p) {
                    continue;
                }
                let bad = matches!(c.diagnose(p).state, JoinState::Failed | JoinState::Declined);
                if bad == pass {
                    ladders.push((*ci, pi));
                }
            }
        }
    }
    bounds.ladders = ladders.len().saturating_sub(MAX_LADDERS);
    ladders.truncate(MAX_LADDERS);
    ladders.sort_unstable();
    // Each drawn join's messages, from one pass over the messages.
    let mut wanted: HashMap<u32, Vec<usize>> = HashMap::new();
    for &(ci, pi) in &ladders {
        let p = a
            .conferences()
            .list()
            .get(ci)
            .and_then(|c| c.participants.get(pi));
        for d in p.into_iter().flat_map(participant_dialogs) {
            wanted.entry(d).or_default();
        }
    }
    for (i, m) in a.messages().iter().enumerate() {
        if let Some(list) = m.dialog().and_then(|d| wanted.get_mut(&d)) {
            list.push(i);
        }
    }

    let title = format!("lyncscope report — {}", input.sources.join(", "));
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        esc(&title),
        esc(&title)
    )?;
    // The totals, the Problems line and the summary, as the text report words them.
    let mut head = Vec::new();
    super::text::write_head(&mut head, input, stats, a)?;
    super::summary::Summary::new(a, sel).write_text(&mut head)?;
    writeln!(
        out,
        "<section id=\"summary\">\n<h2>Totals and summary</h2>\n<pre>{}</pre>\n</section>",
        esc(&String::from_utf8_lossy(&head))
    )?;
    // Said before the content, so that a reader knows when the page is not everything.
    bounds.conferences = conferences.len().saturating_sub(MAX_CONFERENCES);
    bounds.listed = conferences.len().saturating_sub(MAX_LISTED);
    bounds.grid_rows = conferences
        .iter()
        .take(MAX_CONFERENCES)
        .map(|(_, c)| {
            c.participants
                .iter()
                .filter(|p| sel.participant(c, p))
                .count()
                .saturating_sub(MAX_GRID_ROWS)
        })
        .sum();
    // Each drawn ladder shows at most MAX_ARROWS of its join's messages.
    bounds.arrows = ladders
        .iter()
        .filter_map(|&(ci, pi)| {
            let p = a.conferences().list().get(ci)?.participants.get(pi)?;
            let n: usize = participant_dialogs(p)
                .map(|d| wanted.get(&d).map_or(0, Vec::len))
                .sum();
            Some(n.saturating_sub(MAX_ARROWS))
        })
        .sum();
    write_bounds(out, &bounds)?;
    conference_list(out, sel, &conferences)?;
    for (ci, c) in conferences.iter().take(MAX_CONFERENCES) {
        conference_section(out, a, sel, *ci, c, &ladders, &wanted)?;
    }
    writeln!(out, "</body>\n</html>")?;
    Ok(bounds)
}

fn write_bounds(out: &mut impl Write, b: &PageBounds) -> io::Result<()> {
    if *b == PageBounds::default() {
        return writeln!(
            out,
            "<p id=\"bounds\" class=\"meta\">Everything selected is on this page.</p>"
        );
    }
    writeln!(
        out,
        "<p id=\"bounds\" class=\"bounds\">Page bounds: {} conferences without a section (over \
         {MAX_CONFERENCES}), {} not listed (over {MAX_LISTED}), {} participants without a grid \
         row (over {MAX_GRID_ROWS} a conference), {} joins without a ladder (over {MAX_LADDERS}), \
         {} messages not drawn in ladders (over {MAX_ARROWS} a ladder). Select with \
         --conference, --user or --failed to see them.</p>",
        b.conferences, b.listed, b.grid_rows, b.ladders, b.arrows
    )
}

fn conference_list(
    out: &mut impl Write,
    sel: &super::select::Selection,
    conferences: &[(usize, &Conference)],
) -> io::Result<()> {
    writeln!(out, "<section id=\"conferences\">\n<h2>Conferences</h2>")?;
    if conferences.is_empty() {
        return writeln!(out, "<p>No conference selected.</p>\n</section>");
    }
    writeln!(
        out,
        "<table>\n<tr><th>Conference</th><th>Organizer</th><th>Subject</th><th>First seen</th>\
         <th>Last seen</th><th>Joins</th><th>Failed</th><th>Declined</th></tr>"
    )?;
    for (n, (ci, c)) in conferences.iter().enumerate().take(MAX_LISTED) {
        let (mut joins, mut failed, mut declined) = (0, 0, 0);
        for p in c.participants.iter().filter(|p| sel.participant(c, p)) {
            joins += 1;
            match c.diagnose(p).state {
                JoinState::Failed => failed += 1,
                JoinState::Declined => declined += 1,
                _ => {}
            }
        }
        let id = if n < MAX_CONFERENCES {
            format!("<a href=\"#conf-{ci}\" class=\"mono\">{}</a>", esc(&c.id))
        } else {
            format!("<span class=\"mono\">{}</span>", esc(&c.id))
        };
        writeln!(
            out,
            "<tr{}><td>{id}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{joins}</td>\
             <td>{failed}</td><td>{declined}</td></tr>",
            if failed > 0 { " class=\"failed\"" } else { "" },
            esc(&c.organizer),
            esc(c.subject.as_deref().unwrap_or("")),
            c.first_seen.rfc3339(),
            c.last_seen.rfc3339(),
        )?;
    }
    writeln!(out, "</table>\n</section>")
}

/// One conference: its facts, its grid, its ladders.
fn conference_section(
    out: &mut impl Write,
    a: &Analysis,
    sel: &super::select::Selection,
    ci: usize,
    c: &Conference,
    ladders: &[(usize, usize)],
    messages: &HashMap<u32, Vec<usize>>,
) -> io::Result<()> {
    writeln!(
        out,
        "<section class=\"conference\" id=\"conf-{ci}\">\n<h2>Conference <span class=\"mono\">{}</span></h2>",
        esc(&c.id)
    )?;
    let mcus: Vec<&str> = c.mcus.iter().map(|m| m.as_str()).collect();
    writeln!(
        out,
        "<p>Organizer {} · focus <span class=\"mono\">{}</span>{} · {} → {} · MCUs: {}</p>",
        esc(&c.organizer),
        esc(&c.focus_uri),
        c.subject
            .as_deref()
            .map(|s| format!(" · subject “{}”", esc(s)))
            .unwrap_or_default(),
        c.first_seen.rfc3339(),
        c.last_seen.rfc3339(),
        if mcus.is_empty() {
            "-".to_string()
        } else {
            esc(&mcus.join(", "))
        }
    )?;
    writeln!(
        out,
        "<table class=\"grid\">\n<tr><th>Participant</th><th>State</th><th>Invitation</th>\
         <th>Focus</th><th>Roster</th><th>A/V</th><th>Other MCUs</th><th>Client</th>\
         <th>Reason</th></tr>"
    )?;
    let shown: Vec<(usize, &Participant)> = c
        .participants
        .iter()
        .enumerate()
        .filter(|(_, p)| sel.participant(c, p))
        .take(MAX_GRID_ROWS)
        .collect();
    for (pi, p) in &shown {
        let d = c.diagnose(p);
        let failed = d.state == JoinState::Failed;
        let mut reason = super::reason::reason_in(&d, p, a).unwrap_or_default();
        if let Some(e) = c.ending(p, &d) {
            if !reason.is_empty() {
                reason.push_str("; ");
            }
            reason.push_str(&super::reason::ending_text(&e));
        }
        let client = match (p.client(), p.user_agent.as_deref()) {
            (Some(k), Some(ua)) if k != crate::sip::user_agent::ClientKind::Other => {
                format!("{} ({ua})", super::reason::client_name(k))
            }
            (_, Some(ua)) => ua.to_string(),
            _ => String::new(),
        };
        let state = match d.failed_step {
            Some(s) => format!("{} at {}", d.state.as_str(), s.as_str()),
            None => d.state.as_str().to_string(),
        };
        let focus_extra = p
            .focus
            .as_ref()
            .and_then(|f| f.c3p.as_ref())
            .map(|o| {
                format!(
                    " C3P {} {}",
                    o.request.as_deref().unwrap_or("?"),
                    o.code.as_ref().map_or("(no C3P answer)", |c| c.as_str())
                )
            })
            .unwrap_or_default();
        let media: Vec<&Step> = p.media.iter().collect();
        let mcus: Vec<String> = p
            .mcus
            .iter()
            .map(|(m, s)| format!("{} {}", super::reason::mcu_name(m), step_text(s, "")))
            .collect();
        let ladder = if ladders.binary_search(&(ci, *pi)).is_ok() {
            format!(" <a href=\"#ladder-{ci}-{pi}\">ladder</a>")
        } else {
            String::new()
        };
        writeln!(
            out,
            "<tr{}><td class=\"mono\">{}{ladder}</td><td class=\"{}\">{}</td>{}{}{}{}<td>{}</td>\
             <td>{}</td><td class=\"reason\">{}</td></tr>",
            if failed { " class=\"failed\"" } else { "" },
            esc(&p.uri),
            match d.state {
                JoinState::Failed => "fail",
                JoinState::Joined | JoinState::FocusJoined | JoinState::Left => "ok",
                _ => "pending",
            },
            esc(&state),
            step_cell(p.invitation.as_deref().into_iter().collect(), ""),
            step_cell(p.focus.as_deref().into_iter().collect(), &focus_extra),
            step_cell(p.roster.as_deref().into_iter().collect(), ""),
            step_cell(media, ""),
            esc(&mcus.join("; ")),
            esc(&client),
            esc(&reason),
        )?;
    }
    writeln!(out, "</table>")?;
    for (pi, p) in &shown {
        if ladders.binary_search(&(ci, *pi)).is_ok() {
            ladder(out, a, c, ci, *pi, p, messages)?;
        }
    }
    writeln!(out, "</section>")
}

/// A grid cell of one step (several for retried attempts): ✓ done, ✗ failed, … pending.
fn step_cell(steps: Vec<&Step>, extra: &str) -> String {
    if steps.is_empty() {
        return "<td></td>".to_string();
    }
    let class = match steps.last() {
        Some(s) if s.failed() => "fail",
        Some(s) if s.succeeded() => "ok",
        _ => "pending",
    };
    let text: Vec<String> = steps.iter().map(|s| step_text(s, extra)).collect();
    format!("<td class=\"{class}\">{}</td>", esc(&text.join(", then ")))
}

fn step_text(s: &Step, extra: &str) -> String {
    let mark = if s.failed() {
        "✗"
    } else if s.succeeded() {
        "✓"
    } else {
        "…"
    };
    let status = s
        .status
        .map_or_else(|| "no final response".to_string(), |c| c.to_string());
    let diag = s
        .diagnostic
        .as_deref()
        .map(|(h, d)| format!(" {h} {}", d.code))
        .unwrap_or_default();
    let time = s
        .setup_ms()
        .map(|ms| format!(" ({ms} ms)"))
        .unwrap_or_default();
    format!("{mark} {status}{extra}{diag}{time}")
}

/// The message of the join that shows the failure: the failing step's final response (the
/// 200 whose C3P says `failure`, for a C3P refusal), or its unanswered INVITE.
pub fn failing_message(a: &Analysis, d: &Diagnosis<'_>, messages: &[usize]) -> Option<usize> {
    if !matches!(d.state, JoinState::Failed | JoinState::Declined) {
        return None;
    }
    let e = d.evidence?;
    let in_dialog = |&&i: &&usize| {
        a.messages()
            .get(i)
            .is_some_and(|m| m.dialog() == Some(e.dialog))
    };
    let cseq_fits = |m: &crate::analysis::MessageRecord| {
        m.cseq().is_some_and(|(n, method)| {
            e.cseq.is_none_or(|c| c == n) && a.symbols.name(method) == "INVITE"
        })
    };
    match (d.cause, e.status) {
        (Some(Cause::NoAnswer { .. }), _) | (_, None) => messages
            .iter()
            .filter(in_dialog)
            .find(|&&i| {
                a.messages().get(i).is_some_and(
                    |m| matches!(m.start(), StartKind::Request(s) if a.symbols.name(s) == "INVITE"),
                )
            })
            .copied(),
        (_, Some(status)) => {
            let responses = || {
                messages.iter().filter(in_dialog).filter(move |&&i| {
                    a.messages()
                        .get(i)
                        .is_some_and(|m| m.start() == StartKind::Response(status))
                })
            };
            responses()
                .find(|&&i| a.messages().get(i).is_some_and(&cseq_fits))
                .or_else(|| responses().next())
                .copied()
        }
    }
}

/// One join's ladder as SVG.
fn ladder(
    out: &mut impl Write,
    a: &Analysis,
    c: &Conference,
    ci: usize,
    pi: usize,
    p: &Participant,
    by_dialog: &HashMap<u32, Vec<usize>>,
) -> io::Result<()> {
    let d = c.diagnose(p);
    let mut msgs: Vec<usize> = participant_dialogs(p)
        .flat_map(|dl| by_dialog.get(&dl).into_iter().flatten().copied())
        .collect();
    msgs.sort_unstable_by_key(|&i| a.messages().get(i).map(|m| (m.time(), m.frame())));
    msgs.dedup();
    let failing = failing_message(a, &d, &msgs);
    let bad = matches!(d.state, JoinState::Failed | JoinState::Declined);
    writeln!(
        out,
        "<details id=\"ladder-{ci}-{pi}\" class=\"join\"{}>\n<summary>Join ladder of <span \
         class=\"mono\">{}</span>: {}{} ({} messages)</summary>",
        if bad { " open" } else { "" },
        esc(&p.uri),
        d.state.as_str(),
        d.failed_step
            .map(|s| format!(" at {}", s.as_str()))
            .unwrap_or_default(),
        msgs.len()
    )?;
    if msgs.is_empty() {
        writeln!(
            out,
            "<p>No message of this join is listed (the analysis kept no message list).</p>\n</details>"
        )?;
        return Ok(());
    }
    // Which messages are drawn: the first ones, and the failing one if it comes later.
    let mut drawn: Vec<usize> = msgs.iter().take(MAX_ARROWS).copied().collect();
    let mut gap_before_last = false;
    if let Some(f) = failing.filter(|f| !drawn.contains(f)) {
        drawn.pop();
        drawn.push(f);
        gap_before_last = true;
    }
    let left_out = msgs.len() - drawn.len();
    // Lanes: addresses in order of first appearance, labelled by the address alone. Who an
    // address is (client, proxy, focus) cannot be told from the order of the messages — on a
    // capture taken on a client the Front End sends the invitation's first message — so no
    // role is guessed here.
    let mut lanes: Vec<SocketAddr> = Vec::new();
    let mut lane_of = |addr: SocketAddr| match lanes.iter().position(|x| *x == addr) {
        Some(i) => i,
        None => {
            lanes.push(addr);
            lanes.len() - 1
        }
    };
    let mut rows: Vec<(usize, usize, usize)> = Vec::with_capacity(drawn.len());
    for &i in &drawn {
        let Some(m) = a.messages().get(i) else {
            continue;
        };
        let flow = a.flow(m.flow());
        let from = lane_of(flow.src);
        let to = lane_of(flow.dst);
        rows.push((i, from, to));
    }
    let width = MARGIN + LANE_GAP * lanes.len().max(2) + 40;
    let extra_rows = usize::from(gap_before_last) + usize::from(left_out > 0);
    let height = TOP + ROW * (rows.len() + extra_rows) + 20;
    let x = |lane: usize| MARGIN + LANE_GAP * lane + LANE_GAP / 2;
    writeln!(
        out,
        "<svg class=\"ladder\" role=\"img\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 \
         {width} {height}\" aria-label=\"join ladder of {}\">",
        esc(&p.uri)
    )?;
    for (n, addr) in lanes.iter().enumerate() {
        let lx = x(n);
        writeln!(
            out,
            "<text class=\"lanetitle\" x=\"{lx}\" y=\"18\" text-anchor=\"middle\">{}</text>\
             <line class=\"lane\" x1=\"{lx}\" y1=\"26\" x2=\"{lx}\" y2=\"{}\"/>",
            esc(&addr.to_string()),
            height - 8
        )?;
    }
    let t0 = rows
        .first()
        .and_then(|(i, _, _)| a.messages().get(*i))
        .map(|m| m.time());
    for (row, &(i, from, to)) in rows.iter().enumerate() {
        let Some(m) = a.messages().get(i) else {
            continue;
        };
        let shift = usize::from(gap_before_last && row + 1 == rows.len());
        if shift == 1 {
            writeln!(
                out,
                "<text class=\"more\" x=\"{}\" y=\"{}\">… {} messages not drawn …</text>",
                MARGIN,
                TOP + ROW * row + 14,
                msgs.len().saturating_sub(drawn.len())
            )?;
        }
        let y = TOP + ROW * (row + shift) + 16;
        let (label, failure) = arrow_label(a, m);
        let mut class = String::from("arrow");
        if failure {
            class.push_str(" failure");
        }
        if m.retransmission() {
            class.push_str(" retransmission");
        }
        let failing_here = failing == Some(i);
        let id = if failing_here {
            class.push_str(" failing");
            format!(" id=\"failing-{ci}-{pi}\" data-failing=\"true\"")
        } else {
            String::new()
        };
        let secs = t0.map_or(0.0, |t| m.time().millis_since(t) as f64 / 1000.0);
        let flow = a.flow(m.flow());
        writeln!(
            out,
            "<g class=\"{class}\"{id}><title>frame {} · {} → {}</title>\
             <text class=\"time\" x=\"6\" y=\"{y}\">+{secs:.3} s</text>",
            m.frame(),
            flow.src,
            flow.dst
        )?;
        let (x1, x2) = (x(from), x(to));
        if x1 == x2 {
            writeln!(
                out,
                "<path d=\"M{x1},{} h30 v10 h-30\"/><polygon points=\"{x1},{} {},{} {},{}\"/>\
                 <text x=\"{}\" y=\"{}\">{}</text></g>",
                y - 6,
                y + 4,
                x1 + 7,
                y,
                x1 + 7,
                y + 8,
                x1 + 36,
                y + 2,
                esc(&label)
            )?;
            continue;
        }
        let dir: isize = if x2 > x1 { 1 } else { -1 };
        let tip = x2 as isize;
        let back = tip - dir * 8;
        writeln!(
            out,
            "<line x1=\"{x1}\" y1=\"{y}\" x2=\"{back}\" y2=\"{y}\"/><polygon points=\"{tip},{y} \
             {back},{} {back},{}\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text></g>",
            y - 4,
            y + 4,
            (x1 + x2) / 2,
            y - 4,
            esc(&label)
        )?;
    }
    if left_out > 0 {
        writeln!(
            out,
            "<text class=\"more\" x=\"{}\" y=\"{}\">{} more messages of this join not drawn (over \
             {MAX_ARROWS} a ladder)</text>",
            MARGIN,
            TOP + ROW * (rows.len() + usize::from(gap_before_last)) + 14,
            left_out
        )?;
    }
    writeln!(out, "</svg>")?;
    if let Some(r) = super::reason::reason_in(&d, p, a) {
        writeln!(out, "<p class=\"reason\">{}</p>", esc(&r))?;
    }
    writeln!(out, "</details>")?;
    Ok(())
}

/// An arrow's label (method, or status and the CSeq method when not INVITE) and whether it is
/// a failure response.
fn arrow_label(a: &Analysis, m: &crate::analysis::MessageRecord) -> (String, bool) {
    let ct = m
        .content_type()
        .map(|c| format!(" ({})", a.symbols.name(c)))
        .unwrap_or_default();
    match m.start() {
        StartKind::Request(s) => (format!("{}{ct}", a.symbols.name(s)), false),
        StartKind::Response(code) => {
            let method = m.cseq().map(|(_, s)| a.symbols.name(s)).unwrap_or("");
            let label = if method.is_empty() {
                format!("{code}{ct}")
            } else {
                format!("{code} {method}{ct}")
            };
            (label, is_failure_status(code))
        }
    }
}

/// Text escaped for HTML content and attribute values; control characters become U+FFFD (they
/// are not allowed in an XML document, which inline SVG is parsed as by some tools).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Writes the page to the file `path`, under a temporary name renamed over it at the end (a
/// failure leaves an old file as it was). A `path` that is one of `inputs` is refused before
/// anything is opened.
pub fn write_file(
    path: &std::path::Path,
    inputs: &[String],
    input: &ReportInput<'_>,
    stats: &Stats<'_>,
    a: &Analysis,
) -> Result<PageBounds, crate::output::export::ExportError> {
    use crate::output::export::{same_file, ExportError, Replacement};
    if let Some(i) = inputs
        .iter()
        .find(|i| *i != "-" && same_file(path, std::path::Path::new(i)))
    {
        return Err(ExportError::Input(i.clone()));
    }
    let (replacement, file) = Replacement::create(path)?;
    let mut out = io::BufWriter::new(file);
    let bounds = write(&mut out, input, stats, a)?;
    out.flush()?;
    drop(out);
    replacement.commit()?;
    Ok(bounds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(esc("a\u{1b}[31mb"), "a\u{FFFD}[31mb");
    }
}
