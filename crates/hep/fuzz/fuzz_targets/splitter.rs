#![no_main]
//! Any bytes, as a TCP stream cut at fuzzer-chosen points: the splitter must
//! not panic, must stay bounded, and must only hand out `HEP3`-framed packets.

use libfuzzer_sys::fuzz_target;
use lyncscope_hep::{decode, Hep3Splitter, MAX_HEP3_PACKET};

fuzz_target!(|data: &[u8]| {
    let Some((&step, stream)) = data.split_first() else { return };
    let step = usize::from(step).max(1) * 37;
    let mut s = Hep3Splitter::new();
    let mut rest = stream;
    while !rest.is_empty() {
        let n = s.push(&rest[..step.min(rest.len())]);
        rest = &rest[n..];
        while let Some(p) = s.next_packet() {
            assert!(p.starts_with(b"HEP3"));
            assert_eq!(usize::from(u16::from_be_bytes([p[4], p[5]])), p.len());
            let _ = decode(p);
        }
        assert!(s.buffered() < MAX_HEP3_PACKET);
    }
});
