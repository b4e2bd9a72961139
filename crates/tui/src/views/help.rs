//! The `?` overlay: every key, in one box.

use super::style;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

/// Every key and what it does (also printed in the README).
pub(crate) const KEYS: &[(&str, &str)] = &[
    (
        "↑ ↓  k j",
        "move; mouse: wheel scrolls, a click selects a row",
    ),
    ("PgUp PgDn", "page (Space pages down in lists)"),
    ("Home End  g G", "first / last row"),
    (
        "Enter",
        "open: conference → join ladder → message; tree: toggle",
    ),
    (
        "Esc Backspace",
        "back; Esc on a list asks to quit (Esc again or y)",
    ),
    (
        "Tab Shift-Tab",
        "next / previous list; in a message: Tree → Raw → Hex",
    ),
    ("1 2 3", "Conferences, Dialogs, Messages"),
    (
        "l",
        "ladder of the whole conference (conference list or grid)",
    ),
    (
        "← → h l",
        "collapse / expand in the tree; ladder: scroll lanes",
    ),
    ("v", "ladder: the selected message beside it (split view)"),
    ("t r x", "message: tree, raw text, hex"),
    ("/  F3", "search (Call-ID, URI, conference ID, any text)"),
    ("n N", "next / previous match"),
    (
        "f  F7",
        "filter: failed kind: step: diag: status: c3p: user: conf:",
    ),
    ("s S", "conference list: sort by the next column / reverse"),
    ("w  F2", "write the selection's packets to a pcap file"),
    (
        "s",
        "ladder or message: save as text (.txt; .pcap writes packets)",
    ),
    ("c", "copy the selected Call-ID (OSC 52 clipboard)"),
    ("!  L", "every status message of the session"),
    (
        "prompt",
        "←→ Home End ^A ^E move, ^U clears, ^W deletes a word",
    ),
    ("?  F1", "this help (any key closes it)"),
    ("q  Ctrl-C", "quit"),
];

pub(crate) fn render(f: &mut Frame<'_>, area: Rect) {
    let width = area.width.min(78);
    let height = (KEYS.len() as u16 + 2).min(area.height);
    let x = area.x + (area.width - width) / 2;
    let y = area.y + (area.height - height) / 2;
    let rect = Rect::new(x, y, width, height);
    let lines: Vec<Line> = KEYS
        .iter()
        .map(|(k, what)| Line::from(format!(" {k:<14} {what}")))
        .collect();
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" keys ")
                .title_style(style::header()),
        ),
        rect,
    );
}

/// The `!` overlay: every status message, newest last, in full (wrapped).
pub(crate) fn render_log(f: &mut Frame<'_>, area: Rect, log: &crate::app::Log) {
    let width = area.width.saturating_sub(4).max(20);
    let height = area.height.saturating_sub(2).max(3);
    let rect = Rect::new(
        area.x + (area.width - width.min(area.width)) / 2,
        area.y + 1,
        width.min(area.width),
        height.min(area.height),
    );
    let mut lines: Vec<Line> = Vec::new();
    if log.dropped > 0 {
        lines.push(Line::from(format!(
            "({} older messages left the log)",
            log.dropped
        )));
    }
    if log.lines.is_empty() {
        lines.push(Line::from("No status messages yet."));
    }
    let shown = log.lines.len().saturating_sub(log.back);
    lines.extend(
        log.lines
            .iter()
            .take(shown)
            .map(|l| Line::from(crate::views::clip(l, 10_000))),
    );
    // Newest at the bottom: scroll so the last lines show (wrapped lines count as several).
    let inner = rect.width.saturating_sub(2).max(1) as usize;
    let rows: usize = lines.iter().map(|l| l.width().div_ceil(inner).max(1)).sum();
    let scroll = rows.saturating_sub(rect.height.saturating_sub(2) as usize) as u16;
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(ratatui::widgets::Wrap { trim: false })
            .scroll((scroll, 0))
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(" status messages (↑ ↓ scroll, any key closes) ")
                    .title_style(style::header()),
            ),
        rect,
    );
}
