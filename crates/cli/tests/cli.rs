//! The command line contract: exit codes, one-line errors that name the file, the JSON report's
//! shape, standard input, truncated captures.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn lyncscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .args(args)
        .output()
        .expect("runs")
}

fn temp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lyncscope-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write temp file");
    p
}

/// A classic pcap with one Ethernet/IPv4/UDP frame per payload.
fn pcap(payloads: &[&[u8]]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&4u16.to_le_bytes());
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&262144u32.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes());
    for (i, p) in payloads.iter().enumerate() {
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x08, 0x00]);
        let total = 20 + 8 + p.len();
        let mut ip = vec![
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            1,
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
        let sum = checksum(&ip);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        frame.extend_from_slice(&ip);
        let ulen = (8 + p.len()) as u16;
        frame.extend_from_slice(&5060u16.to_be_bytes());
        frame.extend_from_slice(&5060u16.to_be_bytes());
        frame.extend_from_slice(&ulen.to_be_bytes());
        frame.extend_from_slice(&[0, 0]);
        frame.extend_from_slice(p);
        f.extend_from_slice(&(1_700_000_000u32 + i as u32).to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        f.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        f.extend_from_slice(&frame);
    }
    f
}

fn checksum(b: &[u8]) -> u16 {
    let mut s: u32 = b
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32)
        .sum();
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

const INVITE: &[u8] = b"INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:alice@example.com>;tag=a\r\nTo: <sip:bob@example.com>\r\nCall-ID: call-1@example.com\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
const OK: &[u8] = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:alice@example.com>;tag=a\r\nTo: <sip:bob@example.com>;tag=b\r\nCall-ID: call-1@example.com\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn json_report_follows_the_contract() {
    let p = temp("call.pcap", &pcap(&[INVITE, OK]));
    let o = lyncscope(&["--report", "json", "--messages", p.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    assert_eq!(v["lyncscope"], env!("CARGO_PKG_VERSION"));
    for key in [
        "packets",
        "bytes",
        "sip_messages",
        "sip_requests",
        "sip_responses",
        "dialogs",
        "conferences",
        "ip_fragments",
        "ip_reassembled",
        "tcp_streams",
        "tcp_out_of_order",
        "tcp_retransmissions",
        "incomplete_messages",
        "malformed_messages",
        "undecoded_packets",
    ] {
        assert!(v["stats"][key].is_u64(), "stats.{key} missing");
    }
    assert_eq!(v["stats"]["sip_messages"], 2);
    assert_eq!(v["conferences"], serde_json::json!([]));
    let d = &v["dialogs"][0];
    assert_eq!(d["call_id"], "call-1@example.com");
    assert_eq!(d["kind"], "other");
    assert_eq!(d["method"], "INVITE");
    assert_eq!(d["final_status"], 200);
    assert_eq!(d["from"], "sip:alice@example.com");
    assert_eq!(d["to"], "sip:bob@example.com");
    assert_eq!(
        (d["first_frame"].as_u64(), d["last_frame"].as_u64()),
        (Some(1), Some(2))
    );
    let m = &v["messages"][1];
    assert_eq!(m["frame"], 2);
    assert_eq!(m["status"], 200);
    assert_eq!(m["method"], serde_json::Value::Null);
    assert_eq!(m["cseq"], "1 INVITE");
    assert_eq!(m["src"], "192.0.2.1:5060");
    assert_eq!(m["transport"], "udp");
    assert_eq!(m["time"], "2023-11-14T22:13:21.000000Z");
    // Without --messages there is no message list.
    let o = lyncscope(&["--report", "json", p.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    assert!(v.get("messages").is_none());
}

#[test]
fn text_report_has_totals_and_dialogs() {
    let p = temp("call-text.pcap", &pcap(&[INVITE, OK]));
    let o = lyncscope(&["--report", "text", p.to_str().unwrap()]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("2 SIP messages (1 requests, 1 responses"),
        "{out}"
    );
    assert!(out.contains("call-1@example.com"), "{out}");
}

#[test]
fn not_a_capture_is_one_line_exit_2() {
    let p = temp("notes.txt", b"hello, this is not a capture\n");
    let o = lyncscope(&["--report", "json", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains("notes.txt") && e.contains("not a capture"),
        "{e}"
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn missing_file_and_usage_errors() {
    let o = lyncscope(&["/nonexistent/x.pcap"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent/x.pcap"));
    let o = lyncscope(&[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no input"));
    let o = lyncscope(&["--report", "xml", "x"]);
    assert_eq!(o.status.code(), Some(2));
    // Without the `live` feature -i says how to build with it; with it, an unknown interface
    // lists the interfaces there are.
    let o = lyncscope(&["-i", "nosuchif0", "--report", "json", "--duration", "1"]);
    assert_eq!(o.status.code(), Some(2));
    if cfg!(feature = "live") {
        assert!(
            stderr(&o).contains("nosuchif0: no such interface; available: "),
            "{}",
            stderr(&o)
        );
        assert!(stderr(&o).contains("lo"), "{}", stderr(&o));
    } else {
        assert!(stderr(&o).contains("--features live"), "{}", stderr(&o));
    }
    let o = lyncscope(&["-f", "udp port 5060", "x.pcap"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("-f goes with live capture"));
}

#[test]
fn write_option_keeps_every_packet_that_carried_sip() {
    let capture = concat!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../.."),
        "/captures/join-udp-fragments.pcap"
    );
    let out = std::env::temp_dir().join(format!("lyncscope-cli-w-{}.pcap", std::process::id()));
    let o = lyncscope(&["--report", "json", "-w", out.to_str().unwrap(), capture]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    // Every one of the 49 frames is a SIP datagram or one of its fragments.
    assert_eq!(v["written"]["packets"], 49);
    assert_eq!(v["written"]["format"], "pcap");
    assert_eq!(v["written"]["packets_lost"], 0);
    let again = lyncscope(&["--report", "json", out.to_str().unwrap()]);
    let w: serde_json::Value = serde_json::from_slice(&again.stdout).expect("valid JSON");
    assert_eq!(w["stats"]["sip_messages"], v["stats"]["sip_messages"]);
    assert_eq!(w["stats"]["ip_reassembled"], v["stats"]["ip_reassembled"]);
    assert_eq!(w["conferences"], v["conferences"]);
    let _ = std::fs::remove_file(&out);
    // -c: only the first packets.
    let o = lyncscope(&["--report", "json", "-c", "5", capture]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    assert_eq!(v["stats"]["packets"], 5);
}

#[test]
fn truncated_capture_is_reported_up_to_the_cut() {
    let full = pcap(&[INVITE, OK]);
    let p = temp("cut.pcap", &full[..full.len() - 30]);
    let o = lyncscope(&["--report", "json", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    assert_eq!(v["stats"]["packets"], 1);
    assert_eq!(v["stats"]["sip_messages"], 1);
    assert!(stderr(&o).contains("cut off"), "{}", stderr(&o));
    assert_eq!(v["warnings"].as_array().map(Vec::len), Some(1));
}

#[test]
fn standard_input_and_several_files() {
    let bytes = pcap(&[INVITE, OK]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .args(["--report", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&bytes)
        .expect("write");
    let o = child.wait_with_output().expect("waits");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    assert_eq!(v["stats"]["sip_messages"], 2);
    // Two files: frames are numbered across them.
    let a = temp("a.pcap", &pcap(&[INVITE]));
    let b = temp("b.pcap", &pcap(&[OK]));
    let o = lyncscope(&[
        "--report",
        "json",
        "--messages",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    assert_eq!(v["messages"][1]["frame"], 2);
    assert_eq!(v["dialogs"][0]["final_status"], 200);
    assert_eq!(v["sources"].as_array().map(Vec::len), Some(2));
}
