//! Live capture end to end (feature `live`; needs root or CAP_NET_RAW, else each test says
//! SKIPPED): a conference join from the sample scenarios is replayed over real sockets on
//! 127.0.0.1 — UDP sockets for the UDP scenario, TCP connections for the TCP one, each SIP
//! message's bytes with the scenario's relative timing, compressed — while the real binary
//! captures with `lyncscope -i lo --report json`. The conferences, participants and states it
//! reports must be the ones the scenario's capture file gives, every message must be counted,
//! and the `-w` file must hold them all.
//!
//! The load test (`live_load_50k_messages_per_second`, ignored by default; `.ci/run` runs it)
//! sends at least 50,000 SIP messages per second for 10 s over loopback and checks that every
//! one is reported, that the kernel dropped nothing and that the resident set stays bounded.

#![cfg(feature = "live")]

use lyncscope::capture::{CaptureFiles, Frame};
use lyncscope::linktype;
use lyncscope::net::{NetDecoder, NetOutput};
use lyncscope::pipeline::Pipeline;
use lyncscope::sip::Message;
use lyncscope::transport::{MsgContext, SipSink, Transport, TransportLayer};
use lyncscope_synth::scenarios;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Root (or at least uid 0) is needed to open a capture; CI runs as root.
fn can_capture(test: &str) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap_or("");
    if euid != "0" {
        eprintln!("SKIPPED {test}: live capture needs root (or CAP_NET_RAW on the binary)");
        return false;
    }
    true
}

/// One SIP message of a scenario: when, from where to where, over what, its bytes.
struct Msg {
    time: i64,
    src: SocketAddr,
    dst: SocketAddr,
    transport: Transport,
    bytes: Vec<u8>,
}

struct Collect(Vec<Msg>);

impl SipSink for Collect {
    fn message(&mut self, ctx: &MsgContext, msg: &Message<'_>) {
        self.0.push(Msg {
            time: ctx.time.0,
            src: ctx.src,
            dst: ctx.dst,
            transport: ctx.transport,
            bytes: msg.raw().to_vec(),
        });
    }
}

/// The SIP messages of a scenario, in capture order, as the pipeline's lower layers frame them.
fn scenario_messages(name: &str) -> Vec<Msg> {
    let s = scenarios()
        .into_iter()
        .find(|s| s.name == name)
        .expect("scenario");
    let g = (s.build)();
    let mut net = NetDecoder::new();
    let mut transport = TransportLayer::new();
    let mut sink = Collect(Vec::new());
    for (i, (ts, _, data)) in g.packets().enumerate() {
        let frame = Frame {
            number: i as u64 + 1,
            timestamp: ts,
            link_type: linktype::ETHERNET,
            data,
            original_len: data.len() as u32,
            source: 0,
        };
        if let NetOutput::Packet(p) = net.decode(&frame) {
            transport.handle(&frame, &p, &mut sink);
        }
    }
    transport.finish(&mut sink);
    assert_eq!(sink.0.len(), g.sip_messages, "{name}: messages framed");
    sink.0
}

fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lyncscope-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

/// The running binary, its standard output collected by a thread.
struct Capture {
    child: Child,
    stdout: mpsc::Receiver<String>,
}

/// Starts `lyncscope ARGS` and waits until it says it is capturing.
fn start_capture(args: &[&str]) -> Capture {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lyncscope starts");
    let mut stdout = child.stdout.take().expect("stdout");
    let (out_tx, out_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        let _ = out_tx.send(s);
    });
    let stderr = child.stderr.take().expect("stderr");
    let (line_tx, line_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[lyncscope] {line}");
            let _ = line_tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match line_rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) if line.contains("capturing on") => break,
            Ok(_) => {}
            Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
            Err(e) => panic!("lyncscope did not start capturing: {e:?}"),
        }
    }
    // Keep the rest of standard error flowing to the test's output.
    std::thread::spawn(move || while line_rx.recv().is_ok() {});
    Capture {
        child,
        stdout: out_rx,
    }
}

impl Capture {
    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits for the exit (at most `limit`) and parses the JSON report.
    fn report(mut self, limit: Duration) -> Value {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("lyncscope did not stop within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "lyncscope exit status {status}");
        let out = self
            .stdout
            .recv_timeout(Duration::from_secs(10))
            .expect("report");
        serde_json::from_str(&out).expect("JSON report")
    }
}

/// The JSON report of a file (the reference the live capture must equal).
fn file_report(path: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .args(["--report", "json", path])
        .output()
        .expect("runs");
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// Conference id → (organizer, participants: uri → (invited_by, state, failed_step)).
type Summary = BTreeMap<String, (Value, BTreeMap<String, (Value, Value, Value)>)>;

fn conference_summary(report: &Value) -> Summary {
    let mut out = BTreeMap::new();
    for c in report["conferences"].as_array().expect("conferences") {
        let mut participants = BTreeMap::new();
        for p in c["participants"].as_array().expect("participants") {
            participants.insert(
                p["uri"].as_str().expect("uri").to_owned(),
                (
                    p["invited_by"].clone(),
                    p["state"].clone(),
                    p["failed_step"].clone(),
                ),
            );
        }
        out.insert(
            c["id"].as_str().expect("id").to_owned(),
            (c["organizer"].clone(), participants),
        );
    }
    out
}

/// Gap between two messages of the replay: the scenario's, divided by 20, at most 25 ms.
fn replay_gap(prev: i64, now: i64) -> Duration {
    let ns = ((now - prev).max(0) / 20).min(25_000_000);
    Duration::from_nanos(ns as u64)
}

/// UDP: one socket per endpoint of the scenario; every message is sent from its source's
/// socket to its destination's. Returns the ports used.
fn replay_udp(msgs: &[Msg], sockets: &HashMap<SocketAddr, UdpSocket>) {
    let mut prev = msgs.first().map_or(0, |m| m.time);
    for m in msgs {
        std::thread::sleep(replay_gap(prev, m.time));
        prev = m.time;
        let to = sockets[&m.dst].local_addr().expect("addr");
        sockets[&m.src].send_to(&m.bytes, to).expect("send");
    }
}

fn udp_sockets(msgs: &[Msg]) -> HashMap<SocketAddr, UdpSocket> {
    let mut sockets = HashMap::new();
    for m in msgs {
        for ep in [m.src, m.dst] {
            sockets.entry(ep).or_insert_with(|| {
                let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
                s.set_nonblocking(true).expect("nonblocking");
                s
            });
        }
    }
    sockets
}

/// TCP: the FE's endpoint (port 5060/5061) becomes a listener; each client endpoint connects
/// to it once, and every message is written on its side of its connection.
struct TcpReplay {
    listeners: HashMap<SocketAddr, TcpListener>,
    /// (client endpoint, server endpoint) → (client side, server side).
    conns: HashMap<(SocketAddr, SocketAddr), (TcpStream, TcpStream)>,
}

fn is_server(ep: &SocketAddr) -> bool {
    matches!(ep.port(), 5060 | 5061)
}

impl TcpReplay {
    fn new(msgs: &[Msg]) -> Self {
        let mut listeners = HashMap::new();
        let mut conns = HashMap::new();
        for m in msgs {
            assert_eq!(m.transport, Transport::Tcp);
            let (client, server) = if is_server(&m.dst) {
                (m.src, m.dst)
            } else {
                assert!(is_server(&m.src), "{} ↔ {}: no FE side", m.src, m.dst);
                (m.dst, m.src)
            };
            let listener = listeners
                .entry(server)
                .or_insert_with(|| TcpListener::bind("127.0.0.1:0").expect("listen"));
            if conns.contains_key(&(client, server)) {
                continue;
            }
            let c = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
            let (s, _) = listener.accept().expect("accept");
            for stream in [&c, &s] {
                stream.set_nodelay(true).expect("nodelay");
                // The peer discards what it receives.
                let mut reader = stream.try_clone().expect("clone");
                std::thread::spawn(move || {
                    let mut buf = [0u8; 65536];
                    while matches!(reader.read(&mut buf), Ok(n) if n > 0) {}
                });
            }
            conns.insert((client, server), (c, s));
        }
        TcpReplay { listeners, conns }
    }

    fn ports(&self) -> Vec<u16> {
        self.listeners
            .values()
            .map(|l| l.local_addr().expect("addr").port())
            .collect()
    }

    fn replay(&mut self, msgs: &[Msg]) {
        let mut prev = msgs.first().map_or(0, |m| m.time);
        for m in msgs {
            std::thread::sleep(replay_gap(prev, m.time));
            prev = m.time;
            let stream = if is_server(&m.dst) {
                &mut self.conns.get_mut(&(m.src, m.dst)).expect("conn").0
            } else {
                &mut self.conns.get_mut(&(m.dst, m.src)).expect("conn").1
            };
            stream.write_all(&m.bytes).expect("write");
        }
    }

    fn close(self) {
        for (c, s) in self.conns.into_values() {
            let _ = c.shutdown(std::net::Shutdown::Both);
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

fn port_filter(proto: &str, ports: &[u16]) -> String {
    ports
        .iter()
        .map(|p| format!("{proto} port {p}"))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// SIP messages in a capture file (the `-w` output).
fn sip_messages_in(path: &std::path::Path) -> u64 {
    let mut files = CaptureFiles::open(&[path.to_string_lossy().to_string()]).expect("opens");
    let mut p = Pipeline::new(&lyncscope::Options::default());
    lyncscope::pipeline::run(&mut files, &mut p);
    p.stats().analysis.sip_messages
}

/// The live report's conferences equal the file's; every message was captured and written.
fn check(name: &str, file: &str, live: &Value, written: &std::path::Path, messages: usize) {
    let reference = file_report(&format!(
        "{}/captures/{file}",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../..")
    ));
    let expected = conference_summary(&reference);
    assert!(!expected.is_empty(), "{name}: the scenario has conferences");
    eprintln!("{name}: expected conferences {expected:?}");
    assert_eq!(conference_summary(live), expected, "{name}: conferences");
    assert_eq!(
        live["stats"]["sip_messages"].as_u64(),
        Some(messages as u64),
        "{name}: every SIP message captured"
    );
    assert_eq!(
        live["stats"]["dialogs"], reference["stats"]["dialogs"],
        "{name}: dialogs"
    );
    assert_eq!(
        live["capture"]["dropped"].as_u64(),
        Some(0),
        "{name}: drops"
    );
    assert_eq!(live["written"]["packets_lost"].as_u64(), Some(0));
    assert_eq!(
        sip_messages_in(written),
        messages as u64,
        "{name}: -w file holds every message"
    );
}

#[test]
fn live_udp_conference_join_stopped_by_sigterm() {
    if !can_capture("live_udp_conference_join_stopped_by_sigterm") {
        return;
    }
    let msgs = scenario_messages("join-udp-fragments");
    let sockets = udp_sockets(&msgs);
    let ports: Vec<u16> = sockets
        .values()
        .map(|s| s.local_addr().expect("addr").port())
        .collect();
    let filter = port_filter("udp", &ports);
    let written = temp_path("udp.pcap");
    let cap = start_capture(&[
        "-i",
        "lo",
        "--report",
        "json",
        "-f",
        &filter,
        "-w",
        &written.to_string_lossy(),
    ]);
    replay_udp(&msgs, &sockets);
    // No wait: the last datagrams are still in the kernel's buffer when the signal comes, and
    // the drain must bring them in.
    cap.terminate();
    let live = cap.report(Duration::from_secs(20));
    check(
        "join-udp-fragments",
        "join-udp-fragments.pcap",
        &live,
        &written,
        msgs.len(),
    );
}

/// `-i lo` and `--hep-listen` in one run: the UDP conference join is replayed on loopback
/// (captured) while an agent sends another capture over HEP; one report holds both, each
/// message with its origin (the interface, or the agent).
#[test]
fn live_capture_and_hep_collector_in_one_report() {
    if !can_capture("live_capture_and_hep_collector_in_one_report") {
        return;
    }
    let msgs = scenario_messages("join-udp-fragments");
    let sockets = udp_sockets(&msgs);
    let ports: Vec<u16> = sockets
        .values()
        .map(|s| s.local_addr().expect("addr").port())
        .collect();
    let filter = port_filter("udp", &ports);
    let hep_port = UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("port")
        .port();
    let hep = format!("udp:127.0.0.1:{hep_port}");
    let cap = start_capture(&[
        "-i",
        "lo",
        "--report",
        "json",
        "--messages",
        "-f",
        &filter,
        "--hep-listen",
        &hep,
    ]);
    let other = format!(
        "{}/captures/av-mcu-rejected.pcapng",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../..")
    );
    // The agent sends while the replay runs.
    let agent = {
        let (hep, other) = (hep.clone(), other.clone());
        std::thread::spawn(move || {
            Command::new(env!("CARGO_BIN_EXE_lyncscope"))
                .args(["--report", "json", "--hep-node-id", "5", "--hep-send", &hep])
                .arg(&other)
                .output()
                .expect("agent runs")
        })
    };
    replay_udp(&msgs, &sockets);
    let sent = agent.join().expect("agent");
    assert!(sent.status.success());
    let sent: Value = serde_json::from_slice(&sent.stdout).expect("JSON");
    let n_sent = sent["stats"]["sip_messages"].as_u64().expect("count");
    std::thread::sleep(Duration::from_millis(300));
    cap.terminate();
    let live = cap.report(Duration::from_secs(20));
    assert_eq!(
        live["stats"]["sip_messages"].as_u64(),
        Some(msgs.len() as u64 + n_sent)
    );
    let mut expected = conference_summary(&file_report(&format!(
        "{}/captures/join-udp-fragments.pcap",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../..")
    )));
    expected.extend(conference_summary(&sent));
    assert_eq!(conference_summary(&live), expected);
    let origins: Vec<Value> = live["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .flat_map(|m| m["origin"].as_array().cloned().unwrap_or_default())
        .collect();
    let of_lo = origins.iter().filter(|o| o["file"] == "lo").count();
    let of_agent = origins.iter().filter(|o| o["agent"] == 5).count();
    assert_eq!((of_lo, of_agent as u64), (msgs.len(), n_sent));
    assert_eq!(live["capture"]["dropped"].as_u64(), Some(0));
    assert_eq!(live["hep"]["agents"][0]["node_id"], 5);
    assert_eq!(live["sources"][0], "lo");
    assert_eq!(live["sources"][1], hep.as_str());
}

/// Replays a TCP scenario while `lyncscope -i lo` captures; stops it with `--duration` or, if
/// `duration` is false, with SIGTERM right after the replay.
fn live_tcp(name: &str, file: &str, duration: bool) {
    let msgs = scenario_messages(name);
    let mut tcp = TcpReplay::new(&msgs);
    let filter = port_filter("tcp", &tcp.ports());
    let written = temp_path(&format!("{name}.pcap"));
    let written_arg = written.to_string_lossy().to_string();
    let mut args = vec![
        "-i",
        "lo",
        "--report",
        "json",
        "-f",
        &filter,
        "-w",
        &written_arg,
    ];
    if duration {
        args.extend(["--duration", "6"]);
    }
    let started = Instant::now();
    let cap = start_capture(&args);
    tcp.replay(&msgs);
    if duration {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the replay must end before --duration does"
        );
    } else {
        cap.terminate();
    }
    let live = cap.report(Duration::from_secs(20));
    tcp.close();
    check(name, file, &live, &written, msgs.len());
}

#[test]
fn live_tcp_conference_join_with_duration() {
    if !can_capture("live_tcp_conference_join_with_duration") {
        return;
    }
    live_tcp("conference-join", "conference-join.pcapng", true);
}

/// Failures too: a declined invitation, an A/V MCU 488 with ms-diagnostics, a C3P failure
/// inside a 200, an IM-only conference.
#[test]
fn live_tcp_failed_joins_stopped_by_sigterm() {
    if !can_capture("live_tcp_failed_joins_stopped_by_sigterm") {
        return;
    }
    for name in [
        "invitation-declined",
        "av-mcu-rejected",
        "focus-c3p-failure",
        "im-only-conference",
    ] {
        live_tcp(name, &format!("{name}.pcapng"), false);
    }
}

/// Peak and current resident set of a process, in KiB.
fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// A SIP message of the load: a call's requests and responses in turn, Call-IDs from a pool
/// of `calls` so that the dialog table (and memory) stops growing once every call exists.
fn load_message(i: u64, calls: u64, buf: &mut Vec<u8>) {
    let call = i % calls;
    let round = i / calls;
    let cseq = round / 2 + 1;
    buf.clear();
    let (start, method) = if round.is_multiple_of(2) {
        ("INFO sip:bob@example.com SIP/2.0".to_owned(), "INFO")
    } else {
        ("SIP/2.0 200 OK".to_owned(), "INFO")
    };
    let _ = write!(
        buf,
        "{start}\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK{call}x{cseq}\r\n\
         From: <sip:alice@example.com>;tag=a{call}\r\nTo: <sip:bob@example.com>;tag=b{call}\r\n\
         Call-ID: load-{call}@127.0.0.1\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\n\
         Content-Length: 0\r\n\r\n"
    );
}

/// At least 50,000 SIP messages per second over loopback for 10 s: every one reported, no
/// kernel drop, resident set bounded. Run with `cargo test --features live --release --test
/// live -- --ignored --nocapture` (`.ci/run` does).
#[test]
#[ignore]
fn live_load_50k_messages_per_second() {
    if !can_capture("live_load_50k_messages_per_second") {
        return;
    }
    // LYNCSCOPE_LOAD_RATE / LYNCSCOPE_LOAD_BUFFER_MIB explore other rates and kernel buffers.
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let rate_wanted = env("LYNCSCOPE_LOAD_RATE", 55_000);
    let buffer_mib = env("LYNCSCOPE_LOAD_BUFFER_MIB", 8).to_string();
    const SECS: u64 = 10;
    let calls = env("LYNCSCOPE_LOAD_CALLS", 5_000);
    let receiver = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let sender = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let to = receiver.local_addr().expect("addr");
    let filter = format!("udp dst port {}", to.port());
    // LYNCSCOPE_LOAD_WRITE=FILE also measures -w.
    let write = std::env::var("LYNCSCOPE_LOAD_WRITE").ok();
    let mut args = vec![
        "-i",
        "lo",
        "--report",
        "json",
        "-f",
        &filter,
        "-B",
        &buffer_mib,
    ];
    if let Some(w) = &write {
        args.extend(["-w", w.as_str()]);
    }
    let cap = start_capture(&args);
    let pid = cap.child.id();
    // The receiving socket is drained so that nothing answers with ICMP errors.
    receiver.set_nonblocking(true).expect("nonblocking");
    let drain = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let until = Instant::now() + Duration::from_secs(SECS + 5);
        while Instant::now() < until {
            if receiver.recv(&mut buf).is_err() {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    });
    let mut buf = Vec::with_capacity(512);
    let started = Instant::now();
    let total = rate_wanted * SECS;
    let mut sent = 0u64;
    let mut rss_samples = Vec::new();
    let mut next_sample = Duration::from_secs(1);
    while sent < total {
        // Paced in 1 ms slices: as many messages as the rate allows so far.
        let due = (started.elapsed().as_secs_f64() * rate_wanted as f64) as u64;
        while sent < due.min(total) {
            load_message(sent, calls, &mut buf);
            sender.send_to(&buf, to).expect("send");
            sent += 1;
        }
        if started.elapsed() >= next_sample {
            rss_samples.push(rss_kib(pid).1);
            next_sample += Duration::from_secs(1);
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rate = sent as f64 / elapsed;
    std::thread::sleep(Duration::from_millis(300));
    let (peak_kib, _) = rss_kib(pid);
    cap.terminate();
    let live = cap.report(Duration::from_secs(30));
    let _ = drain.join();
    let reported = live["stats"]["sip_messages"].as_u64().unwrap_or(0);
    let dropped = live["capture"]["dropped"].as_u64().unwrap_or(u64::MAX);
    if write.is_some() {
        eprintln!("load: -w {}", live["written"]);
    }
    eprintln!(
        "load: sent {sent} SIP messages in {elapsed:.2} s ({rate:.0}/s); reported {reported}; \
         kernel drops {dropped}; RSS per second (MiB) {:?}; peak {:.1} MiB",
        rss_samples
            .iter()
            .map(|k| format!("{:.1}", *k as f64 / 1024.0))
            .collect::<Vec<_>>(),
        peak_kib as f64 / 1024.0
    );
    assert!(rate >= 50_000.0, "sent only {rate:.0} messages/s");
    assert_eq!(reported, sent, "every message reported");
    assert_eq!(dropped, 0, "kernel drops");
    // Bounded: the dialog pool is full after the first second; from then on the resident set
    // must not keep growing with the traffic (the capture queue is bounded too).
    let after_warmup = rss_samples.get(2).copied().unwrap_or(0);
    let last = rss_samples.last().copied().unwrap_or(0);
    assert!(
        last <= after_warmup + 64 * 1024,
        "RSS grew from {after_warmup} KiB to {last} KiB"
    );
    assert!(peak_kib < 512 * 1024, "peak RSS {peak_kib} KiB");
}

/// Without the privileges, one line says how to get them (exit code 1). Run as root, the test
/// drops to uid 65534 with `setpriv` on a copy of the binary in a directory everyone can read.
#[test]
fn live_without_permission_says_how_to_fix_it() {
    if !can_capture("live_without_permission_says_how_to_fix_it") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("lyncscope-perm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let exe = dir.join("lyncscope");
    std::fs::copy(env!("CARGO_BIN_EXE_lyncscope"), &exe).expect("copy");
    use std::os::unix::fs::PermissionsExt;
    for (path, mode) in [(&dir, 0o755), (&exe, 0o755)] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    let out = match Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&exe)
        .args(["-i", "lo", "--report", "json", "--duration", "1"])
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            eprintln!("SKIPPED live_without_permission_says_how_to_fix_it: no setpriv ({e})");
            return;
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("lo: no permission to capture"), "{stderr}");
    assert!(
        stderr.contains("setcap cap_net_raw,cap_net_admin=eip"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(out.stdout.is_empty());
}

/// A tmux session running a command at 120×35, read with `capture-pane`.
struct Tmux {
    session: String,
}

impl Tmux {
    /// Starts `script` (a bash script) in a new detached session; `None` without tmux.
    fn start(name: &str, script: &std::path::Path) -> Option<Tmux> {
        let session = format!("lyncscope-{name}-{}", std::process::id());
        let status = Command::new("tmux")
            .args(["new-session", "-d", "-s", &session, "-x", "120", "-y", "35"])
            .arg(format!("bash --norc --noprofile {}", script.display()))
            .status()
            .ok()?;
        status.success().then_some(Tmux { session })
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits (up to 15 s) until a line of the screen holds every one of `parts`; returns the
    /// line. Fails with the screen shown.
    fn expect_line(&self, parts: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let screen = self.screen();
            if let Some(line) = screen.lines().find(|l| parts.iter().all(|p| l.contains(p))) {
                return line.to_owned();
            }
            if Instant::now() > deadline {
                panic!("expected a line with {parts:?} on the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.session])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .status();
    }
}

/// A script that runs `lyncscope ARGS` and, after it exits, prints its exit code and whether
/// the terminal is back in cooked mode with echo.
fn tui_script(name: &str, args: &[&str]) -> PathBuf {
    let quoted: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_lyncscope"))
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    let script = temp_path(&format!("{name}.sh"));
    std::fs::write(
        &script,
        format!(
            "{}\necho \"EXIT=$?\"\nstty -a | tr ' ;' '\\n\\n' | grep -E '^-?(icanon|echo)$' | tr '\\n' ' '\necho\nsleep 60\n",
            quoted.join(" ")
        ),
    )
    .expect("script");
    script
}

fn has_tmux(test: &str) -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIPPED {test}: tmux is not installed");
    }
    ok
}

/// The terminal UI on a live capture: `lyncscope -i lo` runs in tmux while the UDP conference
/// join is replayed over 127.0.0.1 in two parts. After the first, the conference is listed and
/// its grid shows alice joined and bob not yet; after the second, the open grid shows bob
/// joined too, and the status line counts every packet and SIP message. `q` quits: the
/// terminal is restored and the `-w` file holds every message. Then `-c` stops the capture
/// with the UI left open.
#[test]
fn live_tui_in_tmux_shows_the_join_as_it_happens() {
    let test = "live_tui_in_tmux_shows_the_join_as_it_happens";
    if !can_capture(test) || !has_tmux(test) {
        return;
    }
    let msgs = scenario_messages("join-udp-fragments");
    // Where alice has joined and bob has not: the first part of the replay.
    let split = (1..msgs.len())
        .find(|&n| {
            let mut a = lyncscope::analysis::Analysis::new(false);
            for m in &msgs[..n] {
                let (msg, _) = lyncscope::sip::frame_stream(&m.bytes).expect("message");
                let ctx = MsgContext {
                    frame: 1,
                    first_frame: 1,
                    time: lyncscope::Timestamp(m.time),
                    src: m.src,
                    dst: m.dst,
                    transport: m.transport,
                    ip_reassembled: false,
                    reassembled: false,
                    icmp_quoted: false,
                    link_type: linktype::ETHERNET,
                    origin: Default::default(),
                };
                a.message(&ctx, &msg);
            }
            a.conferences().list().first().is_some_and(|c| {
                let state = |user: &str| {
                    c.participants
                        .iter()
                        .find(|p| p.uri.contains(user))
                        .map(|p| c.diagnose(p).state)
                };
                state("alice") == Some(lyncscope::analysis::JoinState::Joined)
                    && state("bob").is_some()
            })
        })
        .expect("a point where alice joined and bob is invited");
    let sockets = udp_sockets(&msgs);
    let ports: Vec<u16> = sockets
        .values()
        .map(|s| s.local_addr().expect("addr").port())
        .collect();
    let filter = port_filter("udp", &ports);
    let written = temp_path("tui.pcap");
    let written_arg = written.to_string_lossy().to_string();
    let script = tui_script("tui", &["-i", "lo", "-f", &filter, "-w", &written_arg]);
    let Some(tmux) = Tmux::start("live-tui", &script) else {
        panic!("tmux did not start");
    };
    tmux.expect_line(&["● capturing lo · 0 packets · 0 SIP · 0 dropped"]);

    replay_udp(&msgs[..split], &sockets);
    tmux.expect_line(&["B43LT1K9", "alice", "Budget review"]);
    let counts = format!("{split} packets · {split} SIP · 0 dropped");
    tmux.expect_line(&["● capturing lo", &counts]);
    tmux.keys(&["Enter"]);
    tmux.expect_line(&["Conference B43LT1K9"]);
    tmux.expect_line(&["alice", "✓ joined"]);
    let bob = tmux.expect_line(&["bob", "invited"]);
    assert!(!bob.contains("joined"), "{bob}");

    // The rest: the grid that is open shows bob's join as it happens.
    replay_udp(&msgs[split..], &sockets);
    tmux.expect_line(&["bob", "✓ joined"]);
    let all = format!("{n} packets · {n} SIP · 0 dropped", n = msgs.len());
    let status = tmux.expect_line(&["● capturing lo", &all]);
    assert!(status.contains("SIP/s"), "{status}");

    tmux.keys(&["q"]);
    tmux.expect_line(&["EXIT=0"]);
    let modes = tmux.expect_line(&["icanon"]);
    assert!(
        !modes.contains("-icanon") && !modes.split(' ').any(|m| m == "-echo"),
        "the terminal was left in raw mode: {modes}"
    );
    tmux.expect_line(&[&format!(
        "lyncscope: lo: {n} packets, {n} SIP messages; {n} packets of {n} SIP messages written",
        n = msgs.len()
    )]);
    assert_eq!(sip_messages_in(&written), msgs.len() as u64, "-w file");
    drop(tmux);

    // -c: the capture stops at the limit, the UI stays open on what was captured.
    let script = tui_script("tui-count", &["-i", "lo", "-f", &filter, "-c", "10"]);
    let Some(tmux) = Tmux::start("live-tui-count", &script) else {
        panic!("tmux did not start");
    };
    tmux.expect_line(&["● capturing lo"]);
    replay_udp(&msgs, &sockets);
    tmux.expect_line(&["■ stopped (-c 10 reached) lo · 10 packets · 10 SIP"]);
    std::thread::sleep(Duration::from_millis(500));
    tmux.expect_line(&["■ stopped (-c 10 reached)"]);
    tmux.expect_line(&["B43LT1K9"]);
    tmux.keys(&["q"]);
    tmux.expect_line(&["EXIT=0"]);
}

/// The terminal UI on `-i lo` and a HEP collector at once: the status line names both, the
/// replayed join (captured) and what an agent sends (HEP) are counted together, the agent is
/// counted, and `q` quits cleanly.
#[test]
fn live_tui_with_a_hep_collector() {
    let test = "live_tui_with_a_hep_collector";
    if !can_capture(test) || !has_tmux(test) {
        return;
    }
    let msgs = scenario_messages("join-udp-fragments");
    let sockets = udp_sockets(&msgs);
    let ports: Vec<u16> = sockets
        .values()
        .map(|s| s.local_addr().expect("addr").port())
        .collect();
    let filter = port_filter("udp", &ports);
    let hep_port = UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("port")
        .port();
    let hep = format!("udp:127.0.0.1:{hep_port}");
    let script = tui_script(
        "tui-hep",
        &["-i", "lo", "-f", &filter, "--hep-listen", &hep],
    );
    let Some(tmux) = Tmux::start("live-tui-hep", &script) else {
        panic!("tmux did not start");
    };
    tmux.expect_line(&["● capturing lo + HEP · 0 agents · 0 packets · 0 SIP · 0 dropped"]);
    tmux.expect_line(&[&format!("live: lo, HEP {hep}")]);
    replay_udp(&msgs, &sockets);
    let other = format!(
        "{}/captures/av-mcu-rejected.pcapng",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../..")
    );
    let sent = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .args(["--report", "json", "--hep-send", &hep, &other])
        .output()
        .expect("agent runs");
    assert!(sent.status.success());
    let sent: Value = serde_json::from_slice(&sent.stdout).expect("JSON");
    let n = msgs.len() as u64 + sent["stats"]["sip_messages"].as_u64().expect("count");
    tmux.expect_line(&[&format!(
        "● capturing lo + HEP · 1 agent · {n} packets · {n} SIP · 0 dropped · 0 bad"
    )]);
    tmux.expect_line(&["B43LT1K9"]);
    tmux.keys(&["q"]);
    tmux.expect_line(&["EXIT=0"]);
}
