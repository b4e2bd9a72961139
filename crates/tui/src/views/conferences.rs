//! The first screen: one row per conference, failures first to the eye (`✗` and red).

use super::{clip, style, window};
use crate::app::{App, Tab};
use crate::model::{self, join_counts};
use lyncscope::analysis::Analysis;
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
    let rows = (offset..len.min(offset + height)).filter_map(|i| {
        let c = confs.get(list.item(i, confs.len())?)?;
        let (joined, failed) = join_counts(c);
        let selected = i == list.selected;
        let mark = if failed > 0 { "✗" } else { "✓" };
        let row = Row::new(vec![
            Cell::from(format!(
                "{}{mark} {}",
                if selected { "▶" } else { " " },
                clip(&c.id, 40)
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
            Cell::from(model::clock(c.first_seen)),
            Cell::from(model::duration_ms(c.last_seen.millis_since(c.first_seen))),
        ]);
        let style = match (selected, failed > 0) {
            (true, _) => style::selected(),
            (false, true) => style::bad(),
            (false, false) => ratatui::style::Style::default(),
        };
        Some(row.style(style))
    });
    let header = Row::new(vec![
        " CONFERENCE",
        "ORGANIZER",
        "SUBJECT",
        "PPL",
        "JND",
        "FAIL",
        "FIRST SEEN",
        "DURATION",
    ])
    .style(style::header());
    let widths = [
        Constraint::Fill(3),
        Constraint::Fill(2),
        Constraint::Fill(3),
        Constraint::Length(3),
        Constraint::Length(3),
        Constraint::Length(4),
        Constraint::Length(12),
        Constraint::Length(8),
    ];
    f.render_widget(Table::new(rows, widths).header(header), area);
}
