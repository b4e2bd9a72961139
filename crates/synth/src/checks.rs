//! Self-checks of the generated captures (tests only): every frame is decoded down to TCP or
//! UDP independently of the generator's own bookkeeping, every checksum is verified, IPv4
//! fragments and TCP streams are reassembled, and the bytes are compared with what the
//! scenario wrote.

use super::packet::{internet_checksum, transport_checksum, PROTO_TCP, PROTO_UDP};
use super::wire::{Packet, Transport, Written};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

type FragmentKey = (IpAddr, IpAddr, u16);
type StreamKey = (IpAddr, u16, IpAddr, u16);

#[derive(Default)]
struct Decoded {
    fragments: BTreeMap<FragmentKey, Vec<(usize, bool, Vec<u8>)>>,
    /// TCP streams: next expected sequence number and the payload so far.
    streams: BTreeMap<StreamKey, (u32, Vec<u8>)>,
    datagrams: Vec<Vec<u8>>,
    reassembled: usize,
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Decodes and checks every packet, then compares the TCP streams and UDP datagrams with the
/// writes.
pub(super) fn verify(name: &str, packets: &[Packet], written: &[Written]) {
    let mut d = Decoded::default();
    let mut last_t = i64::MIN;
    for (i, p) in packets.iter().enumerate() {
        let frame = i + 1;
        assert!(p.t >= last_t, "{name} frame {frame}: time goes backwards");
        last_t = p.t;
        let mut ethertype = be16(&p.data, 12);
        let mut l3 = &p.data[14..];
        if ethertype == 0x8100 {
            ethertype = be16(&p.data, 16);
            l3 = &p.data[18..];
        }
        match ethertype {
            0x0800 => d.ipv4(name, frame, l3),
            0x86dd => {
                assert_eq!(
                    usize::from(be16(l3, 4)),
                    l3.len() - 40,
                    "{name} frame {frame}: IPv6 length"
                );
                let src = IpAddr::from(<[u8; 16]>::try_from(&l3[8..24]).unwrap_or_default());
                let dst = IpAddr::from(<[u8; 16]>::try_from(&l3[24..40]).unwrap_or_default());
                assert!(matches!(src, IpAddr::V6(a) if a != Ipv6Addr::UNSPECIFIED));
                d.transport(name, frame, src, dst, l3[6], &l3[40..]);
            }
            other => panic!("{name} frame {frame}: unexpected ethertype {other:04x}"),
        }
    }
    assert!(
        d.fragments.is_empty(),
        "{name}: incomplete fragmented datagrams left"
    );

    let mut expected_streams: BTreeMap<(usize, bool), Vec<u8>> = BTreeMap::new();
    let mut expected_datagrams = Vec::new();
    for (i, w) in written.iter().enumerate() {
        match w.transport {
            Transport::Tcp => {
                let key = (flow_index(written, i), w.dir == super::wire::Dir::Up);
                expected_streams
                    .entry(key)
                    .or_default()
                    .extend_from_slice(&w.bytes);
            }
            // A media write (STUN, SRTP) is one datagram and no SIP message.
            Transport::Udp if w.messages.is_empty() => expected_datagrams.push(w.bytes.clone()),
            Transport::Udp => expected_datagrams.extend(w.messages.iter().cloned()),
        }
    }
    let mut expected: Vec<Vec<u8>> = expected_streams.into_values().collect();
    let mut actual: Vec<Vec<u8>> = d
        .streams
        .into_values()
        .map(|(_, bytes)| bytes)
        .filter(|b| !b.is_empty())
        .collect();
    expected.sort();
    actual.sort();
    assert!(
        expected == actual,
        "{name}: TCP streams differ from what was written"
    );
    expected_datagrams.sort();
    d.datagrams.sort();
    assert!(
        expected_datagrams == d.datagrams,
        "{name}: UDP datagrams differ from what was written"
    );
    if name == "join-udp-fragments" {
        assert!(d.reassembled >= 2, "{name}: expected fragmented datagrams");
    }
}

/// A stable index of the flow of write `i` (the position of its first write).
fn flow_index(written: &[Written], i: usize) -> usize {
    written
        .iter()
        .position(|w| w.flow == written[i].flow)
        .unwrap_or(i)
}

impl Decoded {
    fn ipv4(&mut self, name: &str, frame: usize, ip: &[u8]) {
        assert_eq!(ip[0], 0x45, "{name} frame {frame}: IPv4 header");
        assert_eq!(
            internet_checksum(&[&ip[..20]]),
            0,
            "{name} frame {frame}: IPv4 checksum"
        );
        assert_eq!(
            usize::from(be16(ip, 2)),
            ip.len(),
            "{name} frame {frame}: IPv4 length"
        );
        let src = IpAddr::from(Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]));
        let dst = IpAddr::from(Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]));
        assert!(
            !matches!(src, IpAddr::V4(a) if a.is_unspecified()),
            "{name} frame {frame}: 0.0.0.0"
        );
        let flags = be16(ip, 6);
        let (more, offset) = (flags & 0x2000 != 0, usize::from(flags & 0x1fff) * 8);
        let payload = ip[20..].to_vec();
        if !more && offset == 0 {
            self.transport(name, frame, src, dst, ip[9], &payload);
            return;
        }
        assert_eq!(
            ip[9], PROTO_UDP,
            "{name} frame {frame}: only UDP is fragmented"
        );
        if more {
            assert_eq!(payload.len() % 8, 0, "{name} frame {frame}: fragment size");
        }
        let key = (src, dst, be16(ip, 4));
        let parts = self.fragments.entry(key).or_default();
        parts.push((offset, more, payload));
        parts.sort_by_key(|(o, _, _)| *o);
        let contiguous = parts.iter().try_fold(0usize, |next, (o, _, data)| {
            (*o == next).then(|| next + data.len())
        });
        let complete = parts.last().is_some_and(|(_, more, _)| !more);
        if let (Some(_), true) = (contiguous, complete) {
            let parts = self.fragments.remove(&key).unwrap_or_default();
            let datagram: Vec<u8> = parts.into_iter().flat_map(|(_, _, data)| data).collect();
            self.reassembled += 1;
            self.transport(name, frame, src, dst, PROTO_UDP, &datagram);
        }
    }

    fn transport(
        &mut self,
        name: &str,
        frame: usize,
        src: IpAddr,
        dst: IpAddr,
        protocol: u8,
        seg: &[u8],
    ) {
        assert_eq!(
            transport_checksum(src, dst, protocol, seg),
            0,
            "{name} frame {frame}: L4 checksum"
        );
        match protocol {
            PROTO_UDP => {
                assert_ne!(
                    be16(seg, 6),
                    0,
                    "{name} frame {frame}: UDP checksum omitted"
                );
                assert_eq!(
                    usize::from(be16(seg, 4)),
                    seg.len(),
                    "{name} frame {frame}: UDP length"
                );
                self.datagrams.push(seg[8..].to_vec());
            }
            PROTO_TCP => {
                let key = (src, be16(seg, 0), dst, be16(seg, 2));
                let seq = be32(seg, 4);
                let flags = seg[13];
                let payload = &seg[usize::from(seg[12] >> 4) * 4..];
                if flags & 0x02 != 0 {
                    assert!(
                        !self.streams.contains_key(&key),
                        "{name} frame {frame}: second SYN"
                    );
                    self.streams.insert(key, (seq.wrapping_add(1), Vec::new()));
                    return;
                }
                let Some((next, bytes)) = self.streams.get_mut(&key) else {
                    panic!("{name} frame {frame}: TCP segment before SYN");
                };
                assert_eq!(seq, *next, "{name} frame {frame}: TCP sequence number");
                bytes.extend_from_slice(payload);
                *next = next.wrapping_add(payload.len() as u32 + u32::from(flags & 0x01));
                if !payload.is_empty() {
                    assert!(payload.len() <= 8960);
                }
            }
            other => panic!("{name} frame {frame}: unexpected protocol {other}"),
        }
    }
}

/// The message's Content-Length header equals the length of its body.
pub(super) fn verify_content_length(name: &str, message: &[u8]) {
    let text = std::str::from_utf8(message).unwrap_or_default();
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        panic!("{name}: message without header end: {text}");
    };
    let declared: Vec<usize> = head
        .split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .filter(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
        .filter_map(|(_, v)| v.trim().parse().ok())
        .collect();
    assert_eq!(
        declared,
        [body.len()],
        "{name}: Content-Length of {}",
        head.lines().next().unwrap_or("")
    );
}
