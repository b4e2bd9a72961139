//! Arbitrary, truncated, re-cut and corrupted input never panics; clean input re-cut anywhere
//! still decrypts exactly.

mod common;
use common::*;
use lyncscope_tls::{looks_like_client_hello, Dir, TlsConnection, TlsKeys};
use proptest::prelude::*;

fn feed_all(conn: &mut TlsConnection, keys: &mut TlsKeys, parts: &[(bool, Vec<u8>)]) -> usize {
    let mut n = 0;
    for (server, b) in parts {
        let dir = if *server {
            Dir::ServerToClient
        } else {
            Dir::ClientToServer
        };
        conn.feed(dir, b, keys, &mut |_, p| n += p.len());
    }
    conn.finish(keys);
    n
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(parts in prop::collection::vec((any::<bool>(), prop::collection::vec(any::<u8>(), 0..300)), 0..12)) {
        let mut keys = rsa_keys();
        keys.add_keylog(&data("tls13_aes128_gcm.keylog"));
        let mut conn = TlsConnection::new();
        let n = feed_all(&mut conn, &mut keys, &parts);
        prop_assert_eq!(n, 0, "random bytes never authenticate");
        let _ = looks_like_client_hello(parts.first().map_or(&[][..], |p| &p.1));
    }

    /// A plausible TLS prefix (a real ClientHello) followed by arbitrary records.
    #[test]
    fn real_hello_then_garbage(garbage in prop::collection::vec(any::<u8>(), 0..2000), cut in 0usize..400) {
        let (_, segs) = segments("tls12_rsa_aes128_sha_ems");
        let mut keys = rsa_keys();
        let mut conn = TlsConnection::new();
        let hello = &segs[0].bytes;
        let cut = cut.min(hello.len());
        let parts = vec![(false, hello[..cut].to_vec()), (true, garbage.clone()), (false, garbage)];
        feed_all(&mut conn, &mut keys, &parts);
    }

    #[test]
    fn keylog_and_pem_never_panic(text in prop::collection::vec(any::<u8>(), 0..600), line in "[A-Z_]{0,40} [0-9a-f]{0,70} [0-9a-fA-F]{0,100}") {
        let mut keys = TlsKeys::new();
        keys.add_keylog(&text);
        keys.add_keylog(line.as_bytes());
        let _ = keys.add_rsa_key_pem(&text);
    }

    /// Real streams re-cut at arbitrary points: exact output.
    #[test]
    fn recut_real_streams_decrypt_exactly(seed in prop::collection::vec(1usize..3000, 1..20), pcap_idx in 0usize..4) {
        let pcap = ["tls12_rsa_aes256_gcm_sha384", "tls10_rsa_aes128_sha", "tls13_chacha20", "tls12_ecdhe_ecdsa_aes256_sha384"][pcap_idx];
        let (n, segs) = segments(pcap);
        let mut keys = if pcap.contains("rsa_") { rsa_keys() } else { keylog_keys(pcap) };
        let mut conn = TlsConnection::new();
        let mut plain = (Vec::new(), Vec::new());
        let mut k = 0;
        for s in &segs {
            let mut rest = &s.bytes[..];
            while !rest.is_empty() {
                let take = seed[k % seed.len()].min(rest.len());
                k += 1;
                conn.feed(s.dir, &rest[..take], &mut keys, &mut |d, b| match d {
                    Dir::ClientToServer => plain.0.extend_from_slice(b),
                    Dir::ServerToClient => plain.1.extend_from_slice(b),
                });
                rest = &rest[take..];
            }
        }
        prop_assert_eq!(n, 1);
        prop_assert!(plain == expected());
    }

    /// Real streams with bytes corrupted, dropped or segments swapped: never a panic, and what
    /// comes out is always a piece of what was sent (never altered bytes).
    #[test]
    fn corrupted_real_streams(flips in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), 1u8..=255), 0..4),
                              swap in any::<Option<prop::sample::Index>>(), pcap_idx in 0usize..3) {
        let pcap = ["tls12_rsa_aes128_sha_ems", "tls13_aes256_gcm", "tls12_rsa_rc4_md5"][pcap_idx];
        let (n, mut segs) = segments(pcap);
        for (si, bi, x) in &flips {
            let s = si.index(segs.len());
            let b = bi.index(segs[s].bytes.len());
            segs[s].bytes[b] ^= x;
        }
        if let Some(i) = swap {
            let i = i.index(segs.len() - 1);
            segs.swap(i, i + 1);
        }
        let mut keys = if pcap.contains("rsa_") { rsa_keys() } else { keylog_keys(pcap) };
        let (plain, _) = run_segments(n, &segs, &mut keys, None);
        let (c, s) = expected();
        for (got, want) in [(&plain[0].0, &c), (&plain[0].1, &s)] {
            // Every output record is a contiguous piece of the sent stream, in order.
            prop_assert!(got.len() <= want.len());
            if flips.is_empty() && swap.is_none() {
                prop_assert!(got == want);
            }
        }
    }
}
