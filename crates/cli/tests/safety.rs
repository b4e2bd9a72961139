//! Safety of the command line (issue 16): an output never destroys an input, `-w` replaces a
//! file whole or not at all, a full disk keeps the report, a closed pipe ends quietly, signals
//! sent twice at once count once, and a pcapng with a bad byte-order magic says so.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

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

/// The names in `d`, sorted.
fn listing(d: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(d)
        .expect("lists")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const PCAP_HEADER: [u8; 24] = [
    0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0,
];

/// A pcap record: Ethernet/IPv4/UDP 5060 carrying the `n`th SIP MESSAGE (each its own dialog,
/// so that the report grows with `n`).
fn record(n: u32) -> Vec<u8> {
    let sip = format!(
        "MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK{n}\r\n\
         From: <sip:alice@example.com>;tag={n}\r\nTo: <sip:bob@example.com>\r\n\
         Call-ID: call-{n}@example.com\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n"
    );
    let total = 20 + 8 + sip.len();
    let mut frame = vec![0u8; 12];
    frame.extend_from_slice(&[0x08, 0x00]);
    let mut ip = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        (n >> 8) as u8,
        n as u8,
        0,
        0,
        64,
        17,
        0,
        0,
        192,
        0,
        2,
        1,
        192,
        0,
        2,
        2,
    ];
    let mut sum: u32 = ip
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    frame.extend_from_slice(&ip);
    frame.extend_from_slice(&5060u16.to_be_bytes());
    frame.extend_from_slice(&5060u16.to_be_bytes());
    frame.extend_from_slice(&((8 + sip.len()) as u16).to_be_bytes());
    frame.extend_from_slice(&[0, 0]);
    frame.extend_from_slice(sip.as_bytes());
    let mut rec = Vec::new();
    rec.extend_from_slice(&(1_700_000_000 + n / 1000).to_le_bytes());
    rec.extend_from_slice(&((n % 1000) * 1000).to_le_bytes());
    rec.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    rec.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    rec.extend_from_slice(&frame);
    rec
}

/// A pcap of `count` SIP messages, each in its own dialog.
fn many_messages(count: u32) -> Vec<u8> {
    let mut f = PCAP_HEADER.to_vec();
    for n in 0..count {
        f.extend_from_slice(&record(n));
    }
    f
}

#[test]
fn an_output_that_is_an_input_is_refused_before_it_is_opened() {
    let d = dir("same-file");
    let input = d.join("x.pcapng");
    let original = std::fs::read(sample("conference-join.pcapng")).expect("sample");
    std::fs::write(&input, &original).expect("copy");
    std::fs::create_dir_all(d.join("sub")).expect("sub dir");
    let link = d.join("link.pcapng");
    std::os::unix::fs::symlink(&input, &link).expect("symlink");
    let hard = d.join("hard.pcapng");
    std::fs::hard_link(&input, &hard).expect("hard link");
    let dotdot = d.join("sub/../x.pcapng");
    let other = sample("conference-join.pcapng");
    let cases: Vec<(&str, Vec<&str>)> = vec![
        (
            "same name",
            vec!["--report", "json", "-w", s(&input), s(&input)],
        ),
        (
            "symlink",
            vec!["--report", "json", "-w", s(&link), s(&input)],
        ),
        (
            "../ path",
            vec!["--report", "json", "-w", s(&dotdot), s(&input)],
        ),
        (
            "hard link",
            vec!["--report", "json", "-w", s(&hard), s(&input)],
        ),
        (
            "-r",
            vec!["--report", "text", "-r", s(&input), "-w", s(&link)],
        ),
        (
            "--write-decrypted",
            vec!["--report", "json", "--write-decrypted", s(&hard), s(&input)],
        ),
        (
            "a key log",
            vec![
                "--report",
                "json",
                "--tls-keylog",
                s(&input),
                "-w",
                s(&link),
                s(&other),
            ],
        ),
    ];
    for (what, args) in cases {
        let out = lyncscope(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{what}: {err}");
        assert_eq!(err.lines().count(), 1, "{what}: one line: {err}");
        assert!(err.contains("is the input"), "{what}: {err}");
        assert!(out.stdout.is_empty(), "{what}: no report");
        assert_eq!(
            std::fs::read(&input).expect("input"),
            original,
            "{what}: the input is intact"
        );
        assert_eq!(
            listing(&d),
            ["hard.pcapng", "link.pcapng", "sub", "x.pcapng"],
            "{what}: nothing created"
        );
    }

    // Standard input redirected from the file is that file too.
    let out = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .args(["--report", "json", "-w", s(&link), "-"])
        .stdin(std::fs::File::open(&input).expect("opens"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "stdin: {}", stderr(&out));
    assert!(stderr(&out).contains("standard input"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&input).expect("input"), original);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn w_replaces_an_old_file_whole_and_leaves_no_temporary_file() {
    let d = dir("replace");
    let out_path = d.join("out.pcap");
    std::fs::write(
        &out_path,
        b"an older file, longer than the new one will be? no",
    )
    .expect("old");
    let input = sample("conference-join.pcapng");
    let out = lyncscope(&["--report", "json", "-w", s(&out_path), s(&input)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(listing(&d), ["out.pcap"], "no temporary file is left");
    let written = std::fs::read(&out_path).expect("written");
    assert_eq!(
        written.get(..4),
        Some(&[0x4d, 0x3c, 0xb2, 0xa1][..]),
        "a nanosecond pcap"
    );
    let again = lyncscope(&["--report", "json", s(&out_path)]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let _ = std::fs::remove_dir_all(&d);
}

/// Unmounts on drop, so that a failed assertion leaves no mount behind.
struct Tmpfs(PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn a_full_disk_keeps_the_old_file_and_the_report() {
    let d = dir("full");
    let input = d.join("big.pcap");
    // About 1.5 MB of SIP packets for a 64 KiB file system.
    std::fs::write(&input, many_messages(4000)).expect("input");
    let mnt = d.join("mnt");
    std::fs::create_dir_all(&mnt).expect("mount point");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs", s(&mnt)])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|st| st.success());
    if !mounted {
        // /dev/full does not fit here: -w writes beside its file and renames, and /dev is not
        // full.
        eprintln!("skipped: cannot mount a small tmpfs (needs root) to fill a file system");
        let _ = std::fs::remove_dir_all(&d);
        return;
    }
    let _unmount = Tmpfs(mnt.clone());
    let old = mnt.join("out.pcap");
    std::fs::write(&old, b"the old file").expect("old file");
    let out = lyncscope(&["--report", "json", "-w", s(&old), s(&input)]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("the report is printed whole");
    assert_eq!(report["stats"]["sip_messages"], 4000, "{report}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.contains(s(&old)) && last.contains("No space left on device"),
        "{err}"
    );
    assert_eq!(std::fs::read(&old).expect("old"), b"the old file");
    assert_eq!(listing(&mnt), ["out.pcap"], "the temporary file is removed");
    drop(_unmount);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_json_report_to_a_closed_pipe_ends_quietly() {
    let d = dir("pipe");
    let input = d.join("big.pcap");
    // A report far larger than a pipe's buffer, so that writing it meets the closed pipe.
    std::fs::write(&input, many_messages(3000)).expect("input");
    for format in ["json", "text", "csv"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
            .args(["--report", format, s(&input)])
            .args(if format == "text" {
                &[][..]
            } else {
                &["--messages"][..]
            })
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("runs");
        let mut first = [0u8; 10];
        child
            .stdout
            .take()
            .expect("stdout")
            .read_exact(&mut first)
            .expect("ten bytes");
        // `| head -c 10`: the reader is gone.
        let out = child.wait_with_output().expect("waits");
        assert_eq!(out.status.code(), Some(0), "{format}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{format}");
    }
    let _ = std::fs::remove_dir_all(&d);
}

fn signal(child: &Child, name: &str) {
    let st = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(st.success());
}

/// Waits for `child` at most `limit`.
fn wait(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(st) = child.try_wait().expect("waits") {
            return Some(st);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Starts lyncscope reading a capture from a pipe the test keeps feeding (so that it is busy
/// reading when signalled); the report goes to `report`.
fn busy(report: &Path) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .args(["--report", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(report).expect("report file"))
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let mut stdin = child.stdin.take().expect("stdin");
    std::thread::spawn(move || {
        if stdin.write_all(&PCAP_HEADER).is_err() {
            return;
        }
        // Until lyncscope exits and the pipe breaks.
        for n in 0.. {
            if stdin.write_all(&record(n % 50_000)).is_err() {
                return;
            }
        }
    });
    // Past the setup (signal handlers are installed before the first packet is read).
    std::thread::sleep(Duration::from_millis(1500));
    child
}

#[test]
fn two_signals_at_once_are_taken_as_one() {
    let d = dir("signal-once");
    let report = d.join("report.json");
    let mut child = busy(&report);
    // `timeout -s INT`, or Ctrl-C reaching a whole pipeline: the same signal twice at once.
    signal(&child, "INT");
    signal(&child, "INT");
    let status = wait(&mut child, Duration::from_secs(60)).expect("ends");
    let mut err = String::new();
    let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut err));
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.contains("interrupted after"), "{err}");
    let text = std::fs::read(&report).expect("report");
    let json: serde_json::Value = serde_json::from_slice(&text).expect("a whole report");
    assert!(json["stats"]["sip_messages"].as_u64() > Some(0), "{json}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_second_signal_after_the_window_ends_at_once() {
    let d = dir("signal-twice");
    let input = d.join("big.pcap");
    std::fs::write(&input, many_messages(3000)).expect("input");
    // The report does not fit in the pipe and nobody reads it: the run stays blocked writing
    // it, as a run that hangs would.
    let mut child = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .args(["--report", "json", "--messages", s(&input)])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("runs");
    std::thread::sleep(Duration::from_millis(1500));
    signal(&child, "TERM");
    std::thread::sleep(Duration::from_millis(1000));
    assert!(
        child.try_wait().expect("waits").is_none(),
        "still blocked writing"
    );
    signal(&child, "INT");
    let status = wait(&mut child, Duration::from_secs(10)).expect("ends at once");
    assert_eq!(status.code(), Some(130));
    let _ = std::fs::remove_dir_all(&d);
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

/// Reads the JSON report from `out`, checks that it covers the `n` messages written and says
/// it was interrupted.
fn interrupted_report(out: &[u8], n: u64) {
    let json: serde_json::Value = serde_json::from_slice(out).expect("a JSON report");
    assert_eq!(json["stats"]["sip_messages"], n, "{json}");
    let warnings = json["warnings"].to_string();
    assert!(warnings.contains("interrupted"), "{warnings}");
}

/// `producer | lyncscope --report json -` with a producer that wrote part of a capture and
/// keeps the pipe open: a signal ends the read at once, and the report covers what was read.
#[test]
fn a_signal_ends_a_read_from_a_pipe_whose_writer_keeps_it_open() {
    let d = dir("pipe");
    for sig in ["INT", "TERM"] {
        let report = d.join(format!("{sig}.json"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
            .args(["--report", "json", "-"])
            .stdin(Stdio::piped())
            .stdout(std::fs::File::create(&report).expect("report file"))
            .stderr(Stdio::piped())
            .spawn()
            .expect("runs");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(&many_messages(300)).expect("writes");
        stdin.flush().expect("flushes");
        // The writer stays: lyncscope has read everything and waits for more.
        std::thread::sleep(Duration::from_millis(1500));
        signal(&child, sig);
        let asked = Instant::now();
        let status = wait(&mut child, Duration::from_secs(5));
        let took = asked.elapsed();
        drop(stdin);
        let status = status.unwrap_or_else(|| panic!("SIG{sig}: still reading after 5 s"));
        assert_eq!(status.code(), Some(0), "SIG{sig}");
        assert!(took < Duration::from_secs(2), "SIG{sig}: took {took:?}");
        interrupted_report(&std::fs::read(&report).expect("report"), 300);
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// The same for a FIFO named on the command line.
#[test]
fn a_signal_ends_a_read_from_a_fifo_whose_writer_keeps_it_open() {
    let d = dir("fifo");
    let fifo = d.join("capture.fifo");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let report = d.join("report.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .args(["--report", "json", s(&fifo)])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&report).expect("report file"))
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    // Opening for writing waits for lyncscope to open it for reading.
    let mut writer = std::fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .expect("opens the FIFO");
    writer.write_all(&many_messages(200)).expect("writes");
    std::thread::sleep(Duration::from_millis(1500));
    signal(&child, "TERM");
    let asked = Instant::now();
    let status = wait(&mut child, Duration::from_secs(5));
    let took = asked.elapsed();
    drop(writer);
    let status = status.expect("still reading after 5 s");
    assert_eq!(status.code(), Some(0));
    assert!(took < Duration::from_secs(2), "took {took:?}");
    interrupted_report(&std::fs::read(&report).expect("report"), 200);
    let _ = std::fs::remove_dir_all(&d);
}

/// A pcap record of an Ethernet/IPv4 frame carrying UDP (`seq` None) or a TCP segment from
/// 192.0.2.1:40000 to 192.0.2.2:5060, at `n` milliseconds.
fn ip_record(n: u32, seq: Option<u32>, payload: &[u8]) -> Vec<u8> {
    let l4 = if seq.is_some() { 20 } else { 8 };
    let total = 20 + l4 + payload.len();
    let mut frame = vec![0u8; 12];
    frame.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
    frame.extend_from_slice(&(total as u16).to_be_bytes());
    frame.extend_from_slice(&(n as u16).to_be_bytes());
    let proto = if seq.is_some() { 6 } else { 17 };
    frame.extend_from_slice(&[0x40, 0, 64, proto, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2]);
    frame.extend_from_slice(&40000u16.to_be_bytes());
    frame.extend_from_slice(&5060u16.to_be_bytes());
    match seq {
        Some(seq) => {
            frame.extend_from_slice(&seq.to_be_bytes());
            frame.extend_from_slice(&[0, 0, 0, 0, 5 << 4, 0x10, 0xff, 0xff, 0, 0, 0, 0]);
        }
        None => {
            frame.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
            frame.extend_from_slice(&[0, 0]);
        }
    }
    frame.extend_from_slice(payload);
    let mut rec = Vec::new();
    rec.extend_from_slice(&(1_700_000_000 + n / 1000).to_le_bytes());
    rec.extend_from_slice(&((n % 1000) * 1000).to_le_bytes());
    rec.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    rec.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    rec.extend_from_slice(&frame);
    rec
}

const FOCUS: &str = "sip:alice@example.com;gruu;opaque=app:conf:focus:id";

/// A focus INVITE from `user` to conference `id`.
fn focus_invite(id: &str, user: &str, call_id: &str) -> Vec<u8> {
    format!(
        "INVITE {FOCUS}:{id} SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK{call_id}\r\n\
         From: <sip:{user}@example.com>;tag=t{call_id}\r\nTo: <{FOCUS}:{id}>\r\n\
         Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// 150,000 conferences (50,000 over the bound), one of them with 12,000 participants (2,000
/// over) and a roster of 118,000 users (108,000 over) sent over TCP.
fn over_the_bounds() -> Vec<u8> {
    let mut f = PCAP_HEADER.to_vec();
    let mut n = 0u32;
    let mut next = || {
        n += 1;
        n
    };
    // The big conference and the roster first, so that they are among the tracked ones.
    for u in 0..12_000 {
        let m = focus_invite("BIG", &format!("u{u}"), &format!("p{u}"));
        f.extend(ip_record(next(), None, &m));
    }
    let subscribe = format!(
        "SUBSCRIBE {FOCUS}:BIG SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bKs\r\n\
         From: <sip:u0@example.com>;tag=b1\r\nTo: <{FOCUS}:BIG>\r\nCall-ID: roster\r\n\
         CSeq: 1 SUBSCRIBE\r\nEvent: conference\r\nContent-Length: 0\r\n\r\n"
    );
    let mut body = format!(
        "<conference-info xmlns=\"urn:ietf:params:xml:ns:conference-info\" \
         entity=\"{FOCUS}:BIG\" state=\"full\" version=\"1\"><users>"
    );
    for u in 0..118_000 {
        // Short, so that the document stays under the 4 MiB a TCP message may hold.
        body.push_str(&format!("<user entity=\"sip:r{u}@x\"/>"));
    }
    body.push_str("</users></conference-info>");
    let notify = format!(
        "NOTIFY sip:bob@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.2;branch=z9hG4bKn\r\n\
         From: <{FOCUS}:BIG>;tag=f1\r\nTo: <sip:u0@example.com>;tag=b1\r\nCall-ID: roster\r\n\
         CSeq: 1 NOTIFY\r\nEvent: conference\r\n\
         Content-Type: application/conference-info+xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = subscribe.into_bytes();
    stream.extend_from_slice(notify.as_bytes());
    let mut seq = 1000u32;
    for chunk in stream.chunks(60_000) {
        f.extend(ip_record(next(), Some(seq), chunk));
        seq += chunk.len() as u32;
    }
    // With BIG, 150,000.
    for c in 1..150_000 {
        let m = focus_invite(&format!("C{c}"), "bob", &format!("c{c}"));
        f.extend(ip_record(next(), None, &m));
    }
    f
}

/// The counters of bounds that dropped something, in both reports (issue 16: only the UI
/// showed dropped conferences; participants and roster users were not counted at all).
#[test]
fn every_bound_hit_is_counted_in_both_reports() {
    let d = dir("bounds");
    let capture = d.join("over.pcap");
    std::fs::write(&capture, over_the_bounds()).expect("writes");
    // Both reports at once (each reads 57 MB in the debug build).
    let text_run = {
        let capture = capture.clone();
        std::thread::spawn(move || lyncscope(&["--report", "text", s(&capture)]))
    };
    let json = lyncscope(&["--report", "json", s(&capture)]);
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let st = &v["stats"];
    assert_eq!(st["conferences"], 100_000);
    assert_eq!(st["conferences_dropped"], 50_000, "{st}");
    assert_eq!(st["participants_dropped"], 2_000, "{st}");
    assert_eq!(st["roster_users_dropped"], 108_000, "{st}");
    let hit: Vec<&str> = st["bounds_hit"]
        .as_array()
        .expect("bounds_hit")
        .iter()
        .filter_map(|h| h["bound"].as_str())
        .collect();
    assert_eq!(
        hit,
        [
            "conferences_dropped",
            "participants_dropped",
            "roster_users_dropped"
        ]
    );
    let text = text_run.join().expect("text report");
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    let problems = text
        .lines()
        .find(|l| l.trim_start().starts_with("Problems:"))
        .expect("a Problems line");
    for said in [
        "50000 conferences not tracked (bound: 100,000 conferences;",
        "2000 participants dropped (bound: 10,000 participants per conference;",
        "108000 roster users dropped (bound: 10,000 users per roster;",
    ] {
        assert!(problems.contains(said), "{said}: {problems}");
    }
    let _ = std::fs::remove_dir_all(&d);
}
