//! Log throughput (`cargo bench --bench logs`): a Front End SIPStack log of 1,000,000 SIP
//! messages analysed by the whole pipeline (log reading, framing, dialogs, conferences), in MB
//! of log text per second on one core. Target: ≥ 300 MB/s.
//!
//! The log is made once (cached in `target/bench-data/`): the messages of the 100k-message
//! UDP benchmark capture (`../shared/tools/gen_sip_pcap.py --seed 1`), written ten times as
//! SIPStack records by `lyncscope-logs`'s writer, each pass with its own Call-IDs and an hour
//! later, so the log has a million distinct messages.

use lyncscope::inputs::Inputs;
use lyncscope::pipeline::{run, Pipeline};
use lyncscope_logs::{Direction, Endpoint, Host, WriteMeta};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const PASSES: usize = 10;

fn main() {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let dir = root.join("target/bench-data");
    let log = dir.join("lync-1m.sipstack.log");
    if !log.exists() {
        let Some(capture) = capture(root, &dir) else {
            eprintln!("no capture to make the log from (python3 or ../shared missing?)");
            return;
        };
        if let Err(e) = make_log(&capture, &log) {
            eprintln!("making {}: {e}", log.display());
            return;
        }
    }
    let size = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    let runs: usize = std::env::var("LYNCSCOPE_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let mut times = Vec::new();
    let mut messages = 0;
    for _ in 0..runs {
        let path = vec![log.display().to_string()];
        let mut inputs = Inputs::open(&path, &Default::default()).expect("log opens");
        let mut p = Pipeline::new(&Default::default());
        let t = Instant::now();
        run(&mut inputs, &mut p);
        times.push(t.elapsed().as_secs_f64());
        messages = p.stats().analysis.sip_messages;
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let mb = size as f64 / 1e6;
    println!(
        "SIPStack log: {mb:.0} MB, {messages} SIP messages, median of {runs}: {median:.2} s = {:.0} MB/s, {:.2} M msg/s (target ≥ 300 MB/s)",
        mb / median,
        messages as f64 / median / 1e6
    );
}

fn capture(root: &Path, dir: &Path) -> Option<PathBuf> {
    let out = dir.join("lync-100k-udp.pcap");
    if out.exists() {
        return Some(out);
    }
    std::fs::create_dir_all(dir).ok()?;
    let status = Command::new("python3")
        .arg(root.join("../shared/tools/gen_sip_pcap.py"))
        .args([
            "--seed",
            "1",
            "--messages",
            "100000",
            "--transport",
            "udp",
            "--out",
        ])
        .arg(&out)
        .status()
        .ok()?;
    status.success().then_some(out)
}

fn make_log(capture: &Path, log: &Path) -> std::io::Result<()> {
    let path = vec![capture.display().to_string()];
    let mut inputs = Inputs::open(&path, &Default::default()).map_err(std::io::Error::other)?;
    let mut p = Pipeline::new(&lyncscope::Options {
        keep_messages: true,
        message_store: true,
        ..Default::default()
    });
    run(&mut inputs, &mut p);
    let a = p.analysis();
    let store = a.store().ok_or_else(|| std::io::Error::other("no store"))?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(log)?);
    for pass in 0..PASSES {
        for (i, m) in a.messages().iter().enumerate() {
            let Some(bytes) = store.get(i) else { continue };
            let bytes = with_call_id_suffix(&bytes, pass);
            let ep = |s: std::net::SocketAddr| Endpoint {
                host: Host::Ip(s.ip()),
                port: Some(s.port()),
            };
            let flow = a.flow(m.flow());
            let meta = WriteMeta {
                time_ns: m.time().0 + pass as i64 * 3_600_000_000_000,
                utc_offset_secs: 0,
                direction: Direction::Received,
                local: Some(ep(flow.dst)),
                remote: Some(ep(flow.src)),
                server: "fe01.example.com",
                pid: 0x1a2b,
                tid: 0x3c4d,
                sequence: i as u32,
            };
            lyncscope_logs::write_sipstack(&mut out, &bytes, &meta)?;
        }
    }
    out.flush()
}

/// The message with `-<pass>` after its Call-ID value, so each pass is other dialogs.
fn with_call_id_suffix(msg: &[u8], pass: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + 4);
    let mut rest = msg;
    while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
        let (line, tail) = rest.split_at(nl + 1);
        let is_call_id = line.len() > 8
            && (line[..8].eq_ignore_ascii_case(b"call-id:")
                || line[..2].eq_ignore_ascii_case(b"i:"));
        if is_call_id && pass > 0 {
            let end = line.len() - if line.ends_with(b"\r\n") { 2 } else { 1 };
            out.extend_from_slice(&line[..end]);
            out.extend_from_slice(format!("-{pass}").as_bytes());
            out.extend_from_slice(&line[end..]);
        } else {
            out.extend_from_slice(line);
        }
        if line == b"\r\n" || line == b"\n" {
            out.extend_from_slice(tail);
            return out;
        }
        rest = tail;
    }
    out.extend_from_slice(rest);
    out
}
