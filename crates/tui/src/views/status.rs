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
    dropped_span(&mut spans, app);
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

/// What the pipeline's bounds left out, compact: `⚠ dropped: 50000 conference dialogs, 12
/// participants`; only when something was (the text report names each bound and what to do).
/// A live capture names the analysis' own bounds in its `full:` part already.
fn dropped_span(spans: &mut Vec<Span<'static>>, app: &App) {
    use lyncscope::bounds::Bound;
    let shown_live = |b: Bound| {
        app.live.is_some()
            && matches!(
                b,
                Bound::Conferences
                    | Bound::Participants
                    | Bound::Dialogs
                    | Bound::DialogsPerCallId
                    | Bound::Messages
            )
    };
    let parts: Vec<String> = app
        .bounds_hit
        .iter()
        .filter(|h| !shown_live(h.bound))
        .map(|h| {
            let short = lyncscope::report::reason::bound(h.bound).short;
            format!("{} {}", h.count, short.trim_end_matches(" dropped"))
        })
        .collect();
    if !parts.is_empty() {
        spans.push(Span::styled(
            format!(" · ⚠ dropped: {}", parts.join(", ")),
            style::bad(),
        ));
    }
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
/// `● capturing eth0 · 1520 packets · 812 SIP · 0 dropped · 41 SIP/s · 3 conf`, then what the
/// analysis' bounds left out (`⚠ full: 1200 msgs not listed`), highlighted like drops. A HEP
/// collector adds its agents, malformed packets and auth failures (its listeners when it
/// runs alone; the title names them), and its drops to the dropped count:
/// `● capturing HEP udp:10.0.0.5:9060 · 3 agents · 1520 packets · 1520 SIP · 0 dropped · 0 bad
/// · 41 SIP/s · 3 conf` (bad: malformed or refused for their auth key, shown apart once any).
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
    // A collector alone counts HEP packets (valid or not); with a capture, the frames and
    // messages analysed. The title names every listener; a capture leaves room for "HEP".
    let (names, packets) = match (&live.hep, live.interfaces.is_empty()) {
        (Some(h), true) => (format!("HEP {}", h.listeners), h.packets),
        (Some(_), false) => (format!("{} + HEP", live.interfaces), app.status.frames),
        (None, _) => (live.interfaces.clone(), app.status.frames),
    };
    if let Some(h) = &live.hep {
        let s = if h.agents == 1 { "" } else { "s" };
        spans.push(Span::raw(format!("{names} · {} agent{s} · ", h.agents)));
    } else {
        spans.push(Span::raw(format!("{names} · ")));
    }
    spans.push(Span::raw(format!(
        "{packets} packets · {} SIP · ",
        a.stats().sip_messages
    )));
    // Every drop before the analysis: libpcap's (kernel buffer, interface), the HEP
    // sockets' (kernel), and the collector's own.
    let hep_kernel = live.hep.as_ref().map_or(0, |h| h.kernel_drops);
    let hep_own = live.hep.as_ref().map_or(0, |h| h.dropped);
    let dropped = live.dropped + live.if_dropped + hep_kernel + hep_own;
    if dropped == 0 {
        spans.push(Span::raw("0 dropped"));
    } else {
        let mut parts = Vec::new();
        for (n, what) in [
            (live.dropped, "kernel"),
            (live.if_dropped, "interface"),
            (hep_kernel, "HEP"),
            (hep_own, "HEP queue"),
        ] {
            if n > 0 {
                parts.push(format!("{what} {n}"));
            }
        }
        let detail = if parts.len() > 1 || live.if_dropped > 0 || live.hep.is_some() {
            format!(" ({})", parts.join(", "))
        } else {
            String::new()
        };
        spans.push(Span::styled(
            format!("⚠ {dropped} dropped{detail}"),
            style::bad(),
        ));
    }
    if let Some(h) = &live.hep {
        if h.decode_errors > 0 || h.auth_failures > 0 {
            spans.push(Span::styled(
                format!(
                    " · ⚠ {} malformed, {} refused",
                    h.decode_errors, h.auth_failures
                ),
                style::bad(),
            ));
        } else {
            spans.push(Span::raw(" · 0 bad"));
        }
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
    if cs.conference_dialogs_dropped > 0 {
        capped.push(format!(
            "{} conference dialogs dropped",
            cs.conference_dialogs_dropped
        ));
    }
    if cs.participants_dropped > 0 {
        capped.push(format!("{} participants dropped", cs.participants_dropped));
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

#[cfg(test)]
mod tests {
    use super::*;
    use lyncscope::analysis::Limits;
    use lyncscope::pipeline::Pipeline;

    /// The status line of a loaded sample with these conference bounds, as text.
    fn line(conferences: usize) -> String {
        let path = format!(
            "{}/captures/multi-conference.pcapng",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../..")
        );
        let mut files = lyncscope::capture::CaptureFiles::open(&[path]).expect("sample opens");
        let mut p = Pipeline::new(&lyncscope::Options {
            limits: Limits {
                conferences,
                ..Limits::default()
            },
            ..lyncscope::Options::default()
        });
        lyncscope::pipeline::run(&mut files, &mut p);
        let mut app = App::new("multi-conference.pcapng".into(), false);
        app.bounds_hit = p.stats().bounds_hit;
        let mut term =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(200, 1)).expect("terminal");
        term.draw(|f| render(f, f.area(), &app, p.analysis()))
            .expect("draws");
        let buf = term.backend().buffer().clone();
        buf.content().iter().map(|c| c.symbol()).collect()
    }

    #[test]
    fn the_status_line_says_what_a_bound_dropped_only_when_one_did() {
        let capped = line(1);
        assert!(capped.contains("⚠ dropped: "), "{capped}");
        assert!(capped.contains(" conferences not tracked"), "{capped}");
        let clean = line(100);
        assert!(!clean.contains("dropped"), "{clean}");
    }
}
