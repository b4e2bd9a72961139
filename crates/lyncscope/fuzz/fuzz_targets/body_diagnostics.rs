//! The ms-diagnostics header dissector (`ms-diagnostics`, `ms-diagnostics-public`,
//! `ms-client-diagnostics` values), its Display, and the code tables.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lyncscope::sip::body::diagnostics;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some(d) = diagnostics::parse(&text) {
        let _ = (
            d.meaning(),
            d.component(),
            d.param("source"),
            d.param("reason"),
        );
        let _ = d.to_string();
    }
    if let Some(code) = data.first_chunk::<4>() {
        let code = u32::from_be_bytes(*code);
        let _ = (diagnostics::meaning(code), diagnostics::component(code));
    }
});
