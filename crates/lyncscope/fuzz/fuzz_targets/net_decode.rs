//! Link layers, tunnels, IPv4/IPv6 and fragment reassembly: `NetDecoder` over a frame
//! sequence (see the encoding in `src/lib.rs`), then the end-of-input flush. Also the flow
//! key (`frame_flow`) and the ICMP-quoted packet parser on every frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lyncscope::net::{self, DefragConfig, NetDecoder, NetOutput};
use lyncscope_fuzz::{frame, frames};

fuzz_target!(|data: &[u8]| {
    // The top bit of the first selector (the selector only uses its low 4 bits) picks the
    // reassembly bounds: the defaults, or tiny ones so that eviction is reached quickly.
    let tiny = data.first().is_some_and(|b| b & 0x80 != 0);
    let mut dec = if !tiny {
        NetDecoder::new()
    } else {
        NetDecoder::with_defrag_config(tiny_defrag())
    };
    for (i, f) in frames(data).iter().enumerate() {
        let fr = frame(i, f);
        let _ = net::frame_flow(fr.link_type, fr.data);
        if let NetOutput::Packet(p) = dec.decode(&fr) {
            assert!(p.first_frame <= fr.number);
            if matches!(p.protocol, 1 | 58) {
                let _ = net::quoted_packet(&p.payload, p.protocol == 58);
            }
        }
        let _ = dec.defrag_usage();
    }
    dec.flush();
    assert_eq!(dec.defrag_usage().0, 0, "flush empties the reassembly pool");
    let _ = dec.stats();
});

fn tiny_defrag() -> DefragConfig {
    DefragConfig {
        max_datagrams: 4,
        max_bytes: 4096,
        timeout_ns: 2_000_000_000,
    }
}
