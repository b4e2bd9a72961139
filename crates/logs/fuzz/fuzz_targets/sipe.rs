#![no_main]
//! The sipe reader on arbitrary bytes, read in small and large pieces: must never panic, and
//! every yielded record is counted.

use libfuzzer_sys::fuzz_target;
use lyncscope_logs::{Format, LogReader, ReadOptions};

struct Trickle<'a>(&'a [u8], usize);

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.1.min(buf.len()).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

fuzz_target!(|data: &[u8]| {
    let step = 1 + usize::from(data.first().copied().unwrap_or(0)) * 17;
    let mut reader = LogReader::new(Trickle(data, step), Format::Sipe, ReadOptions::default());
    let mut n = 0u64;
    while let Ok(Some(_)) = reader.next_record() {
        n += 1;
    }
    let s = reader.stats();
    assert_eq!(s.sip_messages + s.server_events, n);
});
