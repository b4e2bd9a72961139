//! The bottom line: the prompt when one is open; else loading progress or totals (for a live
//! capture: its state, interfaces, packets, SIP messages, kernel drops, rate, and what the
//! analysis' bounds left out), the active filter, the last notice, and a reminder of the help
//! key.

use super::style;
use crate::app::{App, PromptKind};
use crate::live::{CaptureState, LiveStatus};
use lyncscope::analysis::Analysis;
use lyncscope::report::text::human_bytes;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub(crate) fn render(f: &mut Frame<'_>, area: Rect, app: &App, a: &Analysis) {
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
                "{} frames · {} msgs · {} dialogs · {} conf",
                s.frames,
                a.messages().len(),
                a.dialogs().len(),
                a.conferences().list().len()
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

/// A live capture's part of the line:
/// `● capturing eth0 · 1520 packets · 812 SIP · 0 dropped · 41 SIP/s · 3 conf`, then what the
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
        " · {} conf",
        a.conferences().list().len()
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
