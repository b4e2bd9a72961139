//! Lync logs as inputs, end to end: every sample scenario written as the Front End's SIPStack
//! log, each client's UCCAPI log and a pidgin-sipe log (`captures/logs/`, made by the
//! generator from the same messages as the captures) gives the capture's conference report —
//! alone and mixed (FE log + a client's log, the capture + the FE log, every client's log),
//! with every message counted once.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn path(rel: &str) -> String {
    let p: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "..", "captures", rel]
        .iter()
        .collect();
    p.display().to_string()
}

fn report(inputs: &[String]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .args([
            "--report",
            "json",
            "--messages",
            "--log-utc-offset",
            "+01:00",
        ])
        .args(inputs)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{inputs:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// What the diagnosis says about each participant: the part a log must reproduce exactly
/// (times in logs are cut to milliseconds, so setup times may differ by one).
fn verdicts(v: &Value) -> Vec<(String, String, Value, Value, Value)> {
    let mut out = Vec::new();
    for c in v["conferences"].as_array().expect("conferences") {
        for p in c["participants"].as_array().expect("participants") {
            let statuses = ["invitation", "focus", "media", "roster"]
                .iter()
                .map(|k| p["steps"][k]["status"].clone())
                .collect::<Vec<_>>();
            out.push((
                format!("{}/{}", c["id"], p["uri"]),
                p["state"].to_string(),
                p["failed_step"].clone(),
                p["reason"].clone(),
                Value::Array(statuses),
            ));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn scenarios() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(path("logs"))
        .expect("captures/logs")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 8, "{names:?}");
    names
}

fn capture_of(scenario: &str) -> String {
    for ext in ["pcapng", "pcap"] {
        let p = path(&format!("{scenario}.{ext}"));
        if std::path::Path::new(&p).exists() {
            return p;
        }
    }
    panic!("no capture for {scenario}");
}

fn logs_of(scenario: &str, suffix: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(path(&format!("logs/{scenario}")))
        .expect("scenario dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path().display().to_string())
        .filter(|p| p.ends_with(suffix))
        .collect();
    v.sort();
    v
}

#[test]
fn every_scenario_as_logs_gives_the_capture_report() {
    for s in scenarios() {
        let clear = report(&[capture_of(&s)]);
        let want = verdicts(&clear);
        let messages = &clear["stats"]["sip_messages"];
        let fe = logs_of(&s, ".sipstack.log");
        let clients = logs_of(&s, ".uccapi.log");
        assert_eq!(fe.len(), 1, "{s}");
        // Logs carry no media: where the capture saw STUN and RTP, a reason about media says
        // less from logs alone (the rest of the verdict is the same).
        let media_seen = clear["stats"]["media_datagrams"].as_u64() > Some(0);
        let without_media = |v: Vec<(String, String, Value, Value, Value)>| -> Vec<_> {
            v.into_iter()
                .map(|(who, state, step, reason, statuses)| {
                    let reason = if media_seen && step == "media" {
                        Value::Null
                    } else {
                        reason
                    };
                    (who, state, step, reason, statuses)
                })
                .collect()
        };
        // The FE log alone has every message.
        let v = report(&fe);
        assert_eq!(
            without_media(verdicts(&v)),
            without_media(want.clone()),
            "{s}: FE log"
        );
        assert_eq!(&v["stats"]["sip_messages"], messages, "{s}: FE log");
        // Every client's log together: each message once (the clients' logs overlap only
        // where a message went from one client to the other through the FE, and then the
        // FE's own Via makes it another hop).
        let v = report(&clients);
        assert_eq!(
            without_media(verdicts(&v)),
            without_media(want.clone()),
            "{s}: client logs"
        );
        // FE log + one client's log; the capture + the FE log: every message counted once.
        for mix in [
            vec![fe[0].clone(), clients[0].clone()],
            vec![capture_of(&s), fe[0].clone()],
        ] {
            let v = report(&mix);
            assert_eq!(
                without_media(verdicts(&v)),
                without_media(want.clone()),
                "{s}: {mix:?}"
            );
            assert_eq!(&v["stats"]["sip_messages"], messages, "{s}: {mix:?}");
            assert!(
                v["stats"]["copies_merged"].as_u64() > Some(0),
                "{s}: {mix:?}"
            );
        }
    }
}

#[test]
fn messages_keep_every_origin() {
    let s = "conference-join";
    let fe = logs_of(s, ".sipstack.log").remove(0);
    let v = report(&[capture_of(s), fe.clone()]);
    let messages = v["messages"].as_array().expect("messages");
    // Every message was seen by both: the capture's frame and the log's line.
    for m in messages {
        let origins = m["origin"].as_array().expect("origin");
        // Whichever came first in time is listed first (log times are cut to milliseconds).
        assert_eq!(origins.len(), 2, "{m}");
        assert!(origins.iter().any(|o| o["frame"].as_u64().is_some()), "{m}");
        assert!(
            origins
                .iter()
                .any(|o| o["file"] == fe.as_str() && o["line"].as_u64() > Some(0)),
            "{m}"
        );
    }
    // A log alone: origins are file and line, and the endpoints the log does not give are
    // synthetic and listed.
    let v = report(std::slice::from_ref(&fe));
    let first = &v["messages"][0]["origin"][0];
    assert_eq!(first["file"], fe.as_str());
    assert!(v["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .any(|e| e["name"] == "fe01.example.com" && e["synthetic"] == true));
    assert_eq!(v["logs"][0]["sip_messages"], v["stats"]["sip_messages"]);
}

#[test]
fn a_sipe_log_alone_diagnoses_its_user() {
    let v = report(&logs_of("av-mcu-rejected", ".sipe.log"));
    let bob = v["conferences"][0]["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .find(|p| p["uri"] == "sip:bob@example.com")
        .cloned()
        .expect("bob");
    assert_eq!(bob["state"], "failed");
    assert_eq!(bob["failed_step"], "media");
}

#[test]
fn a_gzipped_log_is_read_and_a_text_that_is_no_log_is_refused() {
    let dir = std::env::temp_dir().join(format!("lyncscope-logs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let fe = logs_of("conference-join", ".sipstack.log").remove(0);
    let gz = dir.join("fe01.sipstack.log.gz");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("gzip -c '{fe}' > '{}'", gz.display()))
        .status()
        .expect("gzip");
    assert!(status.success());
    let v = report(&[gz.display().to_string()]);
    assert_eq!(v["stats"]["sip_messages"], 62);
    let notes = dir.join("notes.txt");
    std::fs::write(&notes, "just some text\nnothing else\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .args(["--report", "json"])
        .arg(&notes)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let bad = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .args(["--report", "json", "--log-utc-offset", "one hour", &fe])
        .output()
        .expect("runs");
    assert_eq!(bad.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_server_event_about_the_failed_step_is_quoted_in_the_reason() {
    use lyncscope_logs::{Direction, ResultCode, ServerEvent, WriteMeta};
    let s = "av-mcu-rejected";
    let fe = logs_of(s, ".sipstack.log").remove(0);
    let before = report(std::slice::from_ref(&fe));
    let bob = before["conferences"][0]["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .find(|p| p["uri"] == "sip:bob@example.com")
        .cloned()
        .expect("bob");
    let call_id = bob["steps"]["media"]["call_id"]
        .as_str()
        .expect("media call id")
        .to_string();
    // The FE log with one more record: the diagnostic the Front End wrote about bob's A/V
    // INVITE, as Lync writes them.
    let mut text = std::fs::read(&fe).expect("log");
    let event = ServerEvent {
        line: 0,
        time_ns: Some(1_768_213_815_000_000_000),
        origin: Default::default(),
        severity: Some("Error".into()),
        log_type: None,
        result_code: Some(ResultCode {
            value: 0xC3E9_3EC3,
            name: Some("SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH".into()),
        }),
        text: Some("Message cannot be routed because the peer's certificate does not contain a matching FQDN".into()),
        start_line: Some("INVITE sip:alice@example.com SIP/2.0".into()),
        call_id: Some(call_id.clone().into()),
        cseq: Some("1 INVITE".into()),
        peer: None,
        data: None,
        header_text: None,
    };
    let meta = WriteMeta {
        time_ns: 1_768_213_815_000_000_000,
        utc_offset_secs: 3600,
        direction: Direction::Sent,
        local: None,
        remote: None,
        server: "edge01.example.com",
        pid: 0x1a2b,
        tid: 0x3c4d,
        sequence: 9999,
    };
    lyncscope_logs::write_sipstack_event(&mut text, &event, &meta).expect("write");
    let dir = std::env::temp_dir().join(format!("lyncscope-events-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let with_event = dir.join("fe01-with-event.log");
    std::fs::write(&with_event, text).expect("write");
    let v = report(&[with_event.display().to_string()]);
    let bob = v["conferences"][0]["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .find(|p| p["uri"] == "sip:bob@example.com")
        .cloned()
        .expect("bob");
    let reason = bob["reason"].as_str().expect("reason");
    assert!(
        reason.contains("logged SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH: Message cannot be routed"),
        "{reason}"
    );
    let events = v["server_events"].as_array().expect("server_events");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["call_id"], call_id.as_str());
    assert_eq!(events[0]["result_code"]["hex"], "0xC3E93EC3");
    // Without the record, the reason is the SIP one alone.
    assert!(!before["conferences"][0]["participants"]
        .to_string()
        .contains("SIPPROXY"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn w_writes_each_logged_message_as_a_packet_that_reads_back_the_same() {
    let dir = std::env::temp_dir().join(format!("lyncscope-logw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let out = dir.join("from-logs.pcap");
    for s in ["conference-join", "focus-c3p-failure"] {
        let mut inputs = logs_of(s, ".uccapi.log");
        inputs.push("-w".into());
        inputs.push(out.display().to_string());
        let v = report(&inputs);
        assert_eq!(
            v["written"]["sip_messages"], v["stats"]["sip_messages"],
            "{s}"
        );
        // pcapng, so that every packet says in its comment which log and line it came from.
        assert_eq!(v["written"]["format"], "pcapng", "{s}");
        let bytes = std::fs::read(&out).expect("written");
        assert!(
            bytes
                .windows(b".uccapi.log line ".len())
                .any(|w| w == b".uccapi.log line "),
            "{s}"
        );
        let back = report(&[out.display().to_string()]);
        assert_eq!(
            back["stats"]["sip_messages"], v["stats"]["sip_messages"],
            "{s}"
        );
        assert_eq!(verdicts(&back), verdicts(&v), "{s}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn follow_reads_a_log_as_it_is_written() {
    let dir = std::env::temp_dir().join(format!("lyncscope-follow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let source = std::fs::read(logs_of("conference-join", ".sipstack.log").remove(0)).expect("log");
    let growing = dir.join("fe01.sipstack.log");
    // The first third is there when lyncscope starts; the rest comes while it follows.
    let cut = source.len() / 3;
    std::fs::write(&growing, &source[..cut]).expect("write");
    let child = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .args([
            "--report",
            "json",
            "--follow",
            "--duration",
            "3",
            "--log-utc-offset",
            "+01:00",
        ])
        .arg(&growing)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    std::thread::sleep(std::time::Duration::from_millis(700));
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&growing)
            .expect("append");
        for chunk in source[cut..].chunks(997) {
            f.write_all(chunk).expect("append");
            f.flush().expect("flush");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
    let out = child.wait_with_output().expect("ends at --duration");
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["stats"]["sip_messages"], 62);
    assert_eq!(v["logs"][0]["cut_records"], 0);
    let _ = std::fs::remove_dir_all(&dir);
}
