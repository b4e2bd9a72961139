//! The ms-conf-invite dissector: the full parse and `parse_focus` (a fast scan for the focus
//! URI and subject, else the full parse). Where both read the document, they must agree on
//! the focus URI and the subject, found or not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lyncscope::sip::body::conf_invite;

fuzz_target!(|data: &[u8]| {
    let full = conf_invite::parse(data);
    let focus = conf_invite::parse_focus(data);
    if let Ok(i) = &full {
        let _ = i.conf_uri();
    }
    if let Ok(i) = &focus {
        let _ = i.conf_uri();
    }
    if let (Ok(f), Ok(s)) = (&full, &focus) {
        assert_eq!(f.focus_uri, s.focus_uri, "focus URI");
        assert_eq!(f.subject, s.subject, "subject");
    }
});
