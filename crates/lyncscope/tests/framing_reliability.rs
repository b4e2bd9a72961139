//! Issue 16, SIP framing and the TCP accounting, through the whole pipeline: a bad start line
//! that looks like SIP does not swallow a TCP stream; a status line without a reason phrase is
//! a status line on every transport; the text report shows the bytes TCP skipped; with the
//! memory bounds hit, each lost message, each connection and each dropped byte is counted once,
//! in a counter that names the bound.

use lyncscope::analysis::StartKind;

mod common;
use common::*;

fn message(i: usize) -> Vec<u8> {
    format!(
        "MESSAGE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.1:40000;branch=z9hG4bK{i}\r\nFrom: <sip:a@example.com>;tag=a{i}\r\nTo: <sip:b@example.com>\r\nCall-ID: call-{i}\r\nCSeq: {i} MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
    )
    .into_bytes()
}

fn status(line: &str, i: usize) -> Vec<u8> {
    format!(
        "{line}\r\nVia: SIP/2.0/TCP 10.0.0.1:40000;branch=z9hG4bK{i}\r\nFrom: <sip:a@example.com>;tag=a{i}\r\nTo: <sip:b@example.com>;tag=b{i}\r\nCall-ID: call-{i}\r\nCSeq: {i} MESSAGE\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

#[test]
fn a_bad_status_line_does_not_swallow_the_stream() {
    // In one segment and one segment per message.
    for split in [false, true] {
        let mut msgs = vec![status("SIP/2.0 99999999 OK", 0)];
        msgs.extend((1..=3).map(message));
        let mut f = Feeder::new();
        if split {
            f.tcp_messages(&msgs);
        } else {
            f.tcp_messages(&[msgs.concat()]);
        }
        f.p.finish();
        let s = f.p.stats();
        assert_eq!(s.analysis.sip_messages, 3, "split {split}");
        assert_eq!(s.transport.incomplete_messages, 0, "split {split}");
        assert_eq!(s.transport.malformed_messages, 1, "split {split}");
    }
}

#[test]
fn a_status_line_without_reason_phrase_is_a_status_line() {
    for line in ["SIP/2.0 200", "SIP/2.0 200 ", "SIP/2.0 486\t"] {
        let mut msgs = vec![message(0), status(line, 0)];
        msgs.extend((1..=3).map(message));
        // TCP, one segment per message: each is reported at its own frame, not later.
        let mut f = Feeder::new();
        let frames = f.tcp_messages(&msgs);
        let a = f.p.analysis();
        let got: Vec<u64> = a.messages().iter().map(|m| m.frame()).collect();
        assert_eq!(got, frames, "{line:?}: reported at their own frames");
        let code: u16 = line[8..11].parse().unwrap();
        assert_eq!(
            a.messages()[1].start(),
            StartKind::Response(code),
            "{line:?}"
        );
        f.p.finish();
        assert_eq!(f.p.stats().transport.incomplete_messages, 0);
        assert_eq!(f.p.stats().transport.malformed_messages, 0);
        // TCP, all in one segment.
        let mut f = Feeder::new();
        f.tcp_messages(&[msgs.concat()]);
        assert_eq!(f.p.analysis().messages().len(), msgs.len(), "{line:?}");
        // UDP: alone, and several in one datagram.
        let mut f = Feeder::new();
        for m in &msgs {
            f.push(&frame(true, 1, 40000, 0, 0, m));
        }
        f.push(&frame(true, 1, 40000, 0, 0, &msgs.concat()));
        f.p.finish();
        let a = f.p.analysis();
        assert_eq!(a.messages().len(), 2 * msgs.len(), "{line:?}");
        assert_eq!(a.messages()[1].start(), StartKind::Response(code));
        assert_eq!(f.p.stats().transport.udp_not_sip, 0);
    }
}

#[test]
fn the_text_report_shows_the_bytes_tcp_skipped() {
    let mut f = Feeder::new();
    // The capture starts inside a message: its tail is skipped to resynchronise.
    let tail = b"this is the end of a body the capture did not start with\r\n".repeat(3);
    let mut first = tail.clone();
    first.extend(message(1));
    f.push(&frame(false, 1, 40000, 5000, ACK, &first));
    f.p.finish();
    let skipped = f.p.stats().transport.tcp_bytes_skipped;
    assert_eq!(skipped, tail.len() as u64);
    assert_eq!(f.json_stats()["tcp_bytes_skipped"], skipped);
    let text = f.text_report();
    let tcp = text
        .lines()
        .find(|l| l.trim_start().starts_with("TCP:"))
        .expect("TCP line");
    assert!(
        tcp.contains(&format!("{skipped} bytes skipped")),
        "TCP line: {tcp}"
    );
    let problems = text
        .lines()
        .find(|l| l.trim_start().starts_with("Problems:"))
        .expect("Problems line");
    assert!(
        problems.contains(&format!("{skipped} TCP bytes skipped")),
        "Problems line: {problems}"
    );
}
