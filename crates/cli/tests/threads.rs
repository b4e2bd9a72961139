//! The output is the same whatever the thread count (issue 15): every report of every bundled
//! input — captures, logs (several at once, merged), TLS with its keys, the shared generator's
//! captures when `../shared` is there — and the `-w` capture are byte for byte the same with
//! `--threads 1` (everything on one thread) and `--threads 2` (reading and the layers before
//! the analysis on a thread of their own).

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Standard output of the binary with `args`, and the bytes of the `-w` file when `write`.
fn run(threads: &str, args: &[String], write: Option<&Path>) -> (Vec<u8>, Option<Vec<u8>>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lyncscope"));
    cmd.arg("--threads").arg(threads).args(args);
    if let Some(w) = write {
        cmd.arg("-w").arg(w);
    }
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "--threads {threads} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = write.map(|w| std::fs::read(w).expect("-w output"));
    (out.stdout, written)
}

fn same_either_way(what: &str, inputs: &[String]) {
    // A directory per call: the tests run at once.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("lyncscope-threads-{}-{call}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for report in [
        &["--report", "json", "--messages"][..],
        &["--report", "text"],
        &["--report", "csv", "--messages"],
        &["--report", "summary"],
    ] {
        let args: Vec<String> = report
            .iter()
            .map(|s| s.to_string())
            .chain(inputs.iter().cloned())
            .collect();
        // The capture written too, with the JSON report (one run of each kind is enough).
        let write = report.contains(&"json");
        // The same name both times: the report names the file it wrote.
        let w = dir.join("written.pcapng");
        let one = run("1", &args, write.then_some(w.as_path()));
        let _ = std::fs::remove_file(&w);
        let two = run("2", &args, write.then_some(w.as_path()));
        let _ = std::fs::remove_file(&w);
        assert!(!one.0.is_empty(), "{what} {report:?}: no output");
        if one.0 != two.0 {
            let (a, b) = (
                String::from_utf8_lossy(&one.0),
                String::from_utf8_lossy(&two.0),
            );
            let line = a
                .lines()
                .zip(b.lines())
                .position(|(x, y)| x != y)
                .unwrap_or(0);
            panic!(
                "{what} {report:?}: the reports differ from line {}:\n1: {}\n2: {}",
                line + 1,
                a.lines().nth(line).unwrap_or(""),
                b.lines().nth(line).unwrap_or("")
            );
        }
        assert!(one.1 == two.1, "{what}: the -w captures differ");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn paths(names: &[&str]) -> Vec<String> {
    names
        .iter()
        .map(|n| root().join(n).to_string_lossy().to_string())
        .collect()
}

#[test]
fn every_sample_capture_reports_the_same_on_one_and_two_threads() {
    let mut names: Vec<String> = std::fs::read_dir(root().join("captures"))
        .expect("captures/")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .collect();
    names.sort();
    assert!(names.len() >= 9, "{names:?}");
    for n in &names {
        same_either_way(n, &paths(&[&format!("captures/{n}")]));
    }
    // Every sample at once: one run over many files.
    let all: Vec<String> = names.iter().map(|n| format!("captures/{n}")).collect();
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    same_either_way("all samples", &paths(&all));
}

#[test]
fn logs_and_tls_report_the_same_on_one_and_two_threads() {
    // A Front End's log and the clients' logs of one join, merged.
    same_either_way(
        "conference-join logs",
        &paths(&[
            "captures/logs/conference-join/fe01.sipstack.log",
            "captures/logs/conference-join/alice.uccapi.log",
            "captures/logs/conference-join/bob.sipe.log",
            "captures/logs/conference-join/carol.uccapi.log",
        ]),
    );
    // TLS decrypted with a key log, and TLS 1.3 whose secrets the pcapng carries.
    let mut tls = vec!["--tls-keylog".to_string()];
    tls.extend(paths(&[
        "captures/tls/join-tls12-ecdhe.keylog",
        "captures/tls/join-tls12-ecdhe.pcap",
    ]));
    same_either_way("TLS 1.2 with a key log", &tls);
    same_either_way(
        "TLS 1.3 with a secrets block",
        &paths(&["captures/tls/join-tls13-dsb.pcapng"]),
    );
}

#[test]
fn generated_traffic_reports_the_same_on_one_and_two_threads() {
    let tool = root().join("../shared/tools/gen_sip_pcap.py");
    if !tool.exists() {
        eprintln!("SKIPPED: ../shared/tools/gen_sip_pcap.py not available");
        return;
    }
    let dir = std::env::temp_dir().join(format!("lyncscope-threads-gen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for transport in ["udp", "tcp"] {
        let out = dir.join(format!("gen-{transport}.pcap"));
        let ok = Command::new("python3")
            .arg(&tool)
            .args([
                "--messages",
                "20000",
                "--seed",
                "3",
                "--transport",
                transport,
            ])
            .arg("--out")
            .arg(&out)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("SKIPPED: python3 could not run the generator");
            return;
        }
        same_either_way(transport, &[out.to_string_lossy().to_string()]);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
