//! Test-only helpers: read a loopback pcap (Ethernet/IPv4/TCP), rebuild each connection's two
//! in-order byte streams, and drive `TlsConnection`s over them.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use lyncscope_tls::{Dir, TlsConnection, TlsKeys};

pub fn data(name: &str) -> Vec<u8> {
    let p: PathBuf = [env!("CARGO_MANIFEST_DIR"), "testdata", name]
        .iter()
        .collect();
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// One TCP payload in capture order: connection index, direction, bytes.
pub struct Segment {
    pub conn: usize,
    pub dir: Dir,
    pub bytes: Vec<u8>,
}

/// Segments of all connections in capture order (retransmitted bytes removed).
pub fn segments(pcap: &str) -> (usize, Vec<Segment>) {
    let raw = data(&format!("{pcap}.pcap"));
    let cap = pcap_parser::PcapCapture::from_file(&raw).expect("pcap");
    let mut conns: HashMap<(u16, u16), usize> = HashMap::new();
    let mut next_seq: HashMap<(u16, u16), u32> = HashMap::new();
    let mut out = Vec::new();
    for b in cap.blocks {
        let f = b.data;
        if f.len() < 14 + 20 || f[12..14] != [8, 0] {
            continue;
        }
        let ip = &f[14..];
        let ihl = usize::from(ip[0] & 15) * 4;
        let tot = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        if ip[9] != 6 {
            continue;
        }
        let tcp = &ip[ihl..tot];
        let sport = u16::from_be_bytes([tcp[0], tcp[1]]);
        let dport = u16::from_be_bytes([tcp[2], tcp[3]]);
        let seq = u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]);
        let off = usize::from(tcp[12] >> 4) * 4;
        let flags = tcp[13];
        let payload = &tcp[off..];
        let (syn, ack) = (flags & 2 != 0, flags & 16 != 0);
        if syn {
            next_seq.insert((sport, dport), seq.wrapping_add(1));
            if !ack {
                let n = conns.len() / 2;
                conns.insert((sport, dport), n * 2);
                conns.insert((dport, sport), n * 2 + 1);
            }
            continue;
        }
        if payload.is_empty() {
            continue;
        }
        let Some(&c) = conns.get(&(sport, dport)) else {
            continue;
        };
        let exp = next_seq.get_mut(&(sport, dport)).expect("syn seen");
        let skip = exp.wrapping_sub(seq) as usize;
        if skip >= payload.len() && seq != *exp {
            continue; // retransmission
        }
        let skip = if seq == *exp { 0 } else { skip };
        assert!(skip < payload.len(), "gap in loopback capture");
        *exp = seq.wrapping_add(payload.len() as u32);
        out.push(Segment {
            conn: c / 2,
            dir: if c % 2 == 0 {
                Dir::ClientToServer
            } else {
                Dir::ServerToClient
            },
            bytes: payload[skip..].to_vec(),
        });
    }
    (conns.len() / 2, out)
}

/// Plaintext per connection: (client→server, server→client).
pub type Plain = Vec<(Vec<u8>, Vec<u8>)>;

/// Feeds every segment (optionally re-cut into `chunk`-byte pieces) and finishes the connections.
pub fn run(pcap: &str, keys: &mut TlsKeys, chunk: Option<usize>) -> (Plain, Vec<TlsConnection>) {
    let (n, segs) = segments(pcap);
    run_segments(n, &segs, keys, chunk)
}

pub fn run_segments(
    n: usize,
    segs: &[Segment],
    keys: &mut TlsKeys,
    chunk: Option<usize>,
) -> (Plain, Vec<TlsConnection>) {
    let mut conns: Vec<TlsConnection> = (0..n).map(|_| TlsConnection::new()).collect();
    let mut plain: Plain = vec![(Vec::new(), Vec::new()); n];
    for s in segs {
        let p = &mut plain[s.conn];
        let mut sink = |d: Dir, b: &[u8]| match d {
            Dir::ClientToServer => p.0.extend_from_slice(b),
            Dir::ServerToClient => p.1.extend_from_slice(b),
        };
        match chunk {
            None => conns[s.conn].feed(s.dir, &s.bytes, keys, &mut sink),
            Some(c) => {
                for piece in s.bytes.chunks(c) {
                    conns[s.conn].feed(s.dir, piece, keys, &mut sink);
                }
            }
        }
    }
    for c in &mut conns {
        c.finish(keys);
    }
    (plain, conns)
}

pub fn rsa_keys() -> TlsKeys {
    let mut k = TlsKeys::new();
    // The wrong key first: the right one must be found by the premaster's version bytes.
    k.add_rsa_key_pem(&data("rsa_other.key")).expect("pkcs1");
    k.add_rsa_key_pem(&data("rsa_pkcs8.key")).expect("pkcs8");
    k
}

pub fn keylog_keys(name: &str) -> TlsKeys {
    let mut k = TlsKeys::new();
    let st = k.add_keylog(&data(&format!("{name}.keylog")));
    assert!(st.added > 0 && st.bad_lines == 0, "{st:?}");
    k
}

pub fn expected() -> (Vec<u8>, Vec<u8>) {
    (data("sip_c2s.bin"), data("sip_s2c.bin"))
}
