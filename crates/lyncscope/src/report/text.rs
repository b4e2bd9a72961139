//! The text report (`--report text`, or the default when standard output is not a terminal):
//! totals a person can read at a glance, then a table of dialogs.

use super::ReportInput;
use crate::analysis::Analysis;
use crate::pipeline::Stats;
use std::io::{self, Write};

/// Writes the text report of `analysis` to `out`.
pub fn write(
    out: &mut impl Write,
    input: &ReportInput<'_>,
    stats: &Stats<'_>,
    analysis: &Analysis,
) -> io::Result<()> {
    let a = stats.analysis;
    let t = stats.transport;
    let n = stats.net;
    writeln!(
        out,
        "lyncscope {} — {}",
        env!("CARGO_PKG_VERSION"),
        input.sources.join(", ")
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "  {} packets ({}), {} SIP messages ({} requests, {} responses, {} retransmissions)",
        stats.packets,
        human_bytes(stats.bytes),
        a.sip_messages,
        a.sip_requests,
        a.sip_responses,
        a.retransmissions
    )?;
    writeln!(
        out,
        "  {} dialogs, {} conferences",
        analysis.dialogs().len(),
        analysis.conferences().list().len()
    )?;
    writeln!(
        out,
        "  IP: {} fragments, {} datagrams reassembled, {} fragments expired",
        n.ip_fragments, n.ip_reassembled, n.fragments_expired
    )?;
    writeln!(
        out,
        "  TCP: {} streams, {} segments out of order, {} retransmitted, {} gaps",
        t.tcp_streams, t.tcp_out_of_order, t.tcp_retransmissions, t.tcp_gaps
    )?;
    let undecoded = n.undecoded + t.bad_transport_headers;
    writeln!(
        out,
        "  Problems: {} incomplete messages, {} malformed, {} undecoded packets",
        t.incomplete_messages,
        t.malformed_messages + a.defective_messages,
        undecoded
    )?;
    for (reason, count) in &n.undecoded_reasons {
        writeln!(out, "    undecoded: {reason}: {count}")?;
    }
    if let Some(live) = input.live {
        for i in &live.interfaces {
            writeln!(
                out,
                "  Capture: {}: {} packets, {} dropped by the kernel, {} by the interface",
                i.name, i.frames, i.dropped, i.if_dropped
            )?;
        }
        if let Some(f) = &live.filter {
            writeln!(out, "  Capture filter: {f}")?;
        }
    }
    if let Some(w) = input.written {
        let s = &w.stats;
        writeln!(
            out,
            "  Wrote {} packets of {} SIP messages to {} ({}){}",
            s.packets_written,
            s.messages,
            w.path,
            if s.pcapng { "pcapng" } else { "pcap" },
            if s.packets_lost > 0 || s.messages_cut > 0 {
                format!(
                    "; {} packets of {} messages had left the buffer and are missing",
                    s.packets_lost, s.messages_cut
                )
            } else {
                String::new()
            }
        )?;
    }
    for w in input.warnings {
        writeln!(out, "  warning: {w}")?;
    }
    writeln!(out)?;
    conference_trees(out, analysis)?;
    dialog_table(out, analysis)
}

/// Each conference as a tree: participants with a mark per step (✓ done, ✗ failed, … pending),
/// status codes, setup times, and the reason on failures.
fn conference_trees(out: &mut impl Write, a: &Analysis) -> io::Result<()> {
    for c in a.conferences().list() {
        let subject = c
            .subject
            .as_deref()
            .map(|s| format!("  \"{}\"", clip(s, 40)))
            .unwrap_or_default();
        writeln!(
            out,
            "Conference {}  organizer {}{subject}",
            clip(&c.id, 40),
            c.organizer
        )?;
        let mcus: Vec<&str> = c.mcus.iter().map(|m| m.as_str()).collect();
        writeln!(
            out,
            "  {} → {}  MCUs: {}",
            c.first_seen,
            c.last_seen,
            if mcus.is_empty() {
                "-".to_string()
            } else {
                mcus.join(", ")
            }
        )?;
        let count = c.participants.len();
        for (i, p) in c.participants.iter().enumerate() {
            let last = i + 1 == count;
            let (branch, cont) = if last {
                ("└─", "   ")
            } else {
                ("├─", "│  ")
            };
            let d = c.diagnose(p);
            let (state, failed, reason) = (d.state, d.failed_step, super::reason::reason(&d, p));
            let failed = failed
                .map(|f| format!(" at {}", f.as_str()))
                .unwrap_or_default();
            let invited = p
                .invited_by
                .as_deref()
                .map(|i| format!("  (invited by {i})"))
                .unwrap_or_default();
            writeln!(
                out,
                "  {branch} {}  {}{failed}{invited}",
                p.uri,
                state.as_str()
            )?;
            let mut marks = Vec::new();
            if let Some(s) = &p.invitation {
                marks.push(step_mark("invitation", s, ""));
            }
            if let Some(s) = &p.focus {
                let c3p = s
                    .c3p
                    .as_ref()
                    .map(|o| {
                        format!(
                            " C3P {} {}",
                            o.request.as_deref().unwrap_or("?"),
                            o.code.as_ref().map_or("-", |c| c.as_str())
                        )
                    })
                    .unwrap_or_default();
                marks.push(step_mark("focus", s, &c3p));
            }
            if let Some(s) = &p.roster {
                marks.push(step_mark("roster", s, ""));
            }
            for s in &p.media {
                let media = if s.media.is_empty() {
                    String::new()
                } else {
                    format!(" {}", s.media.join("+"))
                };
                marks.push(step_mark("A/V", s, &media));
            }
            for (mcu, s) in &p.mcus {
                marks.push(step_mark(mcu.as_str(), s, ""));
            }
            writeln!(out, "  {cont}   {}", marks.join("   "))?;
            if let Some(r) = reason {
                writeln!(out, "  {cont}   reason: {r}")?;
            }
        }
        writeln!(out)?;
    }
    Ok(())
}

fn step_mark(name: &str, s: &crate::analysis::Step, extra: &str) -> String {
    let mark = if s.failed() {
        "✗"
    } else if s.succeeded() {
        "✓"
    } else {
        "…"
    };
    let status = s.status.map_or_else(|| "-".to_string(), |c| c.to_string());
    let time = s
        .setup_ms()
        .map(|ms| format!(" {ms} ms"))
        .unwrap_or_default();
    format!("{mark} {name} {status}{extra}{time}")
}

fn dialog_table(out: &mut impl Write, a: &Analysis) -> io::Result<()> {
    if a.dialogs().is_empty() {
        return writeln!(out, "No SIP dialogs.");
    }
    writeln!(out, "Dialogs")?;
    writeln!(
        out,
        "  {:<9} {:<10} {:>5} {:<10} {:>5} {:<28} {:<28} {:<26} KIND",
        "FRAMES", "METHOD", "FINAL", "STATE", "MSGS", "FROM", "TO", "CALL-ID"
    )?;
    for d in a.dialogs() {
        let status = d
            .final_status
            .map_or_else(|| "-".to_string(), |s| s.to_string());
        writeln!(
            out,
            "  {:<9} {:<10} {:>5} {:<10} {:>5} {:<28} {:<28} {:<26} {}",
            format!("{}-{}", d.first_frame, d.last_frame),
            clip(a.symbols.name(d.method), 10),
            status,
            d.state.as_str(),
            d.messages,
            clip(&d.from, 28),
            clip(&d.to, 28),
            clip(&d.call_id, 26),
            d.kind.as_str(),
        )?;
    }
    Ok(())
}

/// Cuts a string to `max` characters, marking the cut with `…`.
pub fn clip(s: &str, max: usize) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if clean.chars().count() <= max {
        return clean;
    }
    let mut out: String = clean.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A byte count for people: `12 B`, `12.3 KB`, `4.5 MB` (decimal units).
pub fn human_bytes(n: u64) -> String {
    match n {
        0..=9_999 => format!("{n} B"),
        10_000..=9_999_999 => format!("{:.1} KB", n as f64 / 1e3),
        _ => format!("{:.1} MB", n as f64 / 1e6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_and_sizes() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("ab\u{1b}c", 10), "ab?c");
        assert_eq!(human_bytes(12_345), "12.3 KB");
    }
}
