//! The analysis' byte budget (`--memory-limit`, issue 16) against hostile traffic streamed
//! through a pipe into the binary: dialogs with 4 KB Call-IDs and 1 KB From addresses, most
//! of them finished (evicted when the budget is reached), a third never answered (refused once
//! nothing is left to evict). The peak resident set (`VmHWM`, printed by the binary with
//! `LYNCSCOPE_PEAK_RSS=1`) must stay under the budget plus a fixed overhead.
//!
//! `budget_holds_under_hostile_traffic` (run by `cargo test`) feeds 96 MB with a 16 MiB budget;
//! `budget_holds_under_a_gigabyte_of_hostile_traffic` (ignored; `.ci/run` runs it in release)
//! feeds 1 GiB with a 192 MiB budget (with 256 MiB, 1 GiB of these dialogs no longer fills it:
//! the Call-ID index keeps no copy of the Call-ID). `LYNCSCOPE_HOSTILE_BYTES` and
//! `LYNCSCOPE_HOSTILE_LIMIT_MIB` change the second.

use std::io::{BufWriter, Read, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Resident memory of the process besides the analysis: the binary and its libraries, the
/// allocator's arenas, the capture reader's buffer, the pipe's read-ahead (1 MiB), the report
/// being written. Measured at 13–19 MiB on this project's machine (debug with 16 MiB, release
/// with 256 MiB); the assertion leaves room for allocator fragmentation.
const OVERHEAD_MIB: u64 = 48;

const PCAP_HEADER: [u8; 24] = [
    0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0,
];

/// One Ethernet/IPv4/UDP frame as a pcap record, at `usec` microseconds.
fn record(out: &mut impl Write, n: u64, usec: u64, sip: &[u8]) -> std::io::Result<()> {
    let total = 20 + 8 + sip.len();
    let mut frame = Vec::with_capacity(14 + total);
    frame.extend_from_slice(&[0u8; 12]);
    frame.extend_from_slice(&[0x08, 0x00]);
    frame.extend_from_slice(&[0x45, 0]);
    frame.extend_from_slice(&(total as u16).to_be_bytes());
    frame.extend_from_slice(&(n as u16).to_be_bytes());
    frame.extend_from_slice(&[0x40, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2]);
    frame.extend_from_slice(&5060u16.to_be_bytes());
    frame.extend_from_slice(&5060u16.to_be_bytes());
    frame.extend_from_slice(&((8 + sip.len()) as u16).to_be_bytes());
    frame.extend_from_slice(&[0, 0]);
    frame.extend_from_slice(sip);
    let secs = 1_700_000_000 + usec / 1_000_000;
    out.write_all(&(secs as u32).to_le_bytes())?;
    out.write_all(&((usec % 1_000_000) as u32).to_le_bytes())?;
    out.write_all(&(frame.len() as u32).to_le_bytes())?;
    out.write_all(&(frame.len() as u32).to_le_bytes())?;
    out.write_all(&frame)
}

/// Streams about `bytes` of hostile traffic: dialog `i` has a 4 KB Call-ID and a 1 KB From
/// address; two in three are a MESSAGE and its 200 (finished), the third an INVITE never
/// answered. Generated as it is written, never held whole.
fn hostile(out: impl Write, bytes: u64, pads: (usize, usize)) -> std::io::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, out);
    out.write_all(&PCAP_HEADER)?;
    let pad_call = "c".repeat(pads.0);
    let pad_from = "f".repeat(pads.1);
    let (mut written, mut n, mut dialogs) = (24u64, 0u64, 0u64);
    while written < bytes {
        let i = dialogs;
        dialogs += 1;
        let call_id = format!("{i:012}{pad_call}");
        let from = format!("<sip:{pad_from}{i}@example.com>;tag=t{i}");
        let unanswered = i % 3 == 2;
        let method = if unanswered { "INVITE" } else { "MESSAGE" };
        let request = format!(
            "{method} sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK{i}\r\n\
             From: {from}\r\nTo: <sip:bob@example.com>\r\nCall-ID: {call_id}\r\n\
             CSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
        );
        n += 1;
        record(&mut out, n, n * 10, request.as_bytes())?;
        written += 16 + 42 + request.len() as u64;
        if !unanswered {
            let ok = format!(
                "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK{i}\r\n\
                 From: {from}\r\nTo: <sip:bob@example.com>;tag=b{i}\r\nCall-ID: {call_id}\r\n\
                 CSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
            );
            n += 1;
            record(&mut out, n, n * 10, ok.as_bytes())?;
            written += 16 + 42 + ok.len() as u64;
        }
    }
    out.flush()?;
    Ok(dialogs)
}

/// Call-ID and From padding of the big-identifier attack.
const HUGE: (usize, usize) = (4096, 1024);
/// No padding: a flood of tiny dialogs, where the dialogs' own rows (kept when evicted) and
/// the allocator's hold on freed identifiers are what fills the budget.
const TINY: (usize, usize) = (0, 0);

/// Runs the binary on `bytes` of hostile traffic with `--memory-limit {limit_mib}M` and checks
/// its peak resident set and what it reports.
fn run(bytes: u64, limit_mib: u64) {
    run_with(bytes, limit_mib, HUGE);
}

fn run_with(bytes: u64, limit_mib: u64, pads: (usize, usize)) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .args([
            "--report",
            "text",
            "--memory-limit",
            &format!("{limit_mib}M"),
            "-",
        ])
        .env("LYNCSCOPE_PEAK_RSS", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let stdin = child.stdin.take().expect("stdin");
    let feeder =
        std::thread::spawn(move || hostile(stdin, bytes, pads).expect("the pipe takes it"));
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).expect("report");
        text
    });
    let dialogs = feeder.join().expect("feeder");
    let out = child.wait_with_output().expect("waits");
    let report = reader.join().expect("reader");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let peak_mb: f64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("lyncscope: peak RSS "))
        .and_then(|l| l.trim_end_matches(" MB").parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS line: {stderr}"));
    // The binary prints VmHWM's KiB / 1024 under the name MB: it is MiB.
    let peak_mib = peak_mb;
    eprintln!(
        "{} MB of hostile traffic, {dialogs} dialogs, --memory-limit {limit_mib}M: peak RSS \
         {peak_mib:.1} MiB in {:.1} s",
        bytes / 1_000_000,
        started.elapsed().as_secs_f64()
    );
    let problems = report
        .lines()
        .find(|l| l.trim_start().starts_with("Problems:"))
        .expect("a Problems line");
    eprintln!("{problems}");
    assert!(
        peak_mib < (limit_mib + OVERHEAD_MIB) as f64,
        "peak RSS {peak_mib:.1} MiB over {limit_mib} MiB + {OVERHEAD_MIB} MiB"
    );
    // Both ends of the budget were reached and are named.
    assert!(
        problems.contains("finished dialogs evicted (memory)"),
        "{problems}"
    );
    assert!(
        problems.contains("dialogs/rows refused (memory)"),
        "{problems}"
    );
    let sip_line = report.lines().nth(2).unwrap_or_default();
    let expected = 2 * dialogs - dialogs / 3;
    assert!(
        sip_line.contains(&format!("{expected} SIP messages")),
        "every message is counted: {sip_line}"
    );
}

#[test]
fn budget_holds_under_hostile_traffic() {
    run(96_000_000, 16);
}

#[test]
#[ignore = "a million tiny dialogs through the release build: .ci/run runs it"]
fn budget_holds_under_a_flood_of_tiny_dialogs() {
    // 256 MiB against ~1.5 million dialogs: before the budget counted what the allocator keeps
    // of evicted identifiers, the process peaked ~35 % over it (347 MiB), past the overhead.
    run_with(900_000_000, 256, TINY);
}

#[test]
#[ignore = "1 GiB through the release build: .ci/run runs it"]
fn budget_holds_under_a_gigabyte_of_hostile_traffic() {
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    run(
        env("LYNCSCOPE_HOSTILE_BYTES", 1 << 30),
        env("LYNCSCOPE_HOSTILE_LIMIT_MIB", 192),
    );
}
