#![no_main]
//! Format detection and `LogReader::open` on arbitrary bytes: must never panic.

use libfuzzer_sys::fuzz_target;
use lyncscope_logs::{detect, LogReader, ReadOptions};

fuzz_target!(|data: &[u8]| {
    let _ = detect(data);
    if let Ok(Ok(mut r)) = LogReader::open(data, ReadOptions::default()) {
        while let Ok(Some(_)) = r.next_record() {}
    }
});
