//! TCP reassembly fed segment sequences, structure-aware: a few connections whose segments
//! (`arbitrary`) take their bytes from a SIP script or are arbitrary, in any order, with
//! retransmissions, overlaps, gaps, SYN/FIN/RST, sequence wrap and time jumps. Driven through
//! `Pipeline::push` as LINKTYPE_RAW IPv4 frames, then `finish`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lyncscope::capture::Frame;
use lyncscope::{Options, Pipeline, Timestamp};
use lyncscope_fuzz::TcpCase;

fuzz_target!(|case: TcpCase| {
    let mut p = Pipeline::new(&Options::with_messages());
    for (i, (ts, pkt)) in case.packets().iter().enumerate() {
        p.push(&Frame {
            number: i as u64 + 1,
            timestamp: Timestamp(*ts),
            link_type: lyncscope::linktype::RAW,
            data: pkt,
            original_len: pkt.len() as u32,
            source: 0,
        });
    }
    p.finish();
    let s = p.stats();
    assert_eq!(s.packets as usize, case.segments.len());
});
