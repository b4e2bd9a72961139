//! HEP end to end over loopback: lyncscope as the collector of lyncscope and of sngrep (a real
//! peer, when installed) as capture agents, and as an agent for sngrep's collector. The same
//! conference report comes out as from the capture itself; the same message from two agents
//! is one message with both origins; a wrong password is counted and refused.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn capture(name: &str) -> String {
    let p: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "..", "captures", name]
        .iter()
        .collect();
    p.display().to_string()
}

fn free_port(udp: bool) -> u16 {
    if udp {
        std::net::UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .map(|a| a.port())
            .expect("port")
    } else {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .map(|a| a.port())
            .expect("port")
    }
}

/// Starts a collector and waits until it listens.
fn collector(listen: &str, extra: &[&str]) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .args(["--report", "json", "--messages", "--hep-listen", listen])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("collector starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(first.contains("listening for HEP"), "{first}");
    // Keep draining stderr so the child never blocks on it.
    std::thread::spawn(move || for _ in lines {});
    child
}

/// Stops a collector with SIGTERM (it drains what it received) and reads its report.
fn stop(child: Child) -> Value {
    std::thread::sleep(Duration::from_millis(300));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("collector ends");
    assert!(out.status.success(), "collector exit {:?}", out.status);
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn send(to: &str, file: &str, extra: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .args(["--report", "json", "--hep-send", to])
        .args(extra)
        .arg(file)
        .output()
        .expect("sender runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn verdicts(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v["conferences"]
        .as_array()
        .expect("conferences")
        .iter()
        .flat_map(|c| c["participants"].as_array().cloned().unwrap_or_default())
        .map(|p| {
            format!(
                "{} {} {} {}",
                p["uri"], p["state"], p["failed_step"], p["reason"]
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn lyncscope_to_lyncscope_over_udp_and_tcp() {
    for proto in ["udp", "tcp"] {
        let port = free_port(proto == "udp");
        let addr = format!("{proto}:127.0.0.1:{port}");
        let c = collector(&addr, &[]);
        let file = capture("av-mcu-rejected.pcapng");
        let sent = send(&addr, &file, &["--hep-node-name", "fe01"]);
        assert_eq!(
            sent["hep"]["sent"]["sent"], sent["stats"]["sip_messages"],
            "{proto}"
        );
        let got = stop(c);
        assert_eq!(
            got["stats"]["sip_messages"], sent["stats"]["sip_messages"],
            "{proto}"
        );
        assert_eq!(verdicts(&got), verdicts(&sent), "{proto}");
        let agent = &got["hep"]["agents"][0];
        assert_eq!(agent["node_id"], 2001);
        assert_eq!(agent["name"], "fe01");
        assert!(got["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .all(|m| m["origin"][0]["agent"] == 2001));
    }
}

#[test]
fn one_message_from_two_agents_is_one_message_and_a_wrong_password_is_refused() {
    let port = free_port(true);
    let addr = format!("udp:127.0.0.1:{port}");
    let c = collector(&addr, &["--hep-password", "s3cret"]);
    let file = capture("conference-join.pcapng");
    let a = send(
        &addr,
        &file,
        &["--hep-password", "s3cret", "--hep-node-id", "11"],
    );
    send(
        &addr,
        &file,
        &["--hep-password", "s3cret", "--hep-node-id", "22"],
    );
    send(
        &addr,
        &file,
        &["--hep-password", "wrong", "--hep-node-id", "33"],
    );
    let got = stop(c);
    assert_eq!(got["stats"]["sip_messages"], a["stats"]["sip_messages"]);
    assert_eq!(got["stats"]["copies_merged"], a["stats"]["sip_messages"]);
    let n = a["stats"]["sip_messages"].as_u64().expect("count");
    assert_eq!(got["hep"]["received"]["auth_failures"].as_u64(), Some(n));
    let m = &got["messages"][0]["origin"];
    let agents: Vec<u64> = m
        .as_array()
        .expect("origins")
        .iter()
        .filter_map(|o| o["agent"].as_u64())
        .collect();
    assert_eq!(agents, vec![11, 22]);
    assert_eq!(verdicts(&got), verdicts(&a));
}

/// The messages' origins: `file` for the capture, `agent` for HEP.
fn origins(v: &Value) -> Vec<(Option<String>, Option<u64>)> {
    v["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .flat_map(|m| m["origin"].as_array().cloned().unwrap_or_default())
        .map(|o| (o["file"].as_str().map(str::to_string), o["agent"].as_u64()))
        .collect()
}

#[test]
fn a_capture_file_and_an_agent_give_one_report() {
    // The collector reads a capture, then what an agent sends: one analysis of both.
    let port = free_port(true);
    let addr = format!("udp:127.0.0.1:{port}");
    let file = capture("conference-join.pcapng");
    let c = collector(&addr, &[&file]);
    let other = capture("av-mcu-rejected.pcapng");
    let sent = send(&addr, &other, &["--hep-node-id", "7"]);
    let got = stop(c);
    let from_file = send_nowhere(&file);
    let n_file = from_file["stats"]["sip_messages"].as_u64().expect("count");
    let n_sent = sent["stats"]["sip_messages"].as_u64().expect("count");
    assert_eq!(got["stats"]["sip_messages"].as_u64(), Some(n_file + n_sent));
    assert_eq!(got["stats"]["copies_merged"].as_u64(), Some(0));
    let mut expected = verdicts(&from_file);
    expected.extend(verdicts(&sent));
    expected.sort();
    assert_eq!(verdicts(&got), expected);
    let o = origins(&got);
    let of_file = o
        .iter()
        .filter(|(f, _)| f.as_deref() == Some(&*file))
        .count();
    let of_agent = o.iter().filter(|(_, a)| *a == Some(7)).count();
    assert_eq!((of_file as u64, of_agent as u64), (n_file, n_sent));
    let sources = got["sources"].as_array().expect("sources");
    assert_eq!(sources[0], file.as_str());
    assert_eq!(sources[1], addr.as_str());
}

#[test]
fn the_same_message_from_a_file_and_an_agent_is_one_message() {
    let port = free_port(false);
    let addr = format!("tcp:127.0.0.1:{port}");
    let file = capture("conference-join.pcapng");
    let c = collector(&addr, &[&file]);
    let sent = send(&addr, &file, &["--hep-node-id", "9"]);
    let got = stop(c);
    let n = sent["stats"]["sip_messages"].as_u64().expect("count");
    assert_eq!(got["stats"]["sip_messages"].as_u64(), Some(n));
    assert_eq!(got["stats"]["copies_merged"].as_u64(), Some(n));
    assert_eq!(verdicts(&got), verdicts(&sent));
    // Every message: the file's frame first, then the agent.
    for m in got["messages"].as_array().expect("messages") {
        let o = m["origin"].as_array().expect("origin");
        assert_eq!(o.len(), 2, "{m}");
        assert_eq!(o[0]["file"], file.as_str());
        assert_eq!(o[1]["agent"], 9);
    }
}

#[test]
fn hep_with_files_refuses_what_it_cannot_do() {
    let file = capture("conference-join.pcapng");
    for (args, says) in [
        (
            vec![
                "--hep-listen",
                "udp:127.0.0.1:0",
                "-w",
                "/tmp/x.pcap",
                &file,
            ],
            "-w",
        ),
        (
            vec!["--hep-listen", "udp:127.0.0.1:0", "--follow", &file],
            "--follow",
        ),
        (
            vec!["--hep-listen", "udp:127.0.0.1:0", "-f", "udp", &file],
            "-f goes with live capture",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
            .args(["--report", "json"])
            .args(&args)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn sngrep_as_agent_and_as_collector() {
    if Command::new("sngrep").arg("-V").output().is_err() {
        eprintln!("SKIPPED: sngrep is not installed");
        return;
    }
    let file = capture("invitation-declined.pcapng");
    let reference = send_nowhere(&file);
    // sngrep reads the capture and sends every SIP message it sees as HEP.
    let port = free_port(true);
    let addr = format!("udp:127.0.0.1:{port}");
    let c = collector(&addr, &[]);
    let status = Command::new("sngrep")
        .args(["-N", "-q", "-I", &file, "-H", &addr])
        .stdout(Stdio::null())
        .status()
        .expect("sngrep runs");
    assert!(status.success());
    let got = stop(c);
    // sngrep 1.6 does not take Lync's BENOTIFY (not a method it knows) for SIP and does not
    // forward it: everything else arrives.
    let benotify = reference["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["method"] == "BENOTIFY")
        .count() as u64;
    let total = reference["stats"]["sip_messages"].as_u64().expect("count");
    assert_eq!(
        got["stats"]["sip_messages"].as_u64(),
        Some(total - benotify)
    );
    assert_eq!(verdicts(&got), verdicts(&reference));
    // lyncscope sends to sngrep's collector, which writes what it received to a pcap.
    let dir = std::env::temp_dir().join(format!("lyncscope-hep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let out = dir.join("from-hep.pcap");
    let port = free_port(true);
    let listen = format!("udp:127.0.0.1:{port}");
    let mut sngrep = Command::new("sngrep")
        .args(["-N", "-q", "-L", &listen, "-O"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sngrep listens");
    std::thread::sleep(Duration::from_millis(500));
    send(&listen, &file, &[]);
    std::thread::sleep(Duration::from_millis(500));
    let _ = Command::new("kill")
        .args(["-TERM", &sngrep.id().to_string()])
        .status();
    let _ = sngrep.wait();
    let back = send_nowhere(&out.display().to_string());
    // As a collector, sngrep writes every packet it was sent, BENOTIFY included.
    assert_eq!(back["stats"]["sip_messages"].as_u64(), Some(total));
    assert_eq!(verdicts(&back), verdicts(&reference));
    let _ = std::fs::remove_dir_all(&dir);
}

fn send_nowhere(file: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .args(["--report", "json", "--messages", file])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// ≥ 100,000 SIP messages/s over HEP/UDP on loopback for 10 s into the real collector
/// (listener, analysis, report) with none lost inside lyncscope; what the kernel dropped on
/// the socket is counted and reported. Release build, run by `.ci/run`.
#[test]
#[ignore = "load test: cargo test --release -p lyncscope-cli --test hep -- --ignored"]
fn hep_collector_load_udp_100k_per_second() {
    use lyncscope_hep::{encode_v3, HepOut};
    use std::net::{IpAddr, Ipv4Addr, UdpSocket};
    use std::time::Instant;
    const RATE: u64 = 110_000;
    const SECONDS: u64 = 10;
    let port = free_port(true);
    let addr = format!("udp:127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .args(["--report", "json", "--hep-listen", &addr])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("collector");
    let mut child = child;
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(first.contains("listening for HEP"), "{first}");
    std::thread::spawn(move || for _ in lines {});
    let socket = UdpSocket::bind("127.0.0.1:0").expect("socket");
    socket.connect(("127.0.0.1", port)).expect("connect");
    // The sender shares the machine with the collector: it builds each message in reused
    // buffers, so that the measure is lyncscope's, not the formatting's.
    let body = "x".repeat(400);
    let mut sip = Vec::with_capacity(1024);
    let mut packet = Vec::with_capacity(1500);
    let started = Instant::now();
    let mut sent = 0u64;
    while started.elapsed().as_secs() < SECONDS {
        // Pace to RATE per second: send what the clock says is due.
        let due = (started.elapsed().as_secs_f64() * RATE as f64) as u64;
        while sent < due {
            use std::io::Write;
            let dialog = sent % 1000;
            sip.clear();
            write!(
                sip,
                "MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.1:5061;branch=z9hG4bK{sent}\r\n\
                 From: <sip:alice@example.com>;tag=a{dialog}\r\nTo: <sip:bob@example.com>\r\n\
                 Call-ID: load-{dialog}\r\nCSeq: {sent} MESSAGE\r\nContent-Type: text/plain\r\n\
                 Content-Length: 400\r\n\r\n{body}"
            )
            .expect("formats");
            let m = HepOut {
                ip_protocol: 6,
                src_ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
                dst_ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
                src_port: 5061,
                dst_port: 5061,
                ts_sec: 1_767_261_600 + (sent / RATE) as u32,
                ts_usec: (sent % RATE) as u32,
                proto_type: 1,
                node_id: 7,
                password: None,
                correlation_id: None,
                vlan: None,
                node_name: None,
                payload: &sip,
            };
            packet.clear();
            encode_v3(&m, &mut packet).expect("encode");
            let _ = socket.send(&packet);
            sent += 1;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let elapsed = started.elapsed().as_secs_f64();
    // The collector's peak resident set so far (Linux), for the record.
    let peak = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        .unwrap_or_default();
    let v = stop(child);
    let r = &v["hep"]["received"];
    let received = r["packets"].as_u64().expect("packets");
    let kernel = r["kernel_drops"].as_u64().unwrap_or(0);
    let rate = received as f64 / elapsed;
    println!(
        "HEP/UDP into the collector: sent {sent} in {elapsed:.1} s, received {received} \
         ({rate:.0} msg/s), kernel dropped {kernel}, analysed {} SIP messages, queue drops {}, \
         at stop {}; UDP receive buffer granted {}; peak RSS {peak}",
        v["stats"]["sip_messages"],
        r["dropped_queue_full"],
        r["dropped_at_stop"],
        r["udp_recv_buffers"]
    );
    // Nothing received is lost inside lyncscope, and every message received was analysed.
    assert_eq!(r["dropped_queue_full"], 0);
    assert_eq!(r["dropped_at_stop"], 0);
    assert_eq!(v["stats"]["sip_messages"].as_u64(), Some(received));
    assert!(
        received + kernel >= sent * 99 / 100,
        "unaccounted datagrams"
    );
    assert!(rate >= 100_000.0, "{rate:.0} msg/s < 100,000");
}

/// A tmux session running one script, killed at the end.
struct Tmux {
    session: String,
}

impl Tmux {
    fn start(name: &str, script: &std::path::Path) -> Option<Tmux> {
        let session = format!("lyncscope-{name}-{}", std::process::id());
        let status = Command::new("tmux")
            .args(["new-session", "-d", "-s", &session, "-x", "120", "-y", "35"])
            .arg(format!("bash --norc --noprofile {}", script.display()))
            .status()
            .ok()?;
        status.success().then_some(Tmux { session })
    }

    /// Waits (up to 15 s) for a line of the screen holding every one of `parts`.
    fn expect_line(&self, parts: &[&str]) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            let out = Command::new("tmux")
                .args(["capture-pane", "-p", "-t", &self.session])
                .output()
                .expect("tmux capture-pane");
            let screen = String::from_utf8_lossy(&out.stdout).into_owned();
            if let Some(line) = screen.lines().find(|l| parts.iter().all(|p| l.contains(p))) {
                return line.to_owned();
            }
            if std::time::Instant::now() > deadline {
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

/// The terminal UI on a capture file and a collector: the file's conference is listed at
/// once; what an agent then sends appears as it arrives, and the status line counts the
/// agent and its packets. `q` quits and the terminal is restored.
#[test]
fn the_ui_shows_a_file_and_what_agents_send() {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let port = free_port(true);
    let addr = format!("udp:127.0.0.1:{port}");
    let dir = std::env::temp_dir().join(format!("lyncscope-hep-tui-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let script = dir.join("tui.sh");
    std::fs::write(
        &script,
        format!(
            "'{}' --hep-listen {addr} '{}'\necho \"EXIT=$?\"\nsleep 60\n",
            env!("CARGO_BIN_EXE_lyncscope"),
            capture("conference-join.pcapng")
        ),
    )
    .expect("script");
    let tmux = Tmux::start("hep-tui", &script).expect("tmux starts");
    tmux.expect_line(&[&format!("● capturing HEP {addr} · 0 agents · 0 packets")]);
    // The file's conference.
    tmux.expect_line(&["MT4HQZ8C", "Project kickoff"]);
    let sent = send(
        &addr,
        &capture("av-mcu-rejected.pcapng"),
        &["--hep-node-name", "fe01"],
    );
    let n = sent["stats"]["sip_messages"].as_u64().expect("count");
    tmux.expect_line(&[&format!("● capturing HEP {addr} · 1 agent · {n} packets")]);
    tmux.expect_line(&["0 dropped · 0 bad"]);
    let conference = sent["conferences"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    tmux.expect_line(&[&conference]);
    tmux.keys(&["q"]);
    tmux.expect_line(&["EXIT=0"]);
    let _ = std::fs::remove_dir_all(&dir);
}
