//! The ladder: lanes across, one arrow per message down, in capture order.
//!
//! Each row starts with the time since the previous arrow and the letter of the arrow's
//! dialog (A, B, C… listed at the bottom with what each dialog is), so the invitation, focus
//! and A/V dialogs of a join read as separate flows without colour; colour repeats it. A
//! retransmission is marked `↻`, a failure `✗`.

use super::{clip, style, window};
use crate::app::LadderView;
use crate::ladder::{Arrow, Ladder};
use crate::model;
use lyncscope::analysis::Analysis;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

/// Columns before the first lane: marker, time delta, dialog letter.
const GUTTER: u16 = 11;
/// Narrowest lane: the end of its address (`…100.10:5060`) and an arrow's start show. Lanes
/// that do not fit scroll sideways (← →).
const MIN_SPAN: u16 = 13;
/// Columns per lane when a ladder is saved as text.
const TEXT_SPAN: u16 = 24;
/// Rows of a ladder drawn at once when it is saved as text (a screen buffer of this many).
const TEXT_PAGE: u16 = 1000;
/// Narrowest ladder beside which the split view shows the message (else the ladder alone).
const SPLIT_MIN: u16 = 100;

pub(crate) fn render(f: &mut Frame<'_>, area: Rect, v: &LadderView, a: &Analysis) {
    let [body, foot] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    let l = &v.ladder;
    if l.arrows.is_empty() {
        f.render_widget(Paragraph::new("No messages in this ladder yet."), body);
        return;
    }
    // sngrep's split view: the selected message's text beside the ladder.
    let (ladder_area, raw_area) = if v.split && body.width >= SPLIT_MIN {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)])
                .areas(body);
        (left, Some(right))
    } else {
        (body, None)
    };
    draw(
        f.buffer_mut(),
        ladder_area,
        l,
        Some(v.selected),
        v.offset,
        v.hscroll,
    );
    if let Some(raw) = raw_area {
        raw_pane(f, raw, v, a);
    }
    // Lanes off screen first (it is what explains arrows running to the edge), then the
    // dialogs' letters, and where the selected message is.
    let mut spans = Vec::new();
    let hidden = hidden_lanes(l, ladder_area.width, v.hscroll);
    if hidden > 0 {
        spans.push(Span::styled(
            format!("← → {} ", model::plural(hidden, "more lane", "more lanes")),
            style::pending(),
        ));
    }
    spans.extend(legend(l));
    if l.addresses_dropped() > 0 {
        spans.push(Span::styled(
            format!("⚠ {} addresses not placed (bound) ", l.addresses_dropped()),
            style::bad(),
        ));
    }
    if let Some(m) = l
        .arrows
        .get(v.selected)
        .and_then(|s| a.messages().get(s.message))
    {
        spans.push(Span::styled(
            format!(
                "│ frame {} {} {}",
                m.frame(),
                model::clock(m.time()),
                a.flow(m.flow()).transport.as_str().to_uppercase()
            ),
            style::dim(),
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), foot);
}

fn legend(l: &Ladder) -> Vec<Span<'static>> {
    l.dialogs
        .iter()
        .enumerate()
        .map(|(slot, d)| Span::styled(format!("{} {}  ", d.letter, d.name), style::dialog(slot)))
        .collect()
}

/// How many lanes fit in `width`, each at least [`MIN_SPAN`] wide.
fn lanes_that_fit(width: u16) -> u16 {
    (width.saturating_sub(GUTTER) / MIN_SPAN).max(1)
}

/// Lanes not shown at this width and sideways scroll.
pub(crate) fn hidden_lanes(l: &Ladder, width: u16, hscroll: usize) -> usize {
    let fit = usize::from(lanes_that_fit(width));
    let n = l.lanes.len();
    if n <= fit {
        0
    } else {
        n - fit.min(n.saturating_sub(hscroll.min(n)))
    }
}

/// The largest sideways scroll that still fills the width.
pub(crate) fn max_hscroll(l: &Ladder, width: u16) -> usize {
    l.lanes
        .len()
        .saturating_sub(usize::from(lanes_that_fit(width)))
}

/// The ladder's lanes and rows into `area`: `selected` marked, rows from `offset`, lanes from
/// `hscroll` (lanes left of it and beyond the width are off screen; their arrows run to the
/// edge).
fn draw(
    buf: &mut Buffer,
    area: Rect,
    l: &Ladder,
    selected: Option<usize>,
    offset: usize,
    hscroll: usize,
) {
    let [head, rows] = Layout::vertical([Constraint::Length(2), Constraint::Min(1)]).areas(area);
    let order = l.lane_order();
    let lanes = order.len().max(1) as u16;
    let fit = lanes_that_fit(area.width);
    let hscroll = hscroll.min(usize::from(lanes.saturating_sub(fit)));
    let shown = lanes.min(fit);
    let span = (area.width.saturating_sub(GUTTER) / shown).max(1);
    // Lane index → column of its line (may lie outside the area).
    let mut column = vec![0i32; l.lanes.len()];
    for (pos, &lane) in order.iter().enumerate() {
        if let Some(c) = column.get_mut(lane) {
            let pos = pos as i32 - hscroll as i32;
            *c = i32::from(area.x + GUTTER) + i32::from(span) * pos + i32::from(span / 2);
        }
    }
    let left = i32::from(area.x + GUTTER);
    let right = i32::from(area.right());
    // Lane titles and addresses, centred on their line.
    for &lane in &order {
        let (Some(info), Some(&x)) = (l.lanes.get(lane), column.get(lane)) else {
            continue;
        };
        if x < left || x >= right {
            continue;
        }
        let width = span.saturating_sub(1).max(1) as usize;
        let title = clip(&info.title, width);
        let addr = clip_left(&info.addr.to_string(), width);
        centred(buf, head.y, x as u16, &title, style::header(), head);
        centred(buf, head.y + 1, x as u16, &addr, style::dim(), head);
    }
    let height = rows.height as usize;
    let offset = match selected {
        Some(sel) => window(sel, offset, height, l.arrows.len()),
        None => offset,
    };
    for (row, i) in (offset..l.arrows.len().min(offset + height)).enumerate() {
        let Some(arrow) = l.arrows.get(i) else { break };
        let y = rows.y + row as u16;
        draw_row(buf, rows, y, arrow, &column, selected == Some(i), l);
    }
}

/// The ladder as plain text, every lane and every row: what `s` saves. Drawn a page of
/// [`TEXT_PAGE`] rows at a time, so a conference ladder of a million arrows never needs a
/// screen buffer of a million rows.
pub(crate) fn text(l: &Ladder) -> String {
    let lanes = l.lanes.len().max(1) as u16;
    let width = GUTTER.saturating_add(TEXT_SPAN.saturating_mul(lanes));
    let mut out = String::new();
    let mut start = 0;
    loop {
        let rows = l
            .arrows
            .len()
            .saturating_sub(start)
            .min(usize::from(TEXT_PAGE));
        // Every page is drawn with the lane titles; only the first keeps them.
        let height = rows as u16 + 2;
        let area = Rect::new(0, 0, width, height);
        let mut buf = Buffer::empty(area);
        draw(&mut buf, area, l, None, start, 0);
        let first_line = if start == 0 { 0 } else { 2 };
        for y in first_line..height {
            let line: String = (0..width)
                .filter_map(|x| buf.cell((x, y)).map(|c| c.symbol().to_string()))
                .collect();
            out.push_str(line.trim_end());
            out.push('\n');
        }
        start += rows;
        if rows == 0 || start >= l.arrows.len() {
            break;
        }
    }
    let legend: Vec<String> = l
        .dialogs
        .iter()
        .map(|d| format!("{} {}", d.letter, d.name))
        .collect();
    out.push_str(&legend.join("  "));
    out.push('\n');
    out
}

/// The selected message as the wire carried it, beside the ladder.
fn raw_pane(f: &mut Frame<'_>, area: Rect, v: &LadderView, a: &Analysis) {
    let arrow = v.ladder.arrows.get(v.selected);
    let title = arrow
        .and_then(|x| a.messages().get(x.message))
        .map_or(String::new(), |m| format!(" frame {} ", m.frame()));
    let bytes = arrow
        .and_then(|x| a.store().and_then(|s| s.get(x.message)))
        .unwrap_or_default();
    let width = area.width.saturating_sub(1) as usize;
    let lines: Vec<Line> = if bytes.is_empty() {
        vec![Line::from(Span::styled(
            "(the message's bytes are not kept)",
            style::dim(),
        ))]
    } else {
        String::from_utf8_lossy(&bytes)
            .lines()
            .take(area.height as usize)
            .map(|line| Line::from(clip(line.trim_end_matches('\r'), width)))
            .collect()
    };
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::LEFT)
                .title(title)
                .title_style(style::dim()),
        ),
        area,
    );
}

/// Cuts from the left, keeping the end: an address's last octets and port tell lanes apart.
fn clip_left(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return clip(s, max);
    }
    let tail: String = s.chars().skip(n + 1 - max.max(1)).collect();
    clip(&format!("…{tail}"), max)
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
    column: &[i32],
    selected: bool,
    l: &crate::ladder::Ladder,
) {
    let left = i32::from(area.x + GUTTER);
    let right = i32::from(area.right());
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
        if x >= left && x < right {
            buf.set_string(x as u16, y, "│", base.patch(style::dim()));
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
    let put = |buf: &mut Buffer, x: i32, s: &str| {
        if x >= left && x < right {
            buf.set_stringn(x as u16, y, s, (right - x) as usize, st);
        }
    };
    if x1 == x2 {
        put(buf, x1 + 1, &format!("↺ {label}"));
        return;
    }
    let (lo, hi) = (x1.min(x2), x1.max(x2));
    for x in (lo + 1).max(left)..hi.min(right) {
        put(buf, x, "─");
    }
    if x2 > x1 {
        put(buf, hi - 1, "▶");
    } else {
        put(buf, lo + 1, "◀");
    }
    // The label on the arrow when it fits, else just after its far end; an arrow whose ends
    // are off screen keeps its label in view.
    let room = hi.saturating_sub(lo).saturating_sub(4) as usize;
    let len = label.chars().count();
    if len <= room && lo + 2 >= left {
        put(buf, lo + 2, &label);
    } else if hi + 1 < right {
        put(buf, hi + 1, &format!(" {label}"));
    } else {
        put(buf, (lo + 2).max(left + 1), &label);
    }
}
