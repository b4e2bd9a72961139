//! SIP over TLS through the command line, on captures made by real TLS stacks
//! (`crates/tls/testdata/make.sh`: OpenSSL 3 via Python's ssl and s_server/s_client, and
//! tlslite-ng): key logs, RSA keys, resumption, what is counted when nothing decrypts, and
//! `--write-decrypted` read back by lyncscope and, when it is installed, by tshark.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn testdata(name: &str) -> String {
    let p: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "tls", "testdata", name]
        .iter()
        .collect();
    p.display().to_string()
}

fn json(args: &[&str]) -> Value {
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

/// The SIP messages every test capture carries, in order (method or status).
const SIP: [&str; 6] = ["INVITE", "100", "200", "ACK", "INFO", "200"];

fn starts(v: &Value) -> Vec<String> {
    v["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| match (&m["method"], &m["status"]) {
            (Value::String(s), _) => s.clone(),
            (_, Value::Number(n)) => n.to_string(),
            _ => "?".into(),
        })
        .collect()
}

fn assert_decrypted(v: &Value, what: &str) {
    let mut got = starts(v);
    let mut want: Vec<String> = SIP.iter().map(|s| s.to_string()).collect();
    // One client sends INVITE and ACK in one flight: compare as multisets and check the
    // transport and the counters.
    got.sort();
    want.sort();
    assert_eq!(got, want, "{what}");
    assert!(
        v["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .all(|m| m["transport"] == "tls"),
        "{what}"
    );
    let tls = &v["stats"]["tls"];
    assert_eq!(tls["connections"], 1, "{what}");
    assert_eq!(tls["decrypted"], 1, "{what}");
    assert_eq!(tls["bad_records"], 0, "{what}");
}

#[test]
fn rsa_keys_decrypt_every_rsa_suite_and_version() {
    for cap in [
        "tls12_rsa_aes128_sha_ems.pcap",
        "tls12_rsa_aes128_sha_noems_noetm.pcap",
        "tls12_rsa_aes128_gcm_noems.pcap",
        "tls12_rsa_aes256_gcm_sha384.pcap",
        "tls12_rsa_aes256_sha256.pcap",
        "tls11_rsa_aes256_sha.pcap",
        "tls10_rsa_aes128_sha.pcap",
        "tls10_rsa_3des_sha.pcap",
        "tls10_rsa_rc4_sha.pcap",
        "tls12_rsa_rc4_md5.pcap",
    ] {
        // The wrong key first: the premaster's version bytes pick the right one.
        let v = json(&[
            "--tls-key",
            &testdata("rsa_other.key"),
            "--tls-key",
            &testdata("rsa.key"),
            &testdata(cap),
        ]);
        assert_decrypted(&v, cap);
    }
}

#[test]
fn key_logs_decrypt_ecdhe_and_tls13() {
    for name in [
        "tls12_ecdhe_rsa_aes128_gcm",
        "tls12_ecdhe_rsa_chacha20",
        "tls12_ecdhe_ecdsa_aes256_sha384",
        "tls13_aes128_gcm",
        "tls13_aes256_gcm",
        "tls13_chacha20",
    ] {
        let v = json(&[
            "--tls-keylog",
            &testdata(&format!("{name}.keylog")),
            &testdata(&format!("{name}.pcap")),
        ]);
        assert_decrypted(&v, name);
    }
}

#[test]
fn without_a_usable_key_nothing_is_guessed_and_the_reason_is_counted() {
    let v = json(&[&testdata("tls13_aes128_gcm.pcap")]);
    assert_eq!(v["stats"]["sip_messages"], 0);
    assert_eq!(v["stats"]["tls"]["no_key"], 1);
    assert_eq!(v["stats"]["tls"]["ecdhe_without_key_log"], 1);
    // An RSA key cannot decrypt ECDHE; the text report says what to give instead.
    let out = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .args(["--report", "text", "--tls-key", &testdata("rsa.key")])
        .arg(testdata("tls12_ecdhe_rsa_aes128_gcm.pcap"))
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("an RSA key cannot decrypt it") && text.contains("--tls-keylog"),
        "{text}"
    );
    // The wrong RSA key: counted, no plaintext.
    let v = json(&[
        "--tls-key",
        &testdata("rsa_other.key"),
        &testdata("tls12_rsa_aes128_sha_ems.pcap"),
    ]);
    assert_eq!(v["stats"]["sip_messages"], 0);
    assert_eq!(v["stats"]["tls"]["decrypted"], 0);
    assert!(v["stats"]["tls"]["rsa_decrypt_failures"].as_u64() > Some(0));
}

#[test]
fn a_key_that_is_not_a_key_is_a_usage_error_naming_the_file_not_its_content() {
    let out = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .args(["--report", "json", "--tls-key", &testdata("rsa.crt")])
        .arg(testdata("tls12_rsa_aes128_sha_ems.pcap"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rsa.crt") && !err.contains("BEGIN"), "{err}");
}

#[test]
fn session_resumption_uses_the_remembered_master_secret() {
    for cap in ["tls12_rsa_resume_id.pcap", "tls12_rsa_resume_ticket.pcap"] {
        let out = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
            .args(["--report", "json", "--tls-key", &testdata("rsa.key")])
            .arg(testdata(cap))
            .output()
            .expect("runs");
        let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let tls = &v["stats"]["tls"];
        assert_eq!(tls["connections"], 2, "{cap}");
        assert_eq!(tls["decrypted"], 2, "{cap}: {tls}");
        assert_eq!(tls["resumptions"], 1, "{cap}");
        assert_eq!(v["stats"]["sip_messages"], 12, "{cap}");
    }
}

#[test]
fn write_decrypted_embeds_the_secrets_and_opens_without_keys() {
    let dir = std::env::temp_dir().join(format!("lyncscope-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let out_file = dir.join("decrypted.pcapng");
    let input = testdata("tls12_rsa_aes128_sha_ems.pcap");
    let first = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .args([
            "--report",
            "json",
            "--messages",
            "--tls-key",
            &testdata("rsa.key"),
        ])
        .arg("--write-decrypted")
        .arg(&out_file)
        .arg(&input)
        .output()
        .expect("runs");
    assert!(first.status.success());
    let a: Value = serde_json::from_slice(&first.stdout).expect("JSON");
    // Read back with no key at all: the Decryption Secrets Block is enough.
    let b = json(&[out_file.to_str().expect("utf-8 path")]);
    assert_eq!(starts(&a), starts(&b));
    assert_eq!(a["stats"]["packets"], b["stats"]["packets"]);
    let frames = |v: &Value| -> Vec<u64> {
        v["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .filter_map(|m| m["frame"].as_u64())
            .collect()
    };
    assert_eq!(frames(&a), frames(&b));
    // The private key itself is not in the file, only the session's CLIENT_RANDOM line.
    let bytes = std::fs::read(&out_file).expect("written");
    assert!(!bytes.windows(10).any(|w| w == b"BEGIN RSA "));
    assert!(bytes.windows(13).any(|w| w == b"CLIENT_RANDOM"));
    // tshark 4, when installed, decrypts the file with its embedded secrets and finds the same
    // SIP messages in the same frames.
    if let Ok(t) = Command::new("tshark")
        .arg("-r")
        .arg(&out_file)
        .args([
            "-d",
            "tls.port==15061,sip",
            "-Y",
            "sip",
            "-T",
            "fields",
            "-e",
            "frame.number",
        ])
        .output()
    {
        if t.status.success() {
            let tshark: Vec<u64> = String::from_utf8_lossy(&t.stdout)
                .lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect();
            let mut ours = frames(&a);
            ours.dedup();
            assert_eq!(tshark, ours, "tshark and lyncscope disagree");
        } else {
            eprintln!("SKIPPED the tshark check: tshark failed");
        }
    } else {
        eprintln!("SKIPPED the tshark check: tshark is not installed");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
