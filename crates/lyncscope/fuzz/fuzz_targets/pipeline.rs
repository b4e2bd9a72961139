//! The whole pipeline on a frame sequence (see the encoding in `src/lib.rs`): every frame
//! through `Pipeline::push`, `finish`, then the JSON and text reports written to a sink. The
//! top bits of the first selector choose the options (messages listed, message store, change
//! log, conferences off, copies merged). The input as a whole also goes through the media
//! classifier (STUN / RTP / RTCP).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lyncscope::report::{json, text, ReportInput};
use lyncscope::{Options, Pipeline};
use lyncscope_fuzz::{frame, frames};

fuzz_target!(|data: &[u8]| {
    // The media classifier sees any UDP payload once addresses are registered, which random
    // frames rarely reach: it is given the raw input too.
    let _ = lyncscope::analysis::media::classify(data);
    let bits = data.first().map_or(0, |b| b >> 4);
    let options = Options {
        keep_messages: bits & 1 != 0,
        message_store: bits & 2 != 0,
        change_log: bits & 4 != 0,
        conferences: bits & 8 == 0,
        merge_copies: bits & 6 == 6,
        ..Options::default()
    };
    let mut p = Pipeline::new(&options);
    let frames = frames(data);
    for (i, f) in frames.iter().enumerate() {
        p.push(&frame(i, f));
    }
    p.finish();
    let sources = ["fuzz.pcap".to_string()];
    let warnings = ["a warning".to_string()];
    let input = ReportInput {
        sources: &sources,
        warnings: &warnings,
        messages: options.keep_messages,
        live: None,
        written: None,
        inputs: None,
        ..Default::default()
    };
    let stats = p.stats();
    assert_eq!(stats.packets as usize, frames.len());
    json::write(&mut std::io::sink(), &input, &stats, p.analysis()).expect("JSON to a sink");
    text::write(&mut std::io::sink(), &input, &stats, p.analysis()).expect("text to a sink");
});
