//! Every SIP message in capture order, as Wireshark's packet list.

use super::{style, window};
use crate::app::{App, Tab};
use crate::model;
use lyncscope::analysis::{Analysis, StartKind};
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use ratatui::Frame;

pub(crate) fn render(f: &mut Frame<'_>, area: Rect, app: &App, a: &Analysis) {
    let msgs = a.messages();
    let list = app.list(Tab::Messages);
    let len = list.len(msgs.len());
    if len == 0 {
        let text = if list.filtering(msgs.len()) {
            "filtering…"
        } else if list.filter.describe().is_some() {
            "No message passes the filter."
        } else {
            "No SIP messages yet."
        };
        f.render_widget(Paragraph::new(Line::from(text)), area);
        return;
    }
    let start = msgs.first().map(|m| m.time()).unwrap_or_default();
    // What the fixed columns and their gaps leave to the summary.
    let summary_width = usize::from(area.width.saturating_sub(9 + 9 + 21 + 21 + 4 + 5));
    let height = area.height.saturating_sub(1) as usize;
    let offset = window(list.selected, list.offset, height, len);
    let rows = (offset..len.min(offset + height)).filter_map(|i| {
        let m = msgs.get(list.item(i, msgs.len())?)?;
        let selected = i == list.selected;
        let dialog = m.dialog().and_then(|d| a.dialogs().get(d as usize));
        let (mut summary, failed) = match m.start() {
            StartKind::Request(s) => (a.symbols.name(s).to_string(), false),
            StartKind::Response(code) => {
                let method = m.cseq().map(|(_, s)| a.symbols.name(s)).unwrap_or("?");
                (format!("{code} ({method})"), model::is_failure_status(code))
            }
        };
        if failed {
            summary.insert_str(0, "✗ ");
        }
        if m.retransmission() {
            summary.insert_str(0, "↻ ");
        }
        if let Some(ct) = m.content_type() {
            summary.push(' ');
            summary.push_str(&model::body_label(a.symbols.name(ct)));
        }
        // The Call-ID whole or not at all (a cut one cannot be searched for or compared).
        if let Some(d) = dialog {
            summary.push_str(&format!(" [{}]", d.kind.as_str()));
            if summary.chars().count() + 1 + d.call_id.chars().count() <= summary_width {
                summary.push(' ');
                summary.push_str(&d.call_id);
            }
        }
        let secs = (m.time().0 - start.0) as f64 / 1e9;
        let flow = a.flow(m.flow());
        let row = Row::new(vec![
            Cell::from(format!("{}{}", if selected { "▶" } else { " " }, m.frame())),
            Cell::from(format!("{secs:.6}")),
            Cell::from(flow.src.to_string()),
            Cell::from(flow.dst.to_string()),
            Cell::from(flow.transport.as_str().to_uppercase()),
            Cell::from(summary),
        ]);
        let style = match (selected, failed) {
            (true, _) => style::selected(),
            (false, true) => style::bad(),
            _ if m.retransmission() => style::dim(),
            _ => Style::default(),
        };
        Some(row.style(style))
    });
    let header = Row::new(vec![
        " FRAME",
        "TIME",
        "SOURCE",
        "DESTINATION",
        "PROTO",
        "SUMMARY",
    ])
    .style(style::header());
    // Addresses whole (an IPv4 address and port); the summary takes what is left.
    // Frame numbers of 8 digits (a capture of tens of millions of frames) after the marker.
    let widths = [
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(21),
        Constraint::Length(21),
        Constraint::Length(4),
        Constraint::Fill(1),
    ];
    f.render_widget(Table::new(rows, widths).header(header), area);
}
