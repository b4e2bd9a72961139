//! Throughput and memory benchmark (`cargo bench`).
//!
//! Generates the 100k-message Lync-style captures with `../shared/tools/gen_sip_pcap.py`
//! (UDP and TCP; cached in `target/bench-data/`), then measures:
//!
//! 1. **parse + dialogs**: frames held in memory are pushed through the whole pipeline
//!    (link/IP, defragmentation, TCP reassembly, SIP framing and parsing, dialog and transaction
//!    tracking); best of several runs on one core, in SIP messages per second;
//! 2. **peak memory** of the real command `lyncscope --report json FILE` (its peak resident set,
//!    which the binary reports when `LYNCSCOPE_PEAK_RSS=1`).
//!
//! Extra arguments are capture files to measure instead of the generated ones.
//! `LYNCSCOPE_BENCH_ONLY=plain` or `full` measures one half only (for a profiler);
//! `LYNCSCOPE_BENCH_RUNS=N` takes the best of N runs instead of 7.

use lyncscope::capture::{CaptureFiles, Frame};
use lyncscope::pipeline::Pipeline;
use lyncscope::Timestamp;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

struct Owned {
    number: u64,
    timestamp: Timestamp,
    link_type: u32,
    data: Vec<u8>,
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let files: Vec<PathBuf> = if args.is_empty() {
        ["udp", "tcp"].iter().filter_map(|t| generated(t)).collect()
    } else {
        args.iter().map(PathBuf::from).collect()
    };
    if files.is_empty() {
        eprintln!("no capture to measure (python3 or ../shared/tools/gen_sip_pcap.py missing?)");
        return;
    }
    for file in files {
        measure(&file);
    }
}

fn generated(transport: &str) -> Option<PathBuf> {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let generator = root.join("../shared/tools/gen_sip_pcap.py");
    let dir = root.join("target/bench-data");
    let out = dir.join(format!("lync-100k-{transport}.pcap"));
    if out.exists() {
        return Some(out);
    }
    if !generator.exists() {
        eprintln!("skipping {transport}: {} not found", generator.display());
        return None;
    }
    std::fs::create_dir_all(&dir).ok()?;
    let status = Command::new("python3")
        .arg(&generator)
        .args(["--messages", "100000", "--transport", transport, "--out"])
        .arg(&out)
        .status()
        .ok()?;
    status.success().then_some(out)
}

fn measure(file: &Path) {
    let name = file.display().to_string();
    let mut reader = match CaptureFiles::open(std::slice::from_ref(&name)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return;
        }
    };
    let mut frames = Vec::new();
    while let Some(f) = reader.next_frame() {
        frames.push(Owned {
            number: f.number,
            timestamp: f.timestamp,
            link_type: f.link_type,
            data: f.data.to_vec(),
        });
    }
    let bytes: usize = frames.iter().map(|f| f.data.len()).sum();

    // Best of `runs` (LYNCSCOPE_BENCH_RUNS, default 7): more runs steady the numbers on a busy
    // or virtual machine.
    let runs: usize = std::env::var("LYNCSCOPE_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(7);
    // One timed pass through the whole pipeline: (seconds, (messages, dialogs, conferences)).
    let once = |conferences: bool| {
        let start = Instant::now();
        let mut p = if conferences {
            Pipeline::new(&lyncscope::Options::default())
        } else {
            Pipeline::new(&lyncscope::Options {
                keep_messages: false,
                conferences: false,
                ..lyncscope::Options::default()
            })
        };
        for f in &frames {
            p.push(&Frame {
                number: f.number,
                timestamp: f.timestamp,
                link_type: f.link_type,
                data: &f.data,
                original_len: f.data.len() as u32,
                source: 0,
            });
        }
        p.finish();
        let secs = start.elapsed().as_secs_f64();
        let a = p.analysis();
        let counts = (
            p.stats().analysis.sip_messages,
            a.dialogs().len(),
            a.conferences().list().len(),
        );
        std::hint::black_box(&p);
        (secs, counts)
    };
    let run = |conferences: bool| {
        let mut best = f64::MAX;
        let mut counts = (0, 0, 0);
        for _ in 0..runs {
            let (secs, c) = once(conferences);
            best = best.min(secs);
            counts = c;
        }
        (best, counts)
    };
    // For profiling one half alone: LYNCSCOPE_BENCH_ONLY=plain|full runs just that half.
    match std::env::var("LYNCSCOPE_BENCH_ONLY").as_deref() {
        Ok("plain") => {
            let (secs, (messages, ..)) = run(false);
            println!(
                "{name}: parse + dialogs {:.1} ms, {messages} messages",
                secs * 1e3
            );
            return;
        }
        Ok("full") => {
            let (secs, (messages, ..)) = run(true);
            println!(
                "{name}: parse + dialogs + conferences {:.1} ms, {messages} messages",
                secs * 1e3
            );
            return;
        }
        _ => {}
    }
    // Interleaved, so that both halves see the same machine (a build or a burst of load in
    // the background shifts both, not one).
    let (mut plain, mut full) = (f64::MAX, f64::MAX);
    let (mut messages, mut dialogs, mut conferences) = (0, 0, 0);
    for _ in 0..runs {
        let (secs, (m, d, _)) = once(false);
        plain = plain.min(secs);
        (messages, dialogs) = (m, d);
        let (secs, (_, _, c)) = once(true);
        full = full.min(secs);
        conferences = c;
    }
    println!("{name}");
    println!(
        "  {} frames, {:.1} MB, {messages} SIP messages, {dialogs} dialogs, {conferences} conferences",
        frames.len(),
        bytes as f64 / 1e6
    );
    for (what, secs) in [
        ("parse + dialogs", plain),
        ("parse + dialogs + conferences", full),
    ] {
        println!(
            "  {what}: {:.1} ms, {:.2} M SIP messages/s, {:.0} MB/s (best of {runs}, one core)",
            secs * 1e3,
            messages as f64 / secs / 1e6,
            bytes as f64 / secs / 1e6
        );
    }
    // Both readings of "costs N% over": more time per message, and less throughput.
    println!(
        "  conference analysis costs {:+.0}% time over parse + dialogs ({:.0}% less throughput)",
        (full / plain - 1.0) * 100.0,
        (1.0 - plain / full) * 100.0
    );
    drop(frames);

    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .args(["--report", "json"])
        .arg(file)
        .env("LYNCSCOPE_PEAK_RSS", "1")
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let stderr = String::from_utf8_lossy(&o.stderr);
            let peak = stderr
                .lines()
                .find_map(|l| l.strip_prefix("lyncscope: peak RSS "))
                .unwrap_or("unknown");
            println!(
                "  lyncscope --report json: {:.0} ms wall, peak memory {peak}, {} bytes of JSON",
                start.elapsed().as_secs_f64() * 1e3,
                o.stdout.len()
            );
        }
        Ok(o) => eprintln!("lyncscope failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => eprintln!("could not run lyncscope: {e}"),
    }
}
