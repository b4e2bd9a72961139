//! Rendering: a pure function of the [`App`] state and the analysis. One module per screen
//! or component; this one lays out the title bar, the screen, the status bar (or prompt) and
//! the help overlay.
//!
//! Meaning is never carried by colour alone: failures have `✗`, successes `✓`, pending `…`,
//! retransmissions `↻`, the selected row `▶`.

mod conferences;
mod detail;
mod dialogs;
mod grid;
mod help;
pub(crate) mod ladder;
mod messages;
mod status;

use super::app::{App, Screen};
use lyncscope::analysis::Analysis;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// Draws everything.
pub fn render(f: &mut Frame<'_>, app: &App, a: &Analysis) {
    let area = f.area();
    let [top, body, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    title_bar(f, top, app, a);
    match app.stack.last() {
        None => match app.tab {
            super::app::Tab::Conferences => conferences::render(f, body, app, a),
            super::app::Tab::Dialogs => dialogs::render(f, body, app, a),
            super::app::Tab::Messages => messages::render(f, body, app, a),
        },
        Some(Screen::Conference(g)) => grid::render(f, body, g, a),
        Some(Screen::Ladder(l)) => ladder::render(f, body, l, a),
        Some(Screen::Detail(d)) => detail::render(f, body, d, a),
    }
    status::render(f, bottom, app, a);
    if app.help {
        help::render(f, area);
    }
    if app.log.open {
        help::render_log(f, area, &app.log);
    }
}

fn title_bar(f: &mut Frame<'_>, area: Rect, app: &App, a: &Analysis) {
    let mut spans = vec![Span::styled(" lyncscope ", style::title())];
    if app.stack.is_empty() {
        for (i, tab) in super::app::Tab::ALL.iter().enumerate() {
            let text = format!(" {} {} ", i + 1, tab.title());
            if *tab == app.tab {
                spans.push(Span::styled(
                    format!("[{}]", text.trim()),
                    style::selected_tab(),
                ));
            } else {
                spans.push(Span::raw(text));
            }
            spans.push(Span::raw(" "));
        }
    } else {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(
            app.breadcrumb(a).join(" › "),
            Style::default().add_modifier(Modifier::BOLD),
        ));
    }
    spans.push(Span::raw("  "));
    spans.push(Span::styled(app.title.clone(), style::dim()));
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Cuts a string to `max` characters, marking the cut with `…`; control characters become
/// `?` so that captured bytes cannot drive the terminal.
pub(crate) fn clip(s: &str, max: usize) -> String {
    lyncscope::report::text::clip(s, max)
}

/// The first row to draw so that `selected` is visible in `height` rows, starting from the
/// remembered `offset`.
pub(crate) fn window(selected: usize, offset: usize, height: usize, len: usize) -> usize {
    let height = height.max(1);
    let mut off = offset.min(len.saturating_sub(1));
    if selected < off {
        off = selected;
    } else if selected >= off + height {
        off = selected + 1 - height;
    }
    off
}

/// Styles shared by the views.
pub(crate) mod style {
    use super::*;

    pub(crate) fn title() -> Style {
        Style::default()
            .fg(Color::Black)
            .bg(Color::Cyan)
            .add_modifier(Modifier::BOLD)
    }
    pub(crate) fn selected_tab() -> Style {
        Style::default()
            .fg(Color::Cyan)
            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }
    pub(crate) fn header() -> Style {
        Style::default()
            .add_modifier(Modifier::BOLD)
            .add_modifier(Modifier::UNDERLINED)
    }
    pub(crate) fn selected() -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }
    pub(crate) fn bad() -> Style {
        Style::default().fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub(crate) fn good() -> Style {
        Style::default().fg(Color::Green)
    }
    pub(crate) fn pending() -> Style {
        Style::default().fg(Color::Yellow)
    }
    pub(crate) fn dim() -> Style {
        Style::default().fg(Color::DarkGray)
    }
    /// Colours of the dialogs in a ladder, by slot.
    pub(crate) fn dialog(slot: usize) -> Style {
        const PALETTE: [Color; 6] = [
            Color::Cyan,
            Color::Magenta,
            Color::Yellow,
            Color::Green,
            Color::Blue,
            Color::LightRed,
        ];
        Style::default().fg(PALETTE[slot % PALETTE.len()])
    }
}
