//! The parser on hostile input: never a panic, and what it reports stays inside the input.

use super::params::{cseq_is_canonical, header_param, parse_cseq};
use super::samples::SEED;
use super::*;
use proptest::prelude::*;

fn exercise(buf: &[u8]) {
    for (m, used) in [frame_datagram(buf), frame_stream(buf)]
        .into_iter()
        .flatten()
    {
        {
            assert!(used <= buf.len());
            assert!(m.raw().len() <= buf.len());
            let _ = (
                m.call_id(),
                m.cseq(),
                m.from_tag(),
                m.to_tag(),
                m.via_branch(),
                m.content_type(),
            );
            let _ = m.headers().count();
            let _ = m.headers_named("subject").map(unfold).count();
            assert!(m.body().len() <= m.raw().len());
        }
    }
    let _ = looks_like_start(buf);
    let _ = header_param(buf, b"tag");
    let _ = parse_cseq(buf);
    let _ = cseq_is_canonical(buf);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]
    #[test]
    fn random_bytes(buf in proptest::collection::vec(any::<u8>(), 0..600)) {
        exercise(&buf);
    }

    #[test]
    fn mutated_messages(edits in proptest::collection::vec((0usize..300, any::<u8>()), 1..20), cut in 0usize..400) {
        let mut buf = SEED.to_vec();
        for (at, byte) in edits {
            let at = at % buf.len();
            buf[at] = byte;
        }
        buf.truncate(cut.min(buf.len()));
        exercise(&buf);
    }
}
