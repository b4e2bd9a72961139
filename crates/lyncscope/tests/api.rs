//! The library's front door: one call analyses inputs; the typed diagnosis needs no English.

use lyncscope::analysis::{Cause, JoinState, JoinStep};

fn capture(name: &str) -> String {
    format!("{}/../../captures/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn analyze_gives_typed_diagnoses() {
    let done = lyncscope::analyze(
        &[capture("av-mcu-rejected.pcapng")],
        &lyncscope::Options::default(),
    )
    .expect("sample opens");
    assert!(done.warnings.is_empty());
    let confs = done.analysis().conferences().list();
    assert_eq!(confs.len(), 1);
    let c = &confs[0];
    let bob = c
        .participants
        .iter()
        .find(|p| p.uri == "sip:bob@example.com")
        .expect("bob");
    let d = c.diagnose(bob);
    assert_eq!(d.state, JoinState::Failed);
    assert_eq!(d.failed_step, Some(JoinStep::Media));
    assert_eq!(d.cause, Some(Cause::Rejected));
    assert_eq!(d.evidence.and_then(|s| s.status), Some(488));
    // Messages are not listed unless asked for.
    assert!(done.analysis().messages().is_empty());
    let listed = lyncscope::analyze(
        &[capture("av-mcu-rejected.pcapng")],
        &lyncscope::Options::with_messages(),
    )
    .expect("sample opens");
    assert!(!listed.analysis().messages().is_empty());
}

#[test]
fn a_missing_input_is_an_error_not_a_panic() {
    assert!(lyncscope::analyze(
        &[capture("no-such-file.pcap")],
        &lyncscope::Options::default()
    )
    .is_err());
}
