//! TLS through the whole pipeline under disorder: segments reordered (TCP puts them back
//! before the decryptor sees them), random key material, flipped bytes — counted, never a
//! panic, never plaintext that did not authenticate.

use lyncscope::capture::{CaptureFiles, Frame};
use lyncscope::{Options, Pipeline, Timestamp};
use proptest::prelude::*;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../captures/tls");

fn frames(name: &str) -> Vec<(Timestamp, u32, Vec<u8>)> {
    let mut files = CaptureFiles::open(&[format!("{DIR}/{name}")]).expect("capture");
    let mut out = Vec::new();
    while let Some(f) = files.next_frame() {
        out.push((f.timestamp, f.link_type, f.data.to_vec()));
    }
    out
}

fn run(frames: &[(Timestamp, u32, Vec<u8>)], keylog: &[u8]) -> (u64, lyncscope_tls::TlsStats) {
    let p = Pipeline::new(&Options::default());
    p.tls().add_keylog(keylog);
    let mut p = p;
    for (i, (ts, lt, data)) in frames.iter().enumerate() {
        p.push(&Frame {
            number: i as u64 + 1,
            timestamp: *ts,
            link_type: *lt,
            data,
            original_len: data.len() as u32,
            source: 0,
        });
    }
    p.finish();
    let s = p.stats();
    (s.analysis.sip_messages, s.tls)
}

fn keylog() -> Vec<u8> {
    std::fs::read(format!("{DIR}/join-tls12-ecdhe.keylog")).expect("key log")
}

#[test]
fn in_order_the_join_decrypts_whole() {
    let (sip, tls) = run(&frames("join-tls12-ecdhe.pcap"), &keylog());
    assert_eq!(sip, 62);
    assert_eq!((tls.connections, tls.decrypted, tls.bad_records), (3, 3, 0));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Neighbouring segments of one direction swapped (reordered in the network before the
    /// capture point): the same 62 messages, every record authenticated. Segments of the two
    /// directions keep their order: a peer cannot acknowledge what it has not received, and an
    /// acknowledgement beyond a hole rightly gives the hole up.
    #[test]
    fn reordered_segments_decrypt_the_same(swaps in prop::collection::vec(0usize..1000, 0..40)) {
        let mut f = frames("join-tls12-ecdhe.pcap");
        let n = f.len();
        let sender = |x: &(Timestamp, u32, Vec<u8>)| {
            lyncscope::net::frame_flow(x.1, &x.2).map(|fl| (fl.src, fl.ports.map(|p| p.0)))
        };
        for s in swaps {
            let i = s % (n - 1);
            if sender(&f[i]) == sender(&f[i + 1]) {
                f.swap(i, i + 1);
            }
        }
        let (sip, tls) = run(&f, &keylog());
        prop_assert_eq!(sip, 62);
        prop_assert_eq!(tls.bad_records, 0);
        prop_assert_eq!(tls.decrypted, 3);
    }

    /// Random key log text: nothing decrypts, nothing panics, every connection is accounted.
    #[test]
    fn wrong_keys_never_give_plaintext(line in "CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}\n", junk in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut text = line.into_bytes();
        text.extend_from_slice(&junk);
        let (sip, tls) = run(&frames("join-tls12-ecdhe.pcap"), &text);
        prop_assert_eq!(sip, 0);
        prop_assert_eq!(tls.decrypted, 0);
        prop_assert_eq!(tls.connections, 3);
    }

    /// A byte flipped in a frame's TLS payload: at most the records it touches are lost, and
    /// every message that comes out is one of the join's.
    #[test]
    fn a_flipped_byte_costs_a_record_never_garbage(which in 0usize..1000, at in 60usize..2000, bit in 0u8..8) {
        let mut f = frames("join-tls12-ecdhe.pcap");
        let n = f.len();
        let frame = &mut f[which % n].2;
        if at < frame.len() {
            frame[at] ^= 1 << bit;
        }
        let (sip, tls) = run(&f, &keylog());
        prop_assert!(sip <= 62);
        prop_assert!(tls.bad_records <= 3 || tls.wrong_key > 0 || tls.malformed > 0 || tls.gaps > 0);
    }
}
