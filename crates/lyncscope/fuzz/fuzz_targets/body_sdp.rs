//! The SDP dissector: the full parse, the summary, and every media description's accessors;
//! `Candidate::parse` on every attribute line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lyncscope::sip::body::sdp::{self, Candidate};

fuzz_target!(|data: &[u8]| {
    let summary = sdp::summarize(data);
    let _ = (summary.media.len(), summary.cryptoscale, summary.ice);
    if let Ok(s) = sdp::parse(data) {
        let _ = s.ice_flavour().as_str();
        let _ = (
            s.attr("ice-ufrag"),
            s.media_of("audio"),
            s.media_of("video"),
        );
        for m in &s.media {
            let _ = (m.ice_flavour(), m.is_secure_profile(), m.attr("rtcp"));
            let _ = s.address_of(m);
            for c in &m.crypto {
                let _ = format!("{c:?}");
            }
        }
        let _ = format!("{s:?}");
    }
    if let Ok(text) = std::str::from_utf8(data) {
        for line in text.lines().take(64) {
            if let Some(v) = line
                .strip_prefix("a=candidate:")
                .or(line.strip_prefix("a=x-candidate:"))
            {
                let _ = Candidate::parse(v);
            }
        }
    }
});
