//! The ladder: lanes across, one arrow per message down, in capture order.
//!
//! Each row starts with the time since the previous arrow and the letter of the arrow's
//! dialog (A, B, C… listed at the bottom with what each dialog is), so the invitation, focus
//! and A/V dialogs of a join read as separate flows without colour; colour repeats it. A
//! retransmission is marked `↻`, a failure `✗`.

use super::{clip, style, window};
use crate::app::LadderView;
use crate::ladder::Arrow;
use crate::model;
use lyncscope::analysis::Analysis;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// Columns before the first lane: marker, time delta, dialog letter.
const GUTTER: u16 = 11;

pub(crate) fn render(f: &mut Frame<'_>, area: Rect, v: &LadderView, a: &Analysis) {
    let [head, rows, foot] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let l = &v.ladder;
    if l.arrows.is_empty() {
        f.render_widget(Paragraph::new("No messages in this ladder yet."), rows);
        return;
    }
    let order = l.lane_order();
    let lanes = order.len().max(1) as u16;
    let span = area.width.saturating_sub(GUTTER) / lanes;
    // Lane index → column of its line.
    let mut column = vec![0u16; l.lanes.len()];
    for (pos, &lane) in order.iter().enumerate() {
        if let Some(c) = column.get_mut(lane) {
            *c = area.x + GUTTER + span * pos as u16 + span / 2;
        }
    }
    // Lane titles and addresses, centred on their line.
    let buf = f.buffer_mut();
    for &lane in &order {
        let (Some(info), Some(&x)) = (l.lanes.get(lane), column.get(lane)) else {
            continue;
        };
        let width = span.saturating_sub(1).max(1) as usize;
        let title = clip(&info.title, width);
        let addr = clip(&info.addr.to_string(), width);
        centred(buf, head.y, x, &title, style::header(), head);
        centred(buf, head.y + 1, x, &addr, style::dim(), head);
    }
    let height = rows.height as usize;
    let offset = window(v.selected, v.offset, height, l.arrows.len());
    for (row, i) in (offset..l.arrows.len().min(offset + height)).enumerate() {
        let Some(arrow) = l.arrows.get(i) else { break };
        let y = rows.y + row as u16;
        draw_row(buf, rows, y, arrow, &column, i == v.selected, l);
    }
    // The dialogs' letters, and where the selected message is.
    let mut spans: Vec<Span> = l
        .dialogs
        .iter()
        .enumerate()
        .map(|(slot, d)| Span::styled(format!("{} {}  ", d.letter, d.name), style::dialog(slot)))
        .collect();
    if let Some(m) = l
        .arrows
        .get(v.selected)
        .and_then(|s| a.messages().get(s.message))
    {
        spans.push(Span::styled(
            format!(
                "│ frame {} {} {}",
                m.frame,
                model::clock(m.time),
                m.transport.as_str().to_uppercase()
            ),
            style::dim(),
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), foot);
}

fn centred(buf: &mut Buffer, y: u16, x: u16, text: &str, st: Style, area: Rect) {
    let w = text.chars().count() as u16;
    let start = x.saturating_sub(w / 2).max(area.x);
    buf.set_stringn(
        start,
        y,
        text,
        (area.right().saturating_sub(start)) as usize,
        st,
    );
}

fn draw_row(
    buf: &mut Buffer,
    area: Rect,
    y: u16,
    arrow: &Arrow,
    column: &[u16],
    selected: bool,
    l: &crate::ladder::Ladder,
) {
    let right = area.right();
    let base = if selected {
        style::selected()
    } else {
        Style::default()
    };
    if selected {
        buf.set_style(Rect::new(area.x, y, area.width, 1), base);
    }
    let letter = l.dialogs.get(arrow.slot).map_or('?', |d| d.letter);
    let delta = format!("+{}", model::duration_ms(arrow.delta_ns / 1_000_000));
    let gutter = format!("{}{delta:>7} {letter} ", if selected { "▶" } else { " " });
    buf.set_stringn(
        area.x,
        y,
        &gutter,
        GUTTER as usize,
        base.patch(style::dialog(arrow.slot)),
    );
    for &x in column {
        if x < right {
            buf.set_string(x, y, "│", base.patch(style::dim()));
        }
    }
    let (Some(&x1), Some(&x2)) = (column.get(arrow.from), column.get(arrow.to)) else {
        return;
    };
    let mut st = base.patch(style::dialog(arrow.slot));
    if arrow.failed {
        st = base.patch(style::bad());
    }
    let mut label = String::new();
    if arrow.retransmission {
        label.push_str("↻ ");
    }
    if arrow.failed {
        label.push_str("✗ ");
    }
    label.push_str(&arrow.label);
    let put = |buf: &mut Buffer, x: u16, s: &str| {
        if x < right {
            buf.set_stringn(x, y, s, (right - x) as usize, st);
        }
    };
    if x1 == x2 {
        put(buf, x1 + 1, &format!("↺ {label}"));
        return;
    }
    let (lo, hi) = (x1.min(x2), x1.max(x2));
    for x in lo + 1..hi {
        put(buf, x, "─");
    }
    if x2 > x1 {
        put(buf, hi - 1, "▶");
    } else {
        put(buf, lo + 1, "◀");
    }
    // The label on the arrow when it fits, else just after its far end.
    let room = hi.saturating_sub(lo).saturating_sub(4) as usize;
    let len = label.chars().count();
    if len <= room {
        put(buf, lo + 2, &label);
    } else {
        put(buf, hi + 1, &format!(" {label}"));
    }
}
