//! The conference-info dissector and the roster that merges documents: the input is up to
//! four documents separated by NUL bytes, each parsed and applied in turn (a full state, then
//! partial updates), the roster queried after each.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lyncscope::sip::body::conference_info::{self, Roster};

fuzz_target!(|data: &[u8]| {
    let mut roster = Roster::new();
    for (i, doc) in data.split(|&b| b == 0).take(4).enumerate() {
        let Ok(info) = conference_info::parse(doc) else {
            continue;
        };
        let _ = info.conf_uri();
        for u in &info.users {
            let _ = (u.endpoint("audio-video"), u.has_role("presenter"));
        }
        if i == 2 {
            roster.follow_new_subscription(doc.len() % 2 == 0);
        }
        let _ = if i % 2 == 0 {
            roster.apply(&info)
        } else {
            roster.apply_owned(info.clone())
        };
        let n = roster.users().count();
        assert_eq!(n, roster.len());
        assert_eq!(roster.is_empty(), n == 0);
        let uris: Vec<String> = roster.users().take(8).map(|u| u.entity.clone()).collect();
        for uri in &uris {
            assert!(
                roster.user(uri).is_some(),
                "a listed user is found by its URI"
            );
            let _ = (
                roster.departed(uri),
                roster.is_connected(uri, "audio-video"),
            );
            let _ = roster.endpoint_status(uri, "chat");
        }
        let _ = roster.endpoints().count();
        let _ = (roster.mcu_uri("audio-video"), roster.mcu_uri("chat"));
    }
});
