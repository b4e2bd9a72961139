//! The text report (`--report text`, or the default when standard output is not a terminal):
//! totals a person can read at a glance, the summary, the conferences as trees, then a table of
//! dialogs. Nothing a script would grep is cut: Call-IDs, URIs, conference IDs and subjects are
//! written whole (columns are padded, never truncated); control characters are shown as `?`.

use super::select::Selection;
use super::ReportInput;
use crate::analysis::Analysis;
use crate::pipeline::Stats;
use crate::transport::tcp;
use std::io::{self, Write};

/// Writes the text report of `analysis` to `out`.
pub fn write(
    out: &mut impl Write,
    input: &ReportInput<'_>,
    stats: &Stats<'_>,
    analysis: &Analysis,
) -> io::Result<()> {
    let sel = input.selection();
    write_head(out, input, stats, analysis)?;
    super::summary::Summary::new(analysis, sel).write_text(out)?;
    writeln!(out)?;
    conference_trees_selected(out, analysis, sel)?;
    dialog_table(out, analysis, sel)
}

/// The report's head: the inputs, the totals, the Problems line, what bounds left out, the
/// warnings, and the selection when there is one (the head of `--report summary` too).
pub fn write_head(
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
        "  {}, {}",
        super::summary::plural(analysis.dialogs_kept(), "dialog", "dialogs"),
        super::summary::plural(
            analysis.conferences().list().len(),
            "conference",
            "conferences"
        )
    )?;
    writeln!(
        out,
        "  IP: {} fragments, {} datagrams reassembled, {} fragments expired",
        n.ip_fragments, n.ip_reassembled, n.fragments_expired
    )?;
    writeln!(
        out,
        "  TCP: {} streams, {} segments out of order, {} retransmitted, {} gaps, {} bytes skipped",
        t.tcp_streams, t.tcp_out_of_order, t.tcp_retransmissions, t.tcp_gaps, t.tcp_bytes_skipped
    )?;
    if a.copies_merged > 0 {
        writeln!(
            out,
            "  Sources: {} copies of messages seen by more than one input merged (counted once)",
            a.copies_merged
        )?;
    }
    if let Some(inputs) = input.inputs.filter(|i| i.has_logs()) {
        for (file, s, events_dropped) in inputs.log_stats() {
            writeln!(
                out,
                "  Log {file}: {} SIP messages, {} server events, {} other records, {} cut off, {} \
                 oversized or over-long records and lines dropped, {} server events dropped",
                s.sip_messages,
                s.server_events,
                s.other_records.iter().map(|(_, n)| n).sum::<u64>(),
                s.cut_records,
                s.oversized_records + s.long_lines,
                events_dropped
            )?;
        }
    }
    let kept_out = a.server_events_dropped + analysis.origins_dropped();
    if kept_out > 0 {
        writeln!(
            out,
            "  Bounds: {} server events and {} extra origins of merged copies not kept",
            a.server_events_dropped,
            analysis.origins_dropped()
        )?;
    }
    if let Some(h) = input.hep {
        if let Some(r) = &h.received {
            let errors: u64 = r.errors.iter().sum();
            writeln!(
                out,
                "  HEP: listening on {}: {} packets from {} agents, {} malformed, {} refused \
                 (password), {} dropped (queue full)",
                h.listeners.join(", "),
                r.packets_received,
                h.agents.len(),
                errors,
                r.auth_failures,
                r.dropped_queue_full + r.dropped_at_stop
            )?;
        }
        if let Some((to, s)) = &h.sent {
            writeln!(
                out,
                "  HEP sent to {to}: {} packets, {} not sent (queue full, too large, errors, at \
                 close)",
                s.sent_packets,
                s.dropped_queue_full
                    + s.dropped_too_large
                    + s.dropped_send_error
                    + s.dropped_at_close
            )?;
        }
    }
    if let Some(line) = tls_line(&stats.tls) {
        writeln!(out, "  TLS: {line}")?;
    }
    let undecoded = n.undecoded + t.bad_transport_headers;
    write!(
        out,
        "  Problems: {} incomplete messages, {} malformed, {} undecoded packets",
        t.incomplete_messages,
        t.malformed_messages + a.defective_messages,
        undecoded
    )?;
    // TCP losses are named only when there are any, so that a clean capture keeps a short line.
    if t.tcp_bytes_skipped > 0 {
        write!(out, ", {} TCP bytes skipped", t.tcp_bytes_skipped)?;
    }
    if t.tcp_bytes_dropped_by_cap + t.tcp_message_cap_hits + t.tcp_total_cap_hits > 0 {
        write!(
            out,
            ", {} TCP bytes dropped by memory bounds ({} messages over {} MiB, {} connections over {} MiB in total)",
            t.tcp_bytes_dropped_by_cap,
            t.tcp_message_cap_hits,
            tcp::MAX_PENDING >> 20,
            t.tcp_total_cap_hits,
            tcp::MAX_TOTAL_BUFFERED >> 20
        )?;
    }
    if t.tcp_reorder_cap_hits > 0 {
        write!(
            out,
            ", {} TCP holes given up early (over {} segments or {} MiB out of order)",
            t.tcp_reorder_cap_hits,
            tcp::MAX_OOO_SEGMENTS,
            tcp::MAX_OOO_BYTES >> 20
        )?;
    }
    // Every other bound that left something out, named with its value and what to do (the
    // TCP ones are above, in their own words).
    for h in &stats.bounds_hit {
        use crate::bounds::Bound;
        if matches!(
            h.bound,
            Bound::TcpTotal | Bound::TcpMessage | Bound::TcpReorder
        ) {
            continue;
        }
        let w = super::reason::bound(h.bound);
        let limit = if h.bound.in_bytes() {
            binary_size(h.limit)
        } else {
            group(h.limit)
        };
        write!(
            out,
            ", {} {} (bound: {limit} {}; {})",
            h.count, w.short, w.unit, w.hint
        )?;
    }
    let media = analysis.conferences().media_stats();
    if media.candidates_dropped > 0 {
        write!(
            out,
            ", {} media candidates not followed (over {} addresses, {} steps per address or {} per side)",
            media.candidates_dropped,
            crate::analysis::media::MAX_ADDRESSES,
            crate::analysis::media::MAX_STEPS_PER_ADDRESS,
            crate::analysis::media::MAX_CANDIDATES
        )?;
    }
    writeln!(out)?;
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
    let sel = input.selection();
    if !sel.is_empty() {
        writeln!(
            out,
            "  Selection: {} (the totals above are the whole input's)",
            sel.flags()
        )?;
    }
    writeln!(out)
}

/// Each conference as a tree: participants with a mark per step (✓ done, ✗ failed, … pending),
/// status codes, setup times, and the reason on failures.
/// The conferences part of the text report: each conference's participants, their steps,
/// reasons and how they left.
pub fn conference_trees(out: &mut impl Write, a: &Analysis) -> io::Result<()> {
    conference_trees_selected(out, a, &Selection::default())
}

/// [`conference_trees`] of the conferences and participants `sel` selects.
pub fn conference_trees_selected(
    out: &mut impl Write,
    a: &Analysis,
    sel: &Selection,
) -> io::Result<()> {
    let escalations = a.escalations();
    for (ci, c) in a.conferences().list().iter().enumerate() {
        if !sel.conference(c) {
            continue;
        }
        let subject = c
            .subject
            .as_deref()
            .map(|s| format!("  \"{}\"", clean(s)))
            .unwrap_or_default();
        writeln!(
            out,
            "Conference {}  organizer {}{subject}",
            clean(&c.id),
            clean(&c.organizer)
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
        if let Some(d) = escalations
            .get(ci)
            .copied()
            .flatten()
            .and_then(|d| a.dialogs().get(d as usize))
        {
            writeln!(
                out,
                "  escalated from the call {} between {} and {} ({} → {})",
                d.call_id,
                clean(&d.from),
                clean(&d.to),
                super::reason::clock(d.first_time),
                super::reason::clock(d.last_time)
            )?;
        }
        let shown: Vec<&crate::analysis::Participant> = c
            .participants
            .iter()
            .filter(|p| sel.participant(c, p))
            .collect();
        let count = shown.len();
        for (i, p) in shown.into_iter().enumerate() {
            let last = i + 1 == count;
            let (branch, cont) = if last {
                ("└─", "   ")
            } else {
                ("├─", "│  ")
            };
            let d = c.diagnose(p);
            let (state, failed, reason) =
                (d.state, d.failed_step, super::reason::reason_in(&d, p, a));
            let failed = failed
                .map(|f| format!(" at {}", f.as_str()))
                .unwrap_or_default();
            let invited = p
                .invited_by
                .as_deref()
                .map(|i| format!("  (invited by {i})"))
                .unwrap_or_default();
            let client = p
                .user_agent
                .as_deref()
                .map(|ua| match p.client() {
                    // The product token carries the build number, which is what explains
                    // an old client's offer.
                    Some(k) if k != crate::sip::user_agent::ClientKind::Other => format!(
                        "  [{}, {}]",
                        super::reason::client_name(k),
                        ua.split_whitespace().next().unwrap_or(ua)
                    ),
                    _ => format!("  [{ua}]"),
                })
                .unwrap_or_default();
            let access = super::reason::access_text(p)
                .map(|a| format!("  ({a})"))
                .unwrap_or_default();
            let device = match p.device.as_deref().filter(|_| p.shares_user()) {
                Some(d) => format!("  (device {d}; user {})", c.user_state(p).as_str()),
                None => String::new(),
            };
            writeln!(
                out,
                "  {branch} {}{device}  {}{failed}{invited}{access}{client}",
                clean(&p.uri),
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
                        // A refusal in SIP (403) carries no C3P answer: say so, not "-".
                        format!(
                            " C3P {} {}",
                            clean(o.request.as_deref().unwrap_or("?")),
                            o.code
                                .as_ref()
                                .map_or("(no C3P answer)".to_string(), |c| clean(c.as_str()))
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
            // With several A/V attempts (a rejoin), each media line names its attempt.
            let lines: Vec<(&crate::analysis::Step, String)> = p
                .media
                .iter()
                .filter_map(|s| Some((s, super::reason::media_line(s)?)))
                .collect();
            let several = lines.len() > 1;
            for (s, line) in lines {
                match line.strip_prefix("media:").filter(|_| several) {
                    Some(rest) => writeln!(out, "  {cont}   media of {}:{rest}", s.call_id)?,
                    None => writeln!(out, "  {cont}   {line}")?,
                }
            }
            if let Some(r) = reason {
                writeln!(out, "  {cont}   reason: {}", clean(&r))?;
            }
            if let Some((by, at)) = c.dialed_out_by(p) {
                writeln!(out, "  {cont}   {}", super::reason::dial_out_text(by, at))?;
            }
            for (mcu, s) in c.other_failures(p, &d) {
                writeln!(
                    out,
                    "  {cont}   also: {}",
                    super::reason::other_failure_text(mcu, s)
                )?;
            }
            if let Some(d) = &p.lobby_decision {
                writeln!(out, "  {cont}   {}", super::reason::lobby_text(d))?;
            }
            if let Some(e) = c.ending(p, &d) {
                writeln!(out, "  {cont}   {}", super::reason::ending_text(&e))?;
            }
            // A retry must not hide why an earlier attempt failed.
            let attempts: Vec<&crate::analysis::Step> = p
                .media
                .iter()
                .chain(p.mcus.iter().map(|(_, s)| s))
                .collect();
            // A rejoin: say how the earlier focus sessions went.
            for s in &p.earlier_focus {
                let how = match (s.failed(), s.ended_by, s.ended_at) {
                    (true, _, _) => format!(
                        "failed: {}{}",
                        super::reason::status_text(s),
                        super::reason::diag_text(s)
                    ),
                    (false, Some(by), Some(at)) => format!(
                        "{}, ended by the {} at {}",
                        super::reason::status_text(s),
                        by.as_str(),
                        super::reason::clock(at)
                    ),
                    _ => super::reason::status_text(s),
                };
                writeln!(
                    out,
                    "  {cont}   earlier focus attempt {} at {}: {how}",
                    s.call_id,
                    super::reason::clock(s.at)
                )?;
            }
            if attempts.len() > 1 {
                // Not again what the reason or an "also:" line said.
                let told: Vec<u32> = c
                    .other_failures(p, &d)
                    .iter()
                    .map(|(_, s)| s.dialog)
                    .chain(d.evidence.map(|e| e.dialog))
                    .collect();
                for s in attempts
                    .iter()
                    .filter(|s| s.failed() && !told.contains(&s.dialog))
                {
                    writeln!(
                        out,
                        "  {cont}   failed attempt {}: {}{}",
                        s.call_id,
                        super::reason::status_text(s),
                        super::reason::diag_text(s)
                    )?;
                }
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

fn dialog_table(out: &mut impl Write, a: &Analysis, sel: &Selection) -> io::Result<()> {
    let selected = sel.dialogs(a);
    if selected.is_empty() {
        return writeln!(
            out,
            "{}",
            if sel.is_empty() {
                "No SIP dialogs."
            } else {
                "No SIP dialogs selected."
            }
        );
    }
    writeln!(out, "Dialogs")?;
    writeln!(
        out,
        "  {:<9} {:<10} {:>5} {:<10} {:>5} {:<28} {:<28} {:<26} KIND",
        "FRAMES", "METHOD", "FINAL", "STATE", "MSGS", "FROM", "TO", "CALL-ID"
    )?;
    for (i, d) in a.dialogs().iter().enumerate() {
        if d.evicted || !u32::try_from(i).is_ok_and(|i| selected.contains(i)) {
            continue;
        }
        let status = d
            .final_status
            .map_or_else(|| "-".to_string(), |s| s.to_string());
        writeln!(
            out,
            "  {:<9} {:<10} {:>5} {:<10} {:>5} {:<28} {:<28} {:<26} {}",
            format!("{}-{}", d.first_frame, d.last_frame),
            clean(a.symbols.name(d.method)),
            status,
            d.state.as_str(),
            d.messages,
            clean(&d.from),
            clean(&d.to),
            clean(&d.call_id),
            d.kind.as_str(),
        )?;
    }
    Ok(())
}

/// A captured string made safe for a terminal: control characters (an escape sequence in a
/// hostile header) become `?`; nothing is cut.
pub fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Cuts a string to `max` characters, marking the cut with `…` (for the terminal UI's
/// columns; the reports never cut).
pub fn clip(s: &str, max: usize) -> String {
    let clean = clean(s);
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

/// The TLS line of the text report: what was decrypted, what was not and why, and when nothing
/// could be, what to give.
fn tls_line(t: &lyncscope_tls::TlsStats) -> Option<String> {
    if t.connections == 0 && t.handshake_not_captured == 0 {
        return None;
    }
    let mut line = format!(
        "{} connections, {} decrypted ({} records, {} failed their MAC/tag)",
        t.connections, t.decrypted, t.records_decrypted, t.bad_records
    );
    let mut not = Vec::new();
    if t.no_key > 0 {
        not.push(format!("{} without a key", t.no_key));
    }
    if t.wrong_key > 0 {
        not.push(format!("{} with a key that did not fit", t.wrong_key));
    }
    if t.handshake_not_captured > 0 {
        not.push(format!(
            "{} whose handshake was not captured",
            t.handshake_not_captured
        ));
    }
    if t.unsupported_suite > 0 {
        let names: Vec<String> = t
            .unsupported_suites
            .keys()
            .map(|id| crate::tls::suite_name(*id))
            .collect();
        not.push(format!(
            "{} with an unsupported suite ({})",
            t.unsupported_suite,
            names.join(", ")
        ));
    }
    if t.gaps + t.malformed > 0 {
        not.push(format!(
            "{} given up (bytes missing from the capture or malformed TLS)",
            t.gaps + t.malformed
        ));
    }
    if !not.is_empty() {
        line.push_str("; not decrypted: ");
        line.push_str(&not.join(", "));
    }
    if t.decrypted == 0 && t.connections > 0 {
        line.push_str(if t.no_key_forward_secret > 0 {
            "; the server chose (EC)DHE or TLS 1.3: an RSA key cannot decrypt it, give the \
             client's key log (--tls-keylog FILE, SSLKEYLOGFILE)"
        } else if t.rsa_decrypt_failures > 0 {
            "; no --tls-key decrypted the RSA key exchange: give the server's own private key, \
             or a key log (--tls-keylog)"
        } else {
            "; give a key log (--tls-keylog FILE) or the server's RSA private key (--tls-key FILE)"
        });
    }
    Some(line)
}

/// A number with thousands separators (`100,000`).
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A size set in binary units as it was set (`256 MiB`, `1 GiB`).
fn binary_size(n: u64) -> String {
    match n {
        0 => "0 B".into(),
        _ if n.is_multiple_of(1 << 30) => format!("{} GiB", n >> 30),
        _ if n.is_multiple_of(1 << 20) => format!("{} MiB", n >> 20),
        _ => human_bytes(n),
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

    #[test]
    fn bounds_are_written_as_they_are_set() {
        assert_eq!(super::group(100_000), "100,000");
        assert_eq!(super::group(999), "999");
        assert_eq!(super::group(1_048_576), "1,048,576");
        assert_eq!(super::binary_size(256 << 20), "256 MiB");
        assert_eq!(super::binary_size(1 << 30), "1 GiB");
        assert_eq!(super::binary_size(1_000), "1000 B");
    }

    #[test]
    fn a_focus_refused_in_sip_says_it_had_no_c3p_answer() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../captures/focus-c3p-failure.pcapng"
        );
        let done = crate::analyze(&[path.to_string()], &crate::Options::default())
            .expect("sample capture");
        let input = ReportInput {
            hep: None,
            inputs: None,
            sources: &[],
            warnings: &[],
            messages: false,
            live: None,
            written: None,
            selection: None,
        };
        let mut out = Vec::new();
        write(
            &mut out,
            &input,
            &done.pipeline.stats(),
            done.pipeline.analysis(),
        )
        .expect("text report");
        let text = String::from_utf8(out).expect("utf-8");
        // erin's focus INVITE was answered 403, without a C3P body.
        assert!(
            text.contains("✗ focus 403 C3P addUser (no C3P answer)"),
            "{text}"
        );
        assert!(!text.contains("addUser - "), "{text}");
    }
}
