//! The multipart dissector: the input's first line is the Content-Type header value, the rest
//! the body. The boundary, the split, every part's headers, and the SDP part a call would use.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lyncscope::sip::body::multipart;

fuzz_target!(|data: &[u8]| {
    let (ct, body) = match data.iter().position(|&b| b == b'\n') {
        Some(n) => (&data[..n], &data[n + 1..]),
        None => (data, &[][..]),
    };
    let ct = String::from_utf8_lossy(ct);
    let _ = multipart::boundary(&ct);
    let Ok(parts) = multipart::parse(body, &ct) else {
        return;
    };
    for p in &parts {
        let _ = (
            p.header("Content-Type"),
            p.content_type(),
            p.content_disposition(),
        );
        let _ = (p.content_id(), p.is_sdp(), p.is_2007_fallback());
        let _ = format!("{p:?}");
    }
    if let Some(p) = multipart::select_sdp(&parts) {
        assert!(parts.iter().any(|q| std::ptr::eq(q, p)));
    }
});
