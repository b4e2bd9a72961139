//! Property tests: no input panics the decoder or the splitter; encode/decode round trip.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use lyncscope_hep::{decode, encode_v3, encoded_len, Hep3Splitter, HepOut, HepVersion};
use proptest::prelude::*;

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|b| IpAddr::V4(Ipv4Addr::from(b))),
        any::<[u8; 16]>().prop_map(|b| IpAddr::V6(Ipv6Addr::from(b))),
    ]
}

fn opt_bytes(max: usize) -> impl Strategy<Value = Option<Vec<u8>>> {
    proptest::option::of(proptest::collection::vec(any::<u8>(), 0..max))
}

#[derive(Debug, Clone)]
struct Msg {
    ip_protocol: u8,
    src: IpAddr,
    dst: IpAddr,
    ports: (u16, u16),
    ts: (u32, u32),
    proto_type: u8,
    node_id: u32,
    password: Option<Vec<u8>>,
    cid: Option<Vec<u8>>,
    vlan: Option<u16>,
    name: Option<Vec<u8>>,
    payload: Vec<u8>,
}

impl Msg {
    fn out(&self) -> HepOut<'_> {
        HepOut {
            ip_protocol: self.ip_protocol,
            src_ip: self.src,
            dst_ip: self.dst,
            src_port: self.ports.0,
            dst_port: self.ports.1,
            ts_sec: self.ts.0,
            ts_usec: self.ts.1,
            proto_type: self.proto_type,
            node_id: self.node_id,
            password: self.password.as_deref(),
            correlation_id: self.cid.as_deref(),
            vlan: self.vlan,
            node_name: self.name.as_deref(),
            payload: &self.payload,
        }
    }
}

prop_compose! {
    fn msg()(
        ip_protocol in any::<u8>(), src in ip(), dst in ip(), ports in any::<(u16, u16)>(),
        ts in any::<(u32, u32)>(), proto_type in any::<u8>(), node_id in any::<u32>(),
        password in opt_bytes(40), cid in opt_bytes(80), vlan in any::<Option<u16>>(),
        name in opt_bytes(40), payload in proptest::collection::vec(any::<u8>(), 0..3000),
    ) -> Msg {
        Msg { ip_protocol, src, dst, ports, ts, proto_type, node_id, password, cid, vlan, name, payload }
    }
}

fn as_v6(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V6(v4.to_ipv6_mapped()),
        v6 => v6,
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = decode(&buf);
    }

    #[test]
    fn arbitrary_after_magic_never_panics(
        len in any::<u16>(),
        body in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut buf = b"HEP3".to_vec();
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(&body);
        let _ = decode(&buf);
        // With the length made consistent the chunk walker gets exercised.
        let total = buf.len() as u16;
        buf[4..6].copy_from_slice(&total.to_be_bytes());
        let _ = decode(&buf);
    }

    #[test]
    fn arbitrary_v1_v2_never_panic(
        version in 1u8..=2,
        family in prop_oneof![Just(2u8), Just(10u8), any::<u8>()],
        body in proptest::collection::vec(any::<u8>(), 0..128),
    ) {
        let mut buf = vec![version, 16, family];
        buf.extend_from_slice(&body);
        let _ = decode(&buf);
    }

    #[test]
    fn round_trip(m in msg()) {
        let mut buf = Vec::new();
        let n = encode_v3(&m.out(), &mut buf).unwrap();
        prop_assert_eq!(n, buf.len());
        prop_assert_eq!(n, encoded_len(&m.out()));
        let p = decode(&buf).unwrap();
        prop_assert_eq!(p.meta.version, HepVersion::V3);
        prop_assert_eq!(p.meta.ip_protocol, m.ip_protocol);
        if m.src.is_ipv4() && m.dst.is_ipv4() {
            prop_assert_eq!(p.meta.src_ip, m.src);
            prop_assert_eq!(p.meta.dst_ip, m.dst);
        } else {
            prop_assert_eq!(p.meta.src_ip, as_v6(m.src));
            prop_assert_eq!(p.meta.dst_ip, as_v6(m.dst));
        }
        prop_assert_eq!((p.meta.src_port, p.meta.dst_port), m.ports);
        prop_assert_eq!((p.meta.ts_sec, p.meta.ts_usec), m.ts);
        prop_assert_eq!(p.meta.proto_type, m.proto_type);
        prop_assert_eq!(p.meta.node_id, m.node_id);
        prop_assert_eq!(p.meta.vlan, m.vlan);
        prop_assert_eq!(p.auth_key, m.password.as_deref());
        prop_assert_eq!(p.correlation_id, m.cid.as_deref());
        prop_assert_eq!(p.node_name, m.name.as_deref());
        prop_assert_eq!(p.payload, &m.payload[..]);
        prop_assert!(!p.payload_compressed);
        prop_assert_eq!(p.skipped_chunks, 0);
    }

    #[test]
    fn every_truncation_is_an_error(m in msg(), cut in any::<prop::sample::Index>()) {
        let mut buf = Vec::new();
        encode_v3(&m.out(), &mut buf).unwrap();
        let at = cut.index(buf.len());
        prop_assert!(decode(&buf[..at]).is_err());
    }

    #[test]
    fn splitter_recovers_packets_between_garbage(
        msgs in proptest::collection::vec(msg(), 1..6),
        garbage in proptest::collection::vec(
            proptest::collection::vec(any::<u8>().prop_filter("no H", |b| *b != b'H'), 0..50), 6),
        cuts in proptest::collection::vec(1usize..700, 1..40),
    ) {
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        let mut junk = 0u64;
        for (m, g) in msgs.iter().zip(&garbage) {
            stream.extend_from_slice(g);
            junk += g.len() as u64;
            let mut p = Vec::new();
            encode_v3(&m.out(), &mut p).unwrap();
            stream.extend_from_slice(&p);
            expected.push(p);
        }
        let mut s = Hep3Splitter::new();
        let mut got = Vec::new();
        let mut rest = &stream[..];
        let mut i = 0;
        while !rest.is_empty() {
            let n = cuts[i % cuts.len()].min(rest.len());
            i += 1;
            let taken = s.push(&rest[..n]);
            rest = &rest[taken..];
            while let Some(p) = s.next_packet() {
                prop_assert!(decode(p).is_ok());
                got.push(p.to_vec());
            }
        }
        prop_assert_eq!(got, expected);
        prop_assert_eq!(s.stats().skipped_bytes, junk);
        prop_assert_eq!(s.buffered(), 0);
    }

    #[test]
    fn splitter_never_panics(
        pieces in proptest::collection::vec(proptest::collection::vec(
            prop_oneof![Just(b'H'), Just(b'E'), Just(b'P'), Just(b'3'), Just(0u8), any::<u8>()], 0..300), 0..30),
    ) {
        let mut s = Hep3Splitter::new();
        for piece in &pieces {
            let mut rest = &piece[..];
            while !rest.is_empty() {
                let n = s.push(rest);
                rest = &rest[n..];
                while let Some(p) = s.next_packet() {
                    prop_assert!(p.starts_with(b"HEP3"));
                    let _ = decode(p);
                }
            }
        }
        prop_assert!(s.buffered() < lyncscope_hep::MAX_HEP3_PACKET);
    }
}
