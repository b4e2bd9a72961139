//! Decryption throughput on real captures (key log, so no RSA cost): MB/s of application data
//! for AES-128-GCM and AES-128-CBC-SHA (encrypt-then-MAC off and on) records.
//! Run: cargo bench -j 1 --bench throughput

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

fn bench(pcap: &str, keylog: &str, label: &str) {
    let (n, segs) = common::segments(pcap);
    let mut keys = lyncscope_tls::TlsKeys::new();
    keys.add_keylog(&common::data(keylog));
    let rounds = 5000;
    let mut bytes = 0usize;
    let t = Instant::now();
    for _ in 0..rounds {
        let mut conns: Vec<_> = (0..n)
            .map(|_| lyncscope_tls::TlsConnection::new())
            .collect();
        for s in &segs {
            conns[s.conn].feed(s.dir, &s.bytes, &mut keys, &mut |_, b| bytes += b.len());
        }
    }
    let secs = t.elapsed().as_secs_f64();
    assert!(bytes > 0, "{pcap}: nothing decrypted");
    println!(
        "{label:<34} {:>8.1} MB/s  ({} MB in {:.2}s, handshake included, {} records decrypted)",
        bytes as f64 / secs / 1e6,
        bytes / 1_000_000,
        secs,
        keys.stats().records_decrypted
    );
}

fn main() {
    bench(
        "tls12_ecdhe_rsa_aes128_gcm",
        "tls12_ecdhe_rsa_aes128_gcm.keylog",
        "TLS 1.2 AES-128-GCM",
    );
    bench(
        "tls12_rsa_aes128_sha_ems",
        "tls12_rsa_aes128_sha_ems.keylog",
        "TLS 1.2 AES-128-CBC-SHA (EtM)",
    );
    bench(
        "tls13_aes128_gcm",
        "tls13_aes128_gcm.keylog",
        "TLS 1.3 AES-128-GCM",
    );
    bench(
        "tls13_chacha20",
        "tls13_chacha20.keylog",
        "TLS 1.3 ChaCha20-Poly1305",
    );
}
