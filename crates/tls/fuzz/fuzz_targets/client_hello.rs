//! TLS detection by content: `looks_like_client_hello`, then the same bytes as a client stream.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lyncscope_tls::{looks_like_client_hello, Dir, TlsConnection, TlsKeys};

fuzz_target!(|data: &[u8]| {
    if looks_like_client_hello(data) {
        let mut keys = TlsKeys::new();
        let mut conn = TlsConnection::new();
        conn.feed(Dir::ClientToServer, data, &mut keys, &mut |_, _| {});
    }
});
