//! Measures what a live terminal UI pays per update as a capture grows: a capture file is
//! dripped into the UI's pipeline a few frames at a time (as a live capture's ticks would
//! bring them), and after each drip the UI brings its state up to date (`App::sync`) and draws
//! (ratatui's `TestBackend`, 120×35), with filters on all three lists (`failed`) and the first
//! conference's ladder open — the costly case. Prints the cost per tenth of the capture, then
//! what looking at every row again once would cost.
//!
//! `cargo run --release --example live_sync -- FILE[,FILE…] [FRAMES_PER_TICK] [SETUP] [LIMITS]` (default
//! 1000 frames; SETUP: `all` (default), `filters` (no ladder), `ladder` (no filters), `none`;
//! LIMITS: `files` (default) or `live`, the bounds of a live capture in the UI). The resident
//! set is printed with each tenth, so the memory bound can be read off a long capture.

use lyncscope::capture::CaptureFiles;
use lyncscope::pipeline::Pipeline;
use lyncscope_tui::app::App;
use lyncscope_tui::loader::{FrameBatch, LoadStatus};
use lyncscope_tui::views;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use std::time::{Duration, Instant};

fn key(app: &mut App, a: &lyncscope::analysis::Analysis, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE), a);
}

fn typed(app: &mut App, a: &lyncscope::analysis::Analysis, text: &str) {
    for c in text.chars() {
        key(app, a, KeyCode::Char(c));
    }
    key(app, a, KeyCode::Enter);
}

#[derive(Default)]
struct Bucket {
    ticks: u32,
    sync: Duration,
    sync_max: Duration,
    draw: Duration,
    draw_max: Duration,
    /// Conferences touched by the tick's messages, and their participants.
    conferences: u64,
    participants: u64,
    /// Resident set at the end of the tenth, messages and dialogs then.
    rss_kib: u64,
    sip_messages: u64,
    dialogs: usize,
}

/// Current resident set (Linux), KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: live_sync FILE [FRAMES_PER_TICK]");
        std::process::exit(2);
    };
    let per_tick: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let setup = args.next().unwrap_or_else(|| "all".into());
    let limits = match args.next().as_deref() {
        Some("live") => lyncscope_tui::live::LIVE_LIMITS,
        _ => lyncscope::analysis::Limits::default(),
    };
    let (filters, ladder) = match setup.as_str() {
        "filters" => (true, false),
        "ladder" => (false, true),
        "none" => (false, false),
        _ => (true, true),
    };
    // Several files, comma-separated, are read one after the other.
    let paths: Vec<String> = path.split(',').map(str::to_string).collect();
    let total_bytes: u64 = paths
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum();
    let mut files = match CaptureFiles::open(&paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let mut p = Pipeline::new(&lyncscope::Options {
        keep_messages: true,
        message_store: true,
        change_log: true,
        limits,
        ..lyncscope::Options::default()
    });
    let mut app = App::new("live_sync".into(), false);
    app.size = (120, 35);
    let mut terminal = Terminal::new(TestBackend::new(120, 35)).expect("terminal");
    let mut status = LoadStatus::default();
    let mut set_up = false;
    let mut buckets: Vec<Bucket> = (0..10).map(|_| Bucket::default()).collect();
    let mut frames = 0u64;
    let mut seq = 0u64;
    loop {
        let mut batch = FrameBatch::default();
        while batch.len() < per_tick {
            match files.next_frame() {
                Some(f) => batch.push(&f),
                None => break,
            }
        }
        let last = batch.is_empty();
        for f in batch.frames() {
            p.push(&f);
        }
        frames += batch.len() as u64;
        if last {
            p.finish();
        }
        status.frames = frames;
        status.bytes_read = files.bytes_read();
        status.done = last;
        let a = p.analysis();
        let mut touched: Vec<usize> = a
            .changes_since(seq)
            .map(|ids| {
                ids.filter_map(|d| a.conferences().conference_of(d))
                    .collect()
            })
            .unwrap_or_default();
        touched.sort_unstable();
        touched.dedup();
        let participants: usize = touched
            .iter()
            .filter_map(|&c| a.conferences().list().get(c))
            .map(|c| c.participants.len())
            .sum();
        seq = a.change_seq();
        if !set_up && !a.conferences().list().is_empty() {
            // Filters on every list, then the first conference's ladder.
            if filters {
                for tab in ['3', '2', '1'] {
                    key(&mut app, a, KeyCode::Char(tab));
                    key(&mut app, a, KeyCode::Char('f'));
                    typed(&mut app, a, "failed");
                }
            }
            if ladder {
                key(&mut app, a, KeyCode::Char('l'));
            }
            set_up = true;
        }
        let started = Instant::now();
        app.sync(a, status.clone());
        let synced = started.elapsed();
        let started = Instant::now();
        terminal.draw(|f| views::render(f, &app, a)).expect("draw");
        let drawn = started.elapsed();
        let tenth = (files.bytes_read().saturating_mul(10) / total_bytes.max(1)).min(9) as usize;
        if let Some(b) = buckets.get_mut(tenth) {
            b.ticks += 1;
            b.sync += synced;
            b.sync_max = b.sync_max.max(synced);
            b.draw += drawn;
            b.draw_max = b.draw_max.max(drawn);
            b.conferences += touched.len() as u64;
            b.participants += participants as u64;
            b.rss_kib = rss_kib();
            b.sip_messages = a.stats().sip_messages;
            b.dialogs = a.dialogs().len();
        }
        if last {
            break;
        }
    }
    let a = p.analysis();
    let st = a.stats();
    println!(
        "bounds: {:?}; not listed {}, without dialog {}, conference dialogs dropped {}",
        limits,
        st.messages_not_listed,
        st.dialogs_dropped,
        a.conferences().stats.conferences_dropped
    );
    if let Some(store) = a.store() {
        let (raw, compressed, held) = store.usage();
        println!(
            "message store: {:.0} MB of SIP in {:.0} MB compressed (temporary file), {:.1} MB \
             in memory",
            raw as f64 / 1e6,
            compressed as f64 / 1e6,
            held as f64 / 1e6
        );
    }
    println!(
        "{path}: {} frames, {} messages, {} dialogs, {} conferences; {per_tick} frames per tick; \
         {setup}",
        frames,
        a.messages().len(),
        a.dialogs().len(),
        a.conferences().list().len()
    );
    println!(
        "part of the capture | ticks | sync mean / max (ms) | draw mean / max (ms) | \
         conferences (participants) touched per tick | SIP messages, dialogs, RSS at the end"
    );
    for (i, b) in buckets.iter().enumerate() {
        if b.ticks == 0 {
            continue;
        }
        println!(
            "{:>3}–{:>3}% | {:>5} | {:>7.3} / {:>7.3} | {:>6.3} / {:>6.3} | {:.0} ({:.0}) | {}, {}, {:.0} MB",
            i * 10,
            i * 10 + 10,
            b.ticks,
            ms(b.sync) / b.ticks as f64,
            ms(b.sync_max),
            ms(b.draw) / b.ticks as f64,
            ms(b.draw_max),
            b.conferences as f64 / b.ticks as f64,
            b.participants as f64 / b.ticks as f64,
            b.sip_messages,
            b.dialogs,
            b.rss_kib as f64 / 1024.0
        );
    }
    // For comparison: the same filters applied from scratch to the whole analysis.
    let mut fresh = App::new("fresh".into(), false);
    fresh.size = (120, 35);
    fresh.sync(a, status.clone());
    for tab in ['3', '2', '1'] {
        key(&mut fresh, a, KeyCode::Char(tab));
        key(&mut fresh, a, KeyCode::Char('f'));
        let started = Instant::now();
        typed(&mut fresh, a, "failed");
        println!(
            "filtering every row of list {tab} from scratch: {:.3} ms",
            ms(started.elapsed())
        );
    }
}
