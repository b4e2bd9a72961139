//! Every SIP dialog, conference or not, sngrep-style.

use super::{clip, style, window};
use crate::app::{App, Tab};
use crate::model;
use lyncscope::analysis::{Analysis, DialogState};
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use ratatui::Frame;

pub(crate) fn render(f: &mut Frame<'_>, area: Rect, app: &App, a: &Analysis) {
    let dialogs = a.dialogs();
    let list = app.list(Tab::Dialogs);
    let len = list.len(dialogs.len());
    if len == 0 {
        let text = if list.filtering(dialogs.len()) {
            "filtering…"
        } else if list.filter.describe().is_some() {
            "No dialog passes the filter."
        } else {
            "No SIP dialogs yet."
        };
        f.render_widget(Paragraph::new(Line::from(text)), area);
        return;
    }
    let height = area.height.saturating_sub(1) as usize;
    let offset = window(list.selected, list.offset, height, len);
    let rows = (offset..len.min(offset + height)).filter_map(|i| {
        let d = dialogs.get(list.item(i, dialogs.len())?)?;
        let selected = i == list.selected;
        let failed = d.final_status.is_some_and(model::is_failure_status);
        let mark = if failed {
            "✗"
        } else if d.state == DialogState::Setup {
            "…"
        } else {
            "✓"
        };
        let status = d.final_status.map(|s| format!(" {s}")).unwrap_or_default();
        let row = Row::new(vec![
            Cell::from(format!(
                "{}{}",
                if selected { "▶" } else { " " },
                clip(&d.call_id, 40)
            )),
            Cell::from(format!("{} {}", a.symbols.name(d.method), d.kind.as_str())),
            Cell::from(model::short_user(&d.from).to_string()),
            Cell::from(model::short_user(&d.to).to_string()),
            Cell::from(format!("{:>4}", d.messages)),
            Cell::from(format!("{mark} {}{status}", d.state.as_str())),
            Cell::from(model::clock(d.first_time)),
        ]);
        let style = match (selected, failed) {
            (true, _) => style::selected(),
            (false, true) => style::bad(),
            _ => Style::default(),
        };
        Some(row.style(style))
    });
    let header = Row::new(vec![
        " CALL-ID", "KIND", "FROM", "TO", "MSGS", "STATE", "TIME",
    ])
    .style(style::header());
    let widths = [
        Constraint::Fill(3),
        Constraint::Fill(2),
        Constraint::Fill(2),
        Constraint::Fill(2),
        Constraint::Length(4),
        Constraint::Length(15),
        Constraint::Length(12),
    ];
    f.render_widget(Table::new(rows, widths).header(header), area);
}
