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
    // Where each dialog went (its first message), when there is room: sngrep's columns.
    let wide = area.width >= 120;
    // At 80 columns the time gives way to whole Call-IDs (the ladder has the times).
    let timed = area.width >= 100;
    let visible = || {
        (offset..len.min(offset + height))
            .filter_map(|i| list.item(i, dialogs.len()).map(|d| (i, d)))
    };
    // Call-IDs whole (they are what one greps for) up to half the width.
    let call_width = visible()
        .filter_map(|(_, d)| dialogs.get(d))
        .map(|d| d.call_id.chars().count() + 1)
        .max()
        .unwrap_or(8)
        .clamp(9, usize::from(area.width / 2)) as u16;
    let rows = visible().filter_map(|(i, id)| {
        let d = dialogs.get(id)?;
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
        let mut cells = vec![
            Cell::from(format!(
                "{}{}",
                if selected { "▶" } else { " " },
                clip(&d.call_id, usize::from(call_width.saturating_sub(1)))
            )),
            Cell::from(format!("{} {}", a.symbols.name(d.method), d.kind.as_str())),
            Cell::from(model::short_user(&d.from).to_string()),
            Cell::from(model::short_user(&d.to).to_string()),
        ];
        if wide {
            let flow = model::first_message(a, id as u32, d).map(|m| a.flow(m.flow()));
            cells.push(Cell::from(
                flow.map_or(String::new(), |f| f.src.to_string()),
            ));
            cells.push(Cell::from(
                flow.map_or(String::new(), |f| f.dst.to_string()),
            ));
        }
        cells.extend([
            Cell::from(format!("{:>4}", d.messages)),
            Cell::from(format!("{mark} {}{status}", d.state.as_str())),
        ]);
        if timed {
            cells.push(Cell::from(model::clock(d.first_time)));
        }
        let style = match (selected, failed) {
            (true, _) => style::selected(),
            (false, true) => style::bad(),
            _ => Style::default(),
        };
        Some(Row::new(cells).style(style))
    });
    let mut names = vec![" CALL-ID", "KIND", "FROM", "TO"];
    let mut widths = vec![
        Constraint::Length(call_width),
        Constraint::Fill(2),
        Constraint::Fill(2),
        Constraint::Fill(2),
    ];
    if wide {
        names.extend(["SOURCE", "DESTINATION"]);
        widths.extend([Constraint::Length(21), Constraint::Length(21)]);
    }
    names.extend(["MSGS", "STATE"]);
    widths.extend([Constraint::Length(4), Constraint::Length(15)]);
    if timed {
        names.push("TIME");
        widths.push(Constraint::Length(12));
    }
    let header = Row::new(names).style(style::header());
    f.render_widget(Table::new(rows, widths).header(header), area);
}
