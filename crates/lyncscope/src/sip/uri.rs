//! Helpers over SIP URIs in header values, on bytes.
//!
//! Participants are compared by address-of-record (`sip:bob@example.com`): that is how the same
//! person is recognised across the From of one dialog, the To of another and the `entity` of a
//! roster. The parsing itself is [`crate::sip::conf_uri::aor`] and
//! [`crate::sip::conf_uri::uri_in_header`]; these wrappers take raw header bytes.

pub use crate::sip::conf_uri::{aor, uri_in_header};

/// [`aor`] of raw header bytes (lossy for bytes that are not UTF-8).
pub fn aor_bytes(value: &[u8]) -> String {
    match std::str::from_utf8(value) {
        Ok(s) => aor(s),
        Err(_) => aor(&String::from_utf8_lossy(value)),
    }
}

/// Cheap test for bytes that may hold a conference URI (`opaque=app:conf:`), so that the
/// conference parser never runs on ordinary traffic.
pub fn may_be_conference(value: &[u8]) -> bool {
    // Built once: `memmem::find` would build its searcher again for every header.
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"app:conf:"));
    FINDER.find(value).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aor_of_header_bytes() {
        assert_eq!(
            aor_bytes(b"\"Bob\" <sip:Bob@Example.COM;opaque=user:epid:x;gruu>;tag=1"),
            "sip:bob@example.com"
        );
        assert_eq!(aor_bytes(b"\"J\xf6rg\" <sip:j@b>"), "sip:j@b");
        assert!(may_be_conference(
            b"<sip:a@b;gruu;opaque=app:conf:focus:id:X>"
        ));
        assert!(!may_be_conference(b"<sip:a@b;opaque=user:epid:x;gruu>"));
    }
}
