//! The log sources (SIPStack, UCCAPI, sipe): `LogInput` over a `Cursor` holding the input, in
//! the format detection finds (else the one the first byte picks), every record read; the
//! messages it yields go through `Pipeline::push_input` and the JSON report.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lyncscope::logs::{self, LogInput, LogOptions};
use lyncscope::report::{json, ReportInput};
use lyncscope::source::Source;
use lyncscope::{Options, Pipeline};
use lyncscope_logs::Format;

fuzz_target!(|data: &[u8]| {
    let Some(&first) = data.first() else {
        return;
    };
    let format = match logs::detect(data) {
        Some(Ok(f)) => f,
        _ => [Format::SipStack, Format::UccApi, Format::Sipe][usize::from(first % 3)],
    };
    let options = LogOptions {
        utc_offset_secs: i32::from(first as i8) * 900,
        ..LogOptions::default()
    };
    let mut log = LogInput::new(
        Box::new(std::io::Cursor::new(data.to_vec())),
        format,
        "fuzz/host.log",
        0,
        &options,
    );
    let mut p = Pipeline::new(&Options::with_messages());
    let mut n = 0u64;
    while let Some(input) = log.next_input() {
        p.push_input(&input);
        n += 1;
    }
    p.finish();
    let _ = log.take_events();
    let _ = (log.stats(), log.events_dropped(), log.synthetic());
    for ip in log.synthetic().keys() {
        assert!(
            logs::is_synthetic(*ip),
            "a synthetic endpoint is in the synthetic range"
        );
    }
    let sources = ["fuzz/host.log".to_string()];
    let input = ReportInput {
        sources: &sources,
        warnings: &[],
        messages: true,
        live: None,
        written: None,
        inputs: None,
        ..Default::default()
    };
    let stats = p.stats();
    assert_eq!(stats.packets, n);
    json::write(&mut std::io::sink(), &input, &stats, p.analysis()).expect("JSON to a sink");
});
