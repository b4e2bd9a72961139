//! Record layer + handshake parser: the input is split into chunks for alternating directions
//! (each chunk prefixed by one length byte).
#![no_main]
use libfuzzer_sys::fuzz_target;
use lyncscope_tls::{Dir, TlsConnection, TlsKeys};

fuzz_target!(|data: &[u8]| {
    let mut keys = TlsKeys::new();
    keys.add_keylog(b"CLIENT_RANDOM 0000000000000000000000000000000000000000000000000000000000000000 000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\n");
    let mut conn = TlsConnection::new();
    let mut rest = data;
    let mut server = false;
    while let Some((&n, tail)) = rest.split_first() {
        let n = usize::from(n).min(tail.len());
        let (chunk, tail) = tail.split_at(n);
        let dir = if server { Dir::ServerToClient } else { Dir::ClientToServer };
        conn.feed(dir, chunk, &mut keys, &mut |_, _| {});
        server = !server;
        rest = tail;
    }
    conn.finish(&mut keys);
});
