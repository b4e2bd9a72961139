//! The first screen: one row per conference, failures first to the eye (`✗` and red).

use super::{clip, style, window};
use crate::app::{App, SortColumn, Tab};
use crate::model::{self, join_counts};
use lyncscope::analysis::{Analysis, JoinState, JoinStep};
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use ratatui::Frame;

pub(crate) fn render(f: &mut Frame<'_>, area: Rect, app: &App, a: &Analysis) {
    let confs = a.conferences().list();
    let list = app.list(Tab::Conferences);
    let len = list.len(confs.len());
    if len == 0 {
        let text = if list.filtering(confs.len()) {
            "filtering…"
        } else if list.filter.describe().is_some() {
            "No conference passes the filter (f, then Enter on an empty line, clears it)."
        } else if app.status.done {
            "No conferences in this capture. Tab shows its dialogs and messages."
        } else {
            "No conferences yet…"
        };
        f.render_widget(Paragraph::new(Line::from(text)), area);
        return;
    }
    let height = area.height.saturating_sub(1) as usize;
    let offset = window(list.selected, list.offset, height, len);
    // The date too when the conferences lie on more than one day.
    let with_date = match (confs.first(), confs.iter().map(|c| c.last_seen).max()) {
        (Some(first), Some(last)) => model::spans_days(first.first_seen, last),
        _ => false,
    };
    let narrow = area.width < 100;
    // Conference IDs whole when they fit (they are what one searches and types), at most a
    // third of what the fixed columns leave; the organizer and the subject share the rest.
    let step_width: u16 = if narrow { 6 } else { 10 };
    let date_width: u16 = if with_date { 19 } else { 12 };
    let fixed = 3 + 3 + 4 + step_width + 5 + date_width + 8 + 9;
    let room = area.width.saturating_sub(fixed);
    let id_width = (offset..len.min(offset + height))
        .filter_map(|i| confs.get(list.item(i, confs.len())?))
        .map(|c| c.id.chars().count().min(40) + 3)
        .max()
        .unwrap_or(0)
        .min(usize::from(room / 3).max(12))
        .max(12) as u16;
    let rows = (offset..len.min(offset + height)).filter_map(|i| {
        let c = confs.get(list.item(i, confs.len())?)?;
        let (joined, failed) = join_counts(c);
        let selected = i == list.selected;
        // Not all-✓ while someone is still invited (rang, no answer) or in the lobby.
        let waiting = c
            .participants
            .iter()
            .any(|p| matches!(c.diagnose(p).state, JoinState::Invited | JoinState::Lobby));
        let mark = match (failed > 0, waiting) {
            (true, _) => "✗",
            (false, true) => "…",
            (false, false) => "✓",
        };
        let failure = model::first_failure(c);
        let row = Row::new(vec![
            Cell::from(format!(
                "{}{mark} {}",
                if selected { "▶" } else { " " },
                clip(&c.id, usize::from(id_width.saturating_sub(3)))
            )),
            Cell::from(model::short_user(&c.organizer).to_string()),
            Cell::from(
                c.subject
                    .as_deref()
                    .map(|s| clip(s, 60))
                    .unwrap_or_default(),
            ),
            Cell::from(format!("{:>3}", c.participants.len())),
            Cell::from(format!("{joined:>3}")),
            Cell::from(if failed > 0 {
                format!("{failed:>3}✗")
            } else {
                format!("{failed:>3}")
            }),
            Cell::from(
                failure
                    .and_then(|(s, _)| s)
                    .map_or("", |s| match s {
                        JoinStep::Invitation if narrow => "invite",
                        s => s.as_str(),
                    })
                    .to_string(),
            ),
            Cell::from(
                failure
                    .and_then(|(_, d)| d)
                    .map_or(String::new(), |d| format!("{d:>5}")),
            ),
            Cell::from(if with_date {
                model::date_time(c.first_seen)
            } else {
                model::clock(c.first_seen)
            }),
            Cell::from(model::duration_ms(c.last_seen.millis_since(c.first_seen))),
        ]);
        let style = match (selected, failed > 0) {
            (true, _) => style::selected(),
            (false, true) => style::bad(),
            (false, false) => ratatui::style::Style::default(),
        };
        Some(row.style(style))
    });
    let names = [
        " CONFERENCE",
        "ORGANIZER",
        "SUBJECT",
        "PPL",
        "JND",
        "FAIL",
        "STEP",
        "DIAG",
        "FIRST SEEN",
        "DURATION",
    ];
    // The sorted column, marked ▲ (smallest first) or ▼.
    let header = Row::new(names.iter().zip(SortColumn::ALL).map(
        |(name, column)| match list.sort {
            Some(s) if s.column == column => {
                format!("{name}{}", if s.descending { "▼" } else { "▲" })
            }
            _ => name.to_string(),
        },
    ))
    .style(style::header());
    let widths = [
        Constraint::Length(id_width),
        Constraint::Fill(1),
        Constraint::Fill(2),
        Constraint::Length(3),
        Constraint::Length(3),
        Constraint::Length(4),
        Constraint::Length(step_width),
        Constraint::Length(5),
        Constraint::Length(date_width),
        Constraint::Length(8),
    ];
    f.render_widget(Table::new(rows, widths).header(header), area);
}
