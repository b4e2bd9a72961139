//! A conference: participants × steps (Invitation | Focus (C3P) | Roster | A/V MCU | other
//! MCUs), each cell with a mark, the status and the setup time; the failed step stands out and
//! the selected participant's reason is written in full below.

use super::{clip, style, window};
use crate::app::{chrome, GridView};
use crate::model::{self, step_cell};
use lyncscope::analysis::{Analysis, C3pCode, Conference, JoinState, JoinStep, Participant, Step};
use lyncscope::report::reason;
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
        Constraint::Length(chrome::GRID - chrome::FRAME - 4),
    ])
    .areas(area);
    header(f, head, c);
    grid(f, table, g, c);
    let selected = c.participants.get(g.selected);
    participant_panel(f, panel, a, c, selected);
}

fn header(f: &mut Frame<'_>, area: Rect, c: &Conference) {
    let (joined, failed) = model::join_counts(c);
    let mcus: Vec<&str> = c.mcus.iter().map(|m| m.as_str()).collect();
    let lines = vec![
        Line::from(vec![
            Span::styled(format!("Conference {}", clip(&c.id, 60)), style::header()),
            Span::raw(format!("  organizer {}", c.organizer)),
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

fn grid(f: &mut Frame<'_>, area: Rect, g: &GridView, c: &Conference) {
    let height = area.height.saturating_sub(1) as usize;
    let len = c.participants.len();
    let offset = window(g.selected, g.offset, height, len);
    let rows = (offset..len.min(offset + height)).filter_map(|i| {
        let p = c.participants.get(i)?;
        let d = c.diagnose(p);
        let (state, failed_step) = (d.state, d.failed_step);
        let selected = i == g.selected;
        let focus = p.focus.as_deref().map(|s| vec![s]).unwrap_or_default();
        let mut focus_cell = cell(&focus, failed_step == Some(JoinStep::Focus));
        // A refusal inside a 200 is the C3P's doing: say so in the cell.
        let c3p_failed = p
            .focus
            .as_ref()
            .and_then(|s| s.c3p.as_ref())
            .is_some_and(|o| o.code == Some(C3pCode::Failure));
        if c3p_failed {
            let text = format!(
                "{} C3P",
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
        let row = Row::new(vec![
            Cell::from(format!(
                "{}{}",
                if selected { "▶" } else { " " },
                participant_name(&p.uri, area.width)
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
        ]);
        Some(if selected {
            row.style(Style::default().add_modifier(ratatui::style::Modifier::BOLD))
        } else {
            row
        })
    });
    let header = Row::new(vec![
        " USER",
        "STATE",
        "INVITATION",
        "FOCUS (C3P)",
        "ROSTER",
        "A/V MCU",
        "OTHER MCU",
    ])
    .style(style::header());
    let widths = [
        Constraint::Min(6),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(14),
        Constraint::Length(10),
        Constraint::Length(13),
        Constraint::Length(9),
    ];
    f.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        area,
    );
}

/// The participant column: the user part in a narrow terminal (the panel below has the URI).
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
    let invited = p
        .invited_by
        .as_deref()
        .map(|i| format!(", invited by {i}"))
        .unwrap_or_else(|| ", no invitation (meeting link)".into());
    lines.push(Line::from(format!(
        "{}: {}{}{invited}",
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
    let mut steps = Vec::new();
    let mut describe = |name: &str, s: &Step| {
        let diag = s
            .diagnostic
            .as_ref()
            .map(|(h, d)| format!(" {h} {}", d.code))
            .unwrap_or_default();
        steps.push(format!(
            "{} {name} {}{diag} ({})",
            model::step_mark(s),
            s.status.map_or("—".into(), |x| x.to_string()),
            clip(&s.call_id, 12)
        ));
    };
    if let Some(s) = &p.invitation {
        describe("invitation", s);
    }
    if let Some(s) = &p.focus {
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
