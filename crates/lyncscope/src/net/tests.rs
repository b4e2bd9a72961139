//! End-to-end tests of [`NetDecoder`]: packet builders for every supported encapsulation,
//! reassembly scenarios and property tests.

use super::*;
use crate::{linktype, Timestamp};
use proptest::prelude::*;
use std::net::Ipv6Addr;

// ---------------------------------------------------------------------------------------
// Builders. Checksums are left 0: the decoder does not verify them.

const A4: [u8; 4] = [192, 0, 2, 1];
const B4: [u8; 4] = [198, 51, 100, 2];
const SIP: &[u8] = b"OPTIONS sip:x@example.com SIP/2.0\r\nContent-Length: 0\r\n\r\n";

fn a6() -> Ipv6Addr {
    "2001:db8::1".parse().unwrap()
}
fn b6() -> Ipv6Addr {
    "2001:db8::2".parse().unwrap()
}

fn ipv4_full(
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    id: u16,
    flags_off: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&u16::try_from(20 + payload.len()).unwrap().to_be_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&flags_off.to_be_bytes());
    p.extend_from_slice(&[64, proto, 0, 0]);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(payload);
    p
}

fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, payload: &[u8]) -> Vec<u8> {
    ipv4_full(src, dst, proto, 1, 0x4000, payload)
}

fn ipv4_frag(proto: u8, id: u16, offset: usize, more: bool, data: &[u8]) -> Vec<u8> {
    let fo = u16::try_from(offset / 8).unwrap() | if more { 0x2000 } else { 0 };
    ipv4_full(A4, B4, proto, id, fo, data)
}

fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, next: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&u16::try_from(payload.len()).unwrap().to_be_bytes());
    p.extend_from_slice(&[next, 64]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(payload);
    p
}

fn ipv6_frag(id: u32, offset: usize, more: bool, next: u8, data: &[u8]) -> Vec<u8> {
    let mut f = vec![next, 0];
    let om = u16::try_from(offset).unwrap() | u16::from(more);
    f.extend_from_slice(&om.to_be_bytes());
    f.extend_from_slice(&id.to_be_bytes());
    f.extend_from_slice(data);
    ipv6(a6(), b6(), 44, &f)
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&u16::try_from(8 + payload.len()).unwrap().to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

fn sip_udp() -> Vec<u8> {
    udp(5060, 5060, SIP)
}

fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A VLAN tag (to put after a TPID): TCI then the inner type.
fn tag(vid: u16, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut t = vid.to_be_bytes().to_vec();
    t.extend_from_slice(&ethertype.to_be_bytes());
    t.extend_from_slice(payload);
    t
}

fn sll(arphrd: u16, protocol: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0, 0];
    f.extend_from_slice(&arphrd.to_be_bytes());
    f.extend_from_slice(&[0, 6, 1, 2, 3, 4, 5, 6, 0, 0]);
    f.extend_from_slice(&protocol.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn sll2(arphrd: u16, protocol: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = protocol.to_be_bytes().to_vec();
    f.extend_from_slice(&[0, 0, 0, 0, 0, 3]);
    f.extend_from_slice(&arphrd.to_be_bytes());
    f.extend_from_slice(&[0, 6, 1, 2, 3, 4, 5, 6, 0, 0]);
    f.extend_from_slice(payload);
    f
}

fn pppoe(ppp_protocol: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x11, 0x00, 0x12, 0x34];
    p.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
    p.extend_from_slice(&ppp_protocol.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

fn gre(flags: u16, protocol: u16, key: Option<u32>, seq: Option<u32>, payload: &[u8]) -> Vec<u8> {
    let mut flags = flags;
    if key.is_some() {
        flags |= 0x2000;
    }
    if seq.is_some() {
        flags |= 0x1000;
    }
    let mut g = flags.to_be_bytes().to_vec();
    g.extend_from_slice(&protocol.to_be_bytes());
    if flags & 0x8000 != 0 {
        g.extend_from_slice(&[0xab, 0xcd, 0, 0]);
    }
    if let Some(k) = key {
        g.extend_from_slice(&k.to_be_bytes());
    }
    if let Some(s) = seq {
        g.extend_from_slice(&s.to_be_bytes());
    }
    g.extend_from_slice(payload);
    g
}

fn erspan2(session: u16, frame: &[u8]) -> Vec<u8> {
    let mut h = vec![0x10, 0x0a];
    h.extend_from_slice(&(session & 0x3ff).to_be_bytes());
    h.extend_from_slice(&[0, 0, 0, 7]);
    h.extend_from_slice(frame);
    h
}

fn erspan3(session: u16, subheader: bool, frame: &[u8]) -> Vec<u8> {
    let mut h = vec![0x20, 0x0a];
    h.extend_from_slice(&(session & 0x3ff).to_be_bytes());
    h.extend_from_slice(&[1, 2, 3, 4, 0, 0, 0, u8::from(subheader)]);
    if subheader {
        h.extend_from_slice(&[9; 8]);
    }
    h.extend_from_slice(frame);
    h
}

fn gtpu(teid: u32, with_extension: bool, inner: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    if with_extension {
        // sequence, N-PDU, next = PDU session container (0x85): 4 bytes, then none.
        body.extend_from_slice(&[0, 1, 0, 0x85, 1, 0x10, 0x05, 0]);
    }
    body.extend_from_slice(inner);
    let mut g = vec![if with_extension { 0x34 } else { 0x30 }, 0xff];
    g.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
    g.extend_from_slice(&teid.to_be_bytes());
    g.extend_from_slice(&body);
    g
}

fn vxlan(vni: u32, frame: &[u8]) -> Vec<u8> {
    let mut v = vec![0x08, 0, 0, 0];
    v.extend_from_slice(&(vni << 8).to_be_bytes());
    v.extend_from_slice(frame);
    v
}

fn frame(link_type: u32, data: &[u8]) -> Frame<'_> {
    frame_at(link_type, data, 0)
}

fn frame_at(link_type: u32, data: &[u8], secs: i64) -> Frame<'_> {
    Frame {
        number: 1,
        timestamp: Timestamp::from_secs_nanos(1_700_000_000 + secs, 0),
        link_type,
        data,
        original_len: u32::try_from(data.len()).unwrap_or(u32::MAX),
        source: 0,
    }
}

// ---------------------------------------------------------------------------------------
// Checks.

/// What a single frame decodes to: the outcome's name, and for a packet (src, dst,
/// protocol, payload, reassembled).
type Decoded = (String, Option<(IpAddr, IpAddr, u8, Vec<u8>, bool)>);

fn decode_one(link_type: u32, data: &[u8]) -> Decoded {
    let mut dec = NetDecoder::new();
    let f = frame(link_type, data);
    match dec.decode(&f) {
        NetOutput::Packet(p) => (
            "packet".into(),
            Some((
                p.src,
                p.dst,
                p.protocol,
                p.payload.into_owned(),
                p.reassembled,
            )),
        ),
        NetOutput::FragmentHeld => ("held".into(), None),
        NetOutput::NotIp => ("not ip".into(), None),
        NetOutput::Undecoded(r) => (r.into(), None),
    }
}

#[track_caller]
fn assert_packet(
    link_type: u32,
    data: &[u8],
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    payload: &[u8],
) {
    let (what, p) = decode_one(link_type, data);
    let Some((s, d, pr, pl, reassembled)) = p else {
        panic!("expected a packet, got {what}");
    };
    assert_eq!((s, d, pr), (src, dst, protocol));
    assert_eq!(pl, payload);
    assert!(!reassembled);
}

#[track_caller]
fn assert_sip_v4(link_type: u32, data: &[u8]) {
    assert_packet(link_type, data, A4.into(), B4.into(), 17, &sip_udp());
}

#[track_caller]
fn assert_outcome(link_type: u32, data: &[u8], expected: &str) {
    assert_eq!(decode_one(link_type, data).0, expected);
}

fn v4_sip() -> Vec<u8> {
    ipv4(A4, B4, 17, &sip_udp())
}

// ---------------------------------------------------------------------------------------
// Link layers.

#[test]
fn ethernet_ipv4_udp_is_borrowed_and_trims_padding() {
    let mut f = eth(0x0800, &ipv4(A4, B4, 17, &udp(1, 2, b"x")));
    f.extend_from_slice(&[0; 20]); // Ethernet padding
    let mut dec = NetDecoder::new();
    let fr = frame(linktype::ETHERNET, &f);
    let NetOutput::Packet(p) = dec.decode(&fr) else {
        panic!("not a packet")
    };
    assert!(matches!(p.payload, Cow::Borrowed(_)));
    assert_eq!(&*p.payload, &udp(1, 2, b"x")[..]);
    assert_eq!(dec.stats().packets, 1);
}

#[test]
fn ethernet_ipv6() {
    let f = eth(0x86dd, &ipv6(a6(), b6(), 17, &sip_udp()));
    assert_packet(
        linktype::ETHERNET,
        &f,
        a6().into(),
        b6().into(),
        17,
        &sip_udp(),
    );
}

#[test]
fn vlan_qinq_and_depth_limit() {
    let ip = v4_sip();
    assert_sip_v4(linktype::ETHERNET, &eth(0x8100, &tag(10, 0x0800, &ip)));
    let qinq = eth(0x88a8, &tag(100, 0x8100, &tag(10, 0x0800, &ip)));
    assert_sip_v4(linktype::ETHERNET, &qinq);
    assert_sip_v4(linktype::ETHERNET, &eth(0x9100, &tag(7, 0x0800, &ip)));
    let mut deep = tag(1, 0x0800, &ip);
    for _ in 0..9 {
        deep = tag(1, 0x8100, &deep);
    }
    assert_outcome(
        linktype::ETHERNET,
        &eth(0x8100, &deep),
        "too many VLAN tags",
    );
    assert_outcome(
        linktype::ETHERNET,
        &eth(0x8100, &[0, 1]),
        "truncated VLAN tag",
    );
}

#[test]
fn linux_sll_any_arphrd() {
    let ip = v4_sip();
    for arphrd in [1, 772, 65534, 778, 512, 280] {
        assert_sip_v4(linktype::LINUX_SLL, &sll(arphrd, 0x0800, &ip));
    }
    assert_sip_v4(linktype::LINUX_SLL, &sll(1, 0x8100, &tag(5, 0x0800, &ip)));
    let v6 = ipv6(a6(), b6(), 17, &sip_udp());
    assert_packet(
        linktype::LINUX_SLL,
        &sll(65534, 0x86dd, &v6),
        a6().into(),
        b6().into(),
        17,
        &sip_udp(),
    );
    assert_outcome(linktype::LINUX_SLL, &sll(1, 0x0806, &[0; 28]), "not ip");
    assert_outcome(linktype::LINUX_SLL, &sll(824, 0x0800, &ip), "not ip");
    assert_outcome(linktype::LINUX_SLL, &sll(280, 0x000c, &[0; 16]), "not ip");
    assert_outcome(
        linktype::LINUX_SLL,
        &sll(1, 0x0800, &ip)[..15],
        "truncated Linux SLL header",
    );
}

#[test]
fn linux_sll2() {
    let ip = v4_sip();
    assert_sip_v4(linktype::LINUX_SLL2, &sll2(1, 0x0800, &ip));
    assert_sip_v4(linktype::LINUX_SLL2, &sll2(772, 0x0800, &ip));
    assert_outcome(
        linktype::LINUX_SLL2,
        &sll2(1, 0x0800, &ip)[..19],
        "truncated Linux SLL2 header",
    );
}

#[test]
fn null_and_loop() {
    let ip = v4_sip();
    let v6 = ipv6(a6(), b6(), 17, &sip_udp());
    let with = |fam: [u8; 4], p: &[u8]| [&fam[..], p].concat();
    assert_sip_v4(linktype::NULL, &with([2, 0, 0, 0], &ip));
    assert_sip_v4(linktype::NULL, &with([0, 0, 0, 2], &ip));
    assert_sip_v4(linktype::LOOP, &with([0, 0, 0, 2], &ip));
    for fam in [10u8, 24, 28, 30] {
        assert_packet(
            linktype::NULL,
            &with([fam, 0, 0, 0], &v6),
            a6().into(),
            b6().into(),
            17,
            &sip_udp(),
        );
        assert_packet(
            linktype::LOOP,
            &with([0, 0, 0, fam], &v6),
            a6().into(),
            b6().into(),
            17,
            &sip_udp(),
        );
    }
    assert_outcome(linktype::NULL, &with([7, 0, 0, 0], &ip), "not ip");
    assert_outcome(linktype::NULL, &[2, 0], "truncated NULL/loopback header");
}

#[test]
fn raw_ip_link_types() {
    let v6 = ipv6(a6(), b6(), 17, &sip_udp());
    for lt in [
        linktype::RAW,
        linktype::IPV4,
        linktype::IPV6,
        linktype::RAW_DLT12,
        linktype::RAW_DLT14,
    ] {
        assert_sip_v4(lt, &v4_sip());
        assert_packet(lt, &v6, a6().into(), b6().into(), 17, &sip_udp());
    }
    assert_outcome(linktype::RAW, &[0x55, 0], "bad IP version");
    assert_outcome(linktype::RAW, &[], "truncated IP header");
}

#[test]
fn pppoe_session_and_discovery() {
    assert_sip_v4(linktype::ETHERNET, &eth(0x8864, &pppoe(0x0021, &v4_sip())));
    let v6 = ipv6(a6(), b6(), 17, &sip_udp());
    let f = eth(0x8864, &pppoe(0x0057, &v6));
    assert_packet(
        linktype::ETHERNET,
        &f,
        a6().into(),
        b6().into(),
        17,
        &sip_udp(),
    );
    assert_outcome(
        linktype::ETHERNET,
        &eth(0x8863, &[0x11, 0x09, 0, 0, 0, 0]),
        "not ip",
    );
    assert_outcome(
        linktype::ETHERNET,
        &eth(0x8864, &pppoe(0xc021, &[1, 1, 0, 4])),
        "not ip",
    );
    assert_outcome(
        linktype::ETHERNET,
        &eth(0x8864, &[0x11, 0]),
        "truncated PPPoE header",
    );
}

#[test]
fn mpls_labels() {
    let mut labels = vec![0, 0x10, 0x00, 0x40, 0, 0x20, 0x01, 0x40];
    labels.extend_from_slice(&v4_sip());
    assert_sip_v4(linktype::ETHERNET, &eth(0x8847, &labels));
}

#[test]
fn non_ip_frames() {
    assert_outcome(linktype::ETHERNET, &eth(0x0806, &[0; 28]), "not ip");
    assert_outcome(linktype::ETHERNET, &eth(0x88cc, &[0; 30]), "not ip");
    // STP: 802.3 length then LLC 42 42 03.
    assert_outcome(
        linktype::ETHERNET,
        &eth(0x0026, &[0x42, 0x42, 0x03, 0, 0]),
        "not ip",
    );
    // 802.3 + SNAP carrying IPv4 is IP.
    let snap = [&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00][..], &v4_sip()].concat();
    assert_sip_v4(
        linktype::ETHERNET,
        &eth(u16::try_from(snap.len()).unwrap(), &snap),
    );
}

#[test]
fn unknown_link_type_is_counted_by_number() {
    let mut dec = NetDecoder::new();
    let data = [0u8; 40];
    let f = frame(147, &data);
    assert!(matches!(
        dec.decode(&f),
        NetOutput::Undecoded("unsupported link type")
    ));
    assert_eq!(dec.stats().undecoded_reasons.get("link type 147"), Some(&1));
    assert_eq!(dec.stats().undecoded, 1);
}

#[test]
fn truncated_headers() {
    assert_outcome(linktype::ETHERNET, &[0; 13], "truncated Ethernet header");
    assert_outcome(
        linktype::ETHERNET,
        &eth(0x0800, &v4_sip()[..19]),
        "truncated IPv4 header",
    );
    assert_outcome(
        linktype::ETHERNET,
        &eth(0x86dd, &[0x60; 39]),
        "truncated IPv6 header",
    );
    let mut bad_ihl = v4_sip();
    bad_ihl[0] = 0x4f; // 60-byte header, packet shorter than that
    assert_outcome(linktype::RAW, &bad_ihl[..40], "truncated IPv4 header");
    // A truncated payload is still a packet: the transport layer sees what was captured.
    let ip = v4_sip();
    let (what, p) = decode_one(linktype::RAW, &ip[..30]);
    assert_eq!(what, "packet");
    assert_eq!(p.unwrap().3, &sip_udp()[..10]);
}

// ---------------------------------------------------------------------------------------
// IPv6 extension headers.

#[test]
fn ipv6_extension_headers() {
    let u = sip_udp();
    // hop-by-hop → routing → destination options → AH → UDP
    let mut chain = vec![43, 0, 1, 4, 0, 0, 0, 0];
    chain.extend_from_slice(&[60, 0, 0, 0, 0, 0, 0, 0]);
    chain.extend_from_slice(&[51, 0, 1, 4, 0, 0, 0, 0]);
    chain.extend_from_slice(&[17, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    chain.extend_from_slice(&u);
    let p = ipv6(a6(), b6(), 0, &chain);
    assert_packet(linktype::RAW, &p, a6().into(), b6().into(), 17, &u);
    assert_outcome(linktype::RAW, &ipv6(a6(), b6(), 50, &[0; 16]), "ESP");
    assert_packet(
        linktype::RAW,
        &ipv6(a6(), b6(), 59, &[]),
        a6().into(),
        b6().into(),
        59,
        &[],
    );
    assert_outcome(linktype::RAW, &p[..44], "truncated IPv6 extension header");
    // An atomic fragment (offset 0, M clear) is not a fragment.
    let atomic = ipv6_frag(9, 0, false, 17, &u);
    assert_packet(linktype::RAW, &atomic, a6().into(), b6().into(), 17, &u);
}

#[test]
fn icmp_errors_are_plain_packets() {
    let quoted = [&[3, 3, 0, 0, 0, 0, 0, 0][..], &v4_sip()[..28]].concat();
    let p = ipv4(A4, B4, 1, &quoted);
    assert_packet(linktype::RAW, &p, A4.into(), B4.into(), 1, &quoted);
}

// ---------------------------------------------------------------------------------------
// Tunnels.

#[test]
fn ip_in_ip_all_combinations() {
    let inner4 = v4_sip();
    let inner6 = ipv6(a6(), b6(), 17, &sip_udp());
    let outer_a = [10, 0, 0, 1];
    let outer_b = [10, 0, 0, 2];
    assert_sip_v4(
        linktype::ETHERNET,
        &eth(0x0800, &ipv4(outer_a, outer_b, 4, &inner4)),
    );
    let v6_in_v4 = eth(0x0800, &ipv4(outer_a, outer_b, 41, &inner6));
    assert_packet(
        linktype::ETHERNET,
        &v6_in_v4,
        a6().into(),
        b6().into(),
        17,
        &sip_udp(),
    );
    let o6: Ipv6Addr = "fd00::1".parse().unwrap();
    assert_sip_v4(linktype::RAW, &ipv6(o6, o6, 4, &inner4));
    assert_packet(
        linktype::RAW,
        &ipv6(o6, o6, 41, &inner6),
        a6().into(),
        b6().into(),
        17,
        &sip_udp(),
    );
}

#[test]
fn tunnel_depth_is_bounded() {
    let mut p = v4_sip();
    for _ in 0..8 {
        p = ipv4([10, 0, 0, 1], [10, 0, 0, 2], 4, &p);
    }
    assert_sip_v4(linktype::RAW, &p);
    p = ipv4([10, 0, 0, 1], [10, 0, 0, 2], 4, &p);
    assert_outcome(linktype::RAW, &p, "tunnel nesting too deep");
}

fn outer_gre(g: &[u8]) -> Vec<u8> {
    eth(0x0800, &ipv4([10, 1, 1, 1], [10, 1, 1, 2], 47, g))
}

#[test]
fn gre_variants() {
    let ip = v4_sip();
    assert_sip_v4(
        linktype::ETHERNET,
        &outer_gre(&gre(0, 0x0800, None, None, &ip)),
    );
    assert_sip_v4(
        linktype::ETHERNET,
        &outer_gre(&gre(0x8000, 0x0800, Some(7), Some(1), &ip)),
    );
    let v6 = ipv6(a6(), b6(), 17, &sip_udp());
    let f = outer_gre(&gre(0, 0x86dd, Some(1), None, &v6));
    assert_packet(
        linktype::ETHERNET,
        &f,
        a6().into(),
        b6().into(),
        17,
        &sip_udp(),
    );
    // Transparent Ethernet bridging.
    let teb = gre(0, 0x6558, None, None, &eth(0x0800, &ip));
    assert_sip_v4(linktype::ETHERNET, &outer_gre(&teb));
    // GRE keepalive-like: GRE in GRE.
    let inner_gre = ipv4(
        [10, 9, 9, 9],
        [10, 9, 9, 8],
        47,
        &gre(0, 0x0800, None, None, &ip),
    );
    assert_sip_v4(
        linktype::ETHERNET,
        &outer_gre(&gre(0, 0x0800, None, None, &inner_gre)),
    );
    // GRE carrying ARP over TEB is not IP.
    assert_outcome(
        linktype::ETHERNET,
        &outer_gre(&gre(0, 0x6558, None, None, &eth(0x0806, &[0; 28]))),
        "not ip",
    );
    assert_outcome(
        linktype::ETHERNET,
        &outer_gre(&[0, 0, 8]),
        "truncated GRE header",
    );
}

#[test]
fn gre_teb_vlan_pppoe() {
    // Like the nDPI GRE sample: GRE → Ethernet → VLAN → PPPoE → IPv4.
    let inner = eth(0x8100, &tag(300, 0x8864, &pppoe(0x0021, &v4_sip())));
    assert_sip_v4(
        linktype::ETHERNET,
        &outer_gre(&gre(0, 0x6558, Some(5), None, &inner)),
    );
}

#[test]
fn erspan_types() {
    let mirrored = eth(0x8100, &tag(12, 0x0800, &v4_sip()));
    // Type II: sequence bit set.
    assert_sip_v4(
        linktype::ETHERNET,
        &outer_gre(&gre(0, 0x88be, None, Some(1), &erspan2(3, &mirrored))),
    );
    // Type I: no sequence bit, the frame follows the GRE header.
    assert_sip_v4(
        linktype::ETHERNET,
        &outer_gre(&gre(0, 0x88be, None, None, &mirrored)),
    );
    // Type III with and without the platform subheader.
    for sub in [false, true] {
        let g = gre(0, 0x22eb, None, Some(1), &erspan3(3, sub, &mirrored));
        assert_sip_v4(linktype::ETHERNET, &outer_gre(&g));
    }
    let g = gre(0, 0x88be, None, Some(1), &erspan2(3, &mirrored)[..6]);
    assert_outcome(
        linktype::ETHERNET,
        &outer_gre(&g),
        "truncated ERSPAN header",
    );
}

#[test]
fn pptp_enhanced_gre() {
    let ip = v4_sip();
    let mut ppp = vec![0xff, 0x03, 0x00, 0x21];
    ppp.extend_from_slice(&ip);
    let mut g = vec![0x30, 0x81, 0x88, 0x0b];
    g.extend_from_slice(&u16::try_from(ppp.len()).unwrap().to_be_bytes());
    g.extend_from_slice(&[0, 42, 0, 0, 0, 1, 0, 0, 0, 0]);
    g.extend_from_slice(&ppp);
    assert_sip_v4(linktype::ETHERNET, &outer_gre(&g));
    // 3GPP2 A10 PPP in plain GRE.
    let a10 = gre(0, 0x8881, Some(9), None, &[&[0x00, 0x21][..], &ip].concat());
    assert_sip_v4(linktype::ETHERNET, &outer_gre(&a10));
}

#[test]
fn gtp_u() {
    let outer = |g: &[u8], sport: u16, dport: u16| {
        eth(
            0x0800,
            &ipv4([172, 16, 0, 1], [172, 16, 0, 2], 17, &udp(sport, dport, g)),
        )
    };
    assert_sip_v4(
        linktype::ETHERNET,
        &outer(&gtpu(0x1234, false, &v4_sip()), 2152, 2152),
    );
    assert_sip_v4(
        linktype::ETHERNET,
        &outer(&gtpu(0x1234, true, &v4_sip()), 40000, 2152),
    );
    let v6 = ipv6(a6(), b6(), 17, &sip_udp());
    let f = outer(&gtpu(1, true, &v6), 2152, 40000);
    assert_packet(
        linktype::ETHERNET,
        &f,
        a6().into(),
        b6().into(),
        17,
        &sip_udp(),
    );
    // An echo request is plain UDP.
    let echo = [0x32, 1, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0];
    let f = outer(&echo, 2152, 2152);
    assert_packet(
        linktype::ETHERNET,
        &f,
        [172, 16, 0, 1].into(),
        [172, 16, 0, 2].into(),
        17,
        &udp(2152, 2152, &echo),
    );
    let mut bad = gtpu(1, true, &v4_sip());
    bad[12] = 0; // extension length 0
    assert_outcome(
        linktype::ETHERNET,
        &outer(&bad, 2152, 2152),
        "bad GTP-U extension header",
    );
}

#[test]
fn vxlan_and_geneve() {
    let inner = eth(0x0800, &v4_sip());
    let v = udp(51000, 4789, &vxlan(77, &inner));
    assert_sip_v4(
        linktype::ETHERNET,
        &eth(0x0800, &ipv4([10, 2, 0, 1], [10, 2, 0, 2], 17, &v)),
    );
    let mut gen = vec![0, 0, 0x65, 0x58, 0, 0, 5, 0];
    gen.extend_from_slice(&inner);
    let g = udp(51000, 6081, &gen);
    assert_sip_v4(
        linktype::ETHERNET,
        &eth(0x0800, &ipv4([10, 2, 0, 1], [10, 2, 0, 2], 17, &g)),
    );
}

#[test]
fn etherip_and_mpls_in_ip() {
    let e = [&[0x30, 0][..], &eth(0x0800, &v4_sip())].concat();
    assert_sip_v4(linktype::RAW, &ipv4([10, 0, 0, 1], [10, 0, 0, 2], 97, &e));
    let m = [&[0, 0x10, 0x01, 0x40][..], &v4_sip()].concat();
    assert_sip_v4(linktype::RAW, &ipv4([10, 0, 0, 1], [10, 0, 0, 2], 137, &m));
}

#[test]
fn ipv4_authentication_header_and_esp() {
    let ah = [&[17, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0][..], &sip_udp()].concat();
    assert_packet(
        linktype::RAW,
        &ipv4(A4, B4, 51, &ah),
        A4.into(),
        B4.into(),
        17,
        &sip_udp(),
    );
    assert_outcome(linktype::RAW, &ipv4(A4, B4, 50, &[0; 20]), "ESP");
}

// ---------------------------------------------------------------------------------------
// Reassembly.

/// Splits `payload` into IPv4 fragments of `size` bytes (a multiple of 8).
fn v4_fragments(proto: u8, id: u16, payload: &[u8], size: usize) -> Vec<Vec<u8>> {
    let chunks: Vec<_> = payload.chunks(size).collect();
    chunks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            eth(
                0x0800,
                &ipv4_frag(proto, id, i * size, i + 1 < chunks.len(), c),
            )
        })
        .collect()
}

fn v6_fragments(id: u32, next: u8, payload: &[u8], size: usize) -> Vec<Vec<u8>> {
    let chunks: Vec<_> = payload.chunks(size).collect();
    chunks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            eth(
                0x86dd,
                &ipv6_frag(id, i * size, i + 1 < chunks.len(), next, c),
            )
        })
        .collect()
}

fn big_payload(n: usize) -> Vec<u8> {
    let body: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
    udp(5060, 5060, &body)
}

/// Feeds frames; returns the reassembled packets and checks the counters add up.
fn feed(dec: &mut NetDecoder, frames: &[Vec<u8>]) -> Vec<(IpAddr, IpAddr, u8, Vec<u8>)> {
    let mut out = Vec::new();
    for f in frames {
        if let NetOutput::Packet(p) = dec.decode(&frame(linktype::ETHERNET, f)) {
            assert!(p.reassembled);
            assert!(matches!(p.payload, Cow::Owned(_)));
            out.push((p.src, p.dst, p.protocol, p.payload.into_owned()));
        }
    }
    let s = dec.stats();
    assert_eq!(
        s.frames,
        s.packets + s.fragments_held + s.not_ip + s.undecoded
    );
    out
}

/// A deterministic permutation (xorshift), enough to vary the order.
fn shuffle<T>(v: &mut [T], mut seed: u64) {
    for i in (1..v.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

#[test]
fn ipv4_reassembly_in_any_order() {
    let payload = big_payload(4000);
    let frags = v4_fragments(17, 77, &payload, 1480);
    assert_eq!(frags.len(), 3);
    let mut orders = vec![frags.clone(), frags.iter().rev().cloned().collect()];
    for seed in 1..6 {
        let mut s = frags.clone();
        shuffle(&mut s, seed);
        orders.push(s);
    }
    // Duplicates of every fragment, interleaved.
    orders.push(
        frags
            .iter()
            .flat_map(|f| [f.clone(), f.clone()])
            .collect::<Vec<_>>()[..5]
            .to_vec(),
    );
    for order in orders {
        let mut dec = NetDecoder::new();
        let out = feed(&mut dec, &order);
        assert_eq!(out.len(), 1, "one datagram");
        assert_eq!(out[0], (A4.into(), B4.into(), 17, payload.clone()));
        assert_eq!(dec.stats().ip_reassembled, 1);
        assert_eq!(dec.defrag_usage(), (0, 0));
    }
}

#[test]
fn ipv4_overlapping_fragments() {
    let payload = big_payload(3000);
    // 0..1600, 1200..2400 (overlaps), 2400..end, plus a fragment fully inside another.
    let frags = vec![
        eth(0x0800, &ipv4_frag(17, 5, 0, true, &payload[..1600])),
        eth(0x0800, &ipv4_frag(17, 5, 800, true, &payload[800..1000])),
        eth(0x0800, &ipv4_frag(17, 5, 1200, true, &payload[1200..2400])),
        eth(0x0800, &ipv4_frag(17, 5, 2400, false, &payload[2400..])),
    ];
    for seed in 0..8 {
        let mut order = frags.clone();
        shuffle(&mut order, seed + 11);
        let mut dec = NetDecoder::new();
        let out = feed(&mut dec, &order);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].3, payload);
    }
}

#[test]
fn ipv6_reassembly_in_any_order() {
    let payload = big_payload(3500);
    let frags = v6_fragments(0xabcdef, 17, &payload, 1232);
    for seed in 0..6 {
        let mut order = frags.clone();
        shuffle(&mut order, seed + 3);
        order.push(order[0].clone());
        let mut dec = NetDecoder::new();
        let out = feed(&mut dec, &order);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0], (a6().into(), b6().into(), 17, payload.clone()));
    }
}

#[test]
fn ipv6_extension_headers_after_fragment_header() {
    // The fragmentable part starts with destination options, then UDP.
    let payload = [&[17, 0, 1, 4, 0, 0, 0, 0][..], &big_payload(2000)].concat();
    let frags = v6_fragments(3, 60, &payload, 1024);
    let mut dec = NetDecoder::new();
    let out = feed(&mut dec, &frags);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].2, 17);
    assert_eq!(out[0].3, big_payload(2000));
}

#[test]
fn missing_fragment_expires_after_timeout() {
    let frags = v4_fragments(17, 9, &big_payload(4000), 1480);
    let mut dec = NetDecoder::new();
    for f in [&frags[0], &frags[2]] {
        assert!(matches!(
            dec.decode(&frame_at(linktype::ETHERNET, f, 0)),
            NetOutput::FragmentHeld
        ));
    }
    assert_eq!(dec.stats().fragments_held, 2);
    // Within the timeout, nothing expires.
    let other = eth(0x0800, &ipv4_frag(17, 10, 0, true, &[0; 8]));
    dec.decode(&frame_at(linktype::ETHERNET, &other, 20));
    assert_eq!(dec.stats().fragments_expired, 0);
    // After it, the next fragment triggers expiry of the first datagram only.
    let late = eth(0x0800, &ipv4_frag(17, 11, 0, true, &[0; 8]));
    dec.decode(&frame_at(linktype::ETHERNET, &late, 31));
    assert_eq!(dec.stats().fragments_expired, 2);
    assert_eq!(dec.stats().datagrams_expired, 1);
    // The missing fragment arriving late starts a new datagram instead of completing.
    assert!(matches!(
        dec.decode(&frame_at(linktype::ETHERNET, &frags[1], 32)),
        NetOutput::FragmentHeld
    ));
    dec.flush();
    assert_eq!(dec.stats().fragments_expired, 5);
    assert_eq!(dec.defrag_usage(), (0, 0));
}

#[test]
fn expiry_without_new_fragments() {
    let frags = v4_fragments(17, 9, &big_payload(4000), 1480);
    let mut dec = NetDecoder::new();
    dec.decode(&frame_at(linktype::ETHERNET, &frags[0], 0));
    let plain = eth(0x0800, &v4_sip());
    for _ in 0..300 {
        dec.decode(&frame_at(linktype::ETHERNET, &plain, 60));
    }
    assert_eq!(dec.stats().fragments_expired, 1);
    assert_eq!(dec.defrag_usage().0, 0);
}

#[test]
fn pool_stays_bounded_under_a_flood() {
    let mut dec = NetDecoder::new();
    let data = [0u8; 64];
    for id in 0..100_000u32 {
        // Distinct datagrams: vary the id and (beyond 16 bits) the source address.
        let mut p = ipv4_frag(17, id as u16, 0, true, &data);
        p[12] = (id >> 16) as u8;
        let f = eth(0x0800, &p);
        assert!(matches!(
            dec.decode(&frame(linktype::ETHERNET, &f)),
            NetOutput::FragmentHeld
        ));
        let (n, bytes) = dec.defrag_usage();
        assert!(n <= 4096 && bytes <= 64 << 20);
    }
    let s = dec.stats();
    assert_eq!(s.datagrams_evicted, 100_000 - 4096);
    assert_eq!(s.fragments_expired, 100_000 - 4096);
    assert_eq!(s.ip_fragments, 100_000);
}

#[test]
fn pool_byte_bound_evicts_oldest() {
    let config = DefragConfig {
        max_datagrams: 1000,
        max_bytes: 200_000,
        timeout_ns: 30_000_000_000,
    };
    let mut dec = NetDecoder::with_defrag_config(config);
    // Each datagram claims 64 KiB by sending only its last fragment.
    for id in 0..20u16 {
        let f = eth(0x0800, &ipv4_frag(17, id, 65_000, false, &[1; 8]));
        dec.decode(&frame(linktype::ETHERNET, &f));
        assert!(dec.defrag_usage().1 <= 200_000);
    }
    assert!(dec.stats().datagrams_evicted >= 17);
    // The newest datagram is kept: completing it still works.
    let first = eth(0x0800, &ipv4_frag(17, 19, 0, true, &[2; 65_000]));
    let NetOutput::Packet(p) = dec.decode(&frame(linktype::ETHERNET, &first)) else {
        panic!("not completed");
    };
    assert_eq!(p.payload.len(), 65_008);
}

#[test]
fn oversized_fragment_is_undecoded() {
    let f = eth(0x0800, &ipv4_frag(17, 1, 65_528, false, &[0; 16]));
    assert_outcome(linktype::ETHERNET, &f, "oversized IP fragment");
}

#[test]
fn vlans_keep_datagrams_apart() {
    let payload = big_payload(2000);
    let on_vlan = |vid: u16, f: &Vec<u8>| {
        let ip = &f[14..];
        eth(0x8100, &tag(vid, 0x0800, ip))
    };
    let frags = v4_fragments(17, 1, &payload, 1024);
    let other = v4_fragments(17, 1, &big_payload(1900), 1024);
    let mixed = vec![
        on_vlan(10, &frags[0]),
        on_vlan(20, &other[1]),
        on_vlan(10, &frags[1]),
        on_vlan(20, &other[0]),
    ];
    let mut dec = NetDecoder::new();
    let out = feed(&mut dec, &mixed);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].3, payload);
    assert_eq!(out[1].3, big_payload(1900));
}

#[test]
fn fragmented_tunnel_is_reassembled_then_decoded() {
    // SIP in IPv4 in GRE, the outer IPv4 packet fragmented.
    let inner = ipv4(A4, B4, 17, &big_payload(2500));
    let g = gre(0, 0x0800, None, None, &inner);
    let chunks: Vec<_> = g.chunks(1000).collect();
    let frags: Vec<_> = chunks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let p = ipv4_full(
                [10, 0, 0, 1],
                [10, 0, 0, 2],
                47,
                99,
                (i * 125) as u16 | if i + 1 < chunks.len() { 0x2000 } else { 0 },
                c,
            );
            eth(0x0800, &p)
        })
        .collect();
    let mut dec = NetDecoder::new();
    let out = feed(&mut dec, &frags);
    assert_eq!(out, vec![(A4.into(), B4.into(), 17, big_payload(2500))]);
}

#[test]
fn fragmented_tunnel_carrying_fragments() {
    // The inner packet is itself fragmented; each inner fragment travels in a GRE packet
    // whose outer IPv4 packet is also fragmented.
    let payload = big_payload(3000);
    let inner_frags: Vec<Vec<u8>> = payload
        .chunks(1600)
        .enumerate()
        .map(|(i, c)| ipv4_frag(17, 4, i * 1600, i == 0, c))
        .collect();
    let mut frames = Vec::new();
    for (n, inner) in inner_frags.iter().enumerate() {
        let g = gre(0, 0x0800, None, None, inner);
        let chunks: Vec<_> = g.chunks(800).collect();
        for (i, c) in chunks.iter().enumerate() {
            let fo = (i * 100) as u16 | if i + 1 < chunks.len() { 0x2000 } else { 0 };
            frames.push(eth(
                0x0800,
                &ipv4_full([10, 0, 0, 1], [10, 0, 0, 2], 47, 500 + n as u16, fo, c),
            ));
        }
    }
    let mut dec = NetDecoder::new();
    let out = feed(&mut dec, &frames);
    assert_eq!(out, vec![(A4.into(), B4.into(), 17, payload)]);
    assert_eq!(dec.stats().ip_reassembled, 3);
}

#[test]
fn stats_account_for_every_frame() {
    let mut dec = NetDecoder::new();
    let frames = [
        eth(0x0800, &v4_sip()),
        eth(0x0806, &[0; 28]),
        vec![0; 5],
        eth(0x0800, &ipv4_frag(17, 1, 0, true, &[0; 16])),
    ];
    for f in &frames {
        dec.decode(&frame(linktype::ETHERNET, f));
    }
    dec.decode(&frame(999, &frames[0]));
    let s = dec.stats();
    assert_eq!(
        (s.frames, s.packets, s.not_ip, s.undecoded, s.fragments_held),
        (5, 1, 1, 2, 1)
    );
    assert_eq!(
        s.undecoded_reasons.get("truncated Ethernet header"),
        Some(&1)
    );
    assert_eq!(s.undecoded_reasons.get("link type 999"), Some(&1));
}

// ---------------------------------------------------------------------------------------
// Properties.

const LINK_TYPES: [u32; 14] = [0, 1, 9, 12, 14, 50, 101, 104, 108, 113, 228, 229, 239, 276];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_bytes_never_panic(lt in prop::sample::select(&LINK_TYPES[..]), data in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut dec = NetDecoder::new();
        dec.decode(&frame(lt, &data));
        let s = dec.stats();
        prop_assert_eq!(s.frames, s.packets + s.fragments_held + s.not_ip + s.undecoded);
    }

    /// Headers that are mostly valid reach deeper code than random bytes: mutate a valid
    /// tunnelled frame.
    #[test]
    fn mutated_frames_never_panic(
        which in 0usize..6,
        mutations in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let ip = v4_sip();
        let base = match which {
            0 => outer_gre(&gre(0x8000, 0x88be, Some(1), Some(2), &erspan2(1, &eth(0x8100, &tag(1, 0x0800, &ip))))),
            1 => outer_gre(&gre(0, 0x22eb, None, Some(1), &erspan3(1, true, &eth(0x0800, &ip)))),
            2 => eth(0x0800, &ipv4([1, 1, 1, 1], [2, 2, 2, 2], 17, &udp(2152, 2152, &gtpu(1, true, &ip)))),
            3 => eth(0x0800, &ipv4([1, 1, 1, 1], [2, 2, 2, 2], 17, &udp(1, 4789, &vxlan(1, &eth(0x8864, &pppoe(0x21, &ip)))))),
            4 => eth(0x86dd, &ipv6_frag(1, 0, true, 60, &[0; 64])),
            _ => sll(1, 0x8100, &tag(1, 0x86dd, &ipv6(a6(), b6(), 0, &[41, 0, 0, 0, 0, 0, 0, 0]))),
        };
        let mut data = base.clone();
        for (i, b) in mutations {
            let at = i.index(data.len());
            data[at] = b;
        }
        data.truncate(cut.index(data.len() + 1));
        let lt = if which == 5 { linktype::LINUX_SLL } else { linktype::ETHERNET };
        let mut dec = NetDecoder::new();
        dec.decode(&frame(lt, &data));
        dec.decode(&frame(lt, &base));
    }

    /// Whatever the fast path accepts, the full walk decodes identically.
    #[test]
    fn fast_path_agrees_with_walk(
        which in 0usize..5,
        mutations in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
    ) {
        let (lt, base) = match which {
            0 => (linktype::ETHERNET, eth(0x0800, &v4_sip())),
            1 => (linktype::ETHERNET, eth(0x8100, &tag(3, 0x86dd, &ipv6(a6(), b6(), 17, &sip_udp())))),
            2 => (linktype::LINUX_SLL, sll(772, 0x0800, &v4_sip())),
            3 => (linktype::LINUX_SLL2, sll2(1, 0x86dd, &ipv6(a6(), b6(), 6, &sip_udp()))),
            _ => (linktype::RAW, v4_sip()),
        };
        let mut data = base;
        for (i, b) in mutations {
            let at = i.index(data.len());
            data[at] = b;
        }
        if let Some(fast) = walk::fast_path(lt, &data) {
            let Walk::Packet(slow) = walk::walk(Layer::Link(lt, &data)) else {
                panic!("fast path accepted what the walk does not");
            };
            prop_assert_eq!(fast.addrs.pair(), slow.addrs.pair());
            prop_assert_eq!(fast.protocol, slow.protocol);
            prop_assert_eq!(fast.payload, slow.payload);
        }
    }

    #[test]
    fn fragment_order_does_not_matter(
        len in 1usize..6000,
        size_units in 1usize..200,
        seed in any::<u64>(),
        dups in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        v6 in any::<bool>(),
    ) {
        let payload: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
        let size = size_units * 8;
        let mut frags = if v6 { v6_fragments(7, 17, &payload, size) } else { v4_fragments(17, 7, &payload, size) };
        for d in &dups {
            let f = frags[d.index(frags.len())].clone();
            frags.push(f);
        }
        shuffle(&mut frags, seed | 1);
        let single = frags.len() == 1;
        let mut dec = NetDecoder::new();
        let mut got = Vec::new();
        for f in &frags {
            if let NetOutput::Packet(p) = dec.decode(&frame(linktype::ETHERNET, f)) {
                got.push(p.payload.into_owned());
            }
        }
        if single {
            // One piece with offset 0 and no MF is not a fragment at all.
            prop_assert_eq!(dec.stats().ip_fragments, 0);
        }
        prop_assert!(!got.is_empty());
        prop_assert_eq!(&got[0], &payload);
    }
}
