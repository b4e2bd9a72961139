//! The bottom line: the prompt when one is open; else loading progress or totals (for a live
//! capture: its state, interfaces, packets, SIP messages, kernel drops, rate, and what the
//! analysis' bounds left out), the active filter, the last notice, and a reminder of the help
//! key.

use super::style;
use crate::app::{App, Prompt, PromptKind};
use crate::live::{CaptureState, LiveStatus};
use crate::model::plural;
use lyncscope::analysis::Analysis;
use lyncscope::report::text::human_bytes;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub(crate) fn render(f: &mut Frame<'_>, area: Rect, app: &App, a: &Analysis) {
    if let Some(p) = &app.prompt {
        f.render_widget(
            Paragraph::new(Line::from(prompt_spans(p, area.width as usize))),
            area,
        );
        return;
    }
    let s = &app.status;
    let mut spans = Vec::new();
    match &app.live {
        Some(live) => live_spans(&mut spans, live, app, a),
        None => {
            if s.done {
                spans.push(Span::styled("✓ loaded ", style::good()));
            } else {
                let pct = match s.total_bytes {
                    Some(t) if t > 0 => {
                        format!("{:>3}% ", (s.bytes_read.saturating_mul(100) / t).min(100))
                    }
                    _ => String::new(),
                };
                spans.push(Span::styled(
                    format!("… loading {pct}{} ", human_bytes(s.bytes_read)),
                    style::pending(),
                ));
            }
            spans.push(Span::raw(format!(
                "{} · {} · {} · {}",
                plural(s.frames as usize, "frame", "frames"),
                plural(a.messages().len(), "msg", "msgs"),
                plural(a.dialogs().len(), "dialog", "dialogs"),
                plural(a.conferences().list().len(), "conference", "conferences")
            )));
        }
    }
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

/// The prompt line, fitted to `width` so the typed text and the cursor always show: the
/// hint goes first, then the long label gives way to a short one, then the text scrolls to
/// keep the cursor in view.
pub(crate) fn prompt_spans(p: &Prompt, width: usize) -> Vec<Span<'static>> {
    let long = match p.kind {
        PromptKind::Search => "/".to_string(),
        PromptKind::Filter => format!("{}: ", p.about),
        PromptKind::Write => format!("write {} to: ", p.about),
    };
    let short = match p.kind {
        PromptKind::Search => "/".to_string(),
        PromptKind::Filter => "filter: ".to_string(),
        PromptKind::Write => "write to: ".to_string(),
    };
    let hint = "  Enter ok · Esc cancel";
    let chars: Vec<char> = p.input.chars().collect();
    // The text, the cursor cell, and (when it fits) the hint.
    let need = |label: &str, hint: &str| label.chars().count() + chars.len() + 1 + hint.len();
    let (label, hint) = if need(&long, hint) <= width {
        (long, hint)
    } else if need(&long, "") <= width {
        (long, "")
    } else {
        // A note on the write prompt (`x is an input`) matters: keep it after the text.
        (short, "")
    };
    let room = width.saturating_sub(label.chars().count() + 1).max(1);
    let cursor = p.cursor.min(chars.len());
    let start = (cursor + 1).saturating_sub(room);
    let end = chars.len().min(start + room);
    let text = |a: usize, b: usize| -> String {
        chars
            .get(a..b)
            .map(|c| c.iter().collect())
            .unwrap_or_default()
    };
    let text_style = if p.selected {
        style::selected()
    } else {
        ratatui::style::Style::default()
    };
    let mut spans = vec![
        Span::styled(label, style::header()),
        Span::styled(text(start, cursor.max(start)), text_style),
    ];
    match chars.get(cursor) {
        Some(c) if cursor < end => {
            spans.push(Span::styled(c.to_string(), style::selected()));
            spans.push(Span::styled(text(cursor + 1, end), text_style));
        }
        _ => spans.push(Span::styled("█", style::dim())),
    }
    spans.push(Span::styled(hint, style::dim()));
    spans
}

/// A live capture's part of the line:
/// `● capturing eth0 · 1520 packets · 812 SIP · 0 dropped · 41 SIP/s · 3 conferences`, then what the
/// analysis' bounds left out (`⚠ full: 1200 msgs not listed`), highlighted like drops.
fn live_spans(spans: &mut Vec<Span<'static>>, live: &LiveStatus, app: &App, a: &Analysis) {
    match &live.state {
        CaptureState::Capturing => spans.push(Span::styled("● capturing ", style::good())),
        CaptureState::Stopping(why) => spans.push(Span::styled(
            format!("… stopping ({why}) "),
            style::pending(),
        )),
        CaptureState::Stopped(why) => spans.push(Span::styled(
            format!("■ stopped ({why}) "),
            style::pending(),
        )),
    }
    spans.push(Span::raw(format!(
        "{} · {} packets · {} SIP · ",
        live.interfaces,
        app.status.frames,
        a.stats().sip_messages
    )));
    let dropped = live.dropped + live.if_dropped;
    if dropped == 0 {
        spans.push(Span::raw("0 dropped"));
    } else if live.if_dropped > 0 {
        spans.push(Span::styled(
            format!(
                "⚠ {dropped} dropped (kernel {}, interface {})",
                live.dropped, live.if_dropped
            ),
            style::bad(),
        ));
    } else {
        spans.push(Span::styled(format!("⚠ {dropped} dropped"), style::bad()));
    }
    // The rate while capturing (once stopped it only falls to 0).
    if !matches!(live.state, CaptureState::Stopped(_)) {
        let rate = live.rate.per_second();
        let rate = if rate > 0.0 && rate < 10.0 {
            format!("{rate:.1}")
        } else {
            format!("{rate:.0}")
        };
        spans.push(Span::raw(format!(" · {rate} SIP/s")));
    }
    spans.push(Span::raw(format!(
        " · {}",
        plural(a.conferences().list().len(), "conference", "conferences")
    )));
    // What the analysis' bounds left out (see `tui::live::LIVE_LIMITS`).
    let st = a.stats();
    let cs = &a.conferences().stats;
    // The most serious first: a conference not tracked, then a dialog, then a message row.
    let mut capped = Vec::new();
    if cs.conferences_dropped > 0 {
        capped.push(format!(
            "{} conference dialogs dropped",
            cs.conferences_dropped
        ));
    }
    if cs.participants_dropped > 0 {
        capped.push(format!("{} participants dropped", cs.participants_dropped));
    }
    if cs.devices_dropped > 0 {
        capped.push(format!("{} devices folded", cs.devices_dropped));
    }
    if st.dialogs_dropped > 0 {
        capped.push(format!("{} msgs without dialog", st.dialogs_dropped));
    }
    if st.messages_not_listed > 0 {
        capped.push(format!("{} msgs not listed", st.messages_not_listed));
    }
    if !capped.is_empty() {
        spans.push(Span::styled(
            format!(" · ⚠ full: {}", capped.join(", ")),
            style::bad(),
        ));
    }
}
