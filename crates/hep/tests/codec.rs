//! Decoder and encoder against real packets, hand-built v1/v2/v3 packets and every error path.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use lyncscope_hep::{
    chunk, decode, encode_v3, encoded_len, EncodeError, ErrorKind, HepError, HepOut, HepVersion,
    MissingChunk,
};

const V3_REAL: &[u8] = include_bytes!("fixtures/heplify-server-v3.bin");
const V1_REAL: &[u8] = include_bytes!("fixtures/heplify-server-v1.bin");

#[test]
fn real_heplify_server_v3_packet() {
    let p = decode(V3_REAL).unwrap();
    assert_eq!(p.meta.version, HepVersion::V3);
    assert_eq!(p.meta.ip_protocol, 17);
    assert_eq!(p.meta.src_ip, IpAddr::V4(Ipv4Addr::new(192, 168, 247, 250)));
    assert_eq!(p.meta.dst_ip, IpAddr::V4(Ipv4Addr::new(192, 168, 245, 250)));
    assert_eq!((p.meta.src_port, p.meta.dst_port), (5060, 5060));
    assert_eq!(p.meta.ts_sec, 0x5aa2_9b98);
    assert_eq!(p.meta.ts_usec, 119_540);
    assert_eq!(p.meta.proto_type, 1);
    assert_eq!(p.meta.node_id, 0);
    assert_eq!(p.meta.vlan, None);
    assert_eq!(p.auth_key, Some(&b""[..]));
    assert_eq!(p.payload.len(), 0x02a7 - 6);
    assert!(p
        .payload
        .starts_with(b"SIP/2.0 200 OK\r\nCall-ID: BC099884@6dfcffe8\r\n"));
    assert!(p.payload.ends_with(b"m=audio 0 RTP/AVP 8"));
    assert!(!p.payload_compressed);
    assert_eq!(p.correlation_id, None);
    assert_eq!(p.node_name, None);
    assert_eq!(p.skipped_chunks, 0);
}

/// heplify-server's test re-encodes this packet and expects identical bytes;
/// our encoder writes the same chunks in the same order, so it must too.
#[test]
fn real_v3_packet_reencodes_byte_for_byte() {
    let p = decode(V3_REAL).unwrap();
    let out = HepOut {
        ip_protocol: p.meta.ip_protocol,
        src_ip: p.meta.src_ip,
        dst_ip: p.meta.dst_ip,
        src_port: p.meta.src_port,
        dst_port: p.meta.dst_port,
        ts_sec: p.meta.ts_sec,
        ts_usec: p.meta.ts_usec,
        proto_type: p.meta.proto_type,
        node_id: p.meta.node_id,
        password: p.auth_key,
        correlation_id: None,
        vlan: None,
        node_name: None,
        payload: p.payload,
    };
    let mut buf = Vec::new();
    assert_eq!(encode_v3(&out, &mut buf), Ok(V3_REAL.len()));
    assert_eq!(buf, V3_REAL);
}

#[test]
fn real_heplify_server_v1_packet() {
    let p = decode(V1_REAL).unwrap();
    assert_eq!(p.meta.version, HepVersion::V1);
    assert_eq!(p.meta.ip_protocol, 17);
    assert_eq!(p.meta.src_ip, IpAddr::V4(Ipv4Addr::new(10, 0, 1, 100)));
    assert_eq!(p.meta.dst_ip, IpAddr::V4(Ipv4Addr::new(192, 168, 0, 254)));
    assert_eq!((p.meta.src_port, p.meta.dst_port), (5060, 5060));
    assert_eq!((p.meta.ts_sec, p.meta.ts_usec, p.meta.node_id), (0, 0, 0));
    assert_eq!(p.meta.proto_type, 1);
    assert_eq!(p.payload.len(), V1_REAL.len() - 16);
    assert!(p
        .payload
        .starts_with(b"SIP/2.0 200 OK\r\nFrom: <sip:mod_sofia@"));
    assert!(p.payload.ends_with(b"Content-Length: 0\r\n\r\n"));
}

/// A HEP v2 packet laid out as hep-c's `send_hepv2` writes it (core_hep.c):
/// hep_hdr, hep_iphdr, then hep_timehdr in host (little-endian) order.
fn v2_packet(ipv6: bool, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![
        2u8,
        if ipv6 { 40 } else { 16 },
        if ipv6 { 10 } else { 2 },
        6,
    ];
    v.extend_from_slice(&5061u16.to_be_bytes());
    v.extend_from_slice(&5060u16.to_be_bytes());
    if ipv6 {
        v.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
        v.extend_from_slice(&"2001:db8::2".parse::<Ipv6Addr>().unwrap().octets());
    } else {
        v.extend_from_slice(&[10, 1, 2, 3, 10, 4, 5, 6]);
    }
    v.extend_from_slice(&1_700_000_000u32.to_le_bytes());
    v.extend_from_slice(&123_456u32.to_le_bytes());
    v.extend_from_slice(&2002u16.to_le_bytes());
    v.extend_from_slice(payload);
    v
}

#[test]
fn v2_ipv4_and_ipv6() {
    let raw = v2_packet(false, b"INVITE sip:a@b SIP/2.0\r\n\r\n");
    let p = decode(&raw).unwrap();
    assert_eq!(p.meta.version, HepVersion::V2);
    assert_eq!(p.meta.ip_protocol, 6);
    assert_eq!(p.meta.src_ip, IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)));
    assert_eq!(p.meta.dst_ip, IpAddr::V4(Ipv4Addr::new(10, 4, 5, 6)));
    assert_eq!((p.meta.src_port, p.meta.dst_port), (5061, 5060));
    assert_eq!((p.meta.ts_sec, p.meta.ts_usec), (1_700_000_000, 123_456));
    assert_eq!(p.meta.node_id, 2002);
    assert_eq!(p.payload, b"INVITE sip:a@b SIP/2.0\r\n\r\n");

    let raw = v2_packet(true, b"BYE");
    let p = decode(&raw).unwrap();
    assert_eq!(p.meta.src_ip, "2001:db8::1".parse::<IpAddr>().unwrap());
    assert_eq!(p.meta.dst_ip, "2001:db8::2".parse::<IpAddr>().unwrap());
    assert_eq!(p.payload, b"BYE");
    assert_eq!(p.meta.node_id, 2002);
}

#[test]
fn v1_v2_truncated_and_bad_family() {
    let raw = v2_packet(false, b"");
    // Header without payload is fine (an empty payload), one byte less is not.
    assert_eq!(decode(&raw).unwrap().payload, b"");
    for cut in 1..raw.len() {
        // Until the family byte is there only the fixed 8 bytes are known to be needed.
        let need = if cut < 3 { 8 } else { 26 };
        assert_eq!(
            decode(&raw[..cut]),
            Err(HepError::TruncatedHeader { need, have: cut }),
            "cut {cut}"
        );
    }
    let raw6 = v2_packet(true, b"");
    assert_eq!(
        decode(&raw6[..49]),
        Err(HepError::TruncatedHeader { need: 50, have: 49 })
    );
    let v1 = &V1_REAL[..15];
    assert_eq!(
        decode(v1),
        Err(HepError::TruncatedHeader { need: 16, have: 15 })
    );
    let mut bad = raw.clone();
    bad[2] = 7;
    assert_eq!(decode(&bad), Err(HepError::UnknownFamily(7)));
}

fn sample<'a>(payload: &'a [u8]) -> HepOut<'a> {
    HepOut {
        ip_protocol: 17,
        src_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        dst_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        src_port: 5060,
        dst_port: 5061,
        ts_sec: 1_700_000_001,
        ts_usec: 999_999,
        proto_type: 1,
        node_id: 2002,
        password: Some(b"secret"),
        correlation_id: Some(b"call-1@host"),
        vlan: Some(42),
        node_name: Some(b"fe01"),
        payload,
    }
}

#[test]
fn encode_decode_every_chunk() {
    let out = sample(b"OPTIONS sip:x SIP/2.0\r\n\r\n");
    let mut buf = Vec::new();
    let n = encode_v3(&out, &mut buf).unwrap();
    assert_eq!(n, buf.len());
    assert_eq!(n, encoded_len(&out));
    let p = decode(&buf).unwrap();
    assert_eq!(p.meta.ip_protocol, 17);
    assert_eq!(p.meta.src_ip, out.src_ip);
    assert_eq!(p.meta.dst_ip, out.dst_ip);
    assert_eq!((p.meta.src_port, p.meta.dst_port), (5060, 5061));
    assert_eq!((p.meta.ts_sec, p.meta.ts_usec), (1_700_000_001, 999_999));
    assert_eq!(p.meta.proto_type, 1);
    assert_eq!(p.meta.node_id, 2002);
    assert_eq!(p.meta.vlan, Some(42));
    assert_eq!(p.auth_key, Some(&b"secret"[..]));
    assert_eq!(p.correlation_id, Some(&b"call-1@host"[..]));
    assert_eq!(p.node_name, Some(&b"fe01"[..]));
    assert_eq!(p.payload, out.payload);
}

#[test]
fn encode_mixed_families_as_ipv6() {
    let mut out = sample(b"x");
    out.dst_ip = "2001:db8::9".parse().unwrap();
    let mut buf = Vec::new();
    encode_v3(&out, &mut buf).unwrap();
    let p = decode(&buf).unwrap();
    assert_eq!(p.meta.src_ip, "::ffff:10.0.0.1".parse::<IpAddr>().unwrap());
    assert_eq!(p.meta.dst_ip, "2001:db8::9".parse::<IpAddr>().unwrap());
}

#[test]
fn encode_limits() {
    let mut buf = b"keep".to_vec();
    let big = vec![b'a'; 65_535];
    let out = sample(&big);
    assert!(matches!(
        encode_v3(&out, &mut buf),
        Err(EncodeError::TooLarge(_))
    ));
    assert_eq!(buf, b"keep", "nothing appended on error");
    // The largest payload that fits gives exactly 65535 bytes.
    let mut minimal = sample(b"");
    minimal.password = None;
    minimal.correlation_id = None;
    minimal.vlan = None;
    minimal.node_name = None;
    let room = 65_535 - encoded_len(&minimal);
    let fits = vec![b'b'; room];
    minimal.payload = &fits;
    let mut buf = Vec::new();
    assert_eq!(encode_v3(&minimal, &mut buf), Ok(65_535));
    assert_eq!(decode(&buf).unwrap().payload.len(), room);
    let more = vec![b'b'; room + 1];
    minimal.payload = &more;
    assert_eq!(
        encode_v3(&minimal, &mut buf),
        Err(EncodeError::TooLarge(65_536))
    );
}

// --- HEP3 built chunk by chunk, for the error paths ---

fn ch(vendor: u16, t: u16, v: &[u8]) -> Vec<u8> {
    let mut c = vendor.to_be_bytes().to_vec();
    c.extend_from_slice(&t.to_be_bytes());
    c.extend_from_slice(&((6 + v.len()) as u16).to_be_bytes());
    c.extend_from_slice(v);
    c
}

fn pkt(chunks: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = chunks.concat();
    let mut p = b"HEP3".to_vec();
    p.extend_from_slice(&((6 + body.len()) as u16).to_be_bytes());
    p.extend_from_slice(&body);
    p
}

fn base() -> Vec<Vec<u8>> {
    vec![
        ch(0, chunk::IP_FAMILY, &[2]),
        ch(0, chunk::IP_PROTOCOL, &[17]),
        ch(0, chunk::IPV4_SRC, &[1, 2, 3, 4]),
        ch(0, chunk::IPV4_DST, &[5, 6, 7, 8]),
        ch(0, chunk::SRC_PORT, &5060u16.to_be_bytes()),
        ch(0, chunk::DST_PORT, &5060u16.to_be_bytes()),
        ch(0, chunk::TS_SEC, &7u32.to_be_bytes()),
        ch(0, chunk::PROTO_TYPE, &[1]),
        ch(0, chunk::PAYLOAD, b"SIP"),
    ]
}

#[test]
fn minimal_v3_defaults_optional_fields() {
    let raw = pkt(&base());
    let p = decode(&raw).unwrap();
    assert_eq!(p.meta.ts_usec, 0);
    assert_eq!(p.meta.node_id, 0);
    assert_eq!(p.payload, b"SIP");
}

#[test]
fn unknown_and_vendor_chunks_are_skipped() {
    let mut c = base();
    c.insert(0, ch(0, 0x0017, &[0x18])); // TCP flags (heplify)
    c.insert(
        3,
        ch(0x1234, chunk::PAYLOAD, b"vendor payload must not win"),
    );
    c.push(ch(0, 0x00ff, &[]));
    c.push(ch(0, chunk::KEEP_ALIVE, &[0, 5]));
    let raw = pkt(&c);
    let p = decode(&raw).unwrap();
    assert_eq!(p.payload, b"SIP");
    assert_eq!(p.skipped_chunks, 4);
}

#[test]
fn compressed_payload_is_flagged() {
    let mut c = base();
    c.pop();
    c.push(ch(0, chunk::COMPRESSED_PAYLOAD, &[0x78, 0x9c, 1, 2]));
    let raw = pkt(&c);
    let p = decode(&raw).unwrap();
    assert!(p.payload_compressed);
    assert_eq!(p.payload, &[0x78, 0x9c, 1, 2]);
    // A plain payload wins over a compressed one.
    c.push(ch(0, chunk::PAYLOAD, b"plain"));
    let raw = pkt(&c);
    let p = decode(&raw).unwrap();
    assert!(!p.payload_compressed);
    assert_eq!(p.payload, b"plain");
}

#[test]
fn ipv6_v3() {
    let mut c = base();
    c[0] = ch(0, chunk::IP_FAMILY, &[10]);
    c[2] = ch(0, chunk::IPV6_SRC, &Ipv6Addr::LOCALHOST.octets());
    c[3] = ch(
        0,
        chunk::IPV6_DST,
        &"fe80::2".parse::<Ipv6Addr>().unwrap().octets(),
    );
    let raw = pkt(&c);
    let p = decode(&raw).unwrap();
    assert_eq!(p.meta.src_ip, IpAddr::V6(Ipv6Addr::LOCALHOST));
}

fn err(buf: &[u8]) -> HepError {
    decode(buf).unwrap_err()
}

#[test]
fn header_errors() {
    assert_eq!(err(b""), HepError::Empty);
    assert_eq!(err(b"GET / HTTP/1.1"), HepError::UnknownVersion(b'G'));
    assert_eq!(err(b"HEP2...."), HepError::UnknownVersion(b'H'));
    assert_eq!(err(&[3, 0, 0]), HepError::UnknownVersion(3));
    assert_eq!(
        err(b"HEP3\x00"),
        HepError::TruncatedHeader { need: 6, have: 5 }
    );
    assert_eq!(err(b"HEP3\x00\x05"), HepError::BadTotalLength(5));
    let good = pkt(&base());
    assert_eq!(
        err(&good[..good.len() - 1]),
        HepError::Truncated {
            declared: good.len(),
            actual: good.len() - 1
        }
    );
    let mut longer = good.clone();
    longer.push(0);
    assert_eq!(
        err(&longer),
        HepError::TrailingBytes {
            declared: good.len(),
            actual: good.len() + 1
        }
    );
}

#[test]
fn chunk_errors() {
    // Header-only packet with 3 stray bytes where a chunk header should be.
    let mut p = b"HEP3\x00\x09".to_vec();
    p.extend_from_slice(&[0, 0, 1]);
    assert_eq!(err(&p), HepError::ChunkHeaderTruncated { offset: 6 });

    let mut c = base();
    c.push(vec![0, 0, 0, 0x0f, 0, 5]);
    assert!(matches!(
        err(&pkt(&c)),
        HepError::ChunkLengthTooSmall {
            chunk_type: 0x0f,
            len: 5,
            ..
        }
    ));

    let mut c = base();
    c.push(vec![0, 0, 0, 0x11, 0, 60, b'x']);
    assert_eq!(
        err(&pkt(&c)),
        HepError::ChunkOverrun {
            offset: pkt(&base()).len(),
            chunk_type: 0x11,
            len: 60,
            remaining: 7
        }
    );

    for (t, size, wrong) in [
        (chunk::IP_FAMILY, 1, 2),
        (chunk::IP_PROTOCOL, 1, 0),
        (chunk::IPV4_SRC, 4, 16),
        (chunk::IPV4_DST, 4, 3),
        (chunk::IPV6_SRC, 16, 4),
        (chunk::IPV6_DST, 16, 15),
        (chunk::SRC_PORT, 2, 4),
        (chunk::DST_PORT, 2, 1),
        (chunk::TS_SEC, 4, 8),
        (chunk::TS_USEC, 4, 2),
        (chunk::PROTO_TYPE, 1, 2),
        (chunk::NODE_ID, 4, 2),
        (chunk::VLAN, 2, 4),
    ] {
        let mut c = base();
        c.push(ch(0, t, &vec![0; wrong]));
        assert_eq!(
            err(&pkt(&c)),
            HepError::BadChunkSize {
                chunk_type: t,
                expected: size,
                got: wrong
            }
        );
    }
}

#[test]
fn semantic_errors() {
    let mut c = base();
    c.push(ch(0, chunk::PAYLOAD, b"second"));
    assert_eq!(err(&pkt(&c)), HepError::DuplicateChunk(chunk::PAYLOAD));

    let mut c = base();
    c[0] = ch(0, chunk::IP_FAMILY, &[7]);
    assert_eq!(err(&pkt(&c)), HepError::UnknownFamily(7));

    let mut c = base();
    c[0] = ch(0, chunk::IP_FAMILY, &[10]);
    assert_eq!(err(&pkt(&c)), HepError::FamilyMismatch(10));
    let mut c = base();
    c.push(ch(0, chunk::IPV6_SRC, &[0; 16]));
    assert_eq!(err(&pkt(&c)), HepError::FamilyMismatch(2));

    let cases = [
        (0, MissingChunk::IpFamily),
        (1, MissingChunk::IpProtocol),
        (2, MissingChunk::SrcAddress),
        (3, MissingChunk::DstAddress),
        (4, MissingChunk::SrcPort),
        (5, MissingChunk::DstPort),
        (6, MissingChunk::Timestamp),
        (7, MissingChunk::ProtoType),
        (8, MissingChunk::Payload),
    ];
    for (i, missing) in cases {
        let mut c = base();
        c.remove(i);
        assert_eq!(
            err(&pkt(&c)),
            HepError::MissingChunk(missing),
            "{missing:?}"
        );
    }
}

#[test]
fn error_kinds_are_distinct_and_named() {
    let mut names: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
    for (i, k) in ErrorKind::ALL.iter().enumerate() {
        assert_eq!(k.index(), i);
    }
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), ErrorKind::COUNT);
    assert_eq!(HepError::Empty.kind(), ErrorKind::Empty);
    assert_eq!(
        HepError::MissingChunk(MissingChunk::Payload).kind(),
        ErrorKind::MissingChunk
    );
}
