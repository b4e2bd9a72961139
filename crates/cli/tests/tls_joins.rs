//! Conference joins over real TLS (`captures/tls/`, made by `captures/tls/make.sh` with OpenSSL
//! on loopback): each decrypted capture gives the same conference report as the clear capture
//! it replays, and the same SIP messages (method or status, Call-ID, CSeq, in order) as tshark
//! 4.0 found in it with the same keys (`*.sip.tsv`, written by the script).

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn path(rel: &str) -> String {
    let p: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "..", "captures", rel]
        .iter()
        .collect();
    p.display().to_string()
}

fn report(args: &[String]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .args(["--report", "json", "--messages"])
        .args(args)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// The conference part of a report without what depends on the frames (numbers, times of
/// the capture's own packets): conferences, participants, states, reasons, steps' outcomes.
fn conferences(v: &Value) -> Value {
    let mut c = v["conferences"].clone();
    strip(&mut c);
    c
}

fn strip(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for key in ["frame", "first_frame", "request_frame", "frames"] {
                map.remove(key);
            }
            for (_, x) in map.iter_mut() {
                strip(x);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip),
        _ => {}
    }
}

/// (method or status, Call-ID, CSeq) of every message, in order.
fn messages(v: &Value) -> Vec<(String, String, String)> {
    v["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            let start = match (&m["method"], &m["status"]) {
                (Value::String(s), _) => s.clone(),
                (_, Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            (
                start,
                m["call_id"].as_str().unwrap_or_default().to_string(),
                m["cseq"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn tshark_list(name: &str) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(path(&format!("tls/{name}"))).expect("tsv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let get = |i: usize| f.get(i).copied().unwrap_or_default().to_string();
            let start = if get(7).is_empty() { get(8) } else { get(7) };
            (start, get(9), get(10))
        })
        .collect()
}

#[test]
fn every_tls_join_gives_the_clear_report_and_tsharks_messages() {
    let key = |k: &str| vec!["--tls-key".to_string(), path(&format!("tls/{k}"))];
    let log = |k: &str| vec!["--tls-keylog".to_string(), path(&format!("tls/{k}"))];
    let clear = report(&[path("conference-join.pcapng")]);
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("join-tls12-rsa-cbc-ems.pcap", key("server.key")),
        ("join-tls12-rsa-gcm-noems.pcap", key("server.key")),
        ("join-tls12-rsa-resumed.pcap", key("server.key")),
        ("join-tls12-rsa-resumed-ticket.pcap", key("server.key")),
        ("join-tls12-ecdhe.pcap", log("join-tls12-ecdhe.keylog")),
        ("join-tls13.pcap", log("join-tls13.keylog")),
        // The key log is inside the file: no option at all.
        ("join-tls13-dsb.pcapng", vec![]),
    ];
    for (capture, mut args) in cases {
        args.push(path(&format!("tls/{capture}")));
        let v = report(&args);
        assert_eq!(v["stats"]["tls"]["connections"], 3, "{capture}");
        assert_eq!(v["stats"]["tls"]["decrypted"], 3, "{capture}");
        assert_eq!(v["stats"]["tls"]["bad_records"], 0, "{capture}");
        assert_eq!(
            v["stats"]["sip_messages"], clear["stats"]["sip_messages"],
            "{capture}"
        );
        assert_eq!(conferences(&v), conferences(&clear), "{capture}");
        let stem = capture
            .trim_end_matches(".pcapng")
            .trim_end_matches(".pcap");
        assert_eq!(
            messages(&v),
            tshark_list(&format!("{stem}.sip.tsv")),
            "{capture}: lyncscope and tshark 4.0 disagree"
        );
        assert!(
            v["messages"]
                .as_array()
                .expect("messages")
                .iter()
                .all(|m| m["transport"] == "tls"),
            "{capture}"
        );
    }
}

#[test]
fn two_interleaved_handshakes_decrypt_like_their_clear_twin() {
    let clear = report(&[path("tls/join-interleaved-clear.pcap")]);
    let v = report(&[
        "--tls-keylog".to_string(),
        path("tls/join-tls-interleaved.keylog"),
        path("tls/join-tls-interleaved.pcap"),
    ]);
    assert_eq!(v["stats"]["tls"]["connections"], 6);
    assert_eq!(v["stats"]["tls"]["decrypted"], 6);
    assert_eq!(conferences(&v), conferences(&clear));
    assert_eq!(
        messages(&v),
        tshark_list("join-tls-interleaved.sip.tsv"),
        "lyncscope and tshark 4.0 disagree"
    );
}

#[test]
fn rsa_key_alone_cannot_open_the_ecdhe_join_and_says_so() {
    let v = report(&[
        "--tls-key".to_string(),
        path("tls/server.key"),
        path("tls/join-tls12-ecdhe.pcap"),
    ]);
    assert_eq!(v["stats"]["sip_messages"], 0);
    assert_eq!(v["stats"]["tls"]["connections"], 3);
    assert_eq!(v["stats"]["tls"]["ecdhe_without_key_log"], 3);
    assert_eq!(v["conferences"], serde_json::json!([]));
}
