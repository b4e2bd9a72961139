//! Captures made by real TLS stacks (OpenSSL 3.0.19 through Python's ssl and s_server/s_client,
//! and tlslite-ng 0.8.2; see testdata/make.sh): the decrypted bytes must be exactly the SIP
//! messages that were sent.

mod common;
use common::*;
use lyncscope_tls::{ConnState, KeySource, TlsKeys};

fn assert_decrypts(pcap: &str, mut keys: TlsKeys, source: KeySource, version: u16, suite: u16) {
    let (want_c, want_s) = expected();
    for chunk in [None, Some(1), Some(7), Some(1000)] {
        let mut k = TlsKeys::new();
        std::mem::swap(&mut k, &mut keys);
        let (plain, conns) = run(pcap, &mut k, chunk);
        assert_eq!(plain.len(), 1, "{pcap}");
        assert!(
            plain[0].0 == want_c,
            "{pcap} {chunk:?}: client→server differs ({} bytes)",
            plain[0].0.len()
        );
        assert!(
            plain[0].1 == want_s,
            "{pcap} {chunk:?}: server→client differs ({} bytes)",
            plain[0].1.len()
        );
        let info = conns[0].info();
        assert_eq!(info.key_source, Some(source), "{pcap}");
        assert_eq!(info.version, Some(version), "{pcap}");
        assert_eq!(info.suite, Some(suite), "{pcap}");
        let st = k.stats();
        assert_eq!(
            (st.connections, st.decrypted, st.bad_records, st.no_key),
            (1, 1, 0, 0),
            "{pcap}: {st:?}"
        );
        assert!(st.records_decrypted >= 6, "{st:?}");
        assert_eq!(st.bytes_decrypted as usize, want_c.len() + want_s.len());
        // Reset the per-run counters for the next chunking.
        std::mem::swap(&mut k, &mut keys);
        keys = fresh_like(pcap, source);
    }
}

fn fresh_like(pcap: &str, source: KeySource) -> TlsKeys {
    match source {
        KeySource::RsaKey => rsa_keys(),
        _ => keylog_keys(pcap),
    }
}

macro_rules! rsa_case {
    ($name:ident, $ver:expr, $suite:expr, $ems:expr, $etm:expr) => {
        #[test]
        fn $name() {
            let pcap = stringify!($name);
            assert_decrypts(pcap, rsa_keys(), KeySource::RsaKey, $ver, $suite);
            let mut k = rsa_keys();
            let (_, conns) = run(pcap, &mut k, None);
            assert_eq!(conns[0].info().extended_master_secret, $ems, "EMS");
            assert_eq!(conns[0].info().encrypt_then_mac, $etm, "EtM");
        }
    };
}

rsa_case!(tls12_rsa_aes128_sha_ems, 0x0303, 0x002F, true, true);
rsa_case!(
    tls12_rsa_aes128_sha_noems_noetm,
    0x0303,
    0x002F,
    false,
    false
);
rsa_case!(tls10_rsa_aes128_sha, 0x0301, 0x002F, true, false);
rsa_case!(tls10_rsa_aes256_sha_etm, 0x0301, 0x0035, true, true);
rsa_case!(tls11_rsa_aes256_sha, 0x0302, 0x0035, false, false);
rsa_case!(tls12_rsa_aes256_sha256, 0x0303, 0x003D, true, false);
rsa_case!(tls12_rsa_aes128_gcm_noems, 0x0303, 0x009C, false, false);
rsa_case!(tls12_rsa_aes256_gcm_sha384, 0x0303, 0x009D, true, false);
rsa_case!(tls10_rsa_rc4_sha, 0x0301, 0x0005, false, false);
rsa_case!(tls12_rsa_rc4_md5, 0x0303, 0x0004, true, false);
rsa_case!(tls10_rsa_3des_sha, 0x0301, 0x000A, true, false);
rsa_case!(tls12_rsa_3des_sha_ems_etm, 0x0303, 0x000A, true, true);

macro_rules! keylog_case {
    ($name:ident, $ver:expr, $suite:expr) => {
        #[test]
        fn $name() {
            let pcap = stringify!($name);
            assert_decrypts(pcap, keylog_keys(pcap), KeySource::KeyLog, $ver, $suite);
            // An RSA key cannot help a forward-secret suite: counted, nothing handed out.
            let mut k = rsa_keys();
            let (plain, _) = run(pcap, &mut k, None);
            assert!(plain[0].0.is_empty() && plain[0].1.is_empty());
            let st = k.stats();
            assert_eq!(
                (st.no_key, st.no_key_forward_secret, st.decrypted),
                (1, 1, 0),
                "{st:?}"
            );
            assert!(st.bytes_dropped > 0);
        }
    };
}

keylog_case!(tls12_ecdhe_rsa_aes128_gcm, 0x0303, 0xC02F);
keylog_case!(tls12_ecdhe_rsa_chacha20, 0x0303, 0xCCA8);
keylog_case!(tls12_ecdhe_ecdsa_aes256_sha384, 0x0303, 0xC024);
keylog_case!(tls12_ecdhe_ecdsa_chacha20, 0x0303, 0xCCA9);
keylog_case!(tls13_aes128_gcm, 0x0304, 0x1301);
keylog_case!(tls13_aes256_gcm, 0x0304, 0x1302);
keylog_case!(tls13_chacha20, 0x0304, 0x1303);

/// The RSA-key session's master secret, written as a key log line, decrypts the same capture.
#[test]
fn rsa_derived_keylog_line_round_trips() {
    let mut k = rsa_keys();
    let (_, conns) = run("tls12_rsa_aes128_sha_ems", &mut k, None);
    let line = conns[0].keylog_line().expect("decrypted");
    let mut k2 = TlsKeys::new();
    assert_eq!(k2.add_keylog(line.as_bytes()).added, 1);
    let (plain, conns) = run("tls12_rsa_aes128_sha_ems", &mut k2, None);
    assert_eq!(plain[0], expected());
    assert_eq!(conns[0].info().key_source, Some(KeySource::KeyLog));
    // And it agrees with what OpenSSL itself logged for that session.
    let logged = String::from_utf8(data("tls12_rsa_aes128_sha_ems.keylog")).expect("ascii");
    assert!(
        logged.lines().any(|l| l.eq_ignore_ascii_case(&line)),
        "{line} not in OpenSSL's key log"
    );
}

fn assert_resumed(pcap: &str, check_s2c: bool) {
    let mut k = rsa_keys();
    let (plain, conns) = run(pcap, &mut k, None);
    let (c, s) = expected();
    assert_eq!(plain.len(), 2);
    for (i, p) in plain.iter().enumerate() {
        if check_s2c || i == 0 {
            assert!(p.0 == c, "{pcap} conn {i} c2s");
        } else {
            // s_server sometimes closes the resumed connection before all client data arrived
            // (visible in the capture): what was sent is decrypted exactly, as far as it goes.
            assert!(
                !p.0.is_empty() && c.starts_with(&p.0),
                "{pcap} conn {i} c2s"
            );
        }
        if check_s2c {
            assert!(p.1 == s, "{pcap} conn {i} s2c");
        }
    }
    assert_eq!(conns[0].info().key_source, Some(KeySource::RsaKey));
    assert_eq!(conns[1].info().key_source, Some(KeySource::SessionCache));
    assert!(conns[1].info().resumed);
    let st = k.stats();
    assert_eq!(
        (
            st.decrypted,
            st.resumptions_hit,
            st.resumptions_missed,
            st.bad_records
        ),
        (2, 1, 0, 0),
        "{st:?}"
    );

    // Without the first connection the resumed one has no master secret: counted as missed.
    let (_, segs) = segments(pcap);
    let second: Vec<_> = segs
        .into_iter()
        .filter(|s| s.conn == 1)
        .map(|mut s| {
            s.conn = 0;
            s
        })
        .collect();
    let mut k = rsa_keys();
    let (plain, _) = run_segments(1, &second, &mut k, None);
    assert!(plain[0].0.is_empty());
    let st = k.stats();
    assert_eq!(
        (st.resumptions_missed, st.no_key, st.decrypted),
        (1, 1, 0),
        "{st:?}"
    );
}

#[test]
fn resumption_by_session_id_python() {
    assert_resumed("tls12_rsa_resume_id", true);
}

#[test]
fn resumption_by_ticket_python() {
    assert_resumed("tls12_rsa_resume_ticket", true);
}

#[test]
fn resumption_by_session_id_s_client() {
    // s_server's stdin is shared by both connections: only the client side is exact.
    assert_resumed("tls12_sclient_resume_id", false);
}

#[test]
fn resumption_by_ticket_s_client() {
    assert_resumed("tls12_sclient_resume_ticket", false);
}

#[test]
fn wrong_rsa_key_is_counted_never_garbage() {
    let mut k = TlsKeys::new();
    k.add_rsa_key_pem(&data("rsa_other.key")).expect("key");
    let (plain, conns) = run("tls12_rsa_aes128_sha_ems", &mut k, None);
    assert!(plain[0].0.is_empty() && plain[0].1.is_empty());
    let st = k.stats();
    assert_eq!(
        (st.rsa_decrypt_failures, st.no_key, st.decrypted),
        (1, 1, 0),
        "{st:?}"
    );
    assert_eq!(conns[0].info().state, ConnState::GaveUp);
}

#[test]
fn wrong_keylog_secret_is_counted_never_garbage() {
    for pcap in [
        "tls12_ecdhe_rsa_aes128_gcm",
        "tls13_aes128_gcm",
        "tls12_ecdhe_ecdsa_aes256_sha384",
    ] {
        let text = String::from_utf8(data(&format!("{pcap}.keylog"))).expect("ascii");
        // Change the last hex digit of every secret.
        let bad: String = text
            .lines()
            .map(|l| {
                let mut l = l.to_string();
                let last = l.pop().map_or('0', |c| if c == '0' { '1' } else { '0' });
                l.push(last);
                l + "\n"
            })
            .collect();
        let mut k = TlsKeys::new();
        k.add_keylog(bad.as_bytes());
        let (plain, _) = run(pcap, &mut k, None);
        assert!(plain[0].0.is_empty() && plain[0].1.is_empty(), "{pcap}");
        let st = k.stats();
        assert_eq!(
            (st.wrong_key, st.decrypted, st.records_decrypted),
            (1, 0, 0),
            "{pcap}: {st:?}"
        );
        assert!(st.bad_records >= 1);
    }
}

/// Flips one ciphertext byte of the last server record: that record fails its MAC / tag, is
/// counted and its bytes are not used; everything else still decrypts.
#[test]
fn flipped_ciphertext_byte_is_a_counted_bad_record() {
    for pcap in [
        "tls12_rsa_aes128_sha_ems",
        "tls12_rsa_aes128_gcm_noems",
        "tls10_rsa_rc4_sha",
        "tls10_rsa_aes128_sha",
    ] {
        let (n, mut segs) = segments(pcap);
        // Last server segment carrying application data: flip a byte in its middle.
        let idx = segs
            .iter()
            .rposition(|s| s.dir == lyncscope_tls::Dir::ServerToClient && s.bytes.len() > 1000)
            .expect("data");
        let mid = segs[idx].bytes.len() / 2;
        segs[idx].bytes[mid] ^= 0x40;
        let mut k = rsa_keys();
        let (plain, _) = run_segments(n, &segs, &mut k, None);
        let (c, s) = expected();
        assert!(plain[0].0 == c, "{pcap}");
        let st = k.stats();
        assert_eq!((st.bad_records, st.decrypted), (1, 1), "{pcap}: {st:?}");
        // What came out is the expected stream with one record's worth missing, nothing altered.
        let got = &plain[0].1;
        assert!(
            got.len() < s.len() && s.len() - got.len() <= 16384,
            "{pcap}"
        );
        let prefix = got.iter().zip(&s).take_while(|(a, b)| a == b).count();
        assert_eq!(
            &got[prefix..],
            &s[s.len() - (got.len() - prefix)..],
            "{pcap}: bytes altered"
        );
    }
}

#[test]
fn capture_starting_mid_connection_is_counted() {
    let (n, segs) = segments("tls12_rsa_aes128_gcm_noems");
    // Drop the handshake: start at the first client segment after the client's second flight.
    let cut = segs
        .iter()
        .enumerate()
        .filter(|(_, s)| s.dir == lyncscope_tls::Dir::ClientToServer)
        .nth(2)
        .map(|(i, _)| i)
        .expect("3 client segments");
    let mut k = rsa_keys();
    let (plain, _) = run_segments(n, &segs[cut..], &mut k, None);
    assert!(plain[0].0.is_empty() && plain[0].1.is_empty());
    let st = k.stats();
    assert_eq!(
        (st.handshake_not_captured, st.decrypted, st.connections),
        (1, 0, 1),
        "{st:?}"
    );
}

/// Live capture: the key log line arrives after the traffic; held ciphertext is decrypted then.
#[test]
fn keys_arriving_late_release_held_ciphertext() {
    for pcap in ["tls13_chacha20", "tls12_ecdhe_rsa_aes128_gcm"] {
        let (n, segs) = segments(pcap);
        let mut k = TlsKeys::new();
        let (plain, mut conns) = {
            let mut conns: Vec<_> = (0..n)
                .map(|_| lyncscope_tls::TlsConnection::new())
                .collect();
            let mut plain = (Vec::new(), Vec::new());
            for s in &segs {
                conns[s.conn].feed(s.dir, &s.bytes, &mut k, &mut |d, b| match d {
                    lyncscope_tls::Dir::ClientToServer => plain.0.extend_from_slice(b),
                    lyncscope_tls::Dir::ServerToClient => plain.1.extend_from_slice(b),
                });
            }
            (plain, conns)
        };
        assert!(plain.0.is_empty() && plain.1.is_empty());
        assert!(k.stats().bytes_held > 40_000, "{:?}", k.stats());
        k.add_keylog(&data(&format!("{pcap}.keylog")));
        let mut late = (Vec::new(), Vec::new());
        conns[0].poll(&mut k, &mut |d, b| match d {
            lyncscope_tls::Dir::ClientToServer => late.0.extend_from_slice(b),
            lyncscope_tls::Dir::ServerToClient => late.1.extend_from_slice(b),
        });
        conns[0].finish(&mut k);
        assert_eq!(late, expected(), "{pcap}");
        assert_eq!((k.stats().decrypted, k.stats().no_key), (1, 0));
    }
}

#[test]
fn gap_gives_up_and_counts() {
    let (n, segs) = segments("tls12_rsa_aes128_sha_ems");
    let mut k = rsa_keys();
    let mut conn = lyncscope_tls::TlsConnection::new();
    let half = segs.len() / 2;
    let mut got = 0usize;
    for s in &segs[..half] {
        conn.feed(s.dir, &s.bytes, &mut k, &mut |_, b| got += b.len());
    }
    conn.gap(lyncscope_tls::Dir::ServerToClient, &mut k);
    let before = got;
    for s in &segs[half..] {
        conn.feed(s.dir, &s.bytes, &mut k, &mut |_, b| got += b.len());
    }
    assert_eq!(got, before, "nothing after the gap");
    assert_eq!(k.stats().gaps, 1);
    assert!(k.stats().bytes_dropped > 0);
    let _ = n;
}

/// Two handshakes interleaved segment by segment (state is per connection, not global).
#[test]
fn interleaved_connections() {
    let (_, a) = segments("tls12_rsa_aes256_sha256");
    let (_, b) = segments("tls10_rsa_3des_sha");
    let mut segs = Vec::new();
    let (mut ia, mut ib) = (a.into_iter(), b.into_iter());
    loop {
        let (x, y) = (ia.next(), ib.next());
        if x.is_none() && y.is_none() {
            break;
        }
        segs.extend(x);
        segs.extend(y.map(|mut s| {
            s.conn = 1;
            s
        }));
    }
    let mut k = rsa_keys();
    let (plain, _) = run_segments(2, &segs, &mut k, Some(333));
    assert_eq!(plain[0], expected());
    assert_eq!(plain[1], expected());
    assert_eq!(k.stats().decrypted, 2);
}

/// Ciphertext held while no key is known is bounded; the overflow is counted.
#[test]
fn held_ciphertext_is_bounded() {
    let (n, mut segs) = segments("tls13_aes128_gcm");
    // Append 300 KiB of further (unauthenticatable) application-data records from the server.
    let mut extra = Vec::new();
    while extra.len() < 300 * 1024 {
        extra.extend_from_slice(&[23, 3, 3, 0x40, 0x00]);
        extra.extend(std::iter::repeat_n(0xAB, 0x4000));
    }
    segs.push(Segment {
        conn: 0,
        dir: lyncscope_tls::Dir::ServerToClient,
        bytes: extra,
    });
    let mut k = TlsKeys::new();
    let (plain, conns) = run_segments(n, &segs, &mut k, Some(4096));
    assert!(plain[0].0.is_empty() && plain[0].1.is_empty());
    let st = k.stats();
    assert_eq!((st.no_key, st.no_key_forward_secret), (1, 1), "{st:?}");
    assert!(st.bytes_dropped > 0);
    assert_eq!(conns[0].info().state, ConnState::GaveUp);
}
