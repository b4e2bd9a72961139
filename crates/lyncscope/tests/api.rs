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

/// The JSON report (messages listed) of a pipeline, for comparing two runs.
fn json(p: &lyncscope::pipeline::Pipeline) -> String {
    let sources = ["x".to_string()];
    let input = lyncscope::report::ReportInput {
        sources: &sources,
        messages: true,
        ..Default::default()
    };
    let mut out = Vec::new();
    lyncscope::report::json::write(&mut out, &input, &p.stats(), p.analysis()).expect("to memory");
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// The layers before the analysis taken out of the pipeline and run apart (as the terminal UI
/// runs them, on a thread of their own), their batches delivered in any size: the same report
/// as one pipeline pushing every input, and the counters shown meanwhile are those of the last
/// batch delivered.
#[test]
fn the_layers_run_apart_give_the_same_report() {
    use lyncscope::pipeline::{MessageBatch, NoTap, Pipeline};
    use lyncscope::source::Source;
    let samples = [
        "conference-join.pcapng",
        "av-mcu-rejected.pcapng",
        "join-udp-fragments.pcap",
        "dial-in-and-rejoin.pcapng",
        "lobby-and-guests.pcapng",
    ];
    for name in samples {
        let paths = [capture(name)];
        let mut files = lyncscope::capture::CaptureFiles::open(&paths).expect("sample opens");
        let mut whole = Pipeline::new(&lyncscope::Options::with_messages());
        lyncscope::pipeline::run(&mut files, &mut whole);
        let expected = json(&whole);

        for every in [1usize, 7, 1000] {
            let mut files = lyncscope::capture::CaptureFiles::open(&paths).expect("sample opens");
            let mut apart = Pipeline::new(&lyncscope::Options::with_messages());
            let mut reading = apart.take_reading();
            let mut batch = MessageBatch::default();
            let mut read = 0usize;
            let mut delivered_packets = 0;
            while let Some(input) = files.next_input() {
                reading.push_input(&input, &mut batch, &mut NoTap);
                read += 1;
                if read.is_multiple_of(every) {
                    reading.stamp(&mut batch);
                    apart.deliver(&mut batch);
                    assert!(batch.is_empty());
                    delivered_packets = read as u64;
                }
                // What is not delivered yet is not counted yet.
                assert_eq!(apart.stats().packets, delivered_packets, "{name}");
            }
            reading.finish(&mut batch, &mut NoTap);
            reading.stamp(&mut batch);
            apart.deliver(&mut batch);
            apart.rejoin(reading);
            assert_eq!(json(&apart), expected, "{name}, batches of {every}");
        }
    }
}
