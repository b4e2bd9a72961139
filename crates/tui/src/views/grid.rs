//! A conference: participants × steps (Invitation | Focus (C3P) | Roster | A/V MCU | other
//! MCUs), each cell with a mark, the status and the setup time; the failed step stands out and
//! the selected participant's reason is written in full below.

use super::{clip, style, window};
use crate::app::{chrome, GridView};
use crate::model::{self, step_cell};
use lyncscope::analysis::{Analysis, C3pCode, Conference, JoinState, JoinStep, Participant, Step};
use lyncscope::report::reason;
use lyncscope::sip::user_agent::ClientKind;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

pub(crate) fn render(f: &mut Frame<'_>, area: Rect, g: &GridView, a: &Analysis) {
    let Some(c) = a.conferences().list().get(g.conference) else {
        f.render_widget(Paragraph::new("No such conference."), area);
        return;
    };
    let [head, table, panel] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(2),
        // The frame's height: what the panel is sized by (the title and status bars are
        // outside `area`).
        Constraint::Length(chrome::grid_panel(
            area.height.saturating_add(chrome::FRAME),
        )),
    ])
    .areas(area);
    header(f, head, a, g.conference, c);
    grid(f, table, g, c);
    let selected = g.participant(c).and_then(|i| c.participants.get(i));
    participant_panel(f, panel, a, c, selected);
}

fn header(f: &mut Frame<'_>, area: Rect, a: &Analysis, index: usize, c: &Conference) {
    let (joined, failed) = model::join_counts(c);
    let mcus: Vec<&str> = c.mcus.iter().map(|m| m.as_str()).collect();
    // Where the conference began, when it was a peer-to-peer call first.
    let escalated = a
        .escalation_of(index)
        .and_then(|d| a.dialogs().get(d as usize))
        .map(|d| {
            format!(
                "  ·  escalated from the call {}↔{}",
                model::short_user(&d.from),
                model::short_user(&d.to)
            )
        })
        .unwrap_or_default();
    let lines = vec![
        Line::from(vec![
            Span::styled(format!("Conference {}", clip(&c.id, 60)), style::header()),
            Span::raw(format!("  organizer {}{escalated}", c.organizer)),
        ]),
        Line::from(format!(
            "subject {}  ·  {} participants, {joined} joined, {failed} failed  ·  MCUs {}",
            c.subject.as_deref().map(|s| format!("\"{}\"", clip(s, 40))).unwrap_or("—".into()),
            c.participants.len(),
            if mcus.is_empty() { "—".to_string() } else { mcus.join(", ") }
        )),
        Line::from(format!(
            "first seen {}  ·  duration {}  ·  Enter: join ladder · l: conference ladder · w: write",
            model::date_time(c.first_seen),
            model::duration_ms(c.last_seen.millis_since(c.first_seen))
        )),
    ];
    f.render_widget(Paragraph::new(lines), area);
}

/// The cell of one step kind: the best attempt, with the number of attempts when several.
fn cell(steps: &[&Step], failed_here: bool) -> Cell<'static> {
    let best = steps
        .iter()
        .rev()
        .find(|s| s.succeeded())
        .or(steps.last())
        .copied();
    let Some(s) = best else {
        return Cell::from("·").style(style::dim());
    };
    let mut text = step_cell(s);
    if steps.len() > 1 {
        text.push_str(&format!(" ×{}", steps.len()));
    }
    let st = if failed_here {
        style::bad().add_modifier(ratatui::style::Modifier::REVERSED)
    } else if s.failed() {
        style::bad()
    } else if s.succeeded() {
        style::good()
    } else {
        style::pending()
    };
    Cell::from(text).style(st)
}

/// Terminals this wide show each participant's Call-ID in the grid.
const CALL_ID_WIDTH: u16 = 140;

fn grid(f: &mut Frame<'_>, area: Rect, g: &GridView, c: &Conference) {
    let wide = area.width >= CALL_ID_WIDTH;
    let height = area.height.saturating_sub(1) as usize;
    // A user's devices together (rows are not the conference's order then).
    let order = model::grid_order(c);
    let len = order.len();
    let offset = window(g.selected, g.offset, height, len);
    let rows = (offset..len.min(offset + height)).filter_map(|i| {
        let p = c.participants.get(*order.get(i)?)?;
        let d = c.diagnose(p);
        let (state, failed_step) = (d.state, d.failed_step);
        let selected = i == g.selected;
        // Earlier attempts (a rejoin, a retry) count in the cell: `×2`.
        let focus: Vec<&Step> = p.earlier_focus.iter().chain(p.focus.as_deref()).collect();
        let mut focus_cell = cell(&focus, failed_step == Some(JoinStep::Focus));
        // A refusal inside a 200 is the C3P's doing: say so in the cell.
        let c3p_failed = p
            .focus
            .as_ref()
            .and_then(|s| s.c3p.as_ref())
            .is_some_and(|o| o.code == Some(C3pCode::Failure));
        if c3p_failed {
            let attempts = if focus.len() > 1 {
                format!(" ×{}", focus.len())
            } else {
                String::new()
            };
            let text = format!(
                "{} C3P{attempts}",
                p.focus.as_deref().map(step_cell).unwrap_or_default()
            );
            let mut st = style::bad();
            if failed_step == Some(JoinStep::Focus) {
                st = st.add_modifier(ratatui::style::Modifier::REVERSED);
            }
            focus_cell = Cell::from(text).style(st);
        }
        let media: Vec<&Step> = p.media.iter().collect();
        let mcus: Vec<&Step> = p.mcus.iter().map(|(_, s)| s).collect();
        let mcu_failed = failed_step == Some(JoinStep::Media) && p.media.is_empty();
        let mut cells = vec![
            Cell::from(format!(
                "{}{}",
                if selected { "▶" } else { " " },
                participant_label(p, area.width)
            )),
            state_cell(state),
            cell(
                &p.invitation.as_deref().into_iter().collect::<Vec<_>>(),
                failed_step == Some(JoinStep::Invitation),
            ),
            focus_cell,
            cell(&p.roster.as_deref().into_iter().collect::<Vec<_>>(), false),
            cell(
                &media,
                failed_step == Some(JoinStep::Media) && !p.media.is_empty(),
            ),
            cell(&mcus, mcu_failed),
        ];
        // With room, the client and the Call-ID of the step that explains the state, whole.
        if wide {
            cells.push(Cell::from(client_name(p)));
            let step = d
                .evidence
                .or(p.focus.as_deref())
                .or(p.invitation.as_deref());
            let text = step.map_or(String::new(), |s| s.call_id.to_string());
            cells.push(match d.evidence {
                Some(_) => Cell::from(text).style(style::bad()),
                None => Cell::from(text),
            });
        }
        let row = Row::new(cells);
        Some(if selected {
            row.style(Style::default().add_modifier(ratatui::style::Modifier::BOLD))
        } else {
            row
        })
    });
    let mut names = vec![
        " USER",
        "STATE",
        "INVITATION",
        "FOCUS (C3P)",
        "ROSTER",
        "A/V MCU",
        "OTHER MCU",
    ];
    // The user column as wide as its longest name, so a wide terminal's room goes to the
    // Call-ID column, not to blanks after the names.
    let user_width = c
        .participants
        .iter()
        .map(|p| participant_label(p, area.width).chars().count() + 1)
        .max()
        .unwrap_or(6)
        .max(6) as u16;
    let mut widths = vec![
        if wide {
            Constraint::Length(user_width)
        } else {
            Constraint::Min(6)
        },
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(14),
        Constraint::Length(10),
        Constraint::Length(13),
        Constraint::Length(9),
    ];
    if wide {
        names.extend(["CLIENT", "CALL-ID"]);
        widths.extend([Constraint::Length(24), Constraint::Fill(1)]);
    }
    let header = Row::new(names).style(style::header());
    f.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        area,
    );
}

/// The participant's client by its `User-Agent` (`Skype for Business 2016`), else the header
/// as written; empty when none was seen.
fn client_name(p: &Participant) -> String {
    match (p.client(), p.user_agent.as_deref()) {
        (Some(k), _) if k != ClientKind::Other => reason::client_name(k).to_string(),
        (_, Some(ua)) => clip(ua, 40),
        _ => String::new(),
    }
}

/// The participant column: the name, the device when the user joins from several (one row
/// per device), and how an outside user comes in (`phone`, `anonymous`, `federated`, …).
fn participant_label(p: &Participant, width: u16) -> String {
    let mut label = participant_name(&p.uri, width);
    if let Some(d) = p.device.as_deref().filter(|_| p.shares_user()) {
        label.push(' ');
        label.push_str(&model::device_tag(d));
    }
    if let Some(a) = p.access() {
        label.push_str(&format!(" ({})", a.as_str()));
    }
    label
}

/// The participant's name: the user part in a narrow terminal (the panel below has the URI).
fn participant_name(uri: &str, width: u16) -> String {
    if width >= 110 {
        uri.strip_prefix("sip:").unwrap_or(uri).to_string()
    } else {
        model::short_user(uri).to_string()
    }
}

/// The state in a few characters (the failed step's cell is highlighted in the row).
fn state_cell(state: JoinState) -> Cell<'static> {
    let (text, st) = match state {
        JoinState::Joined => ("✓ joined", style::good()),
        JoinState::Left => ("✓ left", style::dim()),
        JoinState::Failed => ("✗ failed", style::bad()),
        JoinState::Declined => ("✗ declined", style::pending()),
        JoinState::FocusJoined => ("… focus", style::pending()),
        JoinState::Invited => ("… invited", style::pending()),
        JoinState::Lobby => ("… lobby", style::pending()),
    };
    Cell::from(text).style(st)
}

fn participant_panel(
    f: &mut Frame<'_>,
    area: Rect,
    a: &Analysis,
    c: &Conference,
    p: Option<&Participant>,
) {
    let Some(p) = p else {
        f.render_widget(Paragraph::new("No participants."), area);
        return;
    };
    let d = c.diagnose(p);
    let (state, failed, reason) = (d.state, d.failed_step, reason::reason_in(&d, p, a));
    let mut lines = Vec::new();
    // How they came: invited, called by the MCU, dialled in, or by the meeting link.
    let phone = p.access() == Some(lyncscope::analysis::Access::Phone);
    let invited = match (&p.invited_by, c.dialed_out_by(p)) {
        (Some(i), _) => format!(", invited by {i}"),
        (None, Some(_)) => ", called by the A/V MCU (dial-out)".to_string(),
        (None, None) if phone => ", dialled in".to_string(),
        (None, None) => ", no invitation (meeting link)".to_string(),
    };
    // The client explains offers a server refuses (an old client's SDP, a 7008).
    let client = match p.user_agent.as_deref() {
        Some(ua) => format!(
            " · client {} ({})",
            client_name(p),
            clip(ua.split_whitespace().next().unwrap_or(ua), 40)
        ),
        None => String::new(),
    };
    // A device of a user with several: which one, and how the user as a whole fared.
    let device = match p.device.as_deref().filter(|_| p.shares_user()) {
        Some(d) => format!(" · device {d} (user {})", c.user_state(p).as_str()),
        None => String::new(),
    };
    let access = reason::access_text(p)
        .map(|a| format!(" · {a}"))
        .unwrap_or_default();
    lines.push(Line::from(format!(
        "{}: {}{}{invited}{device}{access}{client}",
        p.uri,
        state.as_str(),
        failed
            .map(|s| format!(" at {}", s.as_str()))
            .unwrap_or_default()
    )));
    if let Some(r) = reason {
        lines.push(Line::from(vec![
            Span::styled("✗ reason: ", style::bad()),
            Span::raw(r),
        ]));
    }
    // Whether media reached the MCU: ICE, the pair, packets and bytes each way — when the
    // capture holds any of it (a capture of signalling only would say "not seen" every time).
    for line in p
        .media
        .iter()
        .filter(|s| s.flow.as_deref().is_some_and(|f| f.seen()))
        .filter_map(reason::media_line)
    {
        lines.push(Line::from(line));
    }
    let mut notes = Vec::new();
    if let Some(l) = &p.lobby_decision {
        notes.push(reason::lobby_text(l));
    }
    if let Some((by, at)) = c.dialed_out_by(p) {
        notes.push(reason::dial_out_text(by, at));
    }
    for (mcu, s) in c.other_failures(p, &d) {
        notes.push(format!("also: {}", reason::other_failure_text(mcu, s)));
    }
    if let Some(e) = c.ending(p, &d) {
        notes.push(reason::ending_text(&e));
    }
    if !notes.is_empty() {
        lines.push(Line::from(notes.join(" · ")));
    }
    let mut steps = Vec::new();
    let mut describe = |name: &str, s: &Step| {
        let diag = s
            .diagnostic
            .as_deref()
            .map(|(h, d)| format!(" {h} {}", d.code))
            .unwrap_or_default();
        steps.push(format!(
            "{} {name} {}{diag} ({})",
            model::step_mark(s),
            s.status.map_or("—".into(), |x| x.to_string()),
            s.call_id
        ));
    };
    if let Some(s) = &p.invitation {
        describe("invitation", s);
    }
    for s in p.earlier_focus.iter().chain(p.focus.as_deref()) {
        describe("focus", s);
    }
    if let Some(s) = &p.roster {
        describe("roster", s);
    }
    for s in &p.media {
        let media = if s.media.is_empty() {
            String::new()
        } else {
            format!(" {}", s.media.join("+"))
        };
        describe(&format!("A/V{media}"), s);
    }
    for (m, s) in &p.mcus {
        describe(m.as_str(), s);
    }
    lines.push(Line::from(Span::styled(steps.join(" · "), style::dim())));
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::TOP)
                .title(" participant "),
        ),
        area,
    );
}
