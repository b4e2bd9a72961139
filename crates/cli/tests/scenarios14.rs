//! Issue 14's sample captures (the lobby and the Access Edge; devices, sharing and an
//! escalation; phones and a rejoin) reported whole: each capture's `--report text` is exactly
//! the committed `tests/expected/<scenario>.txt` (`LYNCSCOPE_BLESS=1` writes it instead of
//! comparing; read what it wrote before committing it), and the JSON report has the facts
//! docs/json.md documents for these paths.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The binary's report of `captures/<file>`, run from the workspace root so that the
/// report names the file as `captures/<file>` wherever the checkout is.
fn report(kind: &str, file: &str) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .current_dir(root())
        .args(["--report", kind])
        .arg(format!("captures/{file}"))
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{file}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Compares the text report of `captures/<name>.pcapng` with `tests/expected/<name>.txt`, or
/// writes that file when `LYNCSCOPE_BLESS=1`.
fn text_report_is_as_expected(name: &str) {
    let got = String::from_utf8(report("text", &format!("{name}.pcapng"))).expect("UTF-8");
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/expected")
        .join(format!("{name}.txt"));
    if std::env::var_os("LYNCSCOPE_BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().expect("a directory")).expect("mkdir");
        std::fs::write(&path, &got).expect("writes the expected report");
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if got != want {
        panic!(
            "{}: the text report differs ('-' expected, '+' got; LYNCSCOPE_BLESS=1 writes it):\n{}",
            path.display(),
            line_diff(&want, &got)
        );
    }
}

/// The lines that differ, each with its line number, at most 40 of them.
fn line_diff(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let mut out = String::new();
    let mut shown = 0;
    for i in 0..w.len().max(g.len()) {
        let (a, b) = (w.get(i), g.get(i));
        if a == b {
            continue;
        }
        if shown == 40 {
            out.push_str("…\n");
            break;
        }
        if let Some(a) = a {
            out.push_str(&format!("{:>4} - {a}\n", i + 1));
        }
        if let Some(b) = b {
            out.push_str(&format!("{:>4} + {b}\n", i + 1));
        }
        shown += 1;
    }
    out
}

fn json(name: &str) -> Value {
    serde_json::from_slice(&report("json", &format!("{name}.pcapng"))).expect("JSON")
}

/// The participants of the (only) conference with this URI, in report order.
fn rows<'a>(v: &'a Value, uri: &str) -> Vec<&'a Value> {
    v["conferences"][0]["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .filter(|p| p["uri"] == uri)
        .collect()
}

fn one<'a>(v: &'a Value, uri: &str) -> &'a Value {
    let r = rows(v, uri);
    assert_eq!(r.len(), 1, "{uri}");
    r[0]
}

#[test]
fn the_lobby_and_guests_text_report() {
    text_report_is_as_expected("lobby-and-guests");
}

#[test]
fn the_devices_sharing_escalation_text_report() {
    text_report_is_as_expected("devices-sharing-escalation");
}

#[test]
fn the_dial_in_and_rejoin_text_report() {
    text_report_is_as_expected("dial-in-and-rejoin");
}

#[test]
fn lobby_guests_and_the_edge_in_json() {
    let v = json("lobby-and-guests");
    assert_eq!(one(&v, "sip:alice@example.com")["state"], "joined");

    let priya = one(&v, "sip:69a011ab28af92d7e3e9bac2b8aac3cb@anonymous.invalid");
    assert_eq!(priya["state"], "joined");
    assert_eq!(priya["access"], "anonymous");
    assert_eq!(priya["edge"], "edge01.example.com");
    assert_eq!(priya["invited_by"], Value::Null);
    assert_eq!(priya["steps"]["focus"]["status"], 200);
    // The focus answered the join `pending`, then `success` when alice admitted her.
    assert_eq!(priya["steps"]["focus"]["c3p"]["code"], "success");
    assert_eq!(priya["steps"]["media"]["status"], 200);
    assert_eq!(priya["lobby"]["admitted"], true);
    assert_eq!(priya["lobby"]["by"], "sip:alice@example.com");
    assert_eq!(priya["lobby"]["refused_by_focus"], false);

    let tom = one(&v, "sip:3af19d410f25488284e9e09bfc8a6bad@anonymous.invalid");
    assert_eq!(tom["state"], "failed");
    assert_eq!(tom["failed_step"], "focus");
    assert_eq!(tom["steps"]["focus"]["status"], 200);
    assert_eq!(tom["steps"]["focus"]["ended_by"], "server");
    assert_eq!(tom["lobby"]["admitted"], false);
    assert!(tom["reason"]
        .as_str()
        .is_some_and(|r| r.starts_with("sip:alice@example.com refused")));

    let lena = one(&v, "sip:1f170e43520116b75ede2c21c85e971a@anonymous.invalid");
    assert_eq!(lena["state"], "lobby");
    assert_eq!(lena["failed_step"], Value::Null);
    assert!(lena["reason"]
        .as_str()
        .is_some_and(|r| r.starts_with("waiting in the lobby since")));
    assert!(lena.get("lobby").is_none());

    let yusuf = one(&v, "sip:yusuf@partner.example");
    assert_eq!(yusuf["state"], "failed");
    assert_eq!(yusuf["failed_step"], "invitation");
    assert_eq!(yusuf["access"], "federated");
    assert_eq!(yusuf["steps"]["invitation"]["status"], 504);
    assert_eq!(yusuf["steps"]["invitation"]["diagnostics"]["code"], 1010);
    assert_eq!(
        yusuf["steps"]["invitation"]["diagnostics"]["source"],
        "edge01.example.com"
    );
    assert!(yusuf["reason"]
        .as_str()
        .is_some_and(|r| r.starts_with("the Edge (edge01.example.com) refused")));

    assert_eq!(
        v["summary"]["outcomes"],
        serde_json::json!({"joined": 2, "lobby": 1, "failed": 2})
    );
}

#[test]
fn devices_sharing_and_the_escalation_in_json() {
    let v = json("devices-sharing-escalation");
    let c = &v["conferences"][0];
    let escalated = &c["escalated_from"];
    assert_eq!(escalated["from"], "sip:alice@example.com");
    assert_eq!(escalated["to"], "sip:bob@example.com");
    assert_eq!(escalated["state"], "completed");
    let call = v["dialogs"]
        .as_array()
        .expect("dialogs")
        .iter()
        .find(|d| d["call_id"] == escalated["call_id"])
        .expect("the escalated call is a dialog");
    assert_eq!(call["kind"], "other");
    assert_eq!(
        c["mcus"],
        serde_json::json!(["focus", "audio-video", "applicationsharing"])
    );

    let alice = one(&v, "sip:alice@example.com");
    assert_eq!(alice["state"], "left");
    assert_eq!(alice["steps"]["applicationsharing"]["status"], 200);
    assert_eq!(
        alice["steps"]["applicationsharing"]["media"],
        serde_json::json!(["applicationsharing"])
    );
    assert_eq!(alice["ended"]["how"], "conference-ended");
    assert_eq!(alice["ended"]["by"], "sip:alice@example.com");

    let bobs = rows(&v, "sip:bob@example.com");
    assert_eq!(bobs.len(), 2);
    let (desktop, phone) = (bobs[0], bobs[1]);
    assert_eq!(desktop["device"], "4f1c09a7e2");
    assert_eq!(desktop["state"], "left");
    assert_eq!(desktop["user_state"], "left");
    assert_eq!(desktop["invited_by"], "sip:alice@example.com");
    assert_eq!(desktop["steps"]["media"]["status"], 200);
    assert_eq!(desktop["steps"]["applicationsharing"]["status"], 488);
    assert_eq!(
        desktop["steps"]["applicationsharing"]["diagnostics"]["code"],
        24000
    );
    assert_eq!(desktop["other_failures"][0]["step"], "applicationsharing");
    assert_eq!(desktop["other_failures"][0]["status"], 488);
    assert_eq!(phone["device"], "b83d5e0f61");
    assert_eq!(phone["state"], "failed");
    assert_eq!(phone["failed_step"], "focus");
    assert_eq!(phone["user_state"], "left");
    assert_eq!(phone["invited_by"], Value::Null);
    assert_eq!(phone["client"], "phone");
    assert_eq!(phone["steps"]["focus"]["status"], 403);
    assert_eq!(phone["steps"]["focus"]["diagnostics"]["code"], 3014);

    let carol = one(&v, "sip:carol@example.com");
    assert_eq!(carol["state"], "left");
    assert_eq!(carol["ended"]["how"], "removed");
    assert_eq!(carol["ended"]["by"], "sip:alice@example.com");

    let commands: Vec<(&Value, &Value)> = c["c3p_commands"]
        .as_array()
        .expect("c3p_commands")
        .iter()
        .map(|x| (&x["request"], &x["code"]))
        .collect();
    assert_eq!(
        commands,
        [
            (&"deleteUser".into(), &"success".into()),
            (&"deleteConference".into(), &"success".into())
        ]
    );
}

#[test]
fn phones_dial_outs_and_the_rejoin_in_json() {
    let v = json("dial-in-and-rejoin");
    let caller = one(&v, "sip:+14255550123@example.com");
    assert_eq!(caller["state"], "joined");
    assert_eq!(caller["access"], "phone");
    assert_eq!(caller["invited_by"], Value::Null);
    assert_eq!(caller["steps"]["focus"], Value::Null);
    assert_eq!(caller["steps"]["roster"], Value::Null);
    assert_eq!(caller["steps"]["media"]["status"], 200);
    assert!(caller.get("dialed_out_by").is_none());

    let answered = one(&v, "sip:+14255550100@example.com");
    assert_eq!(answered["state"], "joined");
    assert_eq!(answered["access"], "phone");
    assert_eq!(answered["dialed_out_by"]["by"], "sip:alice@example.com");
    assert_eq!(answered["steps"]["media"]["status"], 200);

    let busy = one(&v, "sip:+14255550142@example.com");
    assert_eq!(busy["state"], "failed");
    assert_eq!(busy["failed_step"], "media");
    assert_eq!(busy["steps"]["media"]["status"], 486);
    assert_eq!(busy["dialed_out_by"]["by"], "sip:alice@example.com");
    assert_eq!(
        busy["reason"],
        "the A/V MCU dialled out to sip:+14255550142@example.com and the call failed: 486 \
         Busy Here"
    );

    let bob = one(&v, "sip:bob@example.com");
    assert_eq!(bob["state"], "joined");
    assert_eq!(bob["invited_by"], "sip:alice@example.com");
    let attempts = bob["steps"]["focus"]["attempts"]
        .as_array()
        .expect("two focus attempts");
    assert_eq!(attempts.len(), 2);
    assert!(attempts.iter().all(|a| a["status"] == 200));
    assert_ne!(attempts[0]["call_id"], attempts[1]["call_id"]);
    assert_eq!(bob["steps"]["focus"]["call_id"], attempts[1]["call_id"]);
    assert_eq!(
        v["summary"]["outcomes"],
        serde_json::json!({"joined": 4, "failed": 1})
    );
}
