//! Issue 16, the TCP accounting with the memory bounds hit, through the whole pipeline: each
//! lost message, each connection and each dropped byte is counted once, in a counter that names
//! the bound; what is skipped after a bound resynchronises on a whole method.

use lyncscope::analysis::StartKind;

mod common;
use common::*;

fn message(i: usize) -> Vec<u8> {
    format!(
        "MESSAGE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.1:40000;branch=z9hG4bK{i}\r\nFrom: <sip:a@example.com>;tag=a{i}\r\nTo: <sip:b@example.com>\r\nCall-ID: call-{i}\r\nCSeq: {i} MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
    )
    .into_bytes()
}

/// 100 connections each sending one 3 MB message, interleaved: together they hold more than the
/// 256 MiB total bound, so some connections are given up part way and re-opened by their next
/// segments.
#[test]
fn the_total_tcp_bound_is_counted_once_per_message_connection_and_byte() {
    const CONNS: usize = 100;
    const SEG: usize = 60_000;
    const SEGS: usize = 50;
    let head = |i: usize| {
        format!(
            "MESSAGE sip:b@example.com SIP/2.0\r\nCall-ID: big-{i:03}\r\nCSeq: 1 MESSAGE\r\nContent-Length: {:07}\r\n\r\n",
            0
        )
        .len()
    };
    let body_len = SEG * SEGS - head(0);
    let msg = |i: usize| {
        let mut m = format!(
            "MESSAGE sip:b@example.com SIP/2.0\r\nCall-ID: big-{i:03}\r\nCSeq: 1 MESSAGE\r\nContent-Length: {body_len:07}\r\n\r\n"
        )
        .into_bytes();
        m.resize(SEG * SEGS, b'x');
        m
    };
    let mut f = Feeder::new();
    let msgs: Vec<Vec<u8>> = (0..CONNS).map(msg).collect();
    let port = |i: usize| 20000 + i as u16;
    for i in 0..CONNS {
        f.push(&frame(false, 1, port(i), 999, SYN, b""));
    }
    for s in 0..SEGS {
        for (i, m) in msgs.iter().enumerate() {
            let seg = &m[s * SEG..(s + 1) * SEG];
            f.push(&frame(false, 1, port(i), 1000 + (s * SEG) as u32, ACK, seg));
        }
    }
    f.p.finish();
    let s = f.p.stats();
    let t = s.transport;
    let framed = s.analysis.sip_messages;
    let lost = CONNS as u64 - framed;
    assert!(lost > 0, "the total bound was hit");
    assert_eq!(t.tcp_streams, CONNS as u64, "each connection counted once");
    assert_eq!(
        t.incomplete_messages, lost,
        "each lost message counted once"
    );
    assert_eq!(t.tcp_total_cap_hits, lost);
    assert_eq!(t.tcp_message_cap_hits, 0);
    assert_eq!(t.malformed_messages, 0);
    // Every byte of a lost message is either dropped by the bound or skipped afterwards.
    assert_eq!(
        t.tcp_bytes_dropped_by_cap + t.tcp_bytes_skipped,
        lost * (SEG * SEGS) as u64
    );
    assert!(t.tcp_bytes_dropped_by_cap > t.tcp_bytes_skipped);
    let json = f.json_stats();
    assert_eq!(json["tcp_total_cap_hits"], lost);
    assert_eq!(json["tcp_bytes_dropped_by_cap"], t.tcp_bytes_dropped_by_cap);
    let text = f.text_report();
    let problems = text
        .lines()
        .find(|l| l.trim_start().starts_with("Problems:"))
        .expect("Problems line");
    assert!(
        problems.contains(&format!(
            "{} TCP bytes dropped by memory bounds",
            t.tcp_bytes_dropped_by_cap
        )),
        "{problems}"
    );
    assert!(problems.contains("256 MiB"), "names the bound: {problems}");
}

/// A message over the 4 MiB per-direction bound: given up once, its held bytes counted as
/// dropped by the bound and the rest as skipped, and the next message (glued to its body's
/// tail) found again with its method intact.
#[test]
fn a_message_over_the_pending_bound_is_counted_and_the_next_one_found() {
    for total in [5_000_000usize, 16_000_000] {
        let head = format!(
            "MESSAGE sip:b@example.com SIP/2.0\r\nCall-ID: huge\r\nCSeq: 1 MESSAGE\r\nContent-Length: {:08}\r\n\r\n",
            0
        )
        .len();
        let mut big = format!(
            "MESSAGE sip:b@example.com SIP/2.0\r\nCall-ID: huge\r\nCSeq: 1 MESSAGE\r\nContent-Length: {:08}\r\n\r\n",
            total - head
        )
        .into_bytes();
        big.resize(total, b'Q');
        let mut data = big.clone();
        data.extend(message(2));
        data.extend(message(3));
        let mut f = Feeder::new();
        f.push(&frame(false, 1, 40000, 999, SYN, b""));
        for (k, seg) in data.chunks(60_000).enumerate() {
            f.push(&frame(
                false,
                1,
                40000,
                1000 + (k * 60_000) as u32,
                ACK,
                seg,
            ));
        }
        f.p.finish();
        let s = f.p.stats();
        let t = s.transport;
        let a = f.p.analysis();
        let methods: Vec<String> = a
            .messages()
            .iter()
            .map(|m| match m.start() {
                // Cut short: a glued method would be megabytes long.
                StartKind::Request(sym) => a.symbols.name(sym).chars().take(40).collect(),
                StartKind::Response(c) => c.to_string(),
            })
            .collect();
        assert_eq!(methods, ["MESSAGE", "MESSAGE"], "{total}");
        assert_eq!(t.incomplete_messages, 1, "{total}");
        assert_eq!(t.tcp_message_cap_hits, 1, "{total}");
        assert_eq!(
            t.tcp_bytes_dropped_by_cap + t.tcp_bytes_skipped,
            total as u64,
            "{total}"
        );
    }
}

/// A stream of bytes that are not SIP, with holes the capture missed: each hole is a gap, and
/// no SIP message was started, so none is incomplete (issue 16: each was counted as one).
#[test]
fn holes_in_a_stream_that_is_not_sip_are_gaps_not_incomplete_messages() {
    let mut f = Feeder::new();
    f.push(&frame(false, 1, 40000, 999, SYN, b""));
    let segment: Vec<u8> = (0..200u32).map(|i| (i * 7 + 3) as u8).collect();
    let (segments, every) = (20_000u32, 10u32);
    for k in 0..segments {
        if k % every == every - 1 {
            continue; // not captured
        }
        f.push(&frame(false, 1, 40000, 1000 + k * 200, ACK, &segment));
    }
    f.p.finish();
    let t = f.p.stats().transport.clone();
    assert_eq!(f.p.analysis().stats().sip_messages, 0);
    assert_eq!(t.incomplete_messages, 0, "{t:?}");
    assert_eq!(t.malformed_messages, 0, "{t:?}");
    // The last segment missing is the end of the stream, not a hole.
    assert_eq!(t.tcp_gaps, u64::from(segments / every) - 1, "{t:?}");
    assert_eq!(
        t.tcp_bytes_skipped,
        u64::from(segments - segments / every) * 200
    );
}
