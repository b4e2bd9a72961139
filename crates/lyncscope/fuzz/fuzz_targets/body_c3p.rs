//! The C3P (`application/cccp+xml`) dissector: the full parse, and the outcome parse (a fast
//! scan of the first two tags, else the full walk). Where both read a document, the fields the
//! outcome parse gives must agree with the full parse.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lyncscope::sip::body::c3p;

fuzz_target!(|data: &[u8]| {
    let full = c3p::parse(data);
    let outcome = c3p::parse_outcome(data);
    if let Ok(c) = &full {
        let _ = (
            c.is_success(),
            c.is_failure(),
            c.code.as_ref().map(|c| c.as_str()),
        );
        let _ = format!("{c:?}");
    }
    if let Ok(o) = &outcome {
        let _ = (o.is_success(), o.is_failure());
    }
    if let (Ok(f), Ok(o)) = (&full, &outcome) {
        assert_eq!(f.kind, o.kind, "kind");
        assert_eq!(f.command, o.command, "command");
        assert_eq!(f.code, o.code, "code");
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = c3p::C3pCode::parse(s).as_str().len();
    }
});
