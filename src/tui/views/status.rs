//! The bottom line: the prompt when one is open; else loading progress or totals, the active
//! filter, the last notice, and a reminder of the help key.

use super::style;
use crate::analysis::Analysis;
use crate::report::text::human_bytes;
use crate::tui::app::{App, PromptKind};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub fn render(f: &mut Frame<'_>, area: Rect, app: &App, a: &Analysis) {
    if let Some(p) = &app.prompt {
        let label = match p.kind {
            PromptKind::Search => "/".to_string(),
            PromptKind::Filter => format!("{}: ", p.about),
            PromptKind::Write => format!("write {} to: ", p.about),
        };
        let line = Line::from(vec![
            Span::styled(label, style::header()),
            Span::raw(p.input.clone()),
            Span::styled("█", style::dim()),
            Span::styled("  Enter ok · Esc cancel", style::dim()),
        ]);
        f.render_widget(Paragraph::new(line), area);
        return;
    }
    let s = &app.status;
    let mut spans = Vec::new();
    if s.done {
        spans.push(Span::styled("✓ loaded ", style::good()));
    } else {
        let pct = match s.total_bytes {
            Some(t) if t > 0 => format!("{:>3}% ", (s.bytes_read.saturating_mul(100) / t).min(100)),
            _ => String::new(),
        };
        spans.push(Span::styled(
            format!("… loading {pct}{} ", human_bytes(s.bytes_read)),
            style::pending(),
        ));
    }
    spans.push(Span::raw(format!(
        "{} frames · {} msgs · {} dialogs · {} conf",
        s.frames,
        a.messages().len(),
        a.dialogs().len(),
        a.conferences().list().len()
    )));
    if app.stack.is_empty() {
        let list = app.list(app.tab);
        if let Some(d) = list.filter.describe() {
            spans.push(Span::styled(format!(" · filter {d}"), style::pending()));
        }
    }
    if !s.warnings.is_empty() {
        spans.push(Span::styled(
            format!(" · ⚠ {}", s.warnings.join("; ")),
            style::bad(),
        ));
    }
    if let Some(n) = &app.notice {
        spans.push(Span::raw(" · "));
        spans.push(Span::styled(n.clone(), style::header()));
    }
    spans.push(Span::styled("  ? help", style::dim()));
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}
