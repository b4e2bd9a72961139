//! The `?` overlay: every key, in one box.

use super::style;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

/// Every key and what it does (also printed in the README).
pub(crate) const KEYS: &[(&str, &str)] = &[
    ("↑ ↓  k j", "move"),
    ("PgUp PgDn", "page (Space pages down in lists)"),
    ("Home End  g G", "first / last row"),
    (
        "Enter",
        "open: conference → participant's join ladder → message; toggle in tree",
    ),
    ("Esc Backspace", "back"),
    (
        "Tab Shift-Tab",
        "next / previous list; in a message: Tree → Raw → Hex",
    ),
    ("1 2 3", "Conferences, Dialogs, Messages"),
    (
        "l",
        "ladder of the whole conference (conference list or grid)",
    ),
    ("← → h l", "collapse / expand in the tree"),
    ("t r x", "message: tree, raw text, hex"),
    ("/", "search (Call-ID, URI, conference ID, any text)"),
    ("n N", "next / previous match"),
    (
        "f",
        "filter the list: failed | kind:<kind> | text (empty clears)",
    ),
    ("w", "write the selection's packets to a pcap file"),
    ("mouse wheel", "scroll"),
    ("?", "this help (any key closes it)"),
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
