//! The bundled sample captures: they are exactly what the generator produces, and their
//! conference analysis is what each scenario says it should be — every participant's state,
//! inviter, failed step, status, ms-diagnostics and C3P outcome, the dialog kinds, and no
//! conference where there is none.

use lyncscope::analysis::{Analysis, Conference, DialogKind, JoinStep, Participant, Step};
use lyncscope::capture::CaptureFiles;
use lyncscope::pipeline::Pipeline;
use lyncscope_synth::{self as synth, scenarios};
use std::path::PathBuf;

fn capture_path(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .join("captures")
        .join(name)
}

fn analyse(name: &str) -> Pipeline {
    let path = capture_path(name).to_string_lossy().to_string();
    let mut files = CaptureFiles::open(&[path]).expect("sample capture opens");
    let mut p = Pipeline::new(&lyncscope::Options::with_messages());
    lyncscope::pipeline::run(&mut files, &mut p);
    assert!(
        files.warnings().is_empty(),
        "{name}: {:?}",
        files.warnings()
    );
    p
}

#[test]
fn committed_captures_equal_what_the_generator_produces() {
    let list = scenarios();
    assert_eq!(list.len(), 12);
    for s in list {
        let generated = (s.build)();
        let committed = std::fs::read(capture_path(s.file_name)).expect("committed capture");
        assert!(
            generated.bytes == committed,
            "captures/{} differs from the generator: run `cargo run --example make_captures`",
            s.file_name
        );
    }
    let readme = std::fs::read_to_string(capture_path("README.md")).expect("captures/README.md");
    let built: Vec<_> = scenarios().into_iter().map(|s| (s, (s.build)())).collect();
    assert_eq!(
        readme,
        synth::readme(&built),
        "captures/README.md is stale: run `cargo run --example make_captures`"
    );
}

/// The step the expectation's status and diagnostics refer to: the failed step, else the
/// invitation of a declined participant.
fn relevant_step(p: &Participant, failed: Option<JoinStep>) -> Option<&Step> {
    match failed {
        Some(JoinStep::Invitation) | None => p.invitation.as_deref(),
        Some(JoinStep::Focus) => p.focus.as_deref(),
        Some(JoinStep::Media) => p.media_step().or(p.mcus.last().map(|(_, s)| s)),
    }
}

#[test]
fn every_sample_is_analysed_as_its_scenario_says() {
    for s in scenarios() {
        let p = analyse(s.file_name);
        let stats = p.stats();
        let generated = (s.build)();
        assert_eq!(
            stats.analysis.sip_messages as usize, generated.sip_messages,
            "{}: SIP messages",
            s.name
        );
        assert_eq!(stats.transport.incomplete_messages, 0, "{}", s.name);
        assert_eq!(
            stats.transport.malformed_messages + stats.analysis.defective_messages,
            0,
            "{}",
            s.name
        );
        assert_eq!(stats.net.undecoded, 0, "{}", s.name);
        let a = p.analysis();
        let confs = a.conferences().list();
        let mut expected_per_conf = std::collections::BTreeMap::new();
        for want in s.participants {
            *expected_per_conf.entry(want.conference).or_insert(0) += 1;
            let conf = confs
                .iter()
                .find(|c| c.id == want.conference)
                .unwrap_or_else(|| panic!("{}: conference {} not found", s.name, want.conference));
            // a user on several devices has a participant per device (`epid`)
            let got = conf
                .participants
                .iter()
                .find(|p| {
                    p.uri == want.uri
                        && want
                            .device
                            .is_none_or(|epid| p.device.as_deref() == Some(epid))
                })
                .unwrap_or_else(|| panic!("{}: {} not in {}", s.name, want.uri, want.conference));
            let d = conf.diagnose(got);
            let (state, failed, reason) = (
                d.state,
                d.failed_step,
                lyncscope::report::reason::reason(&d, got),
            );
            let who = format!(
                "{} / {} / {}{}",
                s.name,
                want.conference,
                want.uri,
                want.device.map(|d| format!(" ({d})")).unwrap_or_default()
            );
            assert_eq!(state, want.state, "{who}: state ({reason:?})");
            assert_eq!(failed, want.failed_step, "{who}: failed step");
            assert_eq!(
                got.invited_by.as_deref(),
                want.invited_by,
                "{who}: invited by"
            );
            assert_eq!(
                reason.is_some(),
                want.failed_step.is_some()
                    || matches!(want.state, synth::State::Declined | synth::State::Lobby),
                "{who}: reason {reason:?}"
            );
            // A leader's refusal from the lobby is said as who refused, not as the 200 that
            // put the participant in the lobby.
            let lobby_refusal = d.cause == Some(lyncscope::analysis::Cause::LobbyDenied);
            if want.status.is_some() || want.diagnostics.is_some() || want.c3p.is_some() {
                let step = relevant_step(got, failed).unwrap_or_else(|| panic!("{who}: no step"));
                assert_eq!(step.status, want.status, "{who}: status");
                assert_eq!(
                    step.diagnostic.as_deref().map(|(_, d)| d.code),
                    want.diagnostics,
                    "{who}: ms-diagnostics"
                );
                let c3p = step.c3p.as_ref().and_then(|c| {
                    (c.code == Some(lyncscope::analysis::C3pCode::Failure))
                        .then(|| format!("failure/{}", c.reason.as_deref().unwrap_or("")))
                });
                assert_eq!(c3p.as_deref(), want.c3p, "{who}: C3P");
                let reason = reason.unwrap_or_default();
                if let Some(code) = want.status.filter(|_| !lobby_refusal) {
                    assert!(
                        reason.contains(&code.to_string()),
                        "{who}: reason names the status: {reason}"
                    );
                }
                if let Some(d) = want.diagnostics {
                    assert!(
                        reason.contains(&d.to_string()),
                        "{who}: reason names the diagnostics: {reason}"
                    );
                }
            }
            assert_step_dialog_kinds(a, conf, got, &who);
        }
        // No participant or conference the scenario does not name.
        assert_eq!(
            confs.len(),
            expected_per_conf.len(),
            "{}: conferences {:?}",
            s.name,
            confs.iter().map(|c| &c.id).collect::<Vec<_>>()
        );
        for c in confs {
            assert_eq!(
                Some(&c.participants.len()),
                expected_per_conf.get(c.id.as_str()),
                "{}: participants of {}",
                s.name,
                c.id
            );
        }
        // Dialogs outside conferences are ordinary.
        for d in a.dialogs() {
            if d.conference_id.is_none() {
                assert!(
                    matches!(d.kind, DialogKind::Other | DialogKind::ConferenceControl),
                    "{}: {:?} {}",
                    s.name,
                    d.kind,
                    d.call_id
                );
            }
        }
    }
}

/// Every step's dialog has the kind of its step and names the conference.
fn assert_step_dialog_kinds(a: &Analysis, conf: &Conference, p: &Participant, who: &str) {
    let check = |step: &Step, kind: DialogKind| {
        let d = &a.dialogs()[step.dialog as usize];
        assert_eq!(d.kind, kind, "{who}: dialog {} kind", d.call_id);
        assert_eq!(
            d.conference_id.as_deref(),
            Some(conf.id.as_str()),
            "{who}: dialog {} conference",
            d.call_id
        );
    };
    if let Some(s) = &p.invitation {
        check(s, DialogKind::Invitation);
    }
    if let Some(s) = &p.focus {
        check(s, DialogKind::Focus);
    }
    if let Some(s) = &p.roster {
        check(s, DialogKind::Roster);
    }
    for s in &p.media {
        check(s, DialogKind::Media);
    }
    for (_, s) in &p.mcus {
        check(s, DialogKind::Mcu);
    }
}

#[test]
fn ordinary_calls_are_never_conferences() {
    let p = analyse("multi-conference.pcapng");
    let a = p.analysis();
    let ordinary: Vec<_> = a
        .dialogs()
        .iter()
        .filter(|d| d.kind == DialogKind::Other)
        .collect();
    let methods: Vec<&str> = ordinary.iter().map(|d| a.symbols.name(d.method)).collect();
    for m in ["REGISTER", "OPTIONS", "INVITE", "MESSAGE"] {
        assert!(
            methods.contains(&m),
            "an ordinary {m} dialog is in the capture: {methods:?}"
        );
    }
    assert!(ordinary.iter().all(|d| d.conference_id.is_none()));
    assert_eq!(a.conferences().list().len(), 3);
    // The REGISTER was challenged, then accepted: its outcome is the 200.
    let register = ordinary
        .iter()
        .find(|d| a.symbols.name(d.method) == "REGISTER")
        .expect("REGISTER");
    assert_eq!(register.final_status, Some(200));
}

#[test]
fn a_failed_av_attempt_then_a_retry_ends_joined_with_both_attempts_kept() {
    let p = analyse("av-mcu-rejected.pcapng");
    let conf = &p.analysis().conferences().list()[0];
    let carol = conf
        .participants
        .iter()
        .find(|p| p.uri == "sip:carol@example.com")
        .expect("carol");
    assert_eq!(carol.media.len(), 2);
    assert_eq!(carol.media[0].status, Some(488));
    assert_eq!(carol.media[1].status, Some(200));
    assert_ne!(carol.media[0].call_id, carol.media[1].call_id);
    assert_eq!(carol.media_step().and_then(|s| s.status), Some(200));
    assert_eq!(conf.diagnose(carol).state.as_str(), "joined");
}

#[test]
fn the_main_sample_reports_conferences_in_json() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .args(["--report", "json"])
        .arg(capture_path("conference-join.pcapng"))
        .output()
        .expect("runs");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["stats"]["conferences"], 1);
    let c = &v["conferences"][0];
    assert_eq!(c["id"], "MT4HQZ8C");
    assert_eq!(c["organizer"], "sip:alice@example.com");
    assert_eq!(
        c["focus_uri"],
        "sip:alice@example.com;gruu;opaque=app:conf:focus:id:MT4HQZ8C"
    );
    let bob = c["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .find(|p| p["uri"] == "sip:bob@example.com")
        .expect("bob");
    assert_eq!(bob["state"], "joined");
    assert_eq!(bob["invited_by"], "sip:alice@example.com");
    assert_eq!(bob["failed_step"], serde_json::Value::Null);
    assert_eq!(bob["steps"]["invitation"]["status"], 200);
    assert_eq!(bob["steps"]["focus"]["c3p"]["request"], "addUser");
    assert_eq!(bob["steps"]["focus"]["c3p"]["code"], "success");
    assert_eq!(bob["steps"]["media"]["media"], serde_json::json!(["audio"]));
    assert_eq!(bob["steps"]["media"]["cryptoscale"], true);
    assert!(bob["steps"]["media"]["setup_ms"]
        .as_i64()
        .is_some_and(|ms| ms > 0));
    let alice = c["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .find(|p| p["uri"] == "sip:alice@example.com")
        .expect("alice");
    assert_eq!(
        alice["steps"]["invitation"],
        serde_json::Value::Null,
        "a join by meeting link has no invitation"
    );
    let kinds: Vec<&str> = v["dialogs"]
        .as_array()
        .expect("dialogs")
        .iter()
        .filter_map(|d| d["kind"].as_str())
        .collect();
    for k in ["invitation", "focus", "roster", "media"] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
}

#[test]
fn messages_know_the_frames_that_carried_them() {
    // Carol's focus INVITE is split over three TCP segments; bob's A/V INVITE over UDP is
    // IP-fragmented with its fragments out of order.
    for (file, want_multi) in [
        ("conference-join.pcapng", true),
        ("join-udp-fragments.pcap", true),
    ] {
        let p = analyse(file);
        let a = p.analysis();
        let msgs = a.messages();
        assert!(
            msgs.iter()
                .all(|m| m.first_frame(a) <= m.frame() && m.first_frame(a) > 0),
            "{file}"
        );
        assert_eq!(
            msgs.iter().any(|m| m.first_frame(a) < m.frame()),
            want_multi,
            "{file}"
        );
    }
}

/// The media sample: alice's ICE checks are answered and SRTP flows; bob's A/V MCU answered
/// 200, but his checks went unanswered and his client hung up with ms-client-diagnostics.
#[test]
fn media_that_never_flowed_fails_the_join_at_media() {
    let run = |report: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lyncscope"))
            .args(["--report", report])
            .arg(capture_path("media-never-flowed.pcapng"))
            .output()
            .expect("runs");
        assert!(out.status.success());
        out.stdout
    };
    let v: serde_json::Value = serde_json::from_slice(&run("json")).expect("JSON");
    let who = |uri: &str| {
        v["conferences"][0]["participants"]
            .as_array()
            .expect("participants")
            .iter()
            .find(|p| p["uri"] == uri)
            .cloned()
            .expect("participant")
    };
    let alice = who("sip:alice@example.com");
    assert_eq!(alice["state"], "joined");
    let flow = &alice["steps"]["media"]["flow"];
    assert_eq!(flow["ice"], "succeeded");
    assert_eq!(
        flow["pair"],
        serde_json::json!({"client": "192.0.2.21:50140", "mcu": "198.51.100.10:51224"})
    );
    assert_eq!(
        flow["to_mcu"],
        serde_json::json!({"checks": 2, "answers": 2, "error_answers": 0, "rtp": 75,
            "rtcp": 1, "packets": 76, "bytes": 5678, "other": 0})
    );
    assert_eq!(flow["to_client"]["checks"], 2);
    assert_eq!(flow["to_client"]["answers"], 2);
    assert_eq!(flow["to_client"]["packets"], 76);
    assert_eq!(flow["first_packet"], "2026-01-12T11:15:02.702796Z");
    assert_eq!(
        (
            flow["client_candidates"].as_u64(),
            flow["mcu_candidates"].as_u64()
        ),
        (Some(2), Some(2))
    );
    let bob = who("sip:bob@example.com");
    assert_eq!(bob["state"], "failed");
    assert_eq!(bob["failed_step"], "media");
    let flow = &bob["steps"]["media"]["flow"];
    assert_eq!(flow["ice"], "failed");
    assert_eq!(flow["pair"], serde_json::Value::Null);
    assert_eq!(flow["to_mcu"]["checks"], 18);
    assert_eq!(flow["to_client"]["answers"], 0);
    assert_eq!(flow["to_mcu"]["packets"], 0);
    assert_eq!(flow["first_packet"], serde_json::Value::Null);
    let reason = bob["reason"].as_str().expect("reason");
    assert!(
        reason.contains(
            "18 ICE checks (STUN Binding requests) from 192.0.2.22:50580 to the \
             MCU's 2 candidates went unanswered for 7.9 s"
        ) && reason.contains("hung up 10.7 s after the 200 with ms-client-diagnostics 23"),
        "{reason}"
    );
    assert_eq!(v["stats"]["media_datagrams"], 2 * 76 + 8 + 18);
    assert_eq!(v["stats"]["media_candidates_dropped"], 0);
    let text = String::from_utf8(run("text")).expect("UTF-8");
    assert!(
        text.contains(
            "media: ICE succeeded, checks 2 sent / 2 answered, pair 192.0.2.21:50140 ↔ \
         198.51.100.10:51224, to MCU 76 RTP/RTCP (5678 B), to client 76 RTP/RTCP (5532 B), \
         11:15:02.702 → 11:15:04.205"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "media: ICE failed, checks 18 sent / 0 answered, to MCU 0 RTP/RTCP (0 B), to client 0 \
         RTP/RTCP (0 B)"
        ),
        "{text}"
    );
}
