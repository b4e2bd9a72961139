//! Safety of the command line (issue 16): an output never destroys an input, `-w` replaces a
//! file whole or not at all, a full disk keeps the report, a closed pipe ends quietly, signals
//! sent twice at once count once, and a pcapng with a bad byte-order magic says so.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn lyncscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("runs")
}

/// A fresh directory for one test.
fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lyncscope-safety-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../captures")
        .join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_pcapng_with_a_bad_byte_order_magic_says_so() {
    let d = dir("bom");
    let mut bytes = std::fs::read(sample("conference-join.pcapng")).expect("sample");
    bytes[8..12].copy_from_slice(&[0x12, 0x34, 0x56, 0x78]);
    let path = d.join("bad.pcapng");
    std::fs::write(&path, &bytes).expect("write");
    let out = lyncscope(&["--report", "json", s(&path)]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("pcapng section header with an unknown byte-order magic 0x12345678"),
        "{err}"
    );
    assert!(!err.contains("0x0a0d0d0a"), "{err}");

    // A second section whose header has a bad byte-order magic: the frames before it are read.
    let mut bytes = std::fs::read(sample("conference-join.pcapng")).expect("sample");
    bytes.extend_from_slice(&[0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x12, 0x34, 0x56, 0x78]);
    bytes.extend_from_slice(&[1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    bytes.extend_from_slice(&[28, 0, 0, 0]);
    std::fs::write(&path, &bytes).expect("write");
    let out = lyncscope(&["--report", "json", s(&path)]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("corrupt pcapng section header with an unknown byte-order magic 0x12345678"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&d);
}
